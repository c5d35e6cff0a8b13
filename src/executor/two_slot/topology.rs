//! Which slot is live: read from the listener's weights and, when traffic is split, from the
//! slot tags this action writes. Never remembered, and never guessed on a failed read.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use super::super::retry::{always, retry, Backoff};
use super::super::rolling::check_service;
use super::super::wait::short_td;
use super::super::{log, Ports};
use crate::domain::plan::cursor::{Cursor, CURSOR_TAG};
use crate::domain::service::{ServiceLifecycle, ServiceState};
use crate::domain::settings::DeployConfig;
use crate::domain::settings::ProgressiveConfig;
use crate::error::Error;

/// Service tag that tells a later run which slot was serving before a rollout began.
pub const SLOT_TAG: &str = "ecs-deploy:slot";

#[derive(Debug, Clone)]
pub struct Slot {
    pub state: ServiceState,
    pub target_group: String,
    pub weight: i32,
    pub tags: Vec<(String, String)>,
}

impl Slot {
    fn tag(&self, key: &str) -> Option<&str> {
        self.tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// The cursor an interrupted rollout left on this (new) slot, if any.
    pub fn cursor(&self) -> Option<Cursor> {
        self.tag(CURSOR_TAG).and_then(Cursor::parse)
    }
}

pub struct Topology {
    pub live: Slot,
    pub idle: Slot,
    pub lb_dimension: String,
    /// Every target group of the forward action with its weight, third ones included (a
    /// weight change keeps them as they are).
    pub others: Vec<(String, i32)>,
    pub late: LateWrites,
    /// The forward action's target-group stickiness: clients stay with their slot that long.
    pub stickiness: Option<Duration>,
}

/// A weight change whose attempt timed out or lost its connection was retried by the SDK, and
/// the abandoned request can still be applied by ELB *after* a newer change, silently undoing
/// it: the fault matrix caught a canary that read back 0/100, reported success, and was left at
/// 50/50 by its own late write. Until the window after such an attempt closes, a read-back is
/// not final (`weights::settle`).
#[derive(Default)]
pub struct LateWrites {
    until: Mutex<Option<SystemTime>>,
}

/// How long after an abandoned attempt its request may still land.
const LATE_WRITE_WINDOW: Duration = Duration::from_secs(15);

impl LateWrites {
    pub fn note(&self, abandoned_at: SystemTime) {
        if let Ok(mut u) = self.until.lock() {
            let t = abandoned_at + LATE_WRITE_WINDOW;
            *u = Some(u.map_or(t, |old| old.max(t)));
        }
    }

    pub fn until(&self) -> Option<SystemTime> {
        self.until.lock().ok().and_then(|u| *u)
    }
}

fn topology_error(cfg: &DeployConfig, service: &str, problem: String) -> Error {
    Error::Preflight {
        cluster: cfg.cluster.clone(),
        service: service.to_string(),
        problem,
    }
}

/// Reads the listener, both slots and their tags (reads only).
pub async fn read(cfg: &DeployConfig, pc: &ProgressiveConfig, ports: &Ports<'_>) -> Result<Topology, Error> {
    let forward = ports.router.forward_weights(&pc.split).await?;
    let states = ports.ecs.describe_services(&cfg.cluster, &pc.slots).await?;
    let mut slots = Vec::new();
    for s in states {
        if s.status != ServiceLifecycle::Active {
            check_service(&cfg.cluster, &s)?;
        }
        if s.target_groups.is_empty() {
            return Err(topology_error(
                cfg,
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
                cfg,
                &s.name,
                format!(
                    "has target group {} which is not in the forward action of {}; add it there (weight 0 for the idle slot)",
                    s.target_groups.join(", "),
                    pc.split.arn()
                ),
            ));
        };
        let tags = read_tags(cfg, ports, &s).await?;
        slots.push(Slot {
            state: s,
            target_group: tg,
            weight,
            tags,
        });
    }
    let (a, b) = (slots.remove(0), slots.remove(0));
    let pair = format!("{} / {}", a.state.name, b.state.name);
    if a.target_group == b.target_group {
        return Err(topology_error(
            cfg,
            &b.state.name,
            "shares its target group with the other slot; each slot needs its own".into(),
        ));
    }
    let others: Vec<(String, i32)> = forward
        .weights
        .iter()
        .filter(|(tg, _)| *tg != a.target_group && *tg != b.target_group)
        .cloned()
        .collect();
    let strangers: Vec<&str> = others
        .iter()
        .filter(|(_, w)| *w > 0)
        .map(|(tg, _)| tg.as_str())
        .collect();
    if !strangers.is_empty() {
        return Err(topology_error(
            cfg,
            &pair,
            format!(
                "the listener also sends traffic to {}, which belongs to neither slot",
                strangers.join(", ")
            ),
        ));
    }
    if a.weight <= 0 && b.weight <= 0 {
        return Err(topology_error(
            cfg,
            &pair,
            "both slots are at weight 0 in the listener; set the live slot to 100 first".into(),
        ));
    }
    let (live, idle) = if a.weight > 0 && b.weight > 0 {
        split_identity(cfg, a, b)?
    } else if a.weight > 0 {
        (a, b)
    } else {
        (b, a)
    };
    if idle.weight == 0 {
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
    // A simulator's durations pass faster by its time scale, its stickiness's too (1 on AWS).
    let stickiness = forward.stickiness.map(|d| d.div_f64(cfg.aws_time_scale.max(1.0)));
    if let Some(d) = stickiness {
        log::info(&format!(
            "target-group stickiness is on ({}): a client stays with the slot it was first sent to that long, whatever the weights",
            humantime::format_duration(d)
        ));
    }
    Ok(Topology {
        live,
        idle,
        lb_dimension: forward.load_balancer_dimension,
        others,
        late: LateWrites::default(),
        stickiness,
    })
}

/// A slot's tags, retried: at a split they say which slot is stable, and a wrong guess would
/// send all traffic to the canary. A read that keeps failing stops the run before any change.
async fn read_tags(cfg: &DeployConfig, ports: &Ports<'_>, s: &ServiceState) -> Result<Vec<(String, String)>, Error> {
    let backoff = Backoff::doubling(4, Duration::from_millis(500));
    retry(ports, backoff, always, |_| ports.ecs.service_tags(&s.arn)).await.map_err(|last| {
        topology_error(
            cfg,
            &s.name,
            format!(
                "its tags could not be read ({last}), so which slot is stable is unknown; nothing was changed. Look with `aws ecs list-tags-for-resource --resource-arn {}` (tag {SLOT_TAG}) and `aws elbv2 describe-listeners`, then re-run",
                s.arn
            ),
        )
    })
}

/// Traffic is split: the slot tagged `stable` before the shift is the stable one. Without
/// tags, the slot with more traffic; at a tie without tags, nobody can know: stop.
fn split_identity(cfg: &DeployConfig, a: Slot, b: Slot) -> Result<(Slot, Slot), Error> {
    let stable = |s: &Slot| s.tag(SLOT_TAG) == Some("stable");
    match (stable(&a), stable(&b)) {
        (true, false) => Ok((a, b)),
        (false, true) => Ok((b, a)),
        _ if a.weight > b.weight => Ok((a, b)),
        _ if b.weight > a.weight => Ok((b, a)),
        _ => Err(topology_error(
            cfg,
            &format!("{} / {}", a.state.name, b.state.name),
            format!(
                "traffic is split {}/{} and the slot tags ({SLOT_TAG}) do not say which slot is stable; nothing was changed. Set the listener's weights to 100/0 on the slot you trust, then re-run",
                a.weight, b.weight
            ),
        )),
    }
}
