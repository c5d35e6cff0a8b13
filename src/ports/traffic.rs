//! The ALB listener that splits traffic between two slots, and target health.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;

pub use crate::domain::traffic::TrafficSplitRef;
use crate::error::AwsError;

/// What the forward action says now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardWeights {
    /// (target group ARN, weight) as the listener lists them.
    pub weights: Vec<(String, i32)>,
    /// CloudWatch's `LoadBalancer` dimension of the listener's load balancer (`app/name/id`).
    pub load_balancer_dimension: String,
    /// Target-group stickiness of the forward action, when on: how long a client stays with
    /// the target group it was first sent to, whatever the weights.
    pub stickiness: Option<Duration>,
}

/// What a weight change does to the forward action's target-group stickiness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stickiness {
    Keep,
    /// Off, so clients pinned to a group follow the weights at once (a rollback's choice).
    TurnOff,
}

impl ForwardWeights {
    pub fn weight_of(&self, target_group: &str) -> Option<i32> {
        self.weights.iter().find(|(tg, _)| tg == target_group).map(|(_, w)| *w)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetHealth {
    pub target: String,
    pub state: crate::domain::traffic::TargetState,
    pub reason: String,
}

#[async_trait]
pub trait TrafficRouter: Send + Sync {
    async fn forward_weights(&self, split: &TrafficSplitRef) -> Result<ForwardWeights, AwsError>;
    /// Sets the weights of the forward action, keeping everything else about it (its
    /// stickiness too, unless told to turn it off).
    async fn set_weights(
        &self,
        split: &TrafficSplitRef,
        weights: &[(String, i32)],
        stickiness: Stickiness,
    ) -> Result<(), AwsError>;
    /// When a weight change last had an attempt that may still be applied later (it timed out
    /// or lost its connection, and was retried): such a late write can undo a newer change.
    fn uncertain_write_at(&self) -> Option<SystemTime> {
        None
    }
    async fn target_health(&self, target_group: &str) -> Result<Vec<TargetHealth>, AwsError>;
}
