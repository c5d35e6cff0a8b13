//! The custom metric gates' minutes: one GetMetricData call per gate, a MetricStat or metric
//! math over MetricStats (computed by CloudWatch), one value per minute.

use std::time::SystemTime;

use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
use aws_smithy_types::DateTime;

use super::classify;
use crate::domain::metric_gate::{GateSource, MetricQuery};
use crate::error::AwsError;

/// The id of the series a gate is judged on.
const RESULT: &str = "gate";

fn stat(q: &MetricQuery, id: &str, period: i32, return_data: bool) -> MetricDataQuery {
    MetricDataQuery::builder()
        .id(id)
        .metric_stat(
            MetricStat::builder()
                .metric(
                    Metric::builder()
                        .namespace(&q.namespace)
                        .metric_name(&q.metric)
                        .set_dimensions(Some(
                            q.dimensions
                                .iter()
                                .map(|(k, v)| Dimension::builder().name(k).value(v).build())
                                .collect(),
                        ))
                        .build(),
                )
                .period(period)
                .stat(&q.statistic)
                .build(),
        )
        .return_data(return_data)
        .build()
}

/// (minute start, value) of the gate's series from `start` to `end` (whole seconds).
pub async fn minutes(
    client: &aws_sdk_cloudwatch::Client,
    gate: &str,
    source: &GateSource,
    period: i32,
    (start, end): (SystemTime, SystemTime),
) -> Result<Vec<(SystemTime, f64)>, AwsError> {
    let queries = match source {
        GateSource::Metric(q) => vec![stat(q, RESULT, period, true)],
        GateSource::Math { expression, queries } => {
            let mut all: Vec<MetricDataQuery> = queries.iter().map(|q| stat(q, &q.id, period, false)).collect();
            all.push(
                MetricDataQuery::builder()
                    .id(RESULT)
                    .expression(expression)
                    .period(period)
                    .return_data(true)
                    .build(),
            );
            all
        }
    };
    let out = client
        .get_metric_data()
        .set_metric_data_queries(Some(queries))
        .start_time(DateTime::from(start))
        .end_time(DateTime::from(end))
        .send()
        .await
        .map_err(|e| classify("cloudwatch:GetMetricData", &format!("metric gate {gate}"), e))?;
    Ok(out
        .metric_data_results()
        .iter()
        .find(|r| r.id() == Some(RESULT))
        .map(|r| {
            r.timestamps()
                .iter()
                .filter_map(|t| SystemTime::try_from(*t).ok())
                .zip(r.values().iter().copied())
                .collect()
        })
        .unwrap_or_default())
}
