//! Scenario tests of the executor against in-memory fakes of the ports, on a fake clock: the
//! deploy logic as stories, with no simulator and no real time. (The same stories run against
//! the simulator in tests/progressive.rs and tests/rolling.rs.)

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use ecs_deploy_action::config::{validate, GithubContext, RawInputs};
use ecs_deploy_action::domain::analysis::TargetGroupMetrics;
use ecs_deploy_action::domain::diagnostics::Diagnostics;
use ecs_deploy_action::domain::image::{Digest, EcrLocation};
use ecs_deploy_action::domain::outcome::OutcomeKind;
use ecs_deploy_action::domain::service::{CircuitBreaker, Deployment, ServiceState};
use ecs_deploy_action::error::AwsError;
use ecs_deploy_action::executor::{progressive, rolling, Ports};
use ecs_deploy_action::ports::*;

const DIGEST: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
const LISTENER: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shop/1111/2222";

/// ECS as state: updates start a deployment that the next look finds COMPLETED — or, for an
/// image listed as crashing, FAILED and rolled back by the circuit breaker.
#[derive(Default)]
struct FakeEcs {
    services: Mutex<HashMap<String, ServiceState>>,
    task_definitions: Mutex<HashMap<String, TaskDefinitionInfo>>,
    tags: Mutex<HashMap<String, Vec<(String, String)>>>,
    crashing_images: Vec<String>,
    /// (service, desired) for every scale, in order.
    scaled: Mutex<Vec<(String, i32)>>,
}

impl FakeEcs {
    fn add(&self, name: &str, td: &str, image: &str, desired: i32, target_group: Option<&str>) {
        self.task_definitions.lock().unwrap().insert(
            td.into(),
            TaskDefinitionInfo {
                arn: td.into(),
                family: "web".into(),
                revision: 1,
                containers: vec![("app".into(), image.into())],
                tags: vec![],
            },
        );
        self.services.lock().unwrap().insert(
            name.into(),
            ServiceState {
                name: name.into(),
                arn: format!("arn:aws:ecs:us-east-1:123456789012:service/c/{name}"),
                status: "ACTIVE".into(),
                task_definition: td.into(),
                desired,
                running: desired,
                pending: 0,
                deployments: vec![deployment("ecs-svc/1", "PRIMARY", td, desired, "COMPLETED")],
                events: vec![],
                circuit_breaker: Some(CircuitBreaker {
                    enable: true,
                    rollback: true,
                }),
                target_groups: target_group.map(|t| vec![t.to_string()]).unwrap_or_default(),
                deployment_controller: "ECS".into(),
            },
        );
    }

    fn td_of(&self, service: &str) -> String {
        self.services.lock().unwrap()[service].task_definition.clone()
    }
}

fn deployment(id: &str, status: &str, td: &str, desired: i32, rollout: &str) -> Deployment {
    Deployment {
        id: id.into(),
        status: status.into(),
        task_definition: td.into(),
        desired,
        running: if rollout == "COMPLETED" { desired } else { 0 },
        pending: 0,
        failed_tasks: 0,
        rollout_state: Some(rollout.into()),
        rollout_state_reason: None,
        created_at: None,
    }
}

