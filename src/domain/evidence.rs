//! What a judge reads: a target group's ALB numbers over a window, and the alarms in ALARM.

/// ALB numbers for one target group over a window.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TargetGroupMetrics {
    pub requests: f64,
    pub errors_5xx: f64,
    /// p99 of TargetResponseTime, in milliseconds (None when there was no datapoint).
    pub p99_ms: Option<f64>,
    /// Requests the ALB could not connect to a target for (`TargetConnectionErrorCount`): a
    /// crashing or resetting canary's failures are ELB-side 502s, never target 5xx, yet
    /// `RequestCount` counts them.
    pub connection_errors: f64,
    /// Requests the target took but never answered, so the ALB answered a 5xx itself (504 at
    /// the idle timeout, 502 on a closed connection): in `RequestCount`, in no target code.
    pub unanswered: f64,
    /// The most targets the ALB saw unhealthy in any minute (`UnHealthyHostCount`, Maximum).
    pub unhealthy_hosts: f64,
}

impl TargetGroupMetrics {
    /// Failed requests: the targets' 5xx, the ALB's connection errors to them, and the
    /// requests they never answered.
    pub fn errors(&self) -> f64 {
        self.errors_5xx + self.connection_errors + self.unanswered
    }

    pub fn error_rate(&self) -> Option<f64> {
        (self.requests > 0.0).then(|| self.errors() / self.requests)
    }
}

/// An alarm in ALARM: since when, and from which minute the data that tripped it came (its
/// earliest breaching evaluated datapoint), so a late alarm is laid at the right step's door.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FiringAlarm {
    pub name: String,
    pub since: Option<std::time::SystemTime>,
    pub data_from: Option<std::time::SystemTime>,
}
