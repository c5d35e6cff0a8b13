//! ELBv2: the weighted forward action that splits traffic between the two slots, and target health.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::config::interceptors::FinalizerInterceptorContextRef;
use aws_sdk_elasticloadbalancingv2::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_elasticloadbalancingv2::error::BoxError;
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, ForwardActionConfig, TargetGroupStickinessConfig, TargetGroupTuple,
};

use super::classify;
use crate::domain::traffic::TargetState;
use crate::error::{AwsError, AwsErrorKind};
use crate::ports::{ForwardWeights, Stickiness, TargetHealth, TrafficRouter, TrafficSplitRef};

pub struct ElbRouter {
    client: aws_sdk_elasticloadbalancingv2::Client,
    uncertain: UncertainWrites,
}

/// Notes when a weight change had an attempt that may still be applied later: it timed out, or
/// its connection failed, so the SDK retried without knowing whether ELB got it. (A throttling
/// or 5xx answer is definite: nothing was applied.)
#[derive(Debug, Clone, Default)]
struct UncertainWrites(Arc<AtomicU64>);

impl Intercept for UncertainWrites {
    fn name(&self) -> &'static str {
        "UncertainWrites"
    }

    #[allow(clippy::disallowed_methods)] // the SDK interceptor records when an abandoned attempt was sent, in real time
    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(Err(e)) = context.output_or_error() {
            let unknown = e.is_timeout_error() || e.is_connector_error();
            if unknown {
                let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
                self.0.fetch_max(now.as_millis() as u64, Ordering::SeqCst);
            }
        }
        Ok(())
    }
}

impl ElbRouter {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        ElbRouter {
            client: aws_sdk_elasticloadbalancingv2::Client::from_conf(super::elb_config(config)),
            uncertain: UncertainWrites::default(),
        }
    }

    async fn actions(&self, split: &TrafficSplitRef) -> Result<Vec<Action>, AwsError> {
        match split {
            TrafficSplitRef::Listener(arn) => {
                let out = self
                    .client
                    .describe_listeners()
                    .listener_arns(arn)
                    .send()
                    .await
                    .map_err(|e| classify("elasticloadbalancing:DescribeListeners", arn, e))?;
                Ok(out
                    .listeners()
                    .first()
                    .map(|l| l.default_actions().to_vec())
                    .unwrap_or_default())
            }
            TrafficSplitRef::Rule(arn) => {
                let out = self
                    .client
                    .describe_rules()
                    .rule_arns(arn)
                    .send()
                    .await
                    .map_err(|e| classify("elasticloadbalancing:DescribeRules", arn, e))?;
                Ok(out.rules().first().map(|r| r.actions().to_vec()).unwrap_or_default())
            }
        }
    }
}

fn invalid(split: &TrafficSplitRef, message: &str) -> AwsError {
    AwsError {
        operation: "elasticloadbalancing:DescribeListeners",
        resource: split.arn().to_string(),
        message: message.to_string(),
        kind: AwsErrorKind::Invalid,
    }
}

/// `arn:…:listener/app/NAME/LBID/LID` or `arn:…:listener-rule/app/NAME/LBID/LID/RID` → `app/NAME/LBID`.
pub fn load_balancer_dimension(split_arn: &str) -> Option<String> {
    let (_, rest) = split_arn
        .split_once(":listener/")
        .or_else(|| split_arn.split_once(":listener-rule/"))?;
    let parts: Vec<&str> = rest.split('/').collect();
    (parts.len() >= 3).then(|| parts[..3].join("/"))
}

