//! CloudWatch: the ALB metrics of a target group, and alarm states.
//!
//! Ratios are computed here from plain Sum queries rather than metric math, so the same query
//! works against AWS and the simulator, and "no datapoint" stays distinguishable from zero.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, StateValue};
use aws_smithy_types::DateTime;

use super::classify;
use crate::domain::analysis::TargetGroupMetrics;
use crate::error::{AwsError, AwsErrorKind};
use crate::ports::Metrics;

pub struct CloudWatchMetrics {
    client: aws_sdk_cloudwatch::Client,
}

impl CloudWatchMetrics {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        CloudWatchMetrics {
            client: aws_sdk_cloudwatch::Client::new(config),
        }
    }
}

/// `arn:…:targetgroup/NAME/ID` → `targetgroup/NAME/ID`.
pub fn target_group_dimension(arn: &str) -> &str {
    arn.rsplit_once(':').map(|(_, d)| d).unwrap_or(arn)
}

fn query(id: &str, metric: &str, stat: &str, period: i32, dims: &[Dimension]) -> MetricDataQuery {
    MetricDataQuery::builder()
        .id(id)
        .metric_stat(
            MetricStat::builder()
                .metric(
                    Metric::builder()
                        .namespace("AWS/ApplicationELB")
                        .metric_name(metric)
                        .set_dimensions(Some(dims.to_vec()))
                        .build(),
                )
                .period(period)
                .stat(stat)
                .build(),
        )
        .return_data(true)
        .build()
}

/// `start` down and `end` up to whole seconds, with `end` at least a second after `start`.
fn whole_seconds(start: SystemTime, end: SystemTime) -> (SystemTime, SystemTime) {
    let secs = |t: SystemTime| t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let s = secs(start).as_secs();
    let e = secs(end);
    let e = e.as_secs() + u64::from(e.subsec_nanos() > 0);
    (
        UNIX_EPOCH + Duration::from_secs(s),
        UNIX_EPOCH + Duration::from_secs(e.max(s + 1)),
    )
}

#[async_trait]
impl Metrics for CloudWatchMetrics {
    async fn target_group(
        &self,
        load_balancer_dimension: &str,
        target_group_arn: &str,
        start: SystemTime,
        end: SystemTime,
    ) -> Result<TargetGroupMetrics, AwsError> {
        let dims = [
            Dimension::builder()
                .name("TargetGroup")
                .value(target_group_dimension(target_group_arn))
                .build(),
            Dimension::builder()
                .name("LoadBalancer")
                .value(load_balancer_dimension)
                .build(),
        ];
        // One period spanning the window (ALB metrics are 60 s resolution).
        // The query protocol sends whole seconds: a window inside one second would go out as
        // StartTime == EndTime, which CloudWatch rejects (ValidationError). Widen it to whole
        // seconds, at least one.
        let (start, end) = whole_seconds(start, end);
        let secs = end.duration_since(start).map(|d| d.as_secs()).unwrap_or(0).max(1);
        let period = (secs.div_ceil(60) * 60) as i32;
        let out = self
            .client
            .get_metric_data()
            .metric_data_queries(query("requests", "RequestCount", "Sum", period, &dims))
            .metric_data_queries(query("errors", "HTTPCode_Target_5XX_Count", "Sum", period, &dims))
            .metric_data_queries(query("p99", "TargetResponseTime", "p99", period, &dims))
            .start_time(DateTime::from(start))
            .end_time(DateTime::from(end))
            .send()
            .await
            .map_err(|e| classify("cloudwatch:GetMetricData", target_group_arn, e))?;
        let values = |id: &str| -> Vec<f64> {
            out.metric_data_results()
                .iter()
                .find(|r| r.id() == Some(id))
                .map(|r| r.values().to_vec())
                .unwrap_or_default()
        };
        let p99 = values("p99")
            .into_iter()
            .fold(None, |acc: Option<f64>, v| Some(acc.map_or(v, |a| a.max(v))));
        Ok(TargetGroupMetrics {
            requests: values("requests").iter().fold(0.0, |a, b| a + b),
            errors_5xx: values("errors").iter().fold(0.0, |a, b| a + b),
            p99_ms: p99.map(|s| s * 1000.0),
        })
    }

    async fn alarms_firing(&self, alarms: &[String]) -> Result<Vec<String>, AwsError> {
        if alarms.is_empty() {
            return Ok(vec![]);
        }
        let mut firing = Vec::new();
        for chunk in alarms.chunks(100) {
            let out = self
                .client
                .describe_alarms()
                .set_alarm_names(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| classify("cloudwatch:DescribeAlarms", &chunk.join(","), e))?;
            let found: Vec<(&str, Option<&StateValue>)> = out
                .metric_alarms()
                .iter()
                .filter_map(|a| Some((a.alarm_name()?, a.state_value())))
                .chain(
                    out.composite_alarms()
                        .iter()
                        .filter_map(|a| Some((a.alarm_name()?, a.state_value()))),
                )
                .collect();
            for name in chunk {
                match found.iter().find(|(n, _)| n == name) {
                    None => {
                        return Err(AwsError {
                            operation: "cloudwatch:DescribeAlarms",
                            resource: format!("alarm {name}"),
                            message: "no such alarm".into(),
                            kind: AwsErrorKind::NotFound,
                        })
                    }
                    Some((_, Some(StateValue::Alarm))) => firing.push(name.clone()),
                    Some(_) => {}
                }
            }
        }
        Ok(firing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_inside_one_second_becomes_a_whole_second() {
        let at = |ms: u64| UNIX_EPOCH + Duration::from_millis(ms);
        assert_eq!(whole_seconds(at(9_300), at(9_800)), (at(9_000), at(10_000)));
        assert_eq!(whole_seconds(at(9_000), at(9_000)), (at(9_000), at(10_000)));
        assert_eq!(whole_seconds(at(9_300), at(12_000)), (at(9_000), at(12_000)));
    }
}
