//! Two-slot delivery: blue/green, canary, linear and all-at-once behind one ALB listener.
//!
//! 1. Preflight (reads only): the live slot is the one the listener's weights send traffic
//!    to, read from AWS, never remembered. A split found here means an earlier run was killed
//!    mid-rollout: roll it back (default) or continue it (`on-split: continue`).
//! 2. Prepare the idle slot: new revision, scaled to the live slot's count, stable, all
//!    targets healthy, then the optional test-listener/smoke check. No production traffic yet.
//! 3. Shift: each step sets the weights, reads them back, bakes under analysis.
//! 4. Any failure or a signal: weights back to the stable slot at 100 first (read back to
//!    confirm), then the new slot scaled down, then the report.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use super::images::{self, ResolvedImages};
use super::rolling::{check_service, record_tags, revert_budget};
use super::wait::{short_td, wait_for};
use super::{lock, log, Cancel, DeployReport, Ports, StepRecord};
use crate::config::progressive::{OnSplit, ProgressiveConfig};
use crate::config::DeployConfig;
use crate::domain::analysis::{judge, Measurement, StepAnalysis, StepStatus};
use crate::domain::diagnostics::Diagnostics;
use crate::domain::outcome::{Outcome, OutcomeKind, RollbackResult, ServiceResult, ServiceStatus};
use crate::domain::rollout::{Failure, Tracked};
use crate::domain::service::ServiceState;
use crate::domain::strategy::Step;
use crate::domain::task_definition::{assign_images, merge_tags};
use crate::error::Error;
use crate::ports::TrafficSplitRef;

/// Service tag that tells a later run which slot was serving before a rollout began.
pub const SLOT_TAG: &str = "ecs-deploy:slot";

#[derive(Debug, Clone)]
struct Slot {
    state: ServiceState,
    target_group: String,
    weight: i32,
}

struct Topology {
    live: Slot,
    idle: Slot,
    lb_dimension: String,
    late: LateWrites,
}

/// A weight change whose attempt timed out or lost its connection was retried by the SDK, and
/// the abandoned request can still be applied by ELB *after* a newer change, silently undoing
/// it: the fault matrix caught a canary that read back 0/100, reported success, and was left at
/// 50/50 by its own late write. Until the window after such an attempt closes, a read-back is
/// not final (`settle`).
#[derive(Default)]
struct LateWrites {
    until: std::sync::Mutex<Option<SystemTime>>,
}

/// How long after an abandoned attempt its request may still land.
const LATE_WRITE_WINDOW: Duration = Duration::from_secs(15);

impl LateWrites {
    fn note(&self, abandoned_at: SystemTime) {
        if let Ok(mut u) = self.until.lock() {
            let t = abandoned_at + LATE_WRITE_WINDOW;
            *u = Some(u.map_or(t, |old| old.max(t)));
        }
    }

    fn until(&self) -> Option<SystemTime> {
        self.until.lock().ok().and_then(|u| *u)
    }
}

/// Where a run starts shifting from.
enum Start {
    Fresh,
    /// Continue an interrupted rollout whose candidate already runs our image.
    Continue {
        weight: u8,
    },
}

enum Ended {
    Done,
    Paused,
    Failed(Failure),
    Cancelled,
}

pub async fn deploy(
    cfg: &DeployConfig,
    pc: &ProgressiveConfig,
    ports: &Ports<'_>,
    cancel: &mut Cancel,
) -> Result<DeployReport, Error> {
    let t0 = Instant::now();
    let started = ports.clock.now();
    log::group("Preflight: image, listener and slots");
    let pre = preflight(cfg, pc, ports).await;
    log::endgroup();
    let (resolved, topo) = pre?;

    // One deploy per service at a time: both slots, before the first change (even the
    // convergence of a split). Every way out below releases it.
    let services = vec![
        (topo.live.state.name.clone(), topo.live.state.arn.clone()),
        (topo.idle.state.name.clone(), topo.idle.state.arn.clone()),
    ];
    let held = lock::acquire(cfg, ports, &services).await?;
    let result = deploy_locked(cfg, pc, ports, cancel, resolved, topo, started, t0).await;
    lock::release(ports, &held).await;
    result
}

