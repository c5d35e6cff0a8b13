//! The steps that ready the idle slot without production traffic: register, update, wait
//! for stable and healthy, point the test listener, smoke check.

use std::collections::BTreeMap;
use std::time::Duration;

use super::super::cancel::{race, sleep_or_cancel};
use super::super::one_off::{self, OneOffEnd};
use super::super::rolling::record_tags;
use super::super::wait::{short_td, wait_for};
use super::super::{log, Cancel};
use super::{Ended, Flow, Run};
use crate::domain::rollout::{Failure, Tracked};
use crate::domain::task_definition::{assign_images, merge_tags};
use crate::domain::traffic::TargetState;
use crate::ports::Stickiness;

/// A new revision of the live slot's task definition with the release's images.
pub async fn register(run: &mut Run<'_, '_>) -> Flow {
    let ports = run.ports;
    let base = run.topo.live.state.task_definition.clone();
    let registered = async {
        let info = ports.ecs.describe_task_definition(&base).await?;
        // With a task-definition file the new revision is the file's, not a copy of the live one.
        let file = run.cfg.task_definition_file.as_ref();
        let (source, containers, kept_tags) = match file {
            Some(f) => (f.path.as_str(), &f.containers, &f.tags),
            None => (info.arn.as_str(), &info.containers, &info.tags),
        };
        let images = assign_images(source, containers, &run.resolved.assignment)?;
        if let Some(spec) = &run.cfg.run_task {
            run.one_off_container = Some(one_off::container(spec, source, containers, &images)?);
        }
        let tags = merge_tags(kept_tags, &record_tags(run.cfg, &run.resolved));
        match file {
            Some(f) => ports.ecs.register_file(&f.json, &f.path, &images, &tags).await,
            None => ports.ecs.register_revision(&base, &images, &tags).await,
        }
        .map_err(Into::into)
    }
    .await;
    match registered {
        Ok(td) => {
            log::info(&format!("registered {} from {}", short_td(&td), short_td(&base)));
            run.new_td = td;
            Flow::Next
        }
        Err(e) => Flow::Abort(e),
    }
}

/// The one-off task (a migration) from the new revision, before the idle slot moves. A
/// re-run that resumes past this step does not run it again.
pub async fn run_task(run: &mut Run<'_, '_>, step: &crate::domain::plan::Step, cancel: &mut Cancel) -> Flow {
    // The task as the plan holds it (`command: plan` printed the same).
    let Some(spec) = &step.one_off_task() else {
        return Flow::Next;
    };
    let container = match &run.one_off_container {
        Some(c) => c.clone(),
        // Resumed right at this step: choose the container from the new revision.
        None => match run.ports.ecs.describe_task_definition(&run.new_td).await {
            Ok(info) => match one_off::container(spec, &info.arn, &info.containers, &[]) {
                Ok(c) => c,
                Err(e) => return Flow::Abort(e),
            },
            Err(e) => return Flow::Abort(e.into()),
        },
    };
    let idle = run.topo.idle.state.name.clone();
    match one_off::run(run.cfg, run.ports, spec, &run.new_td, &container, &idle, cancel).await {
        OneOffEnd::Succeeded => Flow::Next,
        OneOffEnd::Failed(e) => Flow::Abort(e),
        OneOffEnd::Cancelled => Flow::End(Ended::Cancelled),
    }
}

/// The idle slot on the new revision at `desired` tasks; the slot tags say which slot is
/// stable before anything can serve from the new one (a later run reads them at a split).
pub async fn update(run: &mut Run<'_, '_>, desired: i32) -> Flow {
    let ports = run.ports;
    let tag = |v: &str| vec![(super::topology::SLOT_TAG.to_string(), v.to_string())];
    if let Err(e) = ports.ecs.tag_service(&run.topo.live.state.arn, &tag("stable")).await {
        return Flow::Abort(e.into());
    }
    if let Err(e) = ports.ecs.tag_service(&run.topo.idle.state.arn, &tag("candidate")).await {
        return Flow::Abort(e.into());
    }
    let idle = run.topo.idle.state.name.clone();
    match ports
        .ecs
        .update_service(&run.cfg.cluster, &idle, &run.new_td, Some(desired))
        .await
    {
        Ok(id) => {
            log::info(&format!(
                "{idle}: deployment {id} of {} with {desired} task(s)",
                short_td(&run.new_td)
            ));
            run.deployment_id = Some(id);
            Flow::Next
        }
        Err(e) => Flow::Abort(e.into()),
    }
}

