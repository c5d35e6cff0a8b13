//! The plan builders: one per controller. Pure functions of the settings and of what
//! preflight observed (which slot is live, how many tasks it runs).

use std::time::Duration;

use super::{Plan, Step};
use crate::domain::one_off_task::OneOffTaskSpec;
use crate::domain::strategy::{self, Bake, Strategy};

/// What a two-slot plan needs to know of the configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct TwoSlotSettings {
    pub strategy: Strategy,
    pub bake: Bake,
    pub test_listener: bool,
    pub smoke: Option<(String, Duration)>,
    pub keep_old_for: Duration,
    /// The forward action's target-group stickiness, as preflight read it.
    pub stickiness: Option<Duration>,
}

/// The longest the run waits for clients pinned to the old slot to leave it (when
/// `keep-old-for` is shorter); longer stickiness leaves the old slot running.
pub const PINNED_WAIT_MAX: Duration = Duration::from_secs(15 * 60);

/// How long the old slot stays warm: `keep-old-for`, or the stickiness when that is longer
/// and within `PINNED_WAIT_MAX`; scaling it down sooner sends its pinned clients 503s.
pub fn keep_old_for(settings: &TwoSlotSettings) -> Duration {
    match settings.stickiness {
        Some(d) if d > settings.keep_old_for && d <= PINNED_WAIT_MAX => d,
        _ => settings.keep_old_for,
    }
}

/// ECS's rolling update of every service, all or nothing.
/// `desired`: the task count `desired-count` sets (None: each service keeps its own).
pub fn rolling(services: &[String], image: &str, desired: Option<i32>) -> Plan {
    let services = services.to_vec();
    Plan {
        strategy: "rolling".into(),
        image: image.into(),
        steps: vec![
            Step::RegisterRevision {
                services: services.clone(),
            },
            Step::UpdateService {
                services: services.clone(),
                desired,
            },
            Step::AwaitStable { services },
        ],
        cursor: 0,
    }
}

/// Blue/green, canary, linear and all-at-once: prepare the idle slot without production
/// traffic, shift by the strategy's steps (each baked unless the strategy never bakes), then
/// record and retire the old slot.
pub fn two_slot(settings: &TwoSlotSettings, live: &str, idle: &str, live_desired: i32, image: &str) -> Plan {
    let idle_s = idle.to_string();
    let mut steps = vec![
        Step::RegisterRevision {
            services: vec![idle_s.clone()],
        },
        Step::UpdateService {
            services: vec![idle_s.clone()],
            desired: Some(live_desired.max(1)),
        },
        Step::AwaitStable {
            services: vec![idle_s.clone()],
        },
        Step::AwaitHealthy {
            service: idle_s.clone(),
        },
    ];
    if settings.test_listener {
        steps.push(Step::PointTestListener {
            service: idle_s.clone(),
        });
    }
    if let Some((url, timeout)) = &settings.smoke {
        steps.push(Step::Smoke {
            url: url.clone(),
            timeout_secs: timeout.as_secs(),
        });
    }
    let bakes = settings.strategy.bakes() && !settings.bake.duration.is_zero();
    let mut weight = 0u8;
    for s in settings.strategy.steps() {
        match s {
            strategy::Step::Weight(w) => {
                weight = w;
                steps.push(Step::SetWeight { weight: w });
                if bakes {
                    steps.push(Step::Bake {
                        weight: w,
                        seconds: settings.bake.duration.as_secs(),
                        interval_secs: settings.bake.interval.as_secs().max(1),
                    });
                }
            }
            strategy::Step::Pause => steps.push(Step::AwaitApproval { weight }),
        }
    }
    steps.push(Step::Record {
        stable: idle_s,
        previous: live.to_string(),
    });
    steps.push(Step::Retire {
        service: live.to_string(),
        keep_for_secs: keep_old_for(settings).as_secs(),
        pinned_secs: settings.stickiness.map(|d| d.as_secs()),
    });
    Plan {
        strategy: settings.strategy.name().into(),
        image: image.into(),
        steps,
        cursor: 0,
    }
}