/// Everything after the preflight, under the lock.
#[allow(clippy::too_many_arguments)]
async fn deploy_locked(
    cfg: &DeployConfig,
    pc: &ProgressiveConfig,
    ports: &Ports<'_>,
    cancel: &mut Cancel,
    resolved: ResolvedImages,
    mut topo: Topology,
    started: SystemTime,
    t0: Instant,
) -> Result<DeployReport, Error> {
    let mut start = Start::Fresh;
    if topo.live.weight > 0 && topo.idle.weight > 0 {
        start = converge_split(cfg, pc, ports, &mut topo, &resolved).await?;
    }

    let mut timeline = Vec::new();
    let mut new_td = topo.idle.state.task_definition.clone();
    let mut traffic_moved = matches!(start, Start::Continue { .. });
    let ended = match start {
        Start::Continue { weight } => {
            log::info(&format!("continuing the interrupted rollout from {weight}%"));
            shift(cfg, pc, ports, &topo, weight, &mut timeline, cancel, &mut traffic_moved).await
        }
        Start::Fresh => match prepare(cfg, pc, ports, &topo, &resolved, cancel).await {
            Err(e) => {
                // Nothing served by the new slot yet: put it back to 0 and report.
                scale_to_zero(cfg, ports, &topo.idle.state.name, "New slot not scaled down").await;
                return Err(e);
            }
            Ok((td, Some(ended))) => {
                new_td = td;
                ended
            }
            Ok((td, None)) => {
                new_td = td;
                shift(cfg, pc, ports, &topo, 0, &mut timeline, cancel, &mut traffic_moved).await
            }
        },
    };

    // Success only once the weights are final: no late write of ours can undo them.
    let ended = match ended {
        Ended::Done => {
            let deadline = ports.clock.now() + revert_budget(false);
            match settle(ports, &pc.split, &topo, 100, deadline).await {
                Ok(()) => Ended::Done,
                Err(reason) => Ended::Failed(Failure::Traffic { reason }),
            }
        }
        other => other,
    };
    let idle = &topo.idle.state.name;
    let live = &topo.live.state.name;
    let (kind, status, reason) = match ended {
        Ended::Done => {
            log::group("Finish: the new slot is live");
            finish(cfg, pc, ports, &topo, cancel).await;
            log::endgroup();
            (OutcomeKind::Success, ServiceStatus::Deployed, None)
        }
        Ended::Paused => {
            let w = timeline.last().map(|s: &StepRecord| s.weight).unwrap_or(0);
            log::info(&format!(
                "paused with {w}% of traffic on {idle}; re-run with `on-split: continue` to go on, or with the default `on-split: rollback` to roll back"
            ));
            (
                OutcomeKind::Paused,
                ServiceStatus::Deployed,
                Some(format!("paused at {w}% on {idle}")),
            )
        }
        Ended::Failed(failure) => {
            log::group("Roll back: traffic to the stable slot first");
            let rollback = restore(cfg, pc, ports, &topo, false).await;
            log::endgroup();
            let reason = format!("{}: {}", idle, failure.summary());
            (
                OutcomeKind::Failure,
                ServiceStatus::Failed { failure, rollback },
                Some(reason),
            )
        }
        Ended::Cancelled => {
            log::group("Cancelled: traffic to the stable slot");
            let rollback = restore(cfg, pc, ports, &topo, true).await;
            log::endgroup();
            (
                OutcomeKind::Cancelled,
                ServiceStatus::Cancelled(rollback),
                Some("cancelled by the runner (SIGINT/SIGTERM/SIGHUP)".to_string()),
            )
        }
    };
    let diagnostics = match &status {
        ServiceStatus::Failed {
            failure:
                Failure::RolloutFailed { .. }
                | Failure::CircuitBreakerRollback { .. }
                | Failure::Timeout
                | Failure::Unhealthy { .. },
            ..
        } => {
            let state = ports
                .ecs
                .describe_services(&cfg.cluster, std::slice::from_ref(idle))
                .await
                .ok()
                .and_then(|mut v| v.pop());
            match state {
                Some(s) => ports.ecs.diagnostics(&cfg.cluster, &s, &new_td, started).await,
                None => Diagnostics::default(),
            }
        }
        _ => Diagnostics::default(),
    };
    let _ = traffic_moved;
    Ok(DeployReport {
        outcome: Outcome {
            kind,
            services: vec![ServiceResult {
                service: idle.clone(),
                previous_task_definition: topo.live.state.task_definition.clone(),
                new_task_definition: Some(new_td),
                status,
                diagnostics,
                duration_ms: t0.elapsed().as_millis(),
            }],
            reason: reason.map(|r| {
                if kind == OutcomeKind::Success {
                    r
                } else {
                    format!("{r} (stable slot: {live})")
                }
            }),
        },
        image: resolved.image,
        digest: resolved.digest.map(|d| d.to_string()),
        strategy: cfg.strategy.name().into(),
        timeline,
    })
}

