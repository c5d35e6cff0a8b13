//! Two-slot delivery (blue/green, canary, linear, all-at-once behind one ALB listener) as an
//! interpreter of the plan: a loop over `Plan::steps` from the cursor, one small handler per
//! step kind.
//!
//! 1. Preflight reads only the image and the slot services' ARNs, takes the deploy lock, and
//!    only then reads what it acts on: weights, slots, tags (`topology`).
//! 2. A split means an earlier run was interrupted: continue from the cursor it left in AWS
//!    (`on-split: continue`, and only when cursor and weights agree) or roll it back.
//! 3. The steps run in order; any failure or a signal sends the weights back to the stable
//!    slot first (read back), then scales the new slot down, then reports.

pub(crate) mod bake;
pub(crate) mod comparison;
pub(crate) mod look;
mod prepare;
mod retire;
mod topology;
mod traffic;
mod weights;

use std::time::{Duration, SystemTime};

use super::images::{self, ResolvedImages};
use super::interpret::{self, Handlers};
use super::{lock, log, Cancel, DeployReport, Ports, StepRecord};
use crate::domain::plan::{self, Plan, Step, TwoSlotSettings};
use crate::domain::rollout::Failure;
use crate::domain::settings::DeployConfig;
use crate::domain::settings::ProgressiveConfig;
use crate::error::Error;
use topology::Topology;
pub use topology::SLOT_TAG;

/// How a run of the steps ended.
pub(super) enum Ended {
    Done,
    Paused,
    Failed(Failure),
    Cancelled,
    /// Failed before the new slot could serve anything (registration, update): an error.
    Aborted(Error),
}

/// What a step handler says.
pub(super) enum Flow {
    Next,
    End(Ended),
    Abort(Error),
}

/// The state of one rollout that the step handlers share.
pub(super) struct Run<'a, 'p> {
    cfg: &'a DeployConfig,
    pc: &'a ProgressiveConfig,
    ports: &'a Ports<'p>,
    topo: Topology,
    resolved: ResolvedImages,
    plan: Plan,
    /// The new slot's task definition (its current one until a revision is registered).
    new_td: String,
    deployment_id: Option<String>,
    timeline: Vec<StepRecord>,
    /// The new slot's weight now, as last set and read back.
    weight: u8,
    /// When the current weight was set (the metric window and the timeline start there).
    weight_set_at: SystemTime,
    /// Each weight this run set and when: a late alarm is attributed to the step its data came from.
    step_starts: Vec<(u8, SystemTime)>,
    /// The slot tags already name the new slot stable (Record ran): a later failure puts them back.
    recorded: bool,
    traffic_moved: bool,
    /// Indices of the steps run, in order.
    executed: Vec<usize>,
    /// The container that runs `run-task-command`, chosen when the revision is registered.
    one_off_container: Option<String>,
    /// The rollout's sequential evidence on the canary's 5xx (`judge: compare`), every step's.
    evidence: crate::domain::sequential::Evidence,
    /// The rollout's latency evidence against `max-p99-latency`, every step's.
    slow: crate::domain::latency::SlowEvidence,
    /// Without `max-p99-latency`, the rollout's latency against the stable version's.
    slower: crate::domain::slower::SlowerEvidence,
}

/// The plan settings of this configuration.
pub fn settings(cfg: &DeployConfig, pc: &ProgressiveConfig, stickiness: Option<Duration>) -> TwoSlotSettings {
    TwoSlotSettings {
        stickiness,
        strategy: cfg.strategy.clone(),
        bake: pc.bake,
        test_listener: pc.test_listener.is_some(),
        smoke: pc.smoke_url.clone().map(|u| (u, pc.smoke_timeout)),
        keep_old_for: pc.keep_old_for,
    }
}

/// The plan a deploy of `image` would follow now (reads only): what `command: plan` prints.
pub async fn plan_now(
    cfg: &DeployConfig,
    pc: &ProgressiveConfig,
    ports: &Ports<'_>,
    image: &str,
) -> Result<Plan, Error> {
    let topo = topology::read(cfg, pc, ports).await?;
    Ok(plan::two_slot(
        &settings(cfg, pc, topo.stickiness),
        &topo.live.state.name,
        &topo.idle.state.name,
        cfg.controls.desired_count.unwrap_or(topo.live.state.desired),
        image,
    )
    .with_run_task(cfg.run_task.as_ref()))
}

