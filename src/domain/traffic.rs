//! Which listener (or listener rule) splits traffic between two slots.

/// The listener (or listener rule) whose forward action splits traffic between the two slots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrafficSplitRef {
    Listener(String),
    Rule(String),
}

impl TrafficSplitRef {
    pub fn arn(&self) -> &str {
        match self {
            TrafficSplitRef::Listener(a) | TrafficSplitRef::Rule(a) => a,
        }
    }
}

use super::aws_enum::aws_enum;

aws_enum! {
    /// A target's health as DescribeTargetHealth says (botocore's TargetHealthStateEnum).
    TargetState {
        Initial = "initial",
        Healthy = "healthy",
        Unhealthy = "unhealthy",
        UnhealthyDraining = "unhealthy.draining",
        Unused = "unused",
        Draining = "draining",
        Unavailable = "unavailable",
    }
}