async fn preflight(
    cfg: &DeployConfig,
    pc: &ProgressiveConfig,
    ports: &Ports<'_>,
) -> Result<(ResolvedImages, Topology), Error> {
    let resolved = images::resolve(ports, &cfg.images).await?;
    let forward = ports.router.forward_weights(&pc.split).await?;
    let states = ports.ecs.describe_services(&cfg.cluster, &pc.slots).await?;
    let topology_error = |service: &str, problem: String| Error::Preflight {
        cluster: cfg.cluster.clone(),
        service: service.to_string(),
        problem,
    };
    let mut slots = Vec::new();
    for s in states {
        if s.status != "ACTIVE" {
            check_service(&cfg.cluster, &s)?;
        }
        if s.target_groups.is_empty() {
            return Err(topology_error(
                &s.name,
                "has no load balancer; each slot service must be registered to its own target group".into(),
            ));
        }
        let Some((tg, weight)) = forward
            .weights
            .iter()
            .find(|(tg, _)| s.target_groups.contains(tg))
            .cloned()
        else {
            return Err(topology_error(
                &s.name,
                format!(
                    "has target group {} which is not in the forward action of {}; add it there (weight 0 for the idle slot)",
                    s.target_groups.join(", "),
                    pc.split.arn()
                ),
            ));
        };
        slots.push(Slot {
            state: s,
            target_group: tg,
            weight,
        });
    }
    let (a, b) = (slots.remove(0), slots.remove(0));
    if a.target_group == b.target_group {
        return Err(topology_error(
            &b.state.name,
            "shares its target group with the other slot; each slot needs its own".into(),
        ));
    }
    let strangers: Vec<_> = forward
        .weights
        .iter()
        .filter(|(tg, w)| *w > 0 && *tg != a.target_group && *tg != b.target_group)
        .map(|(tg, _)| tg.clone())
        .collect();
    if !strangers.is_empty() {
        return Err(topology_error(
            &format!("{} / {}", a.state.name, b.state.name),
            format!(
                "the listener also sends traffic to {}, which belongs to neither slot",
                strangers.join(", ")
            ),
        ));
    }
    if a.weight <= 0 && b.weight <= 0 {
        return Err(topology_error(
            &format!("{} / {}", a.state.name, b.state.name),
            "both slots are at weight 0 in the listener; set the live slot to 100 first".into(),
        ));
    }
    let (live, idle) = if a.weight > 0 && b.weight > 0 {
        // Split: the slot we tagged stable before shifting is the stable one; without a tag,
        // the one with more traffic.
        let a_tag = ports.ecs.service_tags(&a.state.arn).await.unwrap_or_default();
        let a_stable = a_tag.iter().any(|(k, v)| k == SLOT_TAG && v == "stable");
        let b_tag = ports.ecs.service_tags(&b.state.arn).await.unwrap_or_default();
        let b_stable = b_tag.iter().any(|(k, v)| k == SLOT_TAG && v == "stable");
        if a_stable || (!b_stable && a.weight >= b.weight) {
            (a, b)
        } else {
            (b, a)
        }
    } else if a.weight > 0 {
        (a, b)
    } else {
        (b, a)
    };
    if live.weight > 0 && idle.weight == 0 {
        check_service(&cfg.cluster, &live.state)?;
    }
    log::info(&format!(
        "live slot: {} ({} at {}%), idle slot: {} ({} at {}%)",
        live.state.name,
        short_td(&live.state.task_definition),
        live.weight,
        idle.state.name,
        short_td(&idle.state.task_definition),
        idle.weight
    ));
    Ok((
        resolved,
        Topology {
            live,
            idle,
            lb_dimension: forward.load_balancer_dimension,
            late: LateWrites::default(),
        },
    ))
}

