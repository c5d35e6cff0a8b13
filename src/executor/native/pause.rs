//! The pauses ECS takes before each LINEAR or CANARY traffic step. A PAUSE hook at
//! PRE_PRODUCTION_TRAFFIC_SHIFT is "invoked before every traffic shift step" (ECS API
//! Reference, DeploymentLifecycleHook.lifecycleStages): the first one, before any production
//! traffic, is the smoke check's; each later one is answered by the judgement of the weight ECS
//! served until then, once CloudWatch has published every minute of it. The time held counts
//! on top of the deadline: it is the action's, not ECS's.

use std::time::{Duration, SystemTime};

use crate::domain::settings::ProgressiveConfig;

/// The step pause being held, and the time held at the pauses already answered.
#[derive(Default)]
pub(super) struct StepPauses {
    holding: Option<(String, SystemTime)>,
    answered: Duration,
}

impl StepPauses {
    /// `hook` holds the deployment at `now`: since when it has held it.
    pub fn hold(&mut self, hook: &str, now: SystemTime) -> SystemTime {
        match &self.holding {
            Some((h, since)) if h == hook => *since,
            _ => {
                self.holding = Some((hook.to_string(), now));
                now
            }
        }
    }

    /// The hook held since `since` is answered at `now`.
    pub fn answered(&mut self, now: SystemTime) {
        if let Some((_, since)) = self.holding.take() {
            self.answered += now.duration_since(since).unwrap_or_default();
        }
    }

    /// All the time the action held ECS at step pauses, the current one included.
    pub fn held(&self, now: SystemTime) -> Duration {
        let current = self.holding.as_ref().map_or(Duration::ZERO, |(_, since)| {
            now.duration_since(*since).unwrap_or_default()
        });
        self.answered + current
    }
}

/// Every CloudWatch minute that began before `end` is published, or past CloudWatch's
/// publication deadline, at `now`.
pub(super) fn published_through(pc: &ProgressiveConfig, end: SystemTime, now: SystemTime) -> bool {
    let last = pc.clock.floor(end.checked_sub(Duration::from_nanos(1)).unwrap_or(end));
    now >= last + pc.clock.minute + pc.clock.max_delay
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_time_held_adds_up_over_answered_pauses_and_the_current_one() {
        let t = |s: u64| SystemTime::UNIX_EPOCH + Duration::from_secs(s);
        let mut p = StepPauses::default();
        assert_eq!(p.hold("h1", t(100)), t(100));
        assert_eq!(
            p.hold("h1", t(130)),
            t(100),
            "the same hook: held since it was first seen"
        );
        p.answered(t(160));
        assert_eq!(p.hold("h2", t(200)), t(200), "a new step's hook");
        assert_eq!(p.held(t(210)), Duration::from_secs(70));
    }
}
