//! Setting the listener's weights and making sure they stay: read back after every change,
//! wait out late writes, and the restore to the stable slot that every failure path takes.

use std::time::{Duration, SystemTime};

use super::super::cancel::within;
use super::super::retry::{always, retry, Backoff};
use super::super::{log, Ports};
use super::topology::Topology;
use crate::domain::outcome::RollbackResult;
use crate::domain::settings::DeployConfig;
use crate::domain::settings::StickyRollback;
use crate::ports::{ForwardWeights, Stickiness, TrafficSplitRef};

/// The forward action with the new slot at `weight` and the stable slot at the rest; any
/// other target group keeps its (zero) weight, so a change never drops it.
fn wanted(topo: &Topology, weight: u8) -> Vec<(String, i32)> {
    let mut want = vec![
        (topo.live.target_group.clone(), 100 - i32::from(weight)),
        (topo.idle.target_group.clone(), i32::from(weight)),
    ];
    want.extend(topo.others.iter().cloned());
    want
}

/// Sets the new slot's weight (the stable slot gets the rest) and reads the listener back.
pub async fn set_and_verify(
    ports: &Ports<'_>,
    split: &TrafficSplitRef,
    topo: &Topology,
    weight: u8,
    stickiness: Stickiness,
) -> Result<(), String> {
    let want = wanted(topo, weight);
    let attempt = |_| async {
        let set = ports.router.set_weights(split, &want, stickiness).await;
        if let Some(at) = ports.router.uncertain_write_at() {
            topo.late.note(at);
        }
        set.map_err(|e| e.to_string())?;
        match ports.router.forward_weights(split).await {
            Ok(fw) if reads(&fw, topo, weight) => Ok(()),
            Ok(fw) => Err(format!("the listener reads back {:?}", fw.weights)),
            Err(e) => Err(e.to_string()),
        }
    };
    retry(ports, Backoff::linear(4, Duration::from_millis(150)), always, attempt).await
}

fn reads(fw: &ForwardWeights, topo: &Topology, weight: u8) -> bool {
    fw.weight_of(&topo.live.target_group) == Some(100 - i32::from(weight))
        && fw.weight_of(&topo.idle.target_group).unwrap_or(0) == i32::from(weight)
}

/// Makes sure `weight` is final: while a late write may still land (`LateWrites`), waits for
/// it, reads the listener again and, if a late write undid the weights, sets them again. No
/// cost (no call, no wait) when every weight change was quick. An error when the weights
/// could not be confirmed final by `deadline`: a report must never call them final then.
pub async fn settle(
    ports: &Ports<'_>,
    split: &TrafficSplitRef,
    topo: &Topology,
    weight: u8,
    deadline: SystemTime,
) -> Result<(), String> {
    loop {
        let Some(until) = topo.late.until() else {
            return Ok(());
        };
        let now = ports.clock.now();
        if now < until {
            if now >= deadline {
                return Err(format!(
                    "a weight change that timed out may still be applied by ELB until {}; check the listener then",
                    humantime::format_rfc3339_seconds(until)
                ));
            }
            let wake = until.min(deadline);
            log::info(&format!(
                "waiting {} ms for weight changes that timed out and may still land",
                wake.duration_since(now).unwrap_or_default().as_millis()
            ));
            ports.clock.sleep(wake.duration_since(now).unwrap_or_default()).await;
        }
        let fw = ports.router.forward_weights(split).await.map_err(|e| e.to_string())?;
        let right = reads(&fw, topo, weight);
        if right && topo.late.until().is_some_and(|u| u <= ports.clock.now()) {
            return Ok(());
        }
        if !right {
            log::warning(
                "Weights changed after they read back right",
                &format!(
                    "the listener now reads {:?} (a late write); setting {weight}% again",
                    fw.weights
                ),
            );
            set_and_verify(ports, split, topo, weight, Stickiness::Keep).await?;
        }
        if ports.clock.now() >= deadline {
            return Err(format!(
                "the weights did not stay at {weight}% (last read {:?})",
                fw.weights
            ));
        }
    }
}

