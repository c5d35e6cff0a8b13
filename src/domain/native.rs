//! ECS-native deployments (a service whose `deploymentConfiguration.strategy` is BLUE_GREEN,
//! LINEAR or CANARY): ECS shifts traffic itself, server-side, between the service's two target
//! groups. The action starts the deployment, follows its lifecycle stages, judges the new
//! revision on production traffic, and stops it with ROLLBACK when the verdict fails.
//!
//! This module is the pure part: what the service is set up to do, the inputs that override
//! it (checked against the strategy, so a canary setting on a LINEAR service is refused before
//! any change), and how a service deployment's state reads.

use std::fmt;
use std::time::Duration;

pub use super::service_deployment::{smoke_stage, DeploymentView, LifecycleStage, Phase, ServiceDeploymentStatus};

/// ECS's own strategy and its parameters, as the service has them.
#[derive(Debug, Clone, PartialEq)]
pub enum NativeStrategy {
    BlueGreen,
    /// `percent` of production for `bake`, then the rest.
    Canary {
        percent: f64,
        bake: Duration,
    },
    /// `percent` more every `bake`.
    Linear {
        percent: f64,
        bake: Duration,
    },
}

/// What the service is set up to do (read from DescribeServices).
#[derive(Debug, Clone, PartialEq)]
pub struct NativeSetup {
    pub strategy: NativeStrategy,
    /// `bakeTimeInMinutes`: both revisions run after the shift, before blue's tasks stop.
    pub bake: Duration,
    /// The production listener rule ECS shifts.
    pub production_rule: String,
    pub test_rule: Option<String>,
    /// The service's target group and its alternate: ECS puts the new revision in whichever
    /// one production is not on.
    pub target_groups: (String, String),
    /// Lifecycle stages with a PAUSE hook.
    pub pause_stages: Vec<String>,
    /// Deployment alarms with rollback on: ECS rolls back by itself when one fires.
    pub alarm_rollback: Vec<String>,
}

impl NativeSetup {
    /// How long ECS itself takes to shift and bake (its canary or linear steps, then the bake),
    /// in AWS time: a follower's deadline is this plus the time to start and clean up.
    pub fn own_duration(&self) -> Duration {
        let shift = match &self.strategy {
            NativeStrategy::BlueGreen => Duration::ZERO,
            NativeStrategy::Canary { bake, .. } => *bake,
            NativeStrategy::Linear { percent, bake } => {
                // Every step but the one reaching 100% bakes ("not applied after reaching 100 percent").
                let steps = (100.0 / percent.max(0.1)).ceil() as u32;
                *bake * steps.saturating_sub(1)
            }
        };
        shift + self.bake
    }
}

impl NativeStrategy {
    pub fn name(&self) -> &'static str {
        match self {
            NativeStrategy::BlueGreen => "BLUE_GREEN",
            NativeStrategy::Canary { .. } => "CANARY",
            NativeStrategy::Linear { .. } => "LINEAR",
        }
    }
}

/// Inputs that override the service's strategy parameters for this deployment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NativeOverrides {
    pub canary_percent: Option<f64>,
    pub canary_bake: Option<Duration>,
    pub linear_percent: Option<f64>,
    pub linear_bake: Option<Duration>,
    pub bake: Option<Duration>,
}

impl NativeOverrides {
    pub fn is_empty(&self) -> bool {
        *self == NativeOverrides::default()
    }

    /// The setup with the overrides applied, or the input that the service's strategy cannot
    /// take (named as the input is), with why.
    pub fn apply(&self, setup: &NativeSetup) -> Result<NativeSetup, (&'static str, String)> {
        let mut out = setup.clone();
        let canary = self.canary_percent.is_some() || self.canary_bake.is_some();
        let linear = self.linear_percent.is_some() || self.linear_bake.is_some();
        match &mut out.strategy {
            NativeStrategy::Canary { percent, bake } => {
                if linear {
                    return Err(refusal("native-linear-percent", setup));
                }
                *percent = self.canary_percent.unwrap_or(*percent);
                *bake = self.canary_bake.unwrap_or(*bake);
            }
            NativeStrategy::Linear { percent, bake } => {
                if canary {
                    return Err(refusal("native-canary-percent", setup));
                }
                *percent = self.linear_percent.unwrap_or(*percent);
                *bake = self.linear_bake.unwrap_or(*bake);
            }
            NativeStrategy::BlueGreen if canary || linear => {
                let input = if canary {
                    "native-canary-percent"
                } else {
                    "native-linear-percent"
                };
                return Err(refusal(input, setup));
            }
            NativeStrategy::BlueGreen => {}
        }
        out.bake = self.bake.unwrap_or(out.bake);
        Ok(out)
    }
}

