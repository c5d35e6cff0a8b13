//! A rollout an earlier run left at 100% before its judgement ended (killed in the 100% bake):
//! the new slot serves everything, yet its slot tag still says `candidate` and the old slot's
//! `stable`, because only a judged rollout swaps them (`retire::record`). 0/100 is not a split
//! in the listener, so without this the next run would take the unjudged slot as its baseline
//! and deploy into the old one while it is still warm.

use super::super::log;
use super::topology::{Topology, SLOT_TAG};
use crate::domain::settings::DeployConfig;
use crate::error::Error;

/// Whether the listener's live slot is an unjudged candidate and the idle one the stable slot.
pub(super) fn unjudged_at_full(topo: &Topology) -> bool {
    let role = |tags: &[(String, String)]| tags.iter().find(|(k, _)| k == SLOT_TAG).map(|(_, v)| v.clone());
    topo.idle.weight == 0
        && role(&topo.live.tags).as_deref() == Some("candidate")
        && role(&topo.idle.tags).as_deref() == Some("stable")
}

/// Takes the old slot as the stable one again, so that the split logic rolls the interrupted
/// rollout back by weights (or, with `on-split: continue` and the same image, finishes its
/// judgement). Refused, with nothing changed, when the old slot no longer runs: weights
/// cannot move back to a slot with no tasks.
pub(super) fn take_back(cfg: &DeployConfig, topo: &mut Topology) -> Result<(), Error> {
    let (new, old) = (&topo.live.state, &topo.idle.state);
    if old.desired == 0 || old.running == 0 {
        return Err(Error::Preflight {
            cluster: cfg.cluster.clone(),
            service: new.name.clone(),
            problem: format!(
                "serves 100% of traffic, but an earlier run stopped before judging it (its slot tag still says candidate), and {} (the stable slot) has no tasks to take the traffic back; nothing was changed. Scale {} up to its usual count and re-run, or re-run the interrupted release's job to finish its judgement",
                old.name, old.name
            ),
        });
    }
    log::warning(
        "Interrupted at 100%",
        &format!(
            "{} serves all traffic, but the run that shifted it stopped before its judgement ended; {} (the stable slot) still runs, so traffic goes back to it before anything else",
            new.name, old.name
        ),
    );
    std::mem::swap(&mut topo.live, &mut topo.idle);
    Ok(())
}
