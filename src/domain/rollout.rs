//! Judging a rolling deployment from one observation of the service.
//!
//! The official action's waiter says "stable" when counts match, which is also true after
//! ECS's circuit breaker rolled back to the *old* task definition: a false success. We
//! instead follow *our* deployment by id and only call it done when that deployment is the
//! PRIMARY, COMPLETED, at full count, and alone.

use super::service::{DeploymentStatus, RolloutState, ServiceLifecycle, ServiceState};
use super::service_deployment::{DeploymentView, ServiceDeploymentStatus};

/// The deployment we started, remembered from the `UpdateService` response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracked {
    pub deployment_id: String,
    pub task_definition: String,
    pub previous_task_definition: String,
    /// The task count to put back with the previous revision, when the run changed it
    /// (`desired-count`); None: the count was left alone.
    pub previous_desired: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assessment {
    Stable,
    InProgress {
        running: i32,
        desired: i32,
        failed_tasks: i32,
    },
    Failed(Failure),
    /// Ours is gone or no longer PRIMARY, and the service runs the previous task definition
    /// again: ECS's own rollback, or someone deploying the old revision. DescribeServices
    /// cannot tell which (only event prose could); the service deployment's structured
    /// fields can: see [`replacement`].
    Replaced,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Our deployment's rollout went FAILED (the circuit breaker tripped without rollback).
    RolloutFailed {
        reason: String,
    },
    /// ECS replaced our deployment with one on the previous task definition: its circuit
    /// breaker or a deployment alarm, as `by` says.
    EcsRollback {
        reason: String,
        by: EcsTrigger,
    },
    /// Someone else deployed to this service while we waited.
    Foreign {
        task_definition: String,
    },
    /// The service was deleted or drained while we waited.
    ServiceGone {
        status: String,
    },
    Timeout,
    /// A traffic step's analysis failed (or stayed inconclusive when that means failure).
    Analysis {
        weight: u8,
        reason: String,
    },
    /// The new slot's targets did not all become healthy.
    Unhealthy {
        reason: String,
    },
    /// The smoke check before any production traffic failed.
    SmokeCheck {
        reason: String,
    },
    /// The listener could not be changed or did not read back as set.
    Traffic {
        reason: String,
    },
}

impl Failure {
    /// One line a human reads first.
    pub fn summary(&self) -> String {
        match self {
            Failure::RolloutFailed { reason } => format!("rollout failed: {reason}"),
            Failure::EcsRollback { reason, by } => {
                format!("{} rolled the service back to its previous task definition: {reason}", by.who())
            }
            Failure::Foreign { task_definition } => format!(
                "another deployment (task definition {task_definition}) replaced ours; someone else is deploying this service"
            ),
            Failure::ServiceGone { status } => format!("the service is {status}"),
            Failure::Timeout => "the deployment did not become stable before wait-timeout".to_string(),
            Failure::Analysis { weight, reason } => format!("analysis failed at {weight}% traffic: {reason}"),
            Failure::Unhealthy { reason } => format!("the new slot's targets did not become healthy: {reason}"),
            Failure::SmokeCheck { reason } => format!("smoke check failed before any production traffic: {reason}"),
            Failure::Traffic { reason } => format!("traffic could not be shifted: {reason}"),
        }
    }

    /// Whether ECS itself already put the service back; then we must not roll back on top.
    pub fn ecs_already_rolled_back(&self) -> bool {
        matches!(self, Failure::EcsRollback { .. })
    }

    /// A foreign deployment is someone else's to finish: we never overwrite it.
    pub fn is_foreign(&self) -> bool {
        matches!(self, Failure::Foreign { .. })
    }
}

