//! Where a two-slot rollout stands, kept in AWS as a tag on the new slot's service, written
//! before each traffic change. A re-run that finds traffic split reads it to continue exactly
//! there: it re-runs the current step's bake in full and never skips a pause. The listener's
//! weights stay the truth for safety: a cursor that disagrees with them means roll back.

use super::{Plan, Step};

/// The service tag that holds the cursor.
pub const CURSOR_TAG: &str = "ecs-deploy:cursor";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// `Plan::hash` of the plan the cursor indexes.
    pub plan_hash: String,
    /// Index of the step that last moved (or held) traffic.
    pub step: usize,
    /// The run stopped at an approval step on purpose.
    pub paused: bool,
}

impl Cursor {
    /// `<hash>/<step>/<running|paused>`: short, well under ECS's 256-character tag values.
    pub fn tag_value(&self) -> String {
        let state = if self.paused { "paused" } else { "running" };
        format!("{}/{}/{state}", self.plan_hash, self.step)
    }

    pub fn parse(value: &str) -> Option<Cursor> {
        let mut parts = value.split('/');
        let plan_hash = parts.next()?.to_string();
        let step = parts.next()?.parse().ok()?;
        let paused = match parts.next()? {
            "paused" => true,
            "running" => false,
            _ => return None,
        };
        if parts.next().is_some() || plan_hash.is_empty() {
            return None;
        }
        Some(Cursor {
            plan_hash,
            step,
            paused,
        })
    }
}

/// What a re-run does with a split it found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resume {
    /// Continue the interrupted rollout from this step index.
    From(usize),
    /// Put all traffic back on the stable slot first, for this reason.
    RollBack(String),
}

/// Decides how to resume `plan` given the cursor found on the new slot and the weight the
/// listener gives it now. Anything that is not an exact match is a rollback.
pub fn resume(plan: &Plan, cursor: Option<&Cursor>, canary_weight: i32) -> Resume {
    let Some(c) = cursor else {
        return Resume::RollBack("the new slot carries no cursor, so where the rollout stood is unknown".into());
    };
    if c.plan_hash != plan.hash() {
        return Resume::RollBack(format!(
            "the interrupted rollout followed another plan ({}, this run's is {}): other steps, settings or image",
            c.plan_hash,
            plan.hash()
        ));
    }
    let (weight, approval) = match plan.steps.get(c.step) {
        Some(Step::SetWeight { weight }) => (*weight, false),
        Some(Step::AwaitApproval { weight }) => (*weight, true),
        _ => {
            return Resume::RollBack(format!(
                "the cursor points at step {}, which moves no traffic",
                c.step + 1
            ))
        }
    };
    if i32::from(weight) != canary_weight {
        return Resume::RollBack(format!(
            "the cursor says {weight}% but the listener gives the new slot {canary_weight}%"
        ));
    }
    if approval && c.paused {
        // This run is the approval: go on after the pause.
        Resume::From(c.step + 1)
    } else {
        // Re-run the step: the weight is set again (a no-op) and its bake runs in full.
        Resume::From(c.step)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::plan::{two_slot, TwoSlotSettings};
    use crate::domain::strategy::{Bake, Strategy};
    use std::time::Duration;

    fn plan() -> Plan {
        let s = TwoSlotSettings {
            strategy: Strategy::parse("canary", Some("10,pause,50,100"), None).unwrap(),
            bake: Bake {
                duration: Duration::from_secs(60),
                interval: Duration::from_secs(10),
            },
            test_listener: false,
            smoke: None,
            keep_old_for: Duration::ZERO,
            stickiness: None,
        };
        two_slot(&s, "blue", "green", 2, "web@sha256:1")
    }

    fn index_of(p: &Plan, want: &Step) -> usize {
        p.steps.iter().position(|s| s == want).unwrap()
    }

    #[test]
    fn the_tag_value_round_trips_and_garbage_is_none() {
        let c = Cursor {
            plan_hash: "abc123".into(),
            step: 7,
            paused: true,
        };
        assert_eq!(c.tag_value(), "abc123/7/paused");
        assert_eq!(Cursor::parse(&c.tag_value()), Some(c));
        for bad in ["", "abc", "abc/x/running", "abc/1/maybe", "/1/running", "a/1/running/x"] {
            assert_eq!(Cursor::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn resume_table() {
        let p = plan();
        let at10 = index_of(&p, &Step::SetWeight { weight: 10 });
        let pause = index_of(&p, &Step::AwaitApproval { weight: 10 });
        let bake10 = at10 + 1;
        let c = |step, paused| {
            Some(Cursor {
                plan_hash: p.hash(),
                step,
                paused,
            })
        };
        let cases: Vec<(&str, Option<Cursor>, i32, Resume)> = vec![
            (
                "crash during the 10% bake: bake 10% again",
                c(at10, false),
                10,
                Resume::From(at10),
            ),
            (
                "paused at 10%: this run is the approval",
                c(pause, true),
                10,
                Resume::From(pause + 1),
            ),
            (
                "approval step not reached on purpose: stop there again",
                c(pause, false),
                10,
                Resume::From(pause),
            ),
        ];
        for (name, cursor, weight, want) in cases {
            assert_eq!(resume(&p, cursor.as_ref(), weight), want, "{name}");
        }
        let rollbacks: Vec<(&str, Option<Cursor>, i32)> = vec![
            ("no cursor", None, 10),
            ("weights disagree", c(at10, false), 50),
            ("cursor on a bake", c(bake10, false), 10),
            ("out of range", c(99, false), 10),
            (
                "another plan",
                Some(Cursor {
                    plan_hash: "000000000000".into(),
                    step: at10,
                    paused: false,
                }),
                10,
            ),
        ];
        for (name, cursor, weight) in rollbacks {
            assert!(
                matches!(resume(&p, cursor.as_ref(), weight), Resume::RollBack(_)),
                "{name}"
            );
        }
    }
}
