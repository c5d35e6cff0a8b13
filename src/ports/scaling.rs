//! Application Auto Scaling of the services.

use async_trait::async_trait;

use crate::domain::autoscaling::{ScalableTarget, Suspended};
use crate::error::AwsError;

/// Application Auto Scaling of the services (`ecs:service:DesiredCount` targets).
#[async_trait]
pub trait AutoScaling: Send + Sync {
    /// The scalable targets of these services; a service without one is absent.
    async fn targets(&self, cluster: &str, services: &[String]) -> Result<Vec<ScalableTarget>, AwsError>;
    /// Sets a service's suspension and, when given, its range. AWS clamps the service's count
    /// into the range on every such call.
    async fn update_target(
        &self,
        cluster: &str,
        service: &str,
        suspended: Suspended,
        range: Option<(i32, i32)>,
    ) -> Result<(), AwsError>;
}

/// No Application Auto Scaling (`suspend-auto-scaling: false`, and tests that do not use it).
pub struct NoAutoScaling;

#[async_trait]
impl AutoScaling for NoAutoScaling {
    async fn targets(&self, _: &str, _: &[String]) -> Result<Vec<ScalableTarget>, AwsError> {
        Ok(vec![])
    }
    async fn update_target(&self, _: &str, _: &str, _: Suspended, _: Option<(i32, i32)>) -> Result<(), AwsError> {
        Ok(())
    }
}