pub fn assess(service: &ServiceState, tracked: &Tracked) -> Assessment {
    if service.status != ServiceLifecycle::Active {
        return Assessment::Failed(Failure::ServiceGone {
            status: service.status.to_string(),
        });
    }
    let Some(ours) = service.deployment(&tracked.deployment_id) else {
        // Our deployment vanished: it was replaced. Whose replacement was it?
        return replaced(service, tracked);
    };
    if ours.rollout_state == Some(RolloutState::Failed) {
        let reason = ours
            .rollout_state_reason
            .clone()
            .unwrap_or_else(|| "no reason given".into());
        // With rollback on, ECS starts a new PRIMARY on the old task definition.
        return Assessment::Failed(match service.primary() {
            Some(p) if p.id != ours.id && p.task_definition == tracked.previous_task_definition => {
                Failure::EcsRollback {
                    reason,
                    // DescribeServices says only in prose what failed it: `attribute` reads the
                    // service deployment.
                    by: EcsTrigger::Unknown,
                }
            }
            _ => Failure::RolloutFailed { reason },
        });
    }
    if ours.status != DeploymentStatus::Primary {
        return replaced(service, tracked);
    }
    let completed = match &ours.rollout_state {
        Some(state) => *state == RolloutState::Completed,
        // Services without rollout tracking: counts and a single deployment are all we have.
        None => true,
    };
    if completed && service.deployments.len() == 1 && ours.running == ours.desired && service.running == service.desired
    {
        return Assessment::Stable;
    }
    Assessment::InProgress {
        running: ours.running,
        desired: ours.desired,
        failed_tasks: ours.failed_tasks,
    }
}

fn replaced(service: &ServiceState, tracked: &Tracked) -> Assessment {
    let primary_td = service.primary().map(|p| p.task_definition.clone()).unwrap_or_default();
    if primary_td == tracked.previous_task_definition {
        Assessment::Replaced
    } else {
        Assessment::Failed(Failure::Foreign {
            task_definition: primary_td,
        })
    }
}

/// What replaced ours, from our service deployment as DescribeServiceDeployments tells it
/// (None: not found). ECS rolled it back when the deployment says so (ROLLBACK_* status, or
/// its circuit breaker TRIGGERED); otherwise the old revision came from someone else.
pub fn replacement(ours: Option<&DeploymentView>, previous_task_definition: &str) -> Failure {
    use ServiceDeploymentStatus as S;
    let rolled_back = ours.is_some_and(|v| {
        v.breaker_triggered
            || matches!(
                v.status,
                S::RollbackRequested | S::RollbackInProgress | S::RollbackSuccessful
            )
    });
    match ours {
        Some(v) if rolled_back => Failure::EcsRollback {
            reason: v
                .rollback_reason
                .clone()
                .or_else(|| v.status_reason.clone())
                .unwrap_or_else(|| "no reason given".into()),
            by: EcsTrigger::of(v),
        },
        _ => Failure::Foreign {
            task_definition: previous_task_definition.to_string(),
        },
    }
}

/// What made ECS fail a rolling deployment, from its service deployment's structured fields
/// (`alarms.triggeredAlarmNames`, `deploymentCircuitBreaker.status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EcsTrigger {
    CircuitBreaker,
    /// The deployment alarms that went into ALARM.
    Alarms(Vec<String>),
    /// Not read (or not said): ECS, without naming what.
    Unknown,
}

impl EcsTrigger {
    pub fn of(view: &DeploymentView) -> EcsTrigger {
        if !view.triggered_alarms.is_empty() {
            EcsTrigger::Alarms(view.triggered_alarms.clone())
        } else if view.breaker_triggered {
            EcsTrigger::CircuitBreaker
        } else {
            EcsTrigger::Unknown
        }
    }

    /// Who did it, as the subject of a sentence.
    pub fn who(&self) -> String {
        match self {
            EcsTrigger::CircuitBreaker => "ECS circuit breaker".into(),
            EcsTrigger::Alarms(names) => format!("ECS, on deployment alarm {} in ALARM,", names.join(", ")),
            EcsTrigger::Unknown => "ECS".into(),
        }
    }
}

/// A failure ECS reported, with its cause read from our service deployment (None: not found):
/// an ECS rollback gets its trigger, and a FAILED rollout without rollback names the alarms.
pub fn attribute(failure: Failure, ours: Option<&DeploymentView>) -> Failure {
    let Some(view) = ours else {
        return failure;
    };
    match failure {
        Failure::EcsRollback {
            reason,
            by: EcsTrigger::Unknown,
        } => Failure::EcsRollback {
            reason,
            by: EcsTrigger::of(view),
        },
        Failure::RolloutFailed { reason } if !view.triggered_alarms.is_empty() => Failure::RolloutFailed {
            reason: format!(
                "deployment alarm {} went into ALARM: {reason}",
                view.triggered_alarms.join(", ")
            ),
        },
        other => other,
    }
}

#[cfg(test)]
#[path = "rollout_tests.rs"]
mod tests;