impl Plan {
    /// The plan with a one-off task (`run-task-command`) right after the new revision is
    /// registered: it runs from that revision, before any service or traffic moves.
    pub fn with_run_task(mut self, spec: Option<&OneOffTaskSpec>) -> Plan {
        if let Some(spec) = spec {
            let at = self
                .steps
                .iter()
                .position(|s| matches!(s, Step::RegisterRevision { .. }))
                .map_or(0, |i| i + 1);
            self.steps.insert(
                at,
                Step::RunTask {
                    container: spec.container.clone(),
                    command: spec.command.clone(),
                    timeout_secs: spec.timeout.as_secs(),
                    subnets: spec.subnets.clone(),
                    security_groups: spec.security_groups.clone(),
                    assign_public_ip: spec.assign_public_ip,
                },
            );
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/web@sha256:2222";

    fn settings(strategy: &str, steps: Option<&str>) -> TwoSlotSettings {
        TwoSlotSettings {
            strategy: Strategy::parse(strategy, steps, Some("25")).unwrap(),
            bake: Bake {
                duration: Duration::from_secs(300),
                interval: Duration::from_secs(30),
            },
            test_listener: true,
            smoke: Some(("https://test.example.com/health".into(), Duration::from_secs(30))),
            keep_old_for: Duration::from_secs(300),
            stickiness: None,
        }
    }

    fn snapshot(plan: &Plan) -> String {
        format!(
            "{}\n\nhash {}\n\n{}",
            plan.lines().join("\n"),
            plan.hash(),
            serde_json::to_string_pretty(plan).unwrap()
        )
    }

    #[test]
    fn rolling_plan() {
        insta::assert_snapshot!(snapshot(&rolling(&["api".into(), "worker".into()], IMAGE, None)));
    }

    #[test]
    fn a_one_off_task_runs_after_registration_and_before_anything_moves() {
        let spec = OneOffTaskSpec {
            command: vec!["sh".into(), "-c".into(), "./migrate && ./seed".into()],
            container: None,
            timeout: Duration::from_secs(900),
            subnets: vec![],
            security_groups: vec![],
            assign_public_ip: None,
        };
        let rolling = rolling(&["api".into()], IMAGE, None).with_run_task(Some(&spec));
        let kinds: Vec<&str> = rolling.steps.iter().map(Step::kind).collect();
        assert_eq!(
            kinds,
            ["register-revision", "run-task", "update-service", "await-stable"]
        );
        assert_eq!(
            rolling.lines()[1],
            "2/4 run-task: run `sh -c './migrate && ./seed'` as a one-off task of the new revision; exit code 0 within 15m or nothing is deployed"
        );
        let canary = two_slot(&settings("canary", None), "web-blue", "web-green", 4, IMAGE);
        let with = canary.clone().with_run_task(Some(&spec));
        assert_eq!(with.steps[1].kind(), "run-task");
        assert!(with.steps[..2].iter().all(|s| !s.moves_traffic()));
        assert_ne!(with.hash(), canary.hash(), "a resume must not mix the two plans");
        assert_eq!(canary.clone().with_run_task(None), canary);
    }

    #[test]
    fn blue_green_plan() {
        insta::assert_snapshot!(snapshot(&two_slot(
            &settings("blue-green", None),
            "web-blue",
            "web-green",
            4,
            IMAGE
        )));
    }

    #[test]
    fn canary_plan_with_a_pause() {
        let s = settings("canary", Some("10,pause,50,100"));
        insta::assert_snapshot!(snapshot(&two_slot(&s, "web-blue", "web-green", 4, IMAGE)));
    }

    #[test]
    fn linear_plan() {
        insta::assert_snapshot!(snapshot(&two_slot(
            &settings("linear", None),
            "web-blue",
            "web-green",
            2,
            IMAGE
        )));
    }

    #[test]
    fn all_at_once_never_bakes() {
        let plan = two_slot(&settings("all-at-once", None), "web-blue", "web-green", 4, IMAGE);
        assert!(!plan.steps.iter().any(|s| matches!(s, Step::Bake { .. })));
        insta::assert_snapshot!(snapshot(&plan));
    }

    #[test]
    fn a_zero_bake_time_plans_no_bake_and_no_smoke_without_a_url() {
        let mut s = settings("canary", Some("50,100"));
        s.bake.duration = Duration::ZERO;
        s.smoke = None;
        s.test_listener = false;
        let kinds: Vec<_> = two_slot(&s, "a", "b", 0, IMAGE).steps.iter().map(Step::kind).collect();
        assert_eq!(
            kinds,
            [
                "register-revision",
                "update-service",
                "await-stable",
                "await-healthy",
                "set-weight",
                "set-weight",
                "record",
                "retire"
            ]
        );
    }

    #[test]
    fn the_old_slot_waits_out_short_stickiness_and_is_left_running_under_long_stickiness() {
        let retire = |sticky: Option<u64>| {
            let s = TwoSlotSettings {
                stickiness: sticky.map(Duration::from_secs),
                ..settings("blue-green", None)
            };
            let plan = two_slot(&s, "web-blue", "web-green", 2, IMAGE);
            plan.steps.last().map(ToString::to_string).unwrap_or_default()
        };
        assert_eq!(retire(None), "keep web-blue warm for 5m, then scale it to 0");
        assert_eq!(retire(Some(60)), "keep web-blue warm for 5m, then scale it to 0");
        assert_eq!(
            retire(Some(600)),
            "keep web-blue warm for 10m (its clients' stickiness), then scale it to 0"
        );
        assert_eq!(
            retire(Some(86_400)),
            "keep web-blue warm for 5m, then leave it running: target-group stickiness pins clients to it for 1day"
        );
    }

    #[test]
    fn the_hash_follows_the_steps_and_the_image_not_the_cursor() {
        let s = settings("canary", None);
        let a = two_slot(&s, "web-blue", "web-green", 4, IMAGE);
        let mut moved = a.clone();
        moved.cursor = 7;
        assert_eq!(a.hash(), moved.hash());
        assert_ne!(
            a.hash(),
            two_slot(&s, "web-blue", "web-green", 4, "other@sha256:1").hash()
        );
        let other = settings("canary", Some("5,pause,100"));
        assert_ne!(a.hash(), two_slot(&other, "web-blue", "web-green", 4, IMAGE).hash());
    }

    #[test]
    fn the_worst_case_covers_every_remaining_wait() {
        let plan = two_slot(&settings("blue-green", None), "web-blue", "web-green", 4, IMAGE);
        // 2 waits of 10 min, smoke 30 s, bake 5 min plus 4 min for CloudWatch, keep 5 min, 5
        // quick steps of 30 s.
        assert_eq!(
            plan.worst_case(Duration::from_secs(600), Duration::from_secs(240)),
            Duration::from_secs(1200 + 30 + 300 + 240 + 300 + 5 * 30)
        );
    }

    #[test]
    fn a_one_off_task_carries_its_network_in_the_plan() {
        let spec = OneOffTaskSpec {
            command: vec!["rake".into(), "db:migrate".into()],
            container: Some("app".into()),
            timeout: Duration::from_secs(600),
            subnets: vec!["subnet-1".into(), "subnet-2".into()],
            security_groups: vec!["sg-1".into()],
            assign_public_ip: Some(true),
        };
        let plan = rolling(&["api".to_string()], IMAGE, None).with_run_task(Some(&spec));
        let step = plan.steps.iter().find(|s| s.one_off_task().is_some()).unwrap();
        assert_eq!(
            step.one_off_task().unwrap(),
            spec,
            "the handler runs exactly what the plan holds"
        );
        let printed = plan.lines().join("\n");
        assert!(
            printed.contains("in subnets subnet-1, subnet-2 with security groups sg-1 with a public IP"),
            "{printed}"
        );
    }
}