/// Our deployment of the idle slot COMPLETED and alone.
pub async fn await_stable(run: &mut Run<'_, '_>, cancel: &mut Cancel) -> Flow {
    let idle = run.topo.idle.state.name.clone();
    let tracked = BTreeMap::from([(
        idle.clone(),
        Tracked {
            deployment_id: run.deployment_id.clone().unwrap_or_default(),
            task_definition: run.new_td.clone(),
            previous_task_definition: run.topo.idle.state.task_definition.clone(),
            // The idle slot is scaled to 0 on the way back, whatever its count.
            previous_desired: None,
        },
    )]);
    let cfg = run.cfg;
    let wait = wait_for(
        run.ports,
        &cfg.cluster,
        &tracked,
        cfg.wait_timeout,
        cfg.poll_interval,
        cancel,
    )
    .await;
    if wait.cancelled {
        return Flow::End(Ended::Cancelled);
    }
    match wait.verdicts.get(&idle) {
        Some(Err(f)) => Flow::End(Ended::Failed(f.clone())),
        _ => Flow::Next,
    }
}

/// Every target of the new slot healthy, and as many as the desired count.
pub async fn await_healthy(run: &mut Run<'_, '_>, desired: i32, cancel: &mut Cancel) -> Flow {
    let ports = run.ports;
    let tg = run.topo.idle.target_group.clone();
    let deadline = ports.clock.now() + run.cfg.wait_timeout;
    let mut schedule = crate::domain::poll::PollSchedule::standard(run.cfg.poll_interval);
    loop {
        let Some(health) = race(cancel, ports.router.target_health(&tg)).await else {
            return Flow::End(Ended::Cancelled);
        };
        let last = match health {
            Ok(targets) => {
                let healthy = targets.iter().filter(|t| t.state == TargetState::Healthy).count() as i32;
                let bad: Vec<String> = targets
                    .iter()
                    .filter(|t| t.state == TargetState::Unhealthy)
                    .map(|t| format!("{} {} ({})", t.target, t.state, t.reason))
                    .collect();
                if healthy >= desired && bad.is_empty() && !targets.iter().any(|t| t.state == TargetState::Initial) {
                    log::info(&format!("{healthy} healthy target(s) in the new slot's target group"));
                    return Flow::Next;
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
            return Flow::End(Ended::Failed(Failure::Unhealthy { reason: last }));
        }
        if sleep_or_cancel(ports, schedule.next_delay(), cancel).await {
            return Flow::End(Ended::Cancelled);
        }
    }
}

/// The test listener sends all its traffic to the new slot, for the smoke check.
pub async fn point_test_listener(run: &mut Run<'_, '_>) -> Flow {
    let Some(test) = &run.pc.test_listener else {
        return Flow::Next;
    };
    let weights = [
        (run.topo.idle.target_group.clone(), 100),
        (run.topo.live.target_group.clone(), 0),
    ];
    match run.ports.router.set_weights(test, &weights, Stickiness::Keep).await {
        Ok(()) => {
            log::info(&format!("test listener now forwards to {}", run.topo.idle.state.name));
            Flow::Next
        }
        Err(e) => Flow::End(Ended::Failed(Failure::SmokeCheck {
            reason: format!("could not point the test listener at the new slot: {e}"),
        })),
    }
}

/// GETs `url` until a 2xx, or fails after `timeout`. Each GET is raced against the signal.
pub async fn smoke(run: &mut Run<'_, '_>, url: &str, timeout: Duration, cancel: &mut Cancel) -> Flow {
    let ports = run.ports;
    let deadline = ports.clock.now() + timeout;
    let mut last;
    loop {
        let remaining = deadline
            .duration_since(ports.clock.now())
            .unwrap_or(Duration::ZERO)
            .max(Duration::from_millis(200));
        let Some(got) = race(cancel, ports.smoke.get(url, remaining.min(Duration::from_secs(10)))).await else {
            return Flow::End(Ended::Cancelled);
        };
        match got {
            Ok(code) if (200..300).contains(&code) => {
                log::info(&format!("smoke check: HTTP {code}"));
                return Flow::Next;
            }
            Ok(code) => last = format!("HTTP {code} from the smoke URL"),
            Err(e) => last = e,
        }
        if ports.clock.now() >= deadline {
            return Flow::End(Ended::Failed(Failure::SmokeCheck {
                reason: format!("{last} (no 2xx within {})", humantime::format_duration(timeout)),
            }));
        }
        if sleep_or_cancel(ports, Duration::from_millis(500), cancel).await {
            return Flow::End(Ended::Cancelled);
        }
    }
}
