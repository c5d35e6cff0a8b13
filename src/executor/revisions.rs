//! `keep-revisions: N`: after a successful deploy, the families it registered revisions in
//! keep their N newest ACTIVE revisions; older ones are deregistered, except any revision a
//! service of this run uses and the one each service ran before (the way back). Every PR
//! deploy adds a revision; without this a family grows without end (ecspresso's
//! `deregister --keeps`). A failure here is a warning: the deploy itself succeeded.
//!
//! Only the services this run deploys are checked for use: a service in another cluster that
//! runs an old revision of the family keeps running and scaling on it (ECS allows that for
//! INACTIVE revisions), but a new service could no longer be created from it.

use std::collections::BTreeSet;

use super::{log, Ports};
use crate::domain::outcome::OutcomeKind;
use crate::domain::report::DeployReport;
use crate::domain::settings::DeployConfig;

/// Deregistrations one run makes at most (one call each, one after another: never a burst).
const MAX_PER_RUN: usize = 50;

/// The revisions to deregister: beyond the `keep` newest of `active` (newest first), minus
/// those in use. Pure, for the table test.
pub fn to_deregister(active: &[String], keep: usize, in_use: &BTreeSet<String>) -> Vec<String> {
    active
        .iter()
        .skip(keep)
        .filter(|arn| !in_use.contains(*arn))
        .cloned()
        .collect()
}

pub async fn prune(cfg: &DeployConfig, ports: &Ports<'_>, report: &DeployReport) {
    let Some(keep) = cfg.controls.keep_revisions else {
        return;
    };
    if report.outcome.kind != OutcomeKind::Success {
        return;
    }
    let mut in_use: BTreeSet<String> = BTreeSet::new();
    let mut families: BTreeSet<String> = BTreeSet::new();
    for s in &report.outcome.services {
        in_use.insert(s.previous_task_definition.clone());
        if let Some(td) = &s.new_task_definition {
            in_use.insert(td.clone());
            if let Some((family, _)) = td.rsplit('/').next().and_then(|n| n.rsplit_once(':')) {
                families.insert(family.to_string());
            }
        }
    }
    // Both slots of a two-slot stage, and every service named, as ECS has them now.
    let mut names = cfg.services.clone();
    names.extend(report.outcome.services.iter().map(|s| s.service.clone()));
    names.sort();
    names.dedup();
    match ports.ecs.describe_services(&cfg.cluster, &names).await {
        Ok(states) => in_use.extend(states.into_iter().map(|s| s.task_definition)),
        Err(e) => {
            log::warning(
                "Old revisions kept",
                &format!("{e}; keep-revisions needs to know which revisions run, so nothing was deregistered"),
            );
            return;
        }
    }
    for family in families {
        let active = match ports.ecs.active_revisions(&family).await {
            Ok(a) => a,
            Err(e) => {
                log::warning(
                    "Old revisions kept",
                    &format!("{e}; nothing of {family} was deregistered"),
                );
                continue;
            }
        };
        let doomed = to_deregister(&active, keep as usize, &in_use);
        let mut done = 0;
        for arn in doomed.iter().take(MAX_PER_RUN) {
            match ports.ecs.deregister_task_definition(arn).await {
                Ok(()) => done += 1,
                Err(e) => {
                    log::warning("Old revisions kept", &format!("{e}; stopped deregistering {family}"));
                    break;
                }
            }
        }
        let left = doomed.len() - done;
        log::info(&format!(
            "keep-revisions {keep}: {done} older revision(s) of {family} deregistered{}",
            if left > 0 {
                format!(", {left} left for the next run")
            } else {
                String::new()
            }
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_and_whatever_runs() {
        let active: Vec<String> = (1..=6).rev().map(|r| format!("web:{r}")).collect();
        let in_use: BTreeSet<String> = ["web:6", "web:2"].iter().map(|s| s.to_string()).collect();
        assert_eq!(to_deregister(&active, 3, &in_use), vec!["web:3", "web:1"]);
        assert!(to_deregister(&active, 10, &in_use).is_empty());
    }
}