fn forward_weights(actions: &[Action]) -> Option<Vec<(String, i32)>> {
    let forward = actions.iter().find(|a| a.r#type() == Some(&ActionTypeEnum::Forward))?;
    match forward.forward_config() {
        Some(cfg) if !cfg.target_groups().is_empty() => Some(
            cfg.target_groups()
                .iter()
                .filter_map(|t| Some((t.target_group_arn()?.to_string(), t.weight().unwrap_or(1))))
                .collect(),
        ),
        _ => forward.target_group_arn().map(|tg| vec![(tg.to_string(), 1)]),
    }
}

#[async_trait]
impl TrafficRouter for ElbRouter {
    async fn forward_weights(&self, split: &TrafficSplitRef) -> Result<ForwardWeights, AwsError> {
        let actions = self.actions(split).await?;
        let weights = forward_weights(&actions).ok_or_else(|| invalid(split, "it has no forward action"))?;
        let load_balancer_dimension = load_balancer_dimension(split.arn())
            .ok_or_else(|| invalid(split, "this is not a listener or listener-rule ARN"))?;
        let stickiness = actions
            .iter()
            .find(|a| a.r#type() == Some(&ActionTypeEnum::Forward))
            .and_then(|a| a.forward_config())
            .and_then(|c| c.target_group_stickiness_config())
            .filter(|s| s.enabled() == Some(true))
            .map(|s| Duration::from_secs(s.duration_seconds().unwrap_or(0).max(0) as u64));
        Ok(ForwardWeights {
            weights,
            load_balancer_dimension,
            stickiness,
        })
    }

    async fn set_weights(
        &self,
        split: &TrafficSplitRef,
        weights: &[(String, i32)],
        keep: Stickiness,
    ) -> Result<(), AwsError> {
        let actions = self.actions(split).await?;
        let tuples: Vec<TargetGroupTuple> = weights
            .iter()
            .map(|(tg, w)| TargetGroupTuple::builder().target_group_arn(tg).weight(*w).build())
            .collect();
        // Keep every other action and the forward action's stickiness (unless it is to be
        // turned off); only the weights change.
        let new_actions: Vec<Action> = actions
            .into_iter()
            .map(|a| {
                if a.r#type() != Some(&ActionTypeEnum::Forward) {
                    return a;
                }
                let stickiness = match keep {
                    Stickiness::Keep => a
                        .forward_config()
                        .and_then(|c| c.target_group_stickiness_config())
                        .cloned(),
                    Stickiness::TurnOff => Some(TargetGroupStickinessConfig::builder().enabled(false).build()),
                };
                let mut a = a;
                a.target_group_arn = None;
                a.forward_config = Some(
                    ForwardActionConfig::builder()
                        .set_target_groups(Some(tuples.clone()))
                        .set_target_group_stickiness_config(stickiness)
                        .build(),
                );
                a
            })
            .collect();
        match split {
            TrafficSplitRef::Listener(arn) => self
                .client
                .modify_listener()
                .listener_arn(arn)
                .set_default_actions(Some(new_actions))
                .customize()
                .interceptor(self.uncertain.clone())
                .send()
                .await
                .map(|_| ())
                .map_err(|e| classify("elasticloadbalancing:ModifyListener", arn, e)),
            TrafficSplitRef::Rule(arn) => self
                .client
                .modify_rule()
                .rule_arn(arn)
                .set_actions(Some(new_actions))
                .customize()
                .interceptor(self.uncertain.clone())
                .send()
                .await
                .map(|_| ())
                .map_err(|e| classify("elasticloadbalancing:ModifyRule", arn, e)),
        }
    }

    fn uncertain_write_at(&self) -> Option<SystemTime> {
        match self.uncertain.0.load(Ordering::SeqCst) {
            0 => None,
            ms => Some(UNIX_EPOCH + Duration::from_millis(ms)),
        }
    }

    async fn target_health(&self, target_group: &str) -> Result<Vec<TargetHealth>, AwsError> {
        let out = self
            .client
            .describe_target_health()
            .target_group_arn(target_group)
            .send()
            .await
            .map_err(|e| classify("elasticloadbalancing:DescribeTargetHealth", target_group, e))?;
        Ok(out
            .target_health_descriptions()
            .iter()
            .map(|d| TargetHealth {
                target: d.target().and_then(|t| t.id()).unwrap_or_default().to_string(),
                state: TargetState::parse(
                    d.target_health()
                        .and_then(|h| h.state())
                        .map(|s| s.as_str())
                        .unwrap_or_default(),
                ),
                reason: d
                    .target_health()
                    .and_then(|h| h.reason())
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dimensions_from_arns() {
        assert_eq!(
            load_balancer_dimension(
                "arn:aws:elasticloadbalancing:us-east-1:1:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2"
            )
            .as_deref(),
            Some("app/web/50dc6c495c0c9188")
        );
        assert_eq!(
            load_balancer_dimension(
                "arn:aws:elasticloadbalancing:us-east-1:1:listener-rule/app/web/50dc/f2f7/9683b2d02a6cabee"
            )
            .as_deref(),
            Some("app/web/50dc")
        );
        assert_eq!(load_balancer_dimension("arn:aws:ecs:x"), None);
    }
}
