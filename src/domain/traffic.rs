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
