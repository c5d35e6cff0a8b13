//! CloudWatch: the ALB metrics of a target group, and alarm states.
//!
//! Ratios are computed here from plain Sum queries rather than metric math, so the same query
//! works against AWS and the simulator, and "no datapoint" stays distinguishable from zero.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use aws_sdk_cloudwatch::types::{AlarmType, Dimension, Metric, MetricDataQuery, MetricStat, StateValue};
use aws_smithy_types::DateTime;

use super::classify;
use crate::domain::analysis::FiringAlarm;
use crate::domain::metric_gate::GateSource;
use crate::domain::minutes::MinuteMetrics;
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

/// CloudWatch's minute: the Period of every ALB metric query.
const MINUTE: i32 = 60;

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
    async fn gate_minutes(
        &self,
        gate: &str,
        source: &GateSource,
        start: SystemTime,
        end: SystemTime,
    ) -> Result<Vec<(SystemTime, f64)>, AwsError> {
        super::cloudwatch_gates::minutes(&self.client, gate, source, MINUTE, whole_seconds(start, end)).await
    }

    async fn target_group_minutes(
        &self,
        load_balancer_dimension: &str,
        target_group_arn: &str,
        (start, end): (SystemTime, SystemTime),
        slow_above: Option<Duration>,
    ) -> Result<Vec<MinuteMetrics>, AwsError> {
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
        // One value per minute: ALB metrics are 60-second resolution, and CloudWatch wants
        // the Period a multiple of 60 for them. The query protocol sends whole seconds.
        let (start, end) = whole_seconds(start, end);
        // The percentile rank of the limit: the percentage of answered requests at most that
        // slow (CloudWatch statistics definitions, "Percentile rank": lower bound exclusive,
        // upper inclusive), so each minute's slow requests are counted, not guessed from its p99.
        let rank = slow_above.map(|limit| format!("PR(:{})", limit.as_secs_f64()));
        let out = self
            .client
            .get_metric_data()
            .set_metric_data_queries(
                rank.as_deref()
                    .map(|stat| vec![query("fast", "TargetResponseTime", stat, MINUTE, &dims)]),
            )
            .metric_data_queries(query("requests", "RequestCount", "Sum", MINUTE, &dims))
            .metric_data_queries(query("errors", "HTTPCode_Target_5XX_Count", "Sum", MINUTE, &dims))
            .metric_data_queries(query("p99", "TargetResponseTime", "p99", MINUTE, &dims))
            .metric_data_queries(query("connerr", "TargetConnectionErrorCount", "Sum", MINUTE, &dims))
            .metric_data_queries(query("unhealthy", "UnHealthyHostCount", "Maximum", MINUTE, &dims))
            // What the targets answered, and the 5xx the load balancer answered itself (a
            // load-balancer metric: it has no TargetGroup dimension).
            .metric_data_queries(query("ok2", "HTTPCode_Target_2XX_Count", "Sum", MINUTE, &dims))
            .metric_data_queries(query("ok3", "HTTPCode_Target_3XX_Count", "Sum", MINUTE, &dims))
            .metric_data_queries(query("ok4", "HTTPCode_Target_4XX_Count", "Sum", MINUTE, &dims))
            .metric_data_queries(query("elb5xx", "HTTPCode_ELB_5XX_Count", "Sum", MINUTE, &dims[1..]))
            .start_time(DateTime::from(start))
            .end_time(DateTime::from(end))
            .send()
            .await
            .map_err(|e| classify("cloudwatch:GetMetricData", target_group_arn, e))?;
        let series = |id: &str| -> Vec<(SystemTime, f64)> {
            out.metric_data_results()
                .iter()
                .find(|r| r.id() == Some(id))
                .map(|r| {
                    r.timestamps()
                        .iter()
                        .filter_map(|t| SystemTime::try_from(*t).ok())
                        .zip(r.values().iter().copied())
                        .collect()
                })
                .unwrap_or_default()
        };
        let (requests, errors, p99) = (series("requests"), series("errors"), series("p99"));
        let (connerr, unhealthy, fast) = (series("connerr"), series("unhealthy"), series("fast"));
        let answered_codes = [series("ok2"), series("ok3"), series("ok4")];
        let elb_5xx = series("elb5xx");
        let at = |s: &[(SystemTime, f64)], t: SystemTime| s.iter().find(|(x, _)| *x == t).map(|(_, v)| *v);
        // A minute exists when it has requests; errors are published only when there were some.
        let mut minutes: Vec<MinuteMetrics> = requests
            .iter()
            .map(|(t, n)| {
                let connection_errors = at(&connerr, *t).unwrap_or(0.0);
                let errors_5xx = at(&errors, *t).unwrap_or(0.0);
                let coded: f64 = answered_codes.iter().map(|s| at(s, *t).unwrap_or(0.0)).sum::<f64>() + errors_5xx;
                let unanswered = unanswered(
                    *n - coded - connection_errors,
                    at(&elb_5xx, *t).unwrap_or(0.0) - connection_errors,
                );
                // Answered requests: those the ALB could not connect for have no response time.
                let answered = (n - connection_errors - unanswered).max(0.0);
                MinuteMetrics {
                    start: *t,
                    requests: *n,
                    errors_5xx,
                    unanswered,
                    p99_ms: at(&p99, *t).map(|s| s * 1000.0),
                    connection_errors,
                    unhealthy_hosts: at(&unhealthy, *t).unwrap_or(0.0),
                    // A minute with answered requests but no percentile rank is no evidence
                    // (None), never "none slower".
                    slow: slow_above.and_then(|_| match at(&fast, *t) {
                        Some(pct) => Some((answered * (100.0 - pct) / 100.0).round().max(0.0)),
                        None if answered <= 0.0 => Some(0.0),
                        None => None,
                    }),
                }
            })
            .collect();
        minutes.sort_by_key(|m| m.start);
        Ok(minutes)
    }

    async fn alarms_firing(&self, alarms: &[String]) -> Result<Vec<FiringAlarm>, AwsError> {
        if alarms.is_empty() {
            return Ok(vec![]);
        }
        let mut firing = Vec::new();
        for chunk in alarms.chunks(100) {
            let out = self
                .client
                .describe_alarms()
                .set_alarm_names(Some(chunk.to_vec()))
                .set_alarm_types(Some(vec![AlarmType::MetricAlarm, AlarmType::CompositeAlarm]))
                .send()
                .await
                .map_err(|e| classify("cloudwatch:DescribeAlarms", &chunk.join(","), e))?;
            let metric = out.metric_alarms().iter().filter_map(|a| {
                let firing = (a.state_value() == Some(&StateValue::Alarm)).then(|| FiringAlarm {
                    name: a.alarm_name().unwrap_or_default().to_string(),
                    since: a.state_updated_timestamp().and_then(|t| SystemTime::try_from(*t).ok()),
                    data_from: a
                        .state_reason_data()
                        .and_then(|d| first_breach(d, a.threshold(), a.comparison_operator().map(|c| c.as_str()))),
                });
                Some((a.alarm_name()?, firing))
            });
            let composite = out.composite_alarms().iter().filter_map(|a| {
                let firing = (a.state_value() == Some(&StateValue::Alarm)).then(|| FiringAlarm {
                    name: a.alarm_name().unwrap_or_default().to_string(),
                    since: a.state_updated_timestamp().and_then(|t| SystemTime::try_from(*t).ok()),
                    data_from: None,
                });
                Some((a.alarm_name()?, firing))
            });
            let found: Vec<(&str, Option<FiringAlarm>)> = metric.chain(composite).collect();
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
                    Some((_, Some(f))) => firing.push(f.clone()),
                    Some(_) => {}
                }
            }
        }
        Ok(firing)
    }
}

