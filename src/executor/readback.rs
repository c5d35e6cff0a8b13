//! "Production now" for the reports: read back from AWS as the run ends, within a short
//! budget (a cancelled run has only the runner's grace period left).

use std::time::Duration;

use super::cancel::within;
use super::Ports;
use crate::domain::production::Production;
use crate::ports::TrafficSplitRef;

/// How long the read-back may take before the report says "not confirmed".
const BUDGET: Duration = Duration::from_secs(3);

/// The services' revisions now (rolling).
pub async fn services(ports: &Ports<'_>, cluster: &str, services: &[String]) -> Production {
    let deadline = ports.clock.now() + BUDGET;
    match within(ports, deadline, ports.ecs.describe_services(cluster, services)).await {
        Some(Ok(states)) => Production::of_services(&states),
        Some(Err(e)) => Production::Unknown(format!("could not read the services back: {e}")),
        None => Production::Unknown(format!("no answer from ECS within {} s", BUDGET.as_secs())),
    }
}

/// The two slots' shares of the listener and their revisions and sizes now.
pub async fn slots(ports: &Ports<'_>, cluster: &str, split: &TrafficSplitRef, slots: [(&str, &str); 2]) -> Production {
    let deadline = ports.clock.now() + BUDGET;
    let names: Vec<String> = slots.iter().map(|(s, _)| s.to_string()).collect();
    let read = async {
        let weights = ports.router.forward_weights(split).await?;
        let states = ports.ecs.describe_services(cluster, &names).await?;
        Ok::<_, crate::error::AwsError>((weights, states))
    };
    match within(ports, deadline, read).await {
        Some(Ok((weights, states))) => {
            let total: i32 = weights.weights.iter().map(|(_, w)| (*w).max(0)).sum();
            let share = |tg: &str| {
                let w = weights.weight_of(tg).unwrap_or(0).max(0);
                if total == 0 {
                    0
                } else {
                    ((w * 100 + total / 2) / total) as u8
                }
            };
            let read: Vec<_> = states
                .into_iter()
                .filter_map(|s| {
                    let tg = slots.iter().find(|(name, _)| *name == s.name)?.1;
                    let w = share(tg);
                    Some((s, w))
                })
                .collect();
            Production::of_slots(&read)
        }
        Some(Err(e)) => Production::Unknown(format!("could not read the listener or the slots back: {e}")),
        None => Production::Unknown(format!("no answer from AWS within {} s", BUDGET.as_secs())),
    }
}