#[async_trait]
impl Ecs for FakeEcs {
    async fn describe_services(&self, _: &str, names: &[String]) -> Result<Vec<ServiceState>, AwsError> {
        let tds = self.task_definitions.lock().unwrap().clone();
        let mut services = self.services.lock().unwrap();
        Ok(names
            .iter()
            .map(|n| {
                let s = services.get_mut(n).expect("known service");
                if let Some(p) = s
                    .deployments
                    .iter()
                    .position(|d| d.rollout_state.as_deref() == Some("IN_PROGRESS"))
                {
                    let d = s.deployments[p].clone();
                    let image = tds[&d.task_definition].containers[0].1.clone();
                    if self.crashing_images.iter().any(|c| image.ends_with(c.as_str())) {
                        let previous = s
                            .deployments
                            .iter()
                            .find(|x| x.id != d.id)
                            .map(|x| x.task_definition.clone())
                            .unwrap_or_default();
                        s.events.insert(
                            0,
                            ecs_deploy_action::domain::service::ServiceEvent {
                                id: "e1".into(),
                                created_at: None,
                                message: format!("(service {n}) rolling back to deployment ecs-svc/rb."),
                            },
                        );
                        s.deployments = vec![deployment("ecs-svc/rb", "PRIMARY", &previous, s.desired, "COMPLETED")];
                        s.task_definition = previous;
                    } else {
                        s.deployments = vec![deployment(&d.id, "PRIMARY", &d.task_definition, s.desired, "COMPLETED")];
                    }
                    s.running = s.desired;
                }
                s.clone()
            })
            .collect())
    }
    async fn describe_task_definition(&self, arn: &str) -> Result<TaskDefinitionInfo, AwsError> {
        Ok(self.task_definitions.lock().unwrap()[arn].clone())
    }
    async fn register_revision(
        &self,
        base: &str,
        images: &[(String, String)],
        tags: &[(String, String)],
    ) -> Result<String, AwsError> {
        let mut tds = self.task_definitions.lock().unwrap();
        let mut td = tds[base].clone();
        td.revision = tds.len() as i32 + 1;
        td.arn = format!("arn:aws:ecs:us-east-1:123456789012:task-definition/web:{}", td.revision);
        td.containers = td
            .containers
            .iter()
            .map(|(n, i)| {
                (
                    n.clone(),
                    images
                        .iter()
                        .find(|(c, _)| c == n)
                        .map(|(_, i)| i.clone())
                        .unwrap_or(i.clone()),
                )
            })
            .collect();
        td.tags = tags.to_vec();
        tds.insert(td.arn.clone(), td.clone());
        Ok(td.arn)
    }
    async fn update_service(&self, _: &str, service: &str, td: &str, desired: Option<i32>) -> Result<String, AwsError> {
        let mut services = self.services.lock().unwrap();
        let s = services.get_mut(service).expect("known service");
        if let Some(d) = desired {
            s.desired = d;
        }
        for d in &mut s.deployments {
            d.status = "ACTIVE".into();
        }
        let id = format!("ecs-svc/{}", s.deployments.len() + 100);
        s.deployments
            .insert(0, deployment(&id, "PRIMARY", td, s.desired, "IN_PROGRESS"));
        s.task_definition = td.into();
        Ok(id)
    }
    async fn scale_service(&self, _: &str, service: &str, desired: i32) -> Result<(), AwsError> {
        let mut services = self.services.lock().unwrap();
        let s = services.get_mut(service).expect("known service");
        s.desired = desired;
        s.running = desired;
        self.scaled.lock().unwrap().push((service.into(), desired));
        Ok(())
    }
    async fn service_tags(&self, arn: &str) -> Result<Vec<(String, String)>, AwsError> {
        Ok(self.tags.lock().unwrap().get(arn).cloned().unwrap_or_default())
    }
    async fn tag_service(&self, arn: &str, tags: &[(String, String)]) -> Result<(), AwsError> {
        let mut all = self.tags.lock().unwrap();
        let entry = all.entry(arn.into()).or_default();
        for (k, v) in tags {
            entry.retain(|(key, _)| key != k);
            entry.push((k.clone(), v.clone()));
        }
        Ok(())
    }
    async fn untag_service(&self, arn: &str, keys: &[String]) -> Result<(), AwsError> {
        if let Some(entry) = self.tags.lock().unwrap().get_mut(arn) {
            entry.retain(|(k, _)| !keys.contains(k));
        }
        Ok(())
    }
    async fn task_definition_history(&self, _: &str, _: usize) -> Result<Vec<TaskDefinitionInfo>, AwsError> {
        Ok(vec![])
    }
    async fn diagnostics(&self, _: &str, _: &ServiceState, _: &str, _: SystemTime) -> Diagnostics {
        Diagnostics::default()
    }
}

struct FakeRegistry;