/// A target group's requests its targets never answered in a minute: those in its
/// `RequestCount` with no target response code and no connection error, bounded by the 5xx the
/// load balancer answered itself in that minute (less the connection errors' 502s). The bound
/// keeps out requests with no code of their own (a WebSocket's 101) and a minute whose codes
/// CloudWatch has not published whole yet; only a request both unanswered by a target and
/// answered 5xx by the ALB (its 504 at the idle timeout, or 502) counts.
fn unanswered(without_a_target_code: f64, elb_5xx_beyond_connection_errors: f64) -> f64 {
    without_a_target_code
        .min(elb_5xx_beyond_connection_errors)
        .max(0.0)
        .round()
}

/// The earliest evaluated datapoint that breaches the threshold, from an alarm's
/// StateReasonData (`{"evaluatedDatapoints":[{"timestamp":"2026-11-26T10:43:00.000+0000","value":61.0}]}`).
fn first_breach(reason_data: &str, threshold: Option<f64>, operator: Option<&str>) -> Option<SystemTime> {
    let data: serde_json::Value = serde_json::from_str(reason_data).ok()?;
    let threshold = threshold?;
    let breaches = |v: f64| match operator {
        Some("GreaterThanThreshold") => v > threshold,
        Some("GreaterThanOrEqualToThreshold") => v >= threshold,
        Some("LessThanThreshold") => v < threshold,
        Some("LessThanOrEqualToThreshold") => v <= threshold,
        _ => false,
    };
    data["evaluatedDatapoints"]
        .as_array()?
        .iter()
        .filter(|p| p["value"].as_f64().is_some_and(breaches))
        .filter_map(|p| {
            let t = p["timestamp"].as_str()?;
            humantime::parse_rfc3339(&format!("{}Z", t.get(..19)?)).ok()
        })
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_breaching_datapoint_dates_an_alarm() {
        let data = r#"{"evaluatedDatapoints":[{"timestamp":"2026-11-26T10:44:00.000+0000","value":61.0},{"timestamp":"2026-11-26T10:43:00","value":70.0},{"timestamp":"2026-11-26T10:42:00","value":3.0}]}"#;
        let t = first_breach(data, Some(50.0), Some("GreaterThanThreshold")).unwrap();
        assert_eq!(humantime::format_rfc3339_seconds(t).to_string(), "2026-11-26T10:43:00Z");
        assert_eq!(first_breach(data, Some(500.0), Some("GreaterThanThreshold")), None);
        assert_eq!(first_breach("not json", Some(1.0), Some("GreaterThanThreshold")), None);
    }

    #[test]
    fn only_requests_no_target_answered_that_the_alb_answered_5xx_count_as_unanswered() {
        // 40 requests with no target code, 30 of the ALB's own 5xx beyond its 502s: 30.
        assert_eq!(unanswered(40.0, 30.0), 30.0);
        // WebSocket upgrades (101) have no HTTPCode_Target_ metric, and the ALB answered none.
        assert_eq!(unanswered(25.0, 0.0), 0.0);
        // A minute whose codes are published in part: more codes than requests.
        assert_eq!(unanswered(-12.0, 5.0), 0.0);
    }

    #[test]
    fn a_window_inside_one_second_becomes_a_whole_second() {
        let at = |ms: u64| UNIX_EPOCH + Duration::from_millis(ms);
        assert_eq!(whole_seconds(at(9_300), at(9_800)), (at(9_000), at(10_000)));
        assert_eq!(whole_seconds(at(9_000), at(9_000)), (at(9_000), at(10_000)));
        assert_eq!(whole_seconds(at(9_300), at(12_000)), (at(9_000), at(12_000)));
    }
}