/// A split was found: an earlier run died mid-rollout. Never start a second split.
async fn converge_split(
    cfg: &DeployConfig,
    pc: &ProgressiveConfig,
    ports: &Ports<'_>,
    topo: &mut Topology,
    resolved: &ResolvedImages,
) -> Result<Start, Error> {
    log::warning(
        "Traffic is split",
        &format!(
            "{} has {}% and {} has {}%: an earlier rollout was interrupted",
            topo.live.state.name, topo.live.weight, topo.idle.state.name, topo.idle.weight
        ),
    );
    if pc.on_split == OnSplit::Continue {
        let info = ports
            .ecs
            .describe_task_definition(&topo.idle.state.task_definition)
            .await?;
        if info.containers.iter().any(|(_, image)| *image == resolved.image) {
            let weight = topo.idle.weight.clamp(0, 100) as u8;
            return Ok(Start::Continue { weight });
        }
        log::warning(
            "Not continuing",
            "the interrupted rollout was of another image; rolling it back first",
        );
    }
    match restore_weights(ports, &pc.split, topo, revert_budget(false)).await {
        Ok(()) => log::info(&format!("converged: all traffic back on {}", topo.live.state.name)),
        Err(reason) => {
            return Err(Error::Preflight {
                cluster: cfg.cluster.clone(),
                service: topo.idle.state.name.clone(),
                problem: format!("traffic is split and could not be restored to the stable slot: {reason}"),
            })
        }
    }
    topo.live.weight = 100;
    topo.idle.weight = 0;
    Ok(Start::Fresh)
}

/// Deploys the new revision to the idle slot and checks it before any production traffic.
/// Returns the new task definition and, if it already ended (failure, cancel), how.
async fn prepare(
    cfg: &DeployConfig,
    pc: &ProgressiveConfig,
    ports: &Ports<'_>,
    topo: &Topology,
    resolved: &ResolvedImages,
    cancel: &mut Cancel,
) -> Result<(String, Option<Ended>), Error> {
    log::group(&format!("Prepare the idle slot {}", topo.idle.state.name));
    if *cancel.borrow() {
        // Cancelled before the first change: nothing to undo.
        log::endgroup();
        return Ok((topo.idle.state.task_definition.clone(), Some(Ended::Cancelled)));
    }
    let base = &topo.live.state.task_definition;
    let info = ports.ecs.describe_task_definition(base).await?;
    let images = assign_images(&info.arn, &info.containers, &resolved.assignment)?;
    let tags = merge_tags(&info.tags, &record_tags(cfg, resolved));
    let td = ports.ecs.register_revision(base, &images, &tags).await?;
    log::info(&format!("registered {} from {}", short_td(&td), short_td(base)));
    let _ = ports
        .ecs
        .tag_service(&topo.live.state.arn, &[(SLOT_TAG.to_string(), "stable".to_string())])
        .await;
    let _ = ports
        .ecs
        .tag_service(&topo.idle.state.arn, &[(SLOT_TAG.to_string(), "candidate".to_string())])
        .await;
    let desired = topo.live.state.desired.max(1);
    let deployment_id = ports
        .ecs
        .update_service(&cfg.cluster, &topo.idle.state.name, &td, Some(desired))
        .await?;
    log::info(&format!(
        "{}: deployment {deployment_id} of {} with {desired} task(s)",
        topo.idle.state.name,
        short_td(&td)
    ));
    let tracked = BTreeMap::from([(
        topo.idle.state.name.clone(),
        Tracked {
            deployment_id,
            task_definition: td.clone(),
            previous_task_definition: topo.idle.state.task_definition.clone(),
        },
    )]);
    let wait = wait_for(
        ports,
        &cfg.cluster,
        &tracked,
        cfg.wait_timeout,
        cfg.poll_interval,
        cancel,
    )
    .await;
    if wait.cancelled {
        log::endgroup();
        return Ok((td, Some(Ended::Cancelled)));
    }
    if let Some(Err(f)) = wait.verdicts.get(&topo.idle.state.name) {
        log::endgroup();
        return Ok((td, Some(Ended::Failed(f.clone()))));
    }
    if let Some(ended) = wait_healthy(cfg, ports, &topo.idle.target_group, desired, cancel).await {
        log::endgroup();
        return Ok((td, Some(ended)));
    }
    if let Some(test) = &pc.test_listener {
        // The test listener sends all its traffic to the new slot, for the smoke check.
        if let Err(e) = ports
            .router
            .set_weights(
                test,
                &[
                    (topo.idle.target_group.clone(), 100),
                    (topo.live.target_group.clone(), 0),
                ],
            )
            .await
        {
            log::endgroup();
            return Ok((
                td,
                Some(Ended::Failed(Failure::SmokeCheck {
                    reason: format!("could not point the test listener at the new slot: {e}"),
                })),
            ));
        }
        log::info(&format!("test listener now forwards to {}", topo.idle.state.name));
    }
    if let Some(url) = &pc.smoke_url {
        if let Some(ended) = smoke(pc, ports, url, cancel).await {
            log::endgroup();
            return Ok((td, Some(ended)));
        }
    }
    log::endgroup();
    Ok((td, None))
}

