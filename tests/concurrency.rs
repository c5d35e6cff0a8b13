//! The example workflows' `concurrency:` blocks, as written in `examples/`, under GitHub's
//! concurrency rules: no merge's deploy is ever cancelled by another run (a pull request's push
//! above all), merges reach each stage in the order they merged, and a merge waiting at prod's
//! gate does not hold up the next merge's dev and staging deploys.
//!
//! GitHub's rules, from "Control the concurrency of workflows and jobs" (docs.github.com, 2026)
//! and the changelog "concurrency groups now allow larger queues" (2026-05-07):
//! - a group (case-insensitive, workflow- or job-level, shared across the repository's
//!   workflows) has at most one running entry;
//! - an entry that finds the group busy is pending. With the default `queue: single` it cancels
//!   the entry already pending and takes its place; with `queue: max` up to 100 wait, FIFO;
//! - `cancel-in-progress: true` cancels the running entry; it may not be combined with
//!   `queue: max`;
//! - a cancelled job cancels its run, and a job whose `needs` did not succeed is skipped.
//!
//! Where the docs are silent (a `queue: single` entrant with `cancel-in-progress: true`), the
//! model takes the less forgiving reading: it cancels the running entry and every pending one.

#[path = "support/github_concurrency.rs"]
mod github_concurrency;

use github_concurrency::{Ctx, GitHub, State};
use serde_yaml_ng::Value;

fn example(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name);
    serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn merge(run_id: u64) -> Ctx {
    Ctx::push("refs/heads/main", run_id)
}

fn pr_push(pr: u64, run_id: u64) -> Ctx {
    Ctx::pull_request(pr, run_id)
}

/// Three merges and three pull-request pushes (two to one PR, the second superseding the
/// first), interleaved so that every deploy group has a merge waiting when a PR's job arrives.
/// Builds finish as soon as they run; deploys are held until the end, and then finish in the
/// order they started, except the first merge's last deploy (prod, waiting for its reviewers),
/// which is held longest.
fn story(workflow: &Value) -> (GitHub, Vec<usize>, Vec<usize>) {
    let mut gh = GitHub::default();
    let mut merges = Vec::new();
    let mut prs = Vec::new();
    merges.push(gh.trigger(workflow, merge(101)));
    gh.finish_all_but_deploys();
    merges.push(gh.trigger(workflow, merge(102)));
    gh.finish_all_but_deploys();
    prs.push(gh.trigger(workflow, pr_push(7, 103)));
    gh.finish_all_but_deploys();
    prs.push(gh.trigger(workflow, pr_push(7, 104)));
    gh.finish_all_but_deploys();
    prs.push(gh.trigger(workflow, pr_push(8, 105)));
    gh.finish_all_but_deploys();
    merges.push(gh.trigger(workflow, merge(106)));
    gh.finish_all_but_deploys();
    let held = gh.last_deploy_job(merges[0]);
    gh.drain(Some((merges[0], held.clone())));
    (gh, merges, prs)
}

fn assert_no_merge_is_dropped_or_reordered(name: &str) {
    let workflow = example(name);
    let (mut gh, merges, prs) = story(&workflow);

    // Prod's gate on the first merge holds nothing else up: the other merges' earlier deploys
    // are done, and their last deploy waits its turn.
    let held = gh.last_deploy_job(merges[0]);
    assert_eq!(gh.state(merges[0], &held), State::Running, "{name}: {}", gh.log());
    for &m in &merges[1..] {
        for job in gh.deploy_jobs(m) {
            let want = if job == held { State::Queued } else { State::Done };
            assert_eq!(gh.state(m, &job), want, "{name}: merge {m} {job}\n{}", gh.log());
        }
    }
    gh.finish(merges[0], &held);
    gh.drain(None);

    // Every job of every merge ran to the end, but those a merge skips by their `if:`.
    for &m in &merges {
        assert!(!gh.was_cancelled(m), "{name}: merge run {m}\n{}", gh.log());
        assert!(!gh.deploy_jobs(m).is_empty(), "{name}: merge run {m} deploys nothing");
        for job in gh.job_names(m) {
            let state = gh.state(m, &job);
            assert!(
                matches!(state, State::Done | State::SkippedByIf),
                "{name}: merge run {m}, job {job}: {state:?}\n{}",
                gh.log()
            );
        }
    }
    // The first push to PR 7 is superseded by the second; nothing else is cancelled.
    assert!(gh.was_cancelled(prs[0]), "{name}: the superseded PR push\n{}", gh.log());
    for &p in &prs[1..] {
        assert!(!gh.was_cancelled(p), "{name}: PR run {p}\n{}", gh.log());
    }
    // Each stage saw the merges in the order they merged.
    for job in gh.deploy_jobs(merges[0]) {
        let starts: Vec<usize> = merges.iter().map(|&m| gh.started_at(m, &job)).collect();
        assert!(
            starts.windows(2).all(|w| w[0] < w[1]),
            "{name}: {job} started {starts:?}"
        );
    }
}

#[test]
fn no_push_to_a_pull_request_cancels_a_merges_deploy_in_pipeline_yml() {
    assert_no_merge_is_dropped_or_reordered("pipeline.yml");
}

#[test]
fn no_push_to_a_pull_request_cancels_a_merges_deploy_in_deploy_yml() {
    assert_no_merge_is_dropped_or_reordered("deploy.yml");
}

/// The model is not kinder than GitHub: without `queue: max`, the same story drops a merge's
/// release (a PR's dev job, queued after it, cancels it), as GitHub's default does.
#[test]
fn without_queue_max_the_same_story_drops_a_merge() {
    let mut workflow = example("pipeline.yml");
    for (_, job) in workflow["jobs"].as_mapping_mut().unwrap() {
        if let Some(c) = job.get_mut("concurrency").and_then(Value::as_mapping_mut) {
            c.remove("queue");
        }
    }
    let (gh, merges, _) = story(&workflow);
    assert!(
        merges.iter().any(|&m| gh.was_cancelled(m)),
        "a merge should have been cancelled\n{}",
        gh.log()
    );
}

/// Every example's groups parse under the model (no `queue: max` with `cancel-in-progress`),
/// and the rollback still cancels the running deploy of its stage.
#[test]
fn a_rollback_cancels_the_running_deploy_of_its_stage() {
    let mut gh = GitHub::default();
    let promote = gh.trigger(&example("promote.yml"), Ctx::dispatch(201, &[("stage", "prod")]));
    assert_eq!(gh.state(promote, "promote"), State::Running);
    let rollback = gh.trigger(&example("rollback.yml"), Ctx::dispatch(202, &[("stage", "prod")]));
    assert!(gh.was_cancelled(promote), "{}", gh.log());
    assert_eq!(gh.state(rollback, "rollback"), State::Running, "{}", gh.log());
    for name in ["app-release.yml", "infra-deploy.yml"] {
        let ctx = if name == "app-release.yml" {
            merge(300)
        } else {
            Ctx::dispatch(301, &[])
        };
        let run = gh.trigger(&example(name), ctx);
        assert!(!gh.was_cancelled(run), "{name}\n{}", gh.log());
    }
}