#[async_trait]
impl Registry for FakeRegistry {
    async fn resolve_tag(&self, _: &EcrLocation, _: &str) -> Result<Digest, AwsError> {
        Ok(Digest::parse(DIGEST).unwrap())
    }
    async fn confirm_digest(&self, _: &EcrLocation, _: &Digest) -> Result<(), AwsError> {
        Ok(())
    }
    async fn tags(&self, _: &EcrLocation) -> Result<Vec<(String, Digest)>, AwsError> {
        Ok(vec![])
    }
    async fn immutable(&self, _: &EcrLocation) -> Result<bool, AwsError> {
        Ok(false)
    }
    async fn retag(&self, _: &EcrLocation, _: &Digest, _: &str) -> Result<Retag, AwsError> {
        Ok(Retag::Created)
    }
}

/// The listener's weights, and every change to them in order.
struct FakeRouter {
    weights: Mutex<Vec<(String, i32)>>,
    history: Mutex<Vec<Vec<(String, i32)>>>,
}

#[async_trait]
impl TrafficRouter for FakeRouter {
    async fn forward_weights(&self, _: &TrafficSplitRef) -> Result<ForwardWeights, AwsError> {
        Ok(ForwardWeights {
            weights: self.weights.lock().unwrap().clone(),
            load_balancer_dimension: "app/shop/1111".into(),
        })
    }
    async fn set_weights(&self, _: &TrafficSplitRef, weights: &[(String, i32)]) -> Result<(), AwsError> {
        *self.weights.lock().unwrap() = weights.to_vec();
        self.history.lock().unwrap().push(weights.to_vec());
        Ok(())
    }
    async fn target_health(&self, _: &str) -> Result<Vec<TargetHealth>, AwsError> {
        Ok((0..4)
            .map(|i| TargetHealth {
                target: format!("10.0.0.{i}"),
                state: "healthy".into(),
                reason: String::new(),
            })
            .collect())
    }
}

/// Metrics that follow the weights: the green target group gets its share of 10,000 requests;
/// an alarm fires once green's weight reaches `alarm_at`.
struct FakeMetrics<'a> {
    router: &'a FakeRouter,
    green_error_rate: f64,
    alarm_at: Option<i32>,
}

impl FakeMetrics<'_> {
    fn green_weight(&self) -> i32 {
        self.router
            .weights
            .lock()
            .unwrap()
            .iter()
            .find(|(tg, _)| tg == "tg-green")
            .map(|(_, w)| *w)
            .unwrap_or(0)
    }
}

#[async_trait]
impl Metrics for FakeMetrics<'_> {
    async fn target_group(
        &self,
        _: &str,
        tg: &str,
        _: SystemTime,
        _: SystemTime,
    ) -> Result<TargetGroupMetrics, AwsError> {
        let share = if tg == "tg-green" {
            self.green_weight()
        } else {
            100 - self.green_weight()
        } as f64
            / 100.0;
        let requests = 10_000.0 * share;
        let rate = if tg == "tg-green" { self.green_error_rate } else { 0.0 };
        Ok(TargetGroupMetrics {
            requests,
            errors_5xx: requests * rate,
            p99_ms: Some(80.0),
        })
    }
    async fn alarms_firing(&self, alarms: &[String]) -> Result<Vec<String>, AwsError> {
        Ok(match self.alarm_at {
            Some(at) if self.green_weight() >= at => alarms.to_vec(),
            _ => vec![],
        })
    }
}

/// Time that passes only when the code under test sleeps.
struct FakeClock(Mutex<SystemTime>);

#[async_trait]
impl Clock for FakeClock {
    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap()
    }
    async fn sleep(&self, d: Duration) {
        *self.0.lock().unwrap() += d;
        tokio::task::yield_now().await;
    }
}

struct Ok200;

#[async_trait]
impl SmokeCheck for Ok200 {
    async fn get(&self, _: &str, _: Duration) -> Result<u16, String> {
        Ok(200)
    }
}

/// The ports of one story: the fakes, an always-200 smoke check, no reporting.
fn ports<'a>(
    ecs: &'a FakeEcs,
    router: &'a FakeRouter,
    metrics: &'a FakeMetrics<'a>,
    clock: &'a FakeClock,
    stage: &str,
) -> Ports<'a> {
    Ports {
        ecs,
        registry: &FakeRegistry,
        clock,
        router,
        metrics,
        smoke: &Ok200,
        reporter: &NoReporter,
        stage: stage.into(),
    }
}