fn refusal(input: &'static str, setup: &NativeSetup) -> (&'static str, String) {
    (
        input,
        format!(
            "the service deploys with ECS's {} strategy, which has no such parameter",
            setup.strategy.name()
        ),
    )
}

fn mins(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

impl fmt::Display for NativeSetup {
    /// "CANARY: 10% for 5m, then 100%; bake 10m".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.strategy {
            NativeStrategy::BlueGreen => write!(f, "BLUE_GREEN: 100% at once")?,
            NativeStrategy::Canary { percent, bake } => write!(f, "CANARY: {percent}% for {}, then 100%", mins(*bake))?,
            NativeStrategy::Linear { percent, bake } => write!(f, "LINEAR: {percent}% more every {}", mins(*bake))?,
        }
        write!(f, "; bake {}", mins(self.bake))?;
        if !self.pause_stages.is_empty() {
            write!(f, "; PAUSE hooks at {}", self.pause_stages.join(", "))?;
        }
        Ok(())
    }
}

/// How long the action follows a native deployment (`wait-until`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WaitUntil {
    /// To the end: SUCCESSFUL (blue's tasks stopped), or rolled back.
    #[default]
    Deployed,
    /// Until production is fully on the new revision (ECS's bake and clean-up unwatched).
    Shifted,
    /// Until ECS has started the deployment (everything after it unwatched).
    Started,
}

impl WaitUntil {
    pub fn parse(s: &str) -> Option<WaitUntil> {
        match s {
            "deployed" => Some(WaitUntil::Deployed),
            "shifted" => Some(WaitUntil::Shifted),
            "started" => Some(WaitUntil::Started),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            WaitUntil::Deployed => "deployed",
            WaitUntil::Shifted => "shifted",
            WaitUntil::Started => "started",
        }
    }

    /// Whether following may stop at this state (the deployment is still healthy).
    pub fn reached(self, view: &DeploymentView) -> bool {
        match self {
            WaitUntil::Deployed => view.status == ServiceDeploymentStatus::Successful,
            WaitUntil::Shifted => view.status == ServiceDeploymentStatus::Successful || view.production_weight >= 100.0,
            WaitUntil::Started => matches!(
                view.status,
                ServiceDeploymentStatus::InProgress | ServiceDeploymentStatus::Successful
            ),
        }
    }

