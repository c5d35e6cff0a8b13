//! Application Auto Scaling: the scalable targets of ECS services, read and updated.

use async_trait::async_trait;
use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace, SuspendedState};

use super::classify;
use crate::domain::autoscaling::{ScalableTarget, Suspended};
use crate::error::AwsError;
use crate::ports::AutoScaling;

/// DescribeScalableTargets takes at most 50 resource ids a call.
const DESCRIBE_BATCH: usize = 50;

pub struct AutoScalingAdapter {
    client: aws_sdk_applicationautoscaling::Client,
}

impl AutoScalingAdapter {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        AutoScalingAdapter {
            client: aws_sdk_applicationautoscaling::Client::new(config),
        }
    }
}

fn resource_id(cluster: &str, service: &str) -> String {
    format!("service/{cluster}/{service}")
}

#[async_trait]
impl AutoScaling for AutoScalingAdapter {
    async fn targets(&self, cluster: &str, services: &[String]) -> Result<Vec<ScalableTarget>, AwsError> {
        let mut out = Vec::new();
        for batch in services.chunks(DESCRIBE_BATCH) {
            let ids: Vec<String> = batch.iter().map(|s| resource_id(cluster, s)).collect();
            let mut pages = self
                .client
                .describe_scalable_targets()
                .service_namespace(ServiceNamespace::Ecs)
                .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
                .set_resource_ids(Some(ids))
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| {
                    classify(
                        "application-autoscaling:DescribeScalableTargets",
                        &format!("services of cluster {cluster}"),
                        e,
                    )
                })?;
                for t in page.scalable_targets() {
                    let service = t.resource_id().rsplit('/').next().unwrap_or_default().to_string();
                    let s = t.suspended_state();
                    out.push(ScalableTarget {
                        service,
                        min: t.min_capacity(),
                        max: t.max_capacity(),
                        suspended: Suspended {
                            scale_in: s.and_then(|s| s.dynamic_scaling_in_suspended()).unwrap_or(false),
                            scale_out: s.and_then(|s| s.dynamic_scaling_out_suspended()).unwrap_or(false),
                            scheduled: s.and_then(|s| s.scheduled_scaling_suspended()).unwrap_or(false),
                        },
                    });
                }
            }
        }
        Ok(out)
    }

    async fn update_target(
        &self,
        cluster: &str,
        service: &str,
        suspended: Suspended,
        range: Option<(i32, i32)>,
    ) -> Result<(), AwsError> {
        let id = resource_id(cluster, service);
        self.client
            .register_scalable_target()
            .service_namespace(ServiceNamespace::Ecs)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .resource_id(&id)
            .suspended_state(
                SuspendedState::builder()
                    .dynamic_scaling_in_suspended(suspended.scale_in)
                    .dynamic_scaling_out_suspended(suspended.scale_out)
                    .scheduled_scaling_suspended(suspended.scheduled)
                    .build(),
            )
            .set_min_capacity(range.map(|r| r.0))
            .set_max_capacity(range.map(|r| r.1))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify("application-autoscaling:RegisterScalableTarget", &id, e))
    }
}