fn config(pairs: &[(&str, &str)]) -> ecs_deploy_action::config::DeployConfig {
    let mut all = vec![
        ("cluster", "c"),
        ("image", "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:v2"),
        ("aws-region", "us-east-1"),
    ];
    all.extend_from_slice(pairs);
    let raw = RawInputs::from_vars(
        all.iter()
            .map(|(k, v)| (format!("INPUT_{}", k.to_uppercase()), v.to_string())),
    )
    .unwrap();
    validate(&raw, GithubContext::default(), None).unwrap()
}

fn slots() -> (FakeEcs, FakeRouter) {
    let ecs = FakeEcs {
        crashing_images: vec![],
        ..Default::default()
    };
    ecs.add("web-blue", "td:blue", "web:v1", 4, Some("tg-blue"));
    ecs.add("web-green", "td:green", "web:v1", 0, Some("tg-green"));
    let router = FakeRouter {
        weights: Mutex::new(vec![("tg-blue".into(), 100), ("tg-green".into(), 0)]),
        history: Mutex::new(vec![]),
    };
    (ecs, router)
}

fn canary_config(extra: &[(&str, &str)]) -> ecs_deploy_action::config::DeployConfig {
    let mut pairs = vec![
        ("services", "web-blue, web-green"),
        ("strategy", "canary"),
        ("listener-arn", LISTENER),
        ("bake-time", "5m"),
        ("analysis-interval", "1m"),
        ("keep-old-for", "10m"),
        ("alarms", "web-5xx"),
    ];
    pairs.extend_from_slice(extra);
    config(&pairs)
}

fn green_weights(router: &FakeRouter) -> Vec<i32> {
    router
        .history
        .lock()
        .unwrap()
        .iter()
        .map(|w| w.iter().find(|(tg, _)| tg == "tg-green").map(|(_, w)| *w).unwrap_or(0))
        .collect()
}

#[tokio::test]
async fn a_healthy_canary_walks_every_step_then_retires_the_old_slot() {
    let (ecs, router) = slots();
    let metrics = FakeMetrics {
        router: &router,
        green_error_rate: 0.001,
        alarm_at: None,
    };
    let clock = FakeClock(Mutex::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)));
    let ports = ports(&ecs, &router, &metrics, &clock, "prod");
    let cfg = canary_config(&[]);
    let (_tx, mut cancel) = tokio::sync::watch::channel(false);
    let report = progressive::deploy(&cfg, cfg.progressive.as_ref().unwrap(), &ports, &mut cancel)
        .await
        .unwrap();
    assert_eq!(report.outcome.kind, OutcomeKind::Success);
    assert_eq!(green_weights(&router), vec![5, 10, 25, 50, 100]);
    assert_eq!(report.timeline.len(), 5);
    assert!(
        report.timeline.iter().all(|s| s.verdict == "pass"),
        "{:?}",
        report.timeline
    );
    assert_eq!(
        ecs.services.lock().unwrap()["web-green"].desired,
        4,
        "the new slot got the live slot's count"
    );
    assert_eq!(
        ecs.scaled.lock().unwrap().last(),
        Some(&("web-blue".to_string(), 0)),
        "the old slot is retired last"
    );
    let green_td = ecs.td_of("web-green");
    let td = ecs.task_definitions.lock().unwrap()[&green_td].clone();
    assert_eq!(
        td.containers[0].1,
        format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/web@{DIGEST}"),
        "deployed by digest"
    );
    // Five bakes of five minutes and the warm old slot passed on the clock, not in real time.
    let elapsed = clock
        .now()
        .duration_since(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        .unwrap();
    assert!(elapsed >= Duration::from_secs(35 * 60), "{elapsed:?}");
}