    /// What is left unwatched by the action when it stops following here.
    pub fn unwatched(self, setup: &NativeSetup) -> Option<String> {
        let alarms = setup.alarm_rollback.join(", ");
        match self {
            WaitUntil::Deployed => None,
            WaitUntil::Shifted => Some(format!(
                "ECS's bake ({}) and clean-up are not watched by this action; the deployment alarms ({alarms}) still roll it back",
                mins(setup.bake)
            )),
            WaitUntil::Started => Some(format!(
                "the traffic shift, bake and clean-up are not watched by this action; the deployment alarms ({alarms}) still roll it back"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(strategy: NativeStrategy) -> NativeSetup {
        NativeSetup {
            strategy,
            bake: Duration::from_secs(600),
            production_rule: "rule/prod".into(),
            test_rule: None,
            target_groups: ("tg/a".into(), "tg/b".into()),
            pause_stages: vec![],
            alarm_rollback: vec!["api-5xx".into()],
        }
    }

    #[test]
    fn overrides_apply_to_the_strategy_that_has_them() {
        let canary = setup(NativeStrategy::Canary {
            percent: 5.0,
            bake: Duration::from_secs(600),
        });
        let o = NativeOverrides {
            canary_percent: Some(10.0),
            bake: Some(Duration::from_secs(60)),
            ..Default::default()
        };
        let out = o.apply(&canary).unwrap();
        assert_eq!(
            out.strategy,
            NativeStrategy::Canary {
                percent: 10.0,
                bake: Duration::from_secs(600)
            }
        );
        assert_eq!(out.bake, Duration::from_secs(60));
        assert_eq!(out.to_string(), "CANARY: 10% for 10m, then 100%; bake 1m");
    }

    #[test]
    fn ecs_own_duration_counts_every_bake_but_the_last_linear_step() {
        let linear = setup(NativeStrategy::Linear {
            percent: 30.0,
            bake: Duration::from_secs(60),
        });
        // 30, 60, 90, 100: three bakes, then ECS's bake of 10 minutes.
        assert_eq!(linear.own_duration(), Duration::from_secs(3 * 60 + 600));
        let canary = setup(NativeStrategy::Canary {
            percent: 5.0,
            bake: Duration::from_secs(300),
        });
        assert_eq!(canary.own_duration(), Duration::from_secs(900));
        assert_eq!(
            setup(NativeStrategy::BlueGreen).own_duration(),
            Duration::from_secs(600)
        );
    }

    #[test]
    fn a_parameter_the_strategy_cannot_take_names_its_input() {
        let linear = setup(NativeStrategy::Linear {
            percent: 10.0,
            bake: Duration::from_secs(360),
        });
        let o = NativeOverrides {
            canary_bake: Some(Duration::from_secs(60)),
            ..Default::default()
        };
        let (input, why) = o.apply(&linear).unwrap_err();
        assert_eq!(input, "native-canary-percent");
        assert!(why.contains("LINEAR"), "{why}");
        let bg = setup(NativeStrategy::BlueGreen);
        let o = NativeOverrides {
            linear_percent: Some(20.0),
            ..Default::default()
        };
        assert_eq!(o.apply(&bg).unwrap_err().0, "native-linear-percent");
    }

    #[test]
    fn a_deployment_reads_as_a_phase() {
        let view = |status: &str, weight: f64, awaiting: &[&str]| DeploymentView {
            status: ServiceDeploymentStatus::parse(status),
            production_weight: weight,
            awaiting: awaiting.iter().map(|s| s.to_string()).collect(),
            rollback_reason: Some("Alarm api-5xx is in ALARM state.".into()),
            ..Default::default()
        };
        assert_eq!(view("PENDING", 0.0, &[]).phase(), Phase::Preparing);
        assert_eq!(view("IN_PROGRESS", 10.0, &[]).phase(), Phase::Serving);
        assert_eq!(
            view("IN_PROGRESS", 0.0, &["h1"]).phase(),
            Phase::Paused { hook: "h1".into() }
        );
        assert_eq!(view("ROLLBACK_IN_PROGRESS", 0.0, &[]).phase(), Phase::RollingBack);
        assert_eq!(
            view("ROLLBACK_SUCCESSFUL", 0.0, &[]).phase(),
            Phase::RolledBack {
                reason: "Alarm api-5xx is in ALARM state.".into()
            }
        );
        assert!(view("SUCCESSFUL", 100.0, &[]).finished());
        assert!(!view("IN_PROGRESS", 100.0, &[]).finished());
    }

    #[test]
    fn wait_until_stops_where_it_says_and_names_what_is_unwatched() {
        let v = |status: &str, weight: f64| DeploymentView {
            status: ServiceDeploymentStatus::parse(status),
            production_weight: weight,
            ..Default::default()
        };
        assert!(!WaitUntil::Deployed.reached(&v("IN_PROGRESS", 100.0)));
        assert!(WaitUntil::Shifted.reached(&v("IN_PROGRESS", 100.0)));
        assert!(!WaitUntil::Shifted.reached(&v("IN_PROGRESS", 10.0)));
        assert!(WaitUntil::Started.reached(&v("IN_PROGRESS", 0.0)));
        assert!(!WaitUntil::Started.reached(&v("PENDING", 0.0)));
        let s = setup(NativeStrategy::BlueGreen);
        assert!(WaitUntil::Shifted.unwatched(&s).unwrap().contains("api-5xx"));
        assert_eq!(WaitUntil::Deployed.unwatched(&s), None);
        assert_eq!(WaitUntil::parse("shifted"), Some(WaitUntil::Shifted));
        assert_eq!(WaitUntil::parse("done"), None);
    }
}