pub async fn deploy(
    cfg: &DeployConfig,
    pc: &ProgressiveConfig,
    ports: &Ports<'_>,
    cancel: &mut Cancel,
) -> Result<DeployReport, Error> {
    let started = ports.clock.now();
    // A first read refuses a misconfigured topology with no change at all (not even a lock
    // tag); the state the run acts on is read again under the lock: a run that gets the lock
    // just after another released it must see that run's result, not what was there before.
    log::group("Preflight: image, listener and slots");
    let pre = async {
        let resolved = images::resolve(ports, &cfg.images).await?;
        let topo = topology::read(cfg, pc, ports).await?;
        alarms_exist(pc, ports).await?;
        Ok::<_, Error>((resolved, topo))
    }
    .await;
    log::endgroup();
    let (resolved, first_look) = pre?;
    super::capabilities::check(
        cfg,
        &first_look.live.state.name,
        crate::domain::controller::Controller::TwoSlot,
    )?;
    let services: Vec<(String, String)> = [&first_look.live, &first_look.idle]
        .iter()
        .map(|s| (s.state.name.clone(), s.state.arn.clone()))
        .collect();
    let outline = plan::two_slot(
        &settings(cfg, pc, first_look.stickiness),
        &first_look.live.state.name,
        &first_look.idle.state.name,
        cfg.controls.desired_count.unwrap_or(first_look.live.state.desired),
        &resolved.image,
    )
    .with_run_task(cfg.run_task.as_ref());
    let ttl = lock::ttl(cfg, &outline);
    lock::holding(cfg, ports, &services, ttl, async {
        log::group("Read the listener and slots again, under the lock");
        let topo = topology::read(cfg, pc, ports).await;
        log::endgroup();
        let topo = topo?;
        let slots = [&topo.live, &topo.idle].map(|s| (s.state.name.clone(), s.target_group.clone()));
        let production = topo.live.state.name.clone();
        let states = [topo.live.state.clone(), topo.idle.state.clone()];
        let suspension = super::scaling::suspend(cfg, ports, &states).await?;
        let report = deploy_locked(cfg, pc, ports, cancel, resolved, topo, started).await;
        let ranges =
            super::scaling::ranges_after_two_slot(cfg, ports, &pc.split, &slots, &production, &suspension).await;
        super::scaling::resume(cfg, ports, suspension, &ranges).await;
        report
    })
    .await
}

/// Every named alarm exists, checked before anything changes (a typo found at the first bake
/// would come after traffic moved). One already in ALARM is a warning: the first bake fails on it.
async fn alarms_exist(pc: &ProgressiveConfig, ports: &Ports<'_>) -> Result<(), Error> {
    let firing = ports.metrics.alarms_firing(&pc.alarms).await?;
    if !firing.is_empty() {
        log::warning(
            "Alarm already firing",
            &format!(
                "{} is in ALARM before the deploy; the first traffic step will fail on it",
                firing.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", ")
            ),
        );
    }
    Ok(())
}

/// Everything after the lock: the plan, the resume decision, the steps, the ending.
#[allow(clippy::too_many_arguments)]
async fn deploy_locked(
    cfg: &DeployConfig,
    pc: &ProgressiveConfig,
    ports: &Ports<'_>,
    cancel: &mut Cancel,
    resolved: ResolvedImages,
    mut topo: Topology,
    started: SystemTime,
) -> Result<DeployReport, Error> {
    let interrupted = interrupted::unjudged_at_full(&topo);
    if interrupted {
        interrupted::take_back(cfg, &mut topo)?;
    }
    let mut plan = plan::two_slot(
        &settings(cfg, pc, topo.stickiness),
        &topo.live.state.name,
        &topo.idle.state.name,
        cfg.controls.desired_count.unwrap_or(topo.live.state.desired),
        &resolved.image,
    )
    .with_run_task(cfg.run_task.as_ref());
    if interrupted || (topo.live.weight > 0 && topo.idle.weight > 0) {
        plan.cursor = converge_split(cfg, pc, ports, &mut topo, &plan, &resolved).await?;
    }
    log::group(&format!("Plan {} ({} steps)", plan.hash(), plan.steps.len()));
    for (i, line) in plan.lines().iter().enumerate() {
        let mark = if i < plan.cursor {
            " (done by an earlier run)"
        } else {
            ""
        };
        log::info(&format!("{line}{mark}"));
    }
    log::endgroup();
    let resumed = plan.cursor > 0;
    let mut run = Run {
        cfg,
        pc,
        ports,
        new_td: topo.idle.state.task_definition.clone(),
        weight: topo.idle.weight.clamp(0, 100) as u8,
        traffic_moved: resumed,
        topo,
        resolved,
        plan,
        deployment_id: None,
        timeline: Vec::new(),
        weight_set_at: ports.clock.now(),
        step_starts: Vec::new(),
        recorded: false,
        executed: Vec::new(),
        one_off_container: None,
        evidence: Default::default(),
        slow: Default::default(),
        slower: Default::default(),
    };
    let ended = run_steps(&mut run, cancel).await;
    let ending = ending::close(&mut run, ended).await?;
    Ok(ending::report(&run, ending, started).await)
}

