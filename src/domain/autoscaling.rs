//! Application Auto Scaling around a deploy: what to suspend, what to put back, and where the
//! capacity range goes when traffic moves from one slot to the other.
//!
//! During a deploy the autoscaler must not act: it would resize a canary mid-step, or scale the
//! idle slot the deploy just scaled to 0. Application Auto Scaling also clamps a service's count
//! into its target's range whenever the target is registered (even only to suspend it), so an
//! idle slot whose minimum is above 0 is lowered to 0 first, and after the deploy the range
//! follows the traffic: the slot that serves gets the range production had.

use std::fmt;

/// Which scaling activities are suspended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Suspended {
    pub scale_in: bool,
    pub scale_out: bool,
    pub scheduled: bool,
}

impl Suspended {
    pub const ALL: Suspended = Suspended {
        scale_in: true,
        scale_out: true,
        scheduled: true,
    };
    pub const NONE: Suspended = Suspended {
        scale_in: false,
        scale_out: false,
        scheduled: false,
    };
}

/// A service's scalable target (`ecs:service:DesiredCount`) as read, with its service's count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScalableTarget {
    pub service: String,
    pub min: i32,
    pub max: i32,
    pub suspended: Suspended,
}

/// What a run changed on one target, kept on the service (tag `ecs-deploy:scaling`) before the
/// change so that a run killed meanwhile leaves what to put back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    pub suspended: Suspended,
    pub min: i32,
    pub max: i32,
}

impl fmt::Display for Saved {
    /// `in=0,out=0,scheduled=0,min=2,max=10`: short, and within ECS's tag value limits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = |v: bool| u8::from(v);
        write!(
            f,
            "in={},out={},scheduled={},min={},max={}",
            b(self.suspended.scale_in),
            b(self.suspended.scale_out),
            b(self.suspended.scheduled),
            self.min,
            self.max
        )
    }
}

impl Saved {
    pub fn parse(s: &str) -> Option<Saved> {
        let mut fields = std::collections::BTreeMap::new();
        for part in s.split(',') {
            let (k, v) = part.split_once('=')?;
            fields.insert(k.trim(), v.trim().parse::<i32>().ok()?);
        }
        let flag = |k: &str| fields.get(k).map(|v| *v != 0);
        Some(Saved {
            suspended: Suspended {
                scale_in: flag("in")?,
                scale_out: flag("out")?,
                scheduled: flag("scheduled")?,
            },
            min: *fields.get("min")?,
            max: *fields.get("max")?,
        })
    }
}

/// What the run does to one target before its first change: the state to save (the one a
/// killed run saved, if any: the target now shows that run's suspension), and the minimum to
/// set with the suspension (the service's count, when the range's minimum is above it, so
/// registering does not scale an idle slot up).
pub fn suspension(target: &ScalableTarget, desired: i32, saved_by_killed_run: Option<Saved>) -> (Saved, Option<i32>) {
    let saved = saved_by_killed_run.unwrap_or(Saved {
        suspended: target.suspended,
        min: target.min,
        max: target.max,
    });
    let lowered_min = (target.min > desired).then_some(desired.max(0));
    (saved, lowered_min)
}

/// The range to register for one slot when the deploy is over (two slots), from its weight
/// now, its count now, its own saved range and the range of the slot that was live at the
/// start (production's). `None`: its saved range.
pub fn range_after(weight: i32, desired: i32, own: &Saved, production: &Saved) -> (i32, i32) {
    match weight {
        // All traffic: production's range.
        100.. => (production.min, production.max.max(production.min)),
        // No traffic: it may scale to 0, never up from there.
        ..=0 => (0, own.max),
        // Part of the traffic (a paused canary): never below what it runs now.
        _ => (desired.min(production.max), production.max),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn saved(min: i32, max: i32) -> Saved {
        Saved {
            suspended: Suspended::NONE,
            min,
            max,
        }
    }

    #[test]
    fn the_saved_state_reads_back() {
        let s = Saved {
            suspended: Suspended {
                scale_in: true,
                scale_out: false,
                scheduled: true,
            },
            min: 2,
            max: 10,
        };
        assert_eq!(s.to_string(), "in=1,out=0,scheduled=1,min=2,max=10");
        assert_eq!(Saved::parse(&s.to_string()), Some(s));
        assert_eq!(Saved::parse("in=1,out=0"), None);
        assert_eq!(Saved::parse("garbage"), None);
    }

    #[test]
    fn an_idle_slot_is_lowered_before_it_is_registered_and_a_killed_runs_save_wins() {
        let target = ScalableTarget {
            service: "web-green".into(),
            min: 2,
            max: 10,
            suspended: Suspended::NONE,
        };
        assert_eq!(suspension(&target, 0, None), (saved(2, 10), Some(0)));
        assert_eq!(suspension(&target, 4, None), (saved(2, 10), None));
        let killed = Saved {
            suspended: Suspended::NONE,
            min: 3,
            max: 8,
        };
        let now_suspended = ScalableTarget {
            suspended: Suspended::ALL,
            ..target
        };
        assert_eq!(suspension(&now_suspended, 4, Some(killed.clone())).0, killed);
    }

    #[test]
    fn the_range_follows_the_traffic() {
        let production = saved(2, 10);
        let idle = saved(0, 10);
        // (weight, desired, own, expected)
        let cases = [
            (100, 4, &idle, (2, 10)),       // the new slot took all traffic
            (100, 4, &production, (2, 10)), // rolled back: production keeps its range
            (0, 0, &production, (0, 10)),   // the old slot, retired
            (0, 0, &idle, (0, 10)),
            (10, 1, &idle, (1, 10)), // a paused canary: not below what it runs
        ];
        for (weight, desired, own, want) in cases {
            assert_eq!(
                range_after(weight, desired, own, &production),
                want,
                "{weight}% {desired}"
            );
        }
    }
}
