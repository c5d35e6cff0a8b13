//! A step's running tally of measurements under Argo-style limits: how many failures and
//! query errors it tolerates, and what an inconclusive end does.

use super::analysis::{Measurement, Verdict};

/// What to do when a step ends without enough data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnInconclusive {
    /// Roll back: no evidence is not good evidence (the default).
    Fail,
    /// Go on to the next step, with a warning.
    Continue,
}

/// Argo-style limits for one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Failed measurements tolerated before the step fails (Argo's failureLimit, default 0).
    pub failure_limit: u32,
    /// Consecutive query errors tolerated (Argo's consecutiveErrorLimit, default 4).
    pub consecutive_error_limit: u32,
}

/// The running tally of a step's measurements.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepAnalysis {
    pub measurements: u32,
    pub failures: u32,
    pub consecutive_errors: u32,
    pub last: Option<Verdict>,
    pub last_measurement: Option<Measurement>,
}

/// Where a step stands after a measurement.
#[derive(Debug, Clone, PartialEq)]
pub enum StepStatus {
    Continue,
    Failed(String),
}

impl StepAnalysis {
    pub fn record(&mut self, m: Measurement, verdict: Verdict, limits: &Limits) -> StepStatus {
        self.measurements += 1;
        let status = match &verdict {
            Verdict::Fail(reason) => {
                self.failures += 1;
                self.consecutive_errors = 0;
                if self.failures > limits.failure_limit {
                    StepStatus::Failed(reason.clone())
                } else {
                    StepStatus::Continue
                }
            }
            Verdict::Error(reason) => {
                self.consecutive_errors += 1;
                if self.consecutive_errors > limits.consecutive_error_limit {
                    StepStatus::Failed(format!(
                        "{} consecutive failed queries; last: {reason}",
                        self.consecutive_errors
                    ))
                } else {
                    StepStatus::Continue
                }
            }
            _ => {
                self.consecutive_errors = 0;
                StepStatus::Continue
            }
        };
        self.last = Some(verdict);
        self.last_measurement = Some(m);
        status
    }

    /// The step's verdict when its bake time is over: the last measurement decides, and an
    /// error or missing measurement is never a pass.
    pub fn conclude(&self, on_inconclusive: OnInconclusive) -> Result<Option<String>, String> {
        match &self.last {
            Some(Verdict::Pass) => Ok(None),
            Some(Verdict::Fail(r)) => Err(r.clone()),
            Some(Verdict::Inconclusive(r)) | Some(Verdict::Error(r)) => match on_inconclusive {
                OnInconclusive::Fail => Err(format!("inconclusive: {r}")),
                OnInconclusive::Continue => Ok(Some(format!("inconclusive, continuing as configured: {r}"))),
            },
            None => Err("no measurement was taken".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_limit_tolerates_blips() {
        let limits = Limits {
            failure_limit: 1,
            consecutive_error_limit: 1,
        };
        let mut a = StepAnalysis::default();
        let fail = Verdict::Fail("x".into());
        assert_eq!(
            a.record(Measurement::default(), fail.clone(), &limits),
            StepStatus::Continue
        );
        assert_eq!(
            a.record(Measurement::default(), fail, &limits),
            StepStatus::Failed("x".into())
        );
    }

    #[test]
    fn errors_are_limited_and_never_pass() {
        let limits = Limits {
            failure_limit: 0,
            consecutive_error_limit: 1,
        };
        let mut a = StepAnalysis::default();
        let err = Verdict::Error("boom".into());
        assert_eq!(
            a.record(Measurement::default(), err.clone(), &limits),
            StepStatus::Continue
        );
        assert!(
            a.conclude(OnInconclusive::Fail).is_err(),
            "an error at the end is not a pass"
        );
        assert!(matches!(
            a.record(Measurement::default(), err, &limits),
            StepStatus::Failed(_)
        ));
    }

    #[test]
    fn inconclusive_is_configurable() {
        let limits = Limits {
            failure_limit: 0,
            consecutive_error_limit: 4,
        };
        let mut a = StepAnalysis::default();
        a.record(Measurement::default(), Verdict::Inconclusive("few".into()), &limits);
        assert!(a.conclude(OnInconclusive::Fail).is_err());
        assert!(matches!(a.conclude(OnInconclusive::Continue), Ok(Some(_))));
        assert!(
            StepAnalysis::default().conclude(OnInconclusive::Continue).is_err(),
            "no measurement never passes"
        );
    }
}