/// Every target of the new slot healthy, and as many as the desired count.
async fn wait_healthy(
    cfg: &DeployConfig,
    ports: &Ports<'_>,
    tg: &str,
    desired: i32,
    cancel: &mut Cancel,
) -> Option<Ended> {
    let deadline = ports.clock.now() + cfg.wait_timeout;
    let mut schedule = crate::domain::poll::PollSchedule::standard(cfg.poll_interval);
    loop {
        let last = match ports.router.target_health(tg).await {
            Ok(targets) => {
                let healthy = targets.iter().filter(|t| t.state == "healthy").count() as i32;
                let bad: Vec<String> = targets
                    .iter()
                    .filter(|t| t.state == "unhealthy")
                    .map(|t| format!("{} {} ({})", t.target, t.state, t.reason))
                    .collect();
                if healthy >= desired && bad.is_empty() && !targets.iter().any(|t| t.state == "initial") {
                    log::info(&format!("{healthy} healthy target(s) in the new slot's target group"));
                    return None;
                }
                if bad.is_empty() {
                    format!("{healthy}/{desired} healthy")
                } else {
                    bad.join(", ")
                }
            }
            Err(e) => e.to_string(),
        };
        if ports.clock.now() >= deadline {
            return Some(Ended::Failed(Failure::Unhealthy { reason: last }));
        }
        if sleep_or_cancel(ports, schedule.next_delay(), cancel).await {
            return Some(Ended::Cancelled);
        }
    }
}

async fn smoke(pc: &ProgressiveConfig, ports: &Ports<'_>, url: &str, cancel: &mut Cancel) -> Option<Ended> {
    let deadline = ports.clock.now() + pc.smoke_timeout;
    let mut last;
    loop {
        let remaining = deadline
            .duration_since(ports.clock.now())
            .unwrap_or(Duration::ZERO)
            .max(Duration::from_millis(200));
        match ports.smoke.get(url, remaining.min(Duration::from_secs(10))).await {
            Ok(code) if (200..300).contains(&code) => {
                log::info(&format!("smoke check: HTTP {code}"));
                return None;
            }
            Ok(code) => last = format!("HTTP {code} from the smoke URL"),
            Err(e) => last = e,
        }
        if ports.clock.now() >= deadline {
            return Some(Ended::Failed(Failure::SmokeCheck {
                reason: format!(
                    "{last} (no 2xx within {})",
                    humantime::format_duration(pc.smoke_timeout)
                ),
            }));
        }
        if sleep_or_cancel(ports, Duration::from_millis(500), cancel).await {
            return Some(Ended::Cancelled);
        }
    }
}

