//! What serves production when a run ends, as the action read it back from AWS (the listener's
//! weights, the services' revisions and desired counts), not what it meant to do: the first
//! line an on-call engineer reads.

use super::service::ServiceState;

/// `family:revision` from a task-definition ARN.
fn short_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// Production at the end of a run.
#[derive(Debug, Clone, PartialEq)]
pub enum Production {
    /// Which services serve, on which revision, with which share of traffic (two-slot), and
    /// what else runs without traffic.
    Read { serving: Vec<Serving>, idle: Vec<Idle> },
    /// It could not be read back: a person must look.
    Unknown(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Serving {
    pub services: Vec<String>,
    pub task_definition: String,
    /// The listener's share, for two-slot runs.
    pub share: Option<u8>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Idle {
    pub service: String,
    pub task_definition: String,
    /// Tasks it still runs (0: scaled down).
    pub desired: i32,
}

impl Production {
    /// Rolling: the services grouped by the revision each runs now.
    pub fn of_services(states: &[ServiceState]) -> Production {
        let mut serving: Vec<Serving> = Vec::new();
        for s in states {
            match serving.iter_mut().find(|g| g.task_definition == s.task_definition) {
                Some(g) => g.services.push(s.name.clone()),
                None => serving.push(Serving {
                    services: vec![s.name.clone()],
                    task_definition: s.task_definition.clone(),
                    share: None,
                }),
            }
        }
        Production::Read { serving, idle: vec![] }
    }

    /// Two slots behind one listener: (slot, its weight now).
    pub fn of_slots(slots: &[(ServiceState, u8)]) -> Production {
        let mut serving = Vec::new();
        let mut idle = Vec::new();
        let mut by_share: Vec<&(ServiceState, u8)> = slots.iter().collect();
        by_share.sort_by_key(|(_, w)| std::cmp::Reverse(*w));
        for (s, w) in by_share {
            if *w > 0 {
                serving.push(Serving {
                    services: vec![s.name.clone()],
                    task_definition: s.task_definition.clone(),
                    share: Some(*w),
                });
            } else {
                idle.push(Idle {
                    service: s.name.clone(),
                    task_definition: s.task_definition.clone(),
                    desired: s.desired,
                });
            }
        }
        Production::Read { serving, idle }
    }

    /// One line: "web-blue 100% on shop-web:41; web-green (shop-web:42) scaled to 0".
    pub fn describe(&self) -> String {
        match self {
            Production::Unknown(why) => format!("not confirmed ({why}); look at the listener and the services"),
            Production::Read { serving, idle } => {
                let mut parts: Vec<String> = serving
                    .iter()
                    .map(|s| {
                        let who = s.services.join(", ");
                        let td = short_name(&s.task_definition);
                        match s.share {
                            Some(w) => format!("{who} {w}% on {td}"),
                            None => format!("{who} on {td}"),
                        }
                    })
                    .collect();
                if serving.is_empty() {
                    parts.push("no service takes traffic".into());
                }
                parts.extend(idle.iter().map(|i| {
                    let td = short_name(&i.task_definition);
                    match i.desired {
                        0 => format!("{} ({td}) scaled to 0", i.service),
                        n => format!("{} ({td}) runs {n} task(s) without traffic", i.service),
                    }
                }));
                parts.join("; ")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(name: &str, td: &str, desired: i32) -> ServiceState {
        ServiceState {
            name: name.into(),
            task_definition: format!("arn:aws:ecs:us-east-1:123456789012:task-definition/{td}"),
            desired,
            ..Default::default()
        }
    }

    #[test]
    fn two_slots_read_as_shares_then_idle() {
        let p = Production::of_slots(&[
            (state("web-green", "web:42", 0), 0),
            (state("web-blue", "web:41", 4), 100),
        ]);
        assert_eq!(p.describe(), "web-blue 100% on web:41; web-green (web:42) scaled to 0");
        let split = Production::of_slots(&[
            (state("web-blue", "web:41", 4), 90),
            (state("web-green", "web:42", 4), 10),
        ]);
        assert_eq!(split.describe(), "web-blue 90% on web:41; web-green 10% on web:42");
        let warm = Production::of_slots(&[
            (state("web-green", "web:42", 4), 100),
            (state("web-blue", "web:41", 4), 0),
        ]);
        assert_eq!(
            warm.describe(),
            "web-green 100% on web:42; web-blue (web:41) runs 4 task(s) without traffic"
        );
    }

    #[test]
    fn services_group_by_revision() {
        let p = Production::of_services(&[
            state("api", "api:7", 2),
            state("worker", "api:7", 1),
            state("cron", "cron:3", 1),
        ]);
        assert_eq!(p.describe(), "api, worker on api:7; cron on cron:3");
        assert!(Production::Unknown("timeout".into())
            .describe()
            .starts_with("not confirmed (timeout)"));
    }
}