/// Weights back to the stable slot at 100, read back; retried with backoff until `budget` is
/// spent, so that an outage longer than the SDK's retries does not leave traffic split. Each
/// attempt is bounded by what is left of the budget (a cancelled job has seconds).
pub async fn restore_weights(
    ports: &Ports<'_>,
    split: &TrafficSplitRef,
    topo: &Topology,
    stickiness: Stickiness,
    budget: Duration,
) -> Result<(), String> {
    let deadline = ports.clock.now() + budget;
    let mut delay = Duration::from_millis(250);
    loop {
        let attempt = within(ports, deadline, set_and_verify(ports, split, topo, 0, stickiness))
            .await
            .unwrap_or_else(|| Err(format!("no confirmed weight change within {} s", budget.as_secs())));
        match attempt {
            Ok(()) => break,
            Err(reason) if ports.clock.now() + delay < deadline => {
                log::warning("Traffic not restored yet", &format!("{reason}; retrying"));
                ports.clock.sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            Err(reason) => return Err(reason),
        }
    }
    settle(ports, split, topo, 0, deadline).await
}

/// Stable slot back to 100% (confirmed by reading back), the test listener back to it too,
/// then the new slot scaled to 0. Anything not done is in the result, never swallowed.
///
/// With target-group stickiness, clients pinned to the new slot would keep reaching it
/// whatever the weights: `unstick` turns stickiness off with the weights (they return at once,
/// and the report says how to turn it on again); `keep-serving` keeps it and leaves the new
/// slot running for them (scaling it to 0 would answer them 503).
pub async fn restore(
    cfg: &DeployConfig,
    test_listener: Option<&TrafficSplitRef>,
    split: &TrafficSplitRef,
    ports: &Ports<'_>,
    topo: &Topology,
    sticky: StickyRollback,
    budget: Duration,
) -> RollbackResult {
    let t = ports.clock.now();
    let stickiness = match (topo.stickiness, sticky) {
        (Some(_), StickyRollback::Unstick) => Stickiness::TurnOff,
        _ => Stickiness::Keep,
    };
    if let Err(reason) = restore_weights(ports, split, topo, stickiness, budget).await {
        log::error(
            "Traffic NOT restored",
            &format!(
                "{reason}; set the listener's weights by hand: {} 100, {} 0",
                topo.live.target_group, topo.idle.target_group
            ),
        );
        return RollbackResult::Failed(format!("weights not restored: {reason}"));
    }
    log::info(&format!(
        "weights: {} 100%, {} 0% (read back after {} ms)",
        topo.live.state.name,
        topo.idle.state.name,
        super::super::elapsed(ports, t).as_millis()
    ));
    let mut problems = Vec::new();
    if let Some(test) = test_listener {
        problems.extend(reset_test_listener(ports, test, topo).await.err());
    }
    match (topo.stickiness, sticky) {
        (Some(d), StickyRollback::KeepServing) => log::warning(
            "New slot left running for its pinned clients",
            &format!(
                "target-group stickiness sends clients first sent to {} back to it for up to {}; scale it to 0 after that",
                topo.idle.state.name,
                humantime::format_duration(d)
            ),
        ),
        (pinned, _) => {
            if let Some(d) = pinned {
                log::warning(
                    "Target-group stickiness turned off",
                    &format!(
                        "so that clients pinned to {} follow the weights back to {} at once; turn it on again (duration {}) once the release is fixed, in the forward action of {}",
                        topo.idle.state.name,
                        topo.live.state.name,
                        humantime::format_duration(d),
                        split.arn()
                    ),
                );
            }
            // A slot left running gets no traffic: that costs money, not safety, so a warning.
            let _ = scale_to_zero(cfg, ports, &topo.idle.state.name, "New slot not scaled down").await;
        }
    }
    if problems.is_empty() {
        RollbackResult::Done
    } else {
        RollbackResult::Failed(format!(
            "production traffic is back on {}, but {}",
            topo.live.state.name,
            problems.join("; ")
        ))
    }
}

/// The test listener back on the stable slot; the problem, for the report, when it could not be.
async fn reset_test_listener(ports: &Ports<'_>, test: &TrafficSplitRef, topo: &Topology) -> Result<(), String> {
    let back = [
        (topo.live.target_group.clone(), 100),
        (topo.idle.target_group.clone(), 0),
    ];
    ports
        .router
        .set_weights(test, &back, Stickiness::Keep)
        .await
        .map_err(|e| {
            log::warning(
                "Test listener not reset",
                &format!(
                    "{e}; it still forwards to {}: set it back by hand",
                    topo.idle.state.name
                ),
            );
            format!("the test listener still forwards to the new slot ({e})")
        })
}

/// A failure before any weight change took: production never left the stable slot, so there is
/// nothing to write back (and a write this run may not be allowed to make must not turn
/// "nothing moved" into "not rolled back"). Confirmed by reading the listener; the test
/// listener is put back if it was pointed at the new slot, and the new slot scaled to 0.
/// `None` when the listener does not read 100/0: then it is a rollback like any other.
pub async fn never_moved(
    cfg: &DeployConfig,
    test_listener: Option<&TrafficSplitRef>,
    split: &TrafficSplitRef,
    ports: &Ports<'_>,
    topo: &Topology,
) -> Option<RollbackResult> {
    let fw = ports.router.forward_weights(split).await.ok()?;
    if !reads(&fw, topo, 0) {
        return None;
    }
    log::info(&format!(
        "production never moved: {} still serves 100% (read back)",
        topo.live.state.name
    ));
    let mut problems = Vec::new();
    if let Some(test) = test_listener {
        let on_new = ports
            .router
            .forward_weights(test)
            .await
            .map_or(true, |fw| fw.weight_of(&topo.idle.target_group).unwrap_or(0) > 0);
        if on_new {
            problems.extend(reset_test_listener(ports, test, topo).await.err());
        }
    }
    if let Err(e) = scale_to_zero(cfg, ports, &topo.idle.state.name, "New slot not scaled down").await {
        problems.push(format!("the new slot was not scaled down ({e})"));
    }
    Some(if problems.is_empty() {
        RollbackResult::NeverMoved
    } else {
        RollbackResult::Failed(format!(
            "production never moved (it is on {}), but {}",
            topo.live.state.name,
            problems.join("; ")
        ))
    })
}

/// Scales a slot that serves no traffic to 0, retrying a few times; a failure only costs
/// money (no traffic goes there), so it is a warning, and returned for the report.
pub async fn scale_to_zero(cfg: &DeployConfig, ports: &Ports<'_>, service: &str, warning: &str) -> Result<(), String> {
    let backoff = Backoff::doubling(4, Duration::from_millis(500));
    let scaled = retry(ports, backoff, always, |_| {
        ports.ecs.scale_service(&cfg.cluster, service, 0)
    })
    .await;
    let last = match scaled {
        Ok(()) => {
            log::info(&format!("{service} scaled to 0"));
            return Ok(());
        }
        Err(e) => e.to_string(),
    };
    log::warning(
        warning,
        &format!("{last}; it gets no traffic: scale {service} to 0 by hand"),
    );
    Err(format!("{service} was not scaled to 0 ({last})"))
}