/// Walks the traffic steps above `from` percent.
#[allow(clippy::too_many_arguments)]
async fn shift(
    cfg: &DeployConfig,
    pc: &ProgressiveConfig,
    ports: &Ports<'_>,
    topo: &Topology,
    from: u8,
    timeline: &mut Vec<StepRecord>,
    cancel: &mut Cancel,
    traffic_moved: &mut bool,
) -> Ended {
    let steps = cfg.strategy.steps();
    let mut current = from;
    for step in steps.iter() {
        let weight = match step {
            Step::Pause => {
                if current > from || from == 0 {
                    return Ended::Paused;
                }
                continue; // resuming past the pause we stopped at
            }
            Step::Weight(w) if *w <= current => continue,
            Step::Weight(w) => *w,
        };
        if *cancel.borrow() {
            return Ended::Cancelled;
        }
        log::group(&format!("Step: {weight}% to {}", topo.idle.state.name));
        let step_start = ports.clock.now();
        let t = Instant::now();
        if let Err(reason) = set_and_verify(ports, &pc.split, topo, weight).await {
            log::endgroup();
            return Ended::Failed(Failure::Traffic { reason });
        }
        *traffic_moved = true;
        current = weight;
        log::info(&format!(
            "weights: {} {}%, {} {}% (read back)",
            topo.live.state.name,
            100 - weight,
            topo.idle.state.name,
            weight
        ));
        ports
            .reporter
            .progress(
                &ports.stage,
                &format!("{weight}% of traffic on {} (read back)", topo.idle.state.name),
            )
            .await;
        let (verdict, canary, ended) = if cfg.strategy.bakes() && !pc.bake.duration.is_zero() {
            bake(pc, ports, topo, weight, step_start, cancel).await
        } else {
            ("not analysed".to_string(), None, None)
        };
        timeline.push(StepRecord {
            weight,
            seconds: t.elapsed().as_secs_f64(),
            canary,
            verdict,
        });
        log::endgroup();
        if let Some(ended) = ended {
            return ended;
        }
    }
    Ended::Done
}

/// Bakes one step: measures every `analysis-interval` over the window since the step began.
async fn bake(
    pc: &ProgressiveConfig,
    ports: &Ports<'_>,
    topo: &Topology,
    weight: u8,
    step_start: SystemTime,
    cancel: &mut Cancel,
) -> (
    String,
    Option<crate::domain::analysis::TargetGroupMetrics>,
    Option<Ended>,
) {
    // Deadlines go through the clock, so scenario tests can run the bake on a fake one.
    let bake_end = ports.clock.now() + pc.bake.duration;
    let mut analysis = StepAnalysis::default();
    loop {
        let until_next = pc
            .bake
            .interval
            .min(bake_end.duration_since(ports.clock.now()).unwrap_or(Duration::ZERO));
        if sleep_or_cancel(ports, until_next, cancel).await {
            return (
                "cancelled".into(),
                analysis.last_measurement.map(|m| m.canary),
                Some(Ended::Cancelled),
            );
        }
        let m = measure(pc, ports, topo, step_start).await;
        let verdict = judge(&m, &pc.thresholds);
        let rate = m
            .canary
            .error_rate()
            .map(|r| format!("{:.2}%", r * 100.0))
            .unwrap_or_else(|| "n/a".into());
        let line = format!(
            "analysis at {weight}%: {} requests, 5xx {rate}, p99 {} → {verdict}",
            m.canary.requests.round(),
            m.canary
                .p99_ms
                .map(|p| format!("{p:.0} ms"))
                .unwrap_or_else(|| "n/a".into())
        );
        log::info(&line);
        ports.reporter.progress(&ports.stage, &line).await;
        let canary = m.canary;
        if let StepStatus::Failed(reason) = analysis.record(m, verdict, &pc.limits) {
            return (
                format!("fail: {reason}"),
                Some(canary),
                Some(Ended::Failed(Failure::Analysis { weight, reason })),
            );
        }
        if ports.clock.now() >= bake_end {
            return match analysis.conclude(pc.on_inconclusive) {
                Ok(None) => ("pass".into(), Some(canary), None),
                Ok(Some(note)) => {
                    log::warning("Inconclusive analysis", &note);
                    (note, Some(canary), None)
                }
                Err(reason) => (
                    format!("fail: {reason}"),
                    Some(canary),
                    Some(Ended::Failed(Failure::Analysis { weight, reason })),
                ),
            };
        }
    }
}