#[tokio::test]
async fn an_alarm_at_25_percent_puts_the_weights_back_first_then_scales_the_canary_down() {
    let (ecs, router) = slots();
    let metrics = FakeMetrics {
        router: &router,
        green_error_rate: 0.0,
        alarm_at: Some(25),
    };
    let clock = FakeClock(Mutex::new(SystemTime::UNIX_EPOCH));
    let ports = ports(&ecs, &router, &metrics, &clock, "prod");
    let cfg = canary_config(&[]);
    let (_tx, mut cancel) = tokio::sync::watch::channel(false);
    let report = progressive::deploy(&cfg, cfg.progressive.as_ref().unwrap(), &ports, &mut cancel)
        .await
        .unwrap();
    assert_eq!(report.outcome.kind, OutcomeKind::Failure);
    assert_eq!(
        green_weights(&router),
        vec![5, 10, 25, 0],
        "the last change is the rollback to 100/0"
    );
    let reason = report.outcome.reason.clone().unwrap();
    assert!(
        reason.contains("analysis failed at 25% traffic") && reason.contains("alarm web-5xx is in ALARM"),
        "{reason}"
    );
    assert_eq!(
        ecs.scaled.lock().unwrap().last(),
        Some(&("web-green".to_string(), 0)),
        "the canary slot is scaled down after the weights"
    );
    assert_eq!(
        ecs.services.lock().unwrap()["web-blue"].desired,
        4,
        "the stable slot is untouched"
    );
}

#[tokio::test]
async fn an_error_rate_over_the_threshold_fails_the_first_step() {
    let (ecs, router) = slots();
    let metrics = FakeMetrics {
        router: &router,
        green_error_rate: 0.081,
        alarm_at: None,
    };
    let clock = FakeClock(Mutex::new(SystemTime::UNIX_EPOCH));
    let ports = ports(&ecs, &router, &metrics, &clock, "prod");
    let cfg = canary_config(&[]);
    let (_tx, mut cancel) = tokio::sync::watch::channel(false);
    let report = progressive::deploy(&cfg, cfg.progressive.as_ref().unwrap(), &ports, &mut cancel)
        .await
        .unwrap();
    assert_eq!(green_weights(&router), vec![5, 0]);
    assert!(report.outcome.reason.unwrap().contains("5xx rate 8.1% > 1.0%"));
}

#[tokio::test]
async fn a_circuit_breaker_rollback_is_a_failure_never_a_success() {
    let ecs = FakeEcs {
        crashing_images: vec![format!("web@{DIGEST}")],
        ..Default::default()
    };
    ecs.add(
        "api",
        "td:1",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:v1",
        2,
        None,
    );
    let router = FakeRouter {
        weights: Mutex::new(vec![]),
        history: Mutex::new(vec![]),
    };
    let metrics = FakeMetrics {
        router: &router,
        green_error_rate: 0.0,
        alarm_at: None,
    };
    let clock = FakeClock(Mutex::new(SystemTime::UNIX_EPOCH));
    let ports = ports(&ecs, &router, &metrics, &clock, "dev");
    let cfg = config(&[("services", "api")]);
    let (_tx, mut cancel) = tokio::sync::watch::channel(false);
    let report = rolling::deploy(&cfg, &ports, &mut cancel).await.unwrap();
    assert_eq!(
        report.outcome.kind,
        OutcomeKind::Failure,
        "counts match after the rollback, but it is not our deployment"
    );
    assert!(report.outcome.reason.unwrap().contains("circuit breaker"));
    assert_eq!(ecs.td_of("api"), "td:1");
}

#[tokio::test]
async fn a_signal_during_a_bake_restores_the_weights() {
    let (ecs, router) = slots();
    let metrics = FakeMetrics {
        router: &router,
        green_error_rate: 0.0,
        alarm_at: None,
    };
    let clock = FakeClock(Mutex::new(SystemTime::UNIX_EPOCH));
    let ports = ports(&ecs, &router, &metrics, &clock, "prod");
    let cfg = canary_config(&[]);
    let (tx, mut cancel) = tokio::sync::watch::channel(false);
    let deploy = progressive::deploy(&cfg, cfg.progressive.as_ref().unwrap(), &ports, &mut cancel);
    let signal = async {
        while green_weights(&router).is_empty() {
            tokio::task::yield_now().await;
        }
        tx.send(true).unwrap();
    };
    let (report, ()) = tokio::join!(deploy, signal);
    let report = report.unwrap();
    assert_eq!(report.outcome.kind, OutcomeKind::Cancelled);
    assert_eq!(green_weights(&router).last(), Some(&0));
}