/// The two-slot handlers of the one loop (`interpret::walk`).
struct TwoSlotSteps<'r, 'a, 'p> {
    run: &'r mut Run<'a, 'p>,
    /// With the old slot kept warm after the shift, a signal still reverts (by weights, at
    /// once); without, traffic is final once it is all on the new slot, and the run completes.
    kept_warm: bool,
}

#[async_trait::async_trait(?Send)]
impl Handlers for TwoSlotSteps<'_, '_, '_> {
    type End = Ended;

    fn stops_on_signal(&self, step: &Step) -> bool {
        self.kept_warm || !matches!(step, Step::Record { .. } | Step::Retire { .. })
    }

    async fn run(&mut self, index: usize, step: &Step, cancel: &mut Cancel) -> interpret::Flow<Ended> {
        let run = &mut *self.run;
        run.executed.push(index);
        let flow = match step {
            Step::RegisterRevision { .. } => prepare::register(run).await,
            Step::RunTask { .. } => prepare::run_task(run, step, cancel).await,
            Step::UpdateService { desired, .. } => prepare::update(run, desired.unwrap_or(1)).await,
            Step::AwaitStable { .. } => prepare::await_stable(run, cancel).await,
            Step::AwaitHealthy { service } => {
                // As many healthy targets as the plan's UpdateService gave the slot.
                let desired = run
                    .plan
                    .steps
                    .iter()
                    .find_map(|s| match s {
                        Step::UpdateService {
                            services,
                            desired: Some(d),
                        } if services.contains(service) => Some(*d),
                        _ => None,
                    })
                    .unwrap_or(1)
                    .max(1);
                prepare::await_healthy(run, desired, cancel).await
            }
            Step::PointTestListener { .. } => prepare::point_test_listener(run).await,
            Step::Smoke { url, timeout_secs } => {
                prepare::smoke(run, url, Duration::from_secs(*timeout_secs), cancel).await
            }
            Step::SetWeight { weight } => traffic::set_weight(run, index, *weight).await,
            Step::Bake {
                weight,
                seconds,
                interval_secs,
            } => {
                let interval = run.pc.bake.interval.min(Duration::from_secs(*interval_secs));
                // The last bake before 100%: the sequential test must have judged the canary.
                let promotes = run.plan.steps[index + 1..]
                    .iter()
                    .find_map(|s| match s {
                        Step::SetWeight { weight } => Some(*weight == 100),
                        _ => None,
                    })
                    .unwrap_or(false);
                let timing = (Duration::from_secs(*seconds), promotes);
                bake::bake(run, *weight, timing, interval, cancel).await
            }
            Step::AwaitApproval { .. } => traffic::await_approval(run, index).await,
            Step::Record { .. } => retire::record(run).await,
            Step::Retire {
                keep_for_secs,
                pinned_secs,
                ..
            } => {
                let keep = Duration::from_secs(*keep_for_secs);
                let pinned = pinned_secs.map(Duration::from_secs).filter(|p| *p > keep);
                let interval = run.pc.bake.interval;
                retire::retire(run, keep, pinned, interval, cancel).await
            }
            Step::FollowServiceDeployment { .. } | Step::CreateCodeDeployDeployment { .. } => {
                log::warning("Step skipped", &format!("{} is not a two-slot step", step.kind()));
                Flow::Next
            }
        };
        match flow {
            Flow::Next => interpret::Flow::Next,
            Flow::End(ended) => interpret::Flow::End(ended),
            Flow::Abort(e) => interpret::Flow::End(Ended::Aborted(e)),
        }
    }

    fn cancelled(&mut self, _index: usize) -> Ended {
        Ended::Cancelled
    }

    fn completed(&mut self) -> Ended {
        Ended::Done
    }
}

/// The loop: each step from the cursor, in order, until one ends the run.
async fn run_steps(run: &mut Run<'_, '_>, cancel: &mut Cancel) -> Ended {
    let kept_warm = run
        .plan
        .steps
        .iter()
        .any(|s| matches!(s, Step::Retire { keep_for_secs, .. } if *keep_for_secs > 0));
    let plan = run.plan.clone();
    let mut steps = TwoSlotSteps { run, kept_warm };
    interpret::walk(&plan, &mut steps, cancel).await.end
}

mod ending;
mod interrupted;
mod split;
use split::converge_split;