async fn measure(pc: &ProgressiveConfig, ports: &Ports<'_>, topo: &Topology, since: SystemTime) -> Measurement {
    let now = ports.clock.now();
    let window_secs = now.duration_since(since).map(|d| d.as_secs()).unwrap_or(0);
    let mut m = Measurement {
        window_secs,
        ..Default::default()
    };
    match ports
        .metrics
        .target_group(&topo.lb_dimension, &topo.idle.target_group, since, now)
        .await
    {
        Ok(c) => m.canary = c,
        Err(e) => m.query_error = Some(e.to_string()),
    }
    if pc.thresholds.max_error_rate_increase.is_some() {
        match ports
            .metrics
            .target_group(&topo.lb_dimension, &topo.live.target_group, since, now)
            .await
        {
            Ok(b) => m.baseline = Some(b),
            Err(e) => m.query_error = Some(e.to_string()),
        }
    }
    match ports.metrics.alarms_firing(&pc.alarms).await {
        Ok(firing) => m.alarms_firing = firing,
        Err(e) => m.query_error = Some(e.to_string()),
    }
    m
}

/// Sets the new slot's weight (the stable slot gets the rest) and reads the listener back.
async fn set_and_verify(ports: &Ports<'_>, split: &TrafficSplitRef, topo: &Topology, weight: u8) -> Result<(), String> {
    let (stable_tg, canary_tg) = (&topo.live.target_group, &topo.idle.target_group);
    let want = [
        (stable_tg.to_string(), 100 - weight as i32),
        (canary_tg.to_string(), weight as i32),
    ];
    let mut last = String::new();
    for attempt in 0..4u32 {
        if attempt > 0 {
            ports.clock.sleep(Duration::from_millis(150 * attempt as u64)).await;
        }
        let set = ports.router.set_weights(split, &want).await;
        if let Some(at) = ports.router.uncertain_write_at() {
            topo.late.note(at);
        }
        if let Err(e) = set {
            last = e.to_string();
            continue;
        }
        match ports.router.forward_weights(split).await {
            Ok(fw) if reads(&fw, stable_tg, canary_tg, weight) => return Ok(()),
            Ok(fw) => last = format!("the listener reads back {:?}", fw.weights),
            Err(e) => last = e.to_string(),
        }
    }
    Err(last)
}

fn reads(fw: &crate::ports::ForwardWeights, stable_tg: &str, canary_tg: &str, weight: u8) -> bool {
    fw.weight_of(stable_tg) == Some(100 - weight as i32) && fw.weight_of(canary_tg).unwrap_or(0) == weight as i32
}

