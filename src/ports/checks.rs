//! What judges a release: CloudWatch metrics and alarms, and the smoke check.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use crate::error::AwsError;

#[async_trait]
pub trait Metrics: Send + Sync {
    /// RequestCount, HTTPCode_Target_5XX_Count and p99 TargetResponseTime of one target group,
    /// per published minute from `start` (a minute's start) to `end`; a minute CloudWatch has
    /// not published (or that had no requests) is absent. With `slow_above`, also how many of
    /// each minute's answered requests took longer than it (`max-p99-latency`).
    async fn target_group_minutes(
        &self,
        load_balancer_dimension: &str,
        target_group_arn: &str,
        (start, end): (SystemTime, SystemTime),
        slow_above: Option<Duration>,
    ) -> Result<Vec<crate::domain::minutes::MinuteMetrics>, AwsError>;
    /// (minute start, value) of a custom metric gate's series, per published minute from
    /// `start` to `end`; a minute with no datapoint is absent.
    async fn gate_minutes(
        &self,
        gate: &str,
        source: &crate::domain::metric_gate::GateSource,
        start: SystemTime,
        end: SystemTime,
    ) -> Result<Vec<(SystemTime, f64)>, AwsError>;
    /// Those of `alarms` whose state is ALARM. An alarm that does not exist is an error.
    async fn alarms_firing(&self, alarms: &[String]) -> Result<Vec<crate::domain::analysis::FiringAlarm>, AwsError>;
}

/// An HTTP check of the new version before it gets production traffic.
#[async_trait]
pub trait SmokeCheck: Send + Sync {
    /// The status code of one GET of `url`, or why there was none.
    async fn get(&self, url: &str, timeout: Duration) -> Result<u16, String>;
}