/// Makes sure `weight` is final: while a late write may still land (`LateWrites`), waits for
/// it, reads the listener again and, if a late write undid the weights, sets them again. No
/// cost (no call, no wait) when every weight change was quick.
async fn settle(
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
                log::warning(
                    "Weights not final yet",
                    &format!(
                        "a weight change that timed out may still be applied by ELB until {}; check the listener then",
                        humantime::format_rfc3339_seconds(until)
                    ),
                );
                return Ok(());
            }
            let wake = until.min(deadline);
            log::info(&format!(
                "waiting {} ms for weight changes that timed out and may still land",
                wake.duration_since(now).unwrap_or_default().as_millis()
            ));
            ports.clock.sleep(wake.duration_since(now).unwrap_or_default()).await;
        }
        let fw = ports.router.forward_weights(split).await.map_err(|e| e.to_string())?;
        let right = reads(&fw, &topo.live.target_group, &topo.idle.target_group, weight);
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
            set_and_verify(ports, split, topo, weight).await?;
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
/// spent, so that an outage longer than the SDK's retries does not leave traffic split.
async fn restore_weights(
    ports: &Ports<'_>,
    split: &TrafficSplitRef,
    topo: &Topology,
    budget: Duration,
) -> Result<(), String> {
    let deadline = ports.clock.now() + budget;
    let mut delay = Duration::from_millis(250);
    loop {
        match set_and_verify(ports, split, topo, 0).await {
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

/// Stable slot back to 100% (confirmed by reading back), then the new slot scaled to 0.
async fn restore(
    cfg: &DeployConfig,
    pc: &ProgressiveConfig,
    ports: &Ports<'_>,
    topo: &Topology,
    cancelled: bool,
) -> RollbackResult {
    let t = Instant::now();
    if let Err(reason) = restore_weights(ports, &pc.split, topo, revert_budget(cancelled)).await {
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
        t.elapsed().as_millis()
    ));
    if let Some(test) = &pc.test_listener {
        let _ = ports
            .router
            .set_weights(
                test,
                &[
                    (topo.live.target_group.clone(), 100),
                    (topo.idle.target_group.clone(), 0),
                ],
            )
            .await;
    }
    scale_to_zero(cfg, ports, &topo.idle.state.name, "New slot not scaled down").await;
    RollbackResult::Done
}

/// Scales a slot that serves no traffic to 0, retrying a few times; a failure only costs
/// money (no traffic goes there), so it is a warning.
async fn scale_to_zero(cfg: &DeployConfig, ports: &Ports<'_>, service: &str, warning: &str) {
    let mut last = String::new();
    for attempt in 0..4u32 {
        if attempt > 0 {
            ports.clock.sleep(Duration::from_millis(250 << attempt)).await;
        }
        match ports.ecs.scale_service(&cfg.cluster, service, 0).await {
            Ok(()) => {
                log::info(&format!("{service} scaled to 0"));
                return;
            }
            Err(e) => last = e.to_string(),
        }
    }
    log::warning(
        warning,
        &format!("{last}; it gets no traffic: scale {service} to 0 by hand"),
    );
}

/// The new slot is live at 100%: record which slot is stable now, keep the old one warm for
/// `keep-old-for` (instant rollback by weights), then scale it to 0.
async fn finish(cfg: &DeployConfig, pc: &ProgressiveConfig, ports: &Ports<'_>, topo: &Topology, cancel: &mut Cancel) {
    let _ = ports
        .ecs
        .tag_service(&topo.idle.state.arn, &[(SLOT_TAG.to_string(), "stable".to_string())])
        .await;
    let _ = ports
        .ecs
        .tag_service(&topo.live.state.arn, &[(SLOT_TAG.to_string(), "previous".to_string())])
        .await;
    if let Some(test) = &pc.test_listener {
        let _ = ports
            .router
            .set_weights(
                test,
                &[
                    (topo.idle.target_group.clone(), 100),
                    (topo.live.target_group.clone(), 0),
                ],
            )
            .await;
    }
    if !pc.keep_old_for.is_zero() {
        log::info(&format!(
            "keeping {} warm for {}",
            topo.live.state.name,
            humantime::format_duration(pc.keep_old_for)
        ));
        if sleep_or_cancel(ports, pc.keep_old_for, cancel).await {
            log::info("cancelled while keeping the old slot warm; the rollout itself is complete");
        }
    }
    scale_to_zero(cfg, ports, &topo.live.state.name, "Old slot not scaled down").await;
}

/// Sleeps through the clock; true if cancelled meanwhile.
async fn sleep_or_cancel(ports: &Ports<'_>, d: Duration, cancel: &mut Cancel) -> bool {
    if *cancel.borrow() {
        return true;
    }
    tokio::select! {
        _ = ports.clock.sleep(d) => *cancel.borrow(),
        changed = cancel.changed() => {
            if changed.is_err() {
                ports.clock.sleep(d).await;
                return false;
            }
            *cancel.borrow()
        }
    }
}
