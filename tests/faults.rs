//! The fault matrix and crash/resume trials: the real binary against the simulator with
//! faults (throttle, 5xx, latency, drop) injected into one AWS operation during one phase of a
//! rolling deploy or a canary, and SIGKILL/SIGTERM at seeded random points of a canary.
//!
//! The property checked after every run: the end state is known, and the outcome says which:
//! - fully deployed (rolling: every service on the new task definition; canary: weights 0/100
//!   and the new slot on the new image) with outcome `success` and exit 0, or
//! - fully rolled back (rolling: every service on its previous task definition; canary:
//!   weights 100/0 and the stable slot untouched) with outcome `failure`/`cancelled`, exit 1;
//! - never a false success, never a split, never a lock left behind.
//!
//! `cargo test --test faults` runs a reduced matrix and a few trials (well under a minute);
//! `ECS_DEPLOY_FULL_MATRIX=1` (`make reliability`) runs all of it and writes the tables to
//! `target/reliability/` (copied into RELIABILITY.md). `ECS_DEPLOY_SEED` picks the trials' kill
//! points, `ECS_DEPLOY_MATRIX_PARALLEL` how many cases run at once (default 6).
#![allow(clippy::disallowed_methods)] // tests drive real processes and servers in real time

mod support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::stream::{self, StreamExt};
use support::{spawn_action, Aws, Run, Sim, Slots};

fn full() -> bool {
    std::env::var("ECS_DEPLOY_FULL_MATRIX").is_ok_and(|v| v == "1")
}

fn verbose() -> bool {
    std::env::var("ECS_DEPLOY_MATRIX_VERBOSE").is_ok()
}

fn parallel() -> usize {
    std::env::var("ECS_DEPLOY_MATRIX_PARALLEL")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6)
}

fn seed() -> u64 {
    std::env::var("ECS_DEPLOY_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_251_122)
}

fn now_unix() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64()
}

/// splitmix64: seeded, reproducible kill points without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E3779B97F4A7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

// ------------------------------------------------------------------------------------------
// The matrix
// ------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Strategy {
    Rolling,
    Canary,
    /// A canary whose `listener-arn` is a listener rule (ModifyRule, DescribeRules).
    CanaryRule,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    /// From the start: reads, image resolution, the lock.
    Preflight,
    /// Canary: the idle slot is deployed and checked (no production traffic yet).
    Prepare,
    /// Rolling: task definitions registered, services updated. Canary: weights set.
    Shift,
    /// Rolling: waiting on the rollout. Canary: metrics and alarms during the bake.
    Analyse,
    /// After a failure (rolling: a crashing service; canary: a 50% 5xx rate).
    Rollback,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Throttle,
    Fivexx,
    Latency,
    Drop,
}

impl Kind {
    const ALL: [Kind; 4] = [Kind::Throttle, Kind::Fivexx, Kind::Latency, Kind::Drop];
    fn name(self) -> &'static str {
        match self {
            Kind::Throttle => "throttle",
            Kind::Fivexx => "5xx",
            Kind::Latency => "latency",
            Kind::Drop => "drop",
        }
    }
    /// A burst: more failures than the SDK's 5 attempts (so our own code sees an error and
    /// must cope), or, for latency, two responses slower than the per-attempt timeout (so the
    /// SDK times out and retries a call AWS may have executed).
    fn fault(self, op: &str) -> serde_json::Value {
        match self {
            Kind::Latency => serde_json::json!({"operation": op, "kind": "latency", "latency_ms": 6000, "count": 2}),
            k => serde_json::json!({"operation": op, "kind": k.name(), "count": 8}),
        }
    }
}

#[derive(Debug, Clone)]
struct Case {
    strategy: Strategy,
    phase: Phase,
    op: &'static str,
    kind: Kind,
}

impl Case {
    fn name(&self) -> String {
        format!("{:?}/{:?}/{}/{}", self.strategy, self.phase, self.op, self.kind.name())
    }
    /// The log line after which the faults go in; None: from the start. It is the last line
    /// before the phase where the faulted operation is not called until the phase begins, so
    /// the phase's first call is never missed.
    fn marker(&self) -> Option<&'static str> {
        let strategy = match self.strategy {
            Strategy::CanaryRule => Strategy::Canary, // the same log, the same phases
            s => s,
        };
        match (strategy, self.phase, self.op) {
            (_, Phase::Preflight, _) => None,
            // The end of the preflight reads (the lock only writes its parameter).
            (Strategy::Rolling, Phase::Shift, _) => Some("::endgroup::"),
            // The plan is logged after the reads under the lock, before the first step.
            (Strategy::Canary, Phase::Prepare, _) => Some("::group::Plan "),
            // Step 3 of the rolling plan is the wait (after every UpdateService).
            (Strategy::Rolling, Phase::Analyse, _) => Some("::group::Step 3/"),
            (Strategy::Rolling, Phase::Rollback, "DescribeServices") => Some("::group::Roll back"),
            // Not called while waiting on the rollout, which ends in the failure.
            (Strategy::Rolling, Phase::Rollback, _) => Some("::group::Step 3/"),
            // The new slot is ready; the first weight change comes next.
            (Strategy::Canary, Phase::Shift, _) => Some("1 healthy target(s)"),
            // Metrics and alarms are first read in the first bake, after the first step began.
            (Strategy::Canary, Phase::Analyse, _) => Some("::group::Step 1/"),
            // The first step's weights are set; its bake fails and the rollback follows.
            (Strategy::Canary, Phase::Rollback, _) => Some("weights: web-blue 50%"),
            (Strategy::Rolling, Phase::Prepare, _) => None,
            (Strategy::CanaryRule, _, _) => None,
        }
    }
}

/// Every AWS operation the action uses, by the phase that uses it.
fn operations(strategy: Strategy, phase: Phase) -> &'static [&'static str] {
    match (strategy, phase) {
        (Strategy::Rolling, Phase::Preflight) => &[
            "DescribeImages",
            "DescribeServices",
            "DescribeTaskDefinition",
            "GetParameters",
            "PutParameter",
        ],
        (Strategy::Rolling, Phase::Prepare) => &[],
        (Strategy::Rolling, Phase::Shift) => &["RegisterTaskDefinition", "UpdateService"],
        (Strategy::Rolling, Phase::Analyse) => &["DescribeServices", "GetParameters", "PutParameter"],
        (Strategy::Rolling, Phase::Rollback) => &[
            "UpdateService",
            "DescribeServices",
            "ListTasks",
            "DescribeTasks",
            "GetParameters",
            "PutParameter",
        ],
        (Strategy::Canary, Phase::Preflight) => &[
            "DescribeImages",
            "DescribeListeners",
            "DescribeServices",
            "ListTagsForResource",
            "GetParameters",
            "PutParameter",
        ],
        (Strategy::Canary, Phase::Prepare) => &[
            "DescribeTaskDefinition",
            "RegisterTaskDefinition",
            "TagResource",
            "UpdateService",
            "DescribeServices",
            "DescribeTargetHealth",
        ],
        (Strategy::Canary, Phase::Shift) => &["ModifyListener", "DescribeListeners"],
        (Strategy::Canary, Phase::Analyse) => &["GetMetricData", "DescribeAlarms"],
        // (DescribeServices is not called: an analysis failure needs no ECS diagnostics.)
        (Strategy::Canary, Phase::Rollback) => &[
            "ModifyListener",
            "DescribeListeners",
            "UpdateService",
            "UntagResource",
            "GetParameters",
            "PutParameter",
        ],
        (Strategy::CanaryRule, Phase::Preflight) => &[
            "DescribeImages",
            "DescribeRules",
            "DescribeServices",
            "ListTagsForResource",
            "GetParameters",
            "PutParameter",
        ],
        (Strategy::CanaryRule, Phase::Shift) => &["ModifyRule", "DescribeRules"],
        (Strategy::CanaryRule, Phase::Rollback) => &[
            "ModifyRule",
            "DescribeRules",
            "UpdateService",
            "UntagResource",
            "GetParameters",
            "PutParameter",
        ],
        (Strategy::CanaryRule, phase) => operations(Strategy::Canary, phase),
    }
}

fn full_matrix() -> Vec<Case> {
    let mut cases = Vec::new();
    for strategy in [Strategy::Rolling, Strategy::Canary, Strategy::CanaryRule] {
        for phase in [
            Phase::Preflight,
            Phase::Prepare,
            Phase::Shift,
            Phase::Analyse,
            Phase::Rollback,
        ] {
            for op in operations(strategy, phase) {
                for kind in Kind::ALL {
                    cases.push(Case {
                        strategy,
                        phase,
                        op,
                        kind,
                    });
                }
            }
        }
    }
    cases
}

/// A handful that covers each phase and kind once, for every `cargo test`.
fn reduced_matrix() -> Vec<Case> {
    let c = |strategy, phase, op, kind| Case {
        strategy,
        phase,
        op,
        kind,
    };
    vec![
        c(Strategy::Rolling, Phase::Shift, "UpdateService", Kind::Latency),
        c(Strategy::Rolling, Phase::Rollback, "UpdateService", Kind::Throttle),
        // The lock: a slow write the SDK gives up on lands later as a version that does not
        // count; a throttled read restarts the attempt.
        c(Strategy::Rolling, Phase::Preflight, "PutParameter", Kind::Latency),
        c(Strategy::Canary, Phase::Preflight, "GetParameters", Kind::Throttle),
        c(Strategy::Canary, Phase::Prepare, "DescribeServices", Kind::Drop),
        c(Strategy::Canary, Phase::Shift, "ModifyListener", Kind::Throttle),
        c(Strategy::Canary, Phase::Analyse, "GetMetricData", Kind::Fivexx),
        c(Strategy::Canary, Phase::Rollback, "ModifyListener", Kind::Fivexx),
        c(Strategy::CanaryRule, Phase::Shift, "ModifyRule", Kind::Throttle),
        c(Strategy::CanaryRule, Phase::Rollback, "DescribeRules", Kind::Drop),
    ]
}

/// How one run ended, as AWS shows it afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
enum EndState {
    Deployed,
    RolledBack,
    Other(String),
}

#[derive(Debug, Clone)]
struct CaseResult {
    name: String,
    outcome: String,
    state: EndState,
    /// Calls the fault was injected into.
    hits: usize,
    leftovers: Vec<String>,
    seconds: f64,
    problem: Option<String>,
}

impl CaseResult {
    fn cell(&self) -> String {
        let state = match &self.state {
            EndState::Deployed => "deployed",
            EndState::RolledBack => "rolled back",
            EndState::Other(_) => "UNKNOWN",
        };
        let mut s = match &self.problem {
            None => format!("✅ {} → {state}", self.outcome),
            Some(_) => format!("❌ {} → {state}", self.outcome),
        };
        s.push_str(&format!(" ({}×)", self.hits));
        if !self.leftovers.is_empty() {
            s.push_str(" ⚠");
        }
        s
    }
}

/// The property: a known end state, and the outcome (and exit code) saying which.
fn judge(outcome: &str, code: i32, state: &EndState) -> Option<String> {
    match (outcome, state) {
        ("success", EndState::Deployed) if code == 0 => None,
        ("failure" | "cancelled", EndState::RolledBack) if code == 1 => None,
        ("success", s) => Some(format!("FALSE SUCCESS: outcome success but AWS is {s:?}")),
        (o, EndState::Deployed) => Some(format!("outcome {o} (exit {code}) but AWS runs the new version")),
        (o, s) => Some(format!("outcome {o:?} (exit {code}) with end state {s:?}")),
    }
}

/// Runs the action with stdout read line by line; when `marker` appears, the process is
/// stopped, the faults go in, and it continues (so the phase's first call is not missed).
fn run_with_faults(
    aws: &Aws,
    inputs: &[(&str, &str)],
    env: &[(&str, &str)],
    marker: Option<&str>,
    faults: serde_json::Value,
) -> (Run, f64) {
    let sim = Sim::shared();
    let key = aws.access_key.clone();
    let path = format!("/_sim/faults?access_key={key}");
    if marker.is_none() {
        sim.put(&path, faults.clone());
    }
    let mut spawned = spawn_action(aws, inputs, env);
    let pid = spawned.child.id().to_string();
    let stdout = spawned.child.stdout.take().expect("stdout");
    let marker = marker.map(str::to_string);
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        let mut armed = marker;
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if armed.as_deref().is_some_and(|m| line.starts_with(m)) {
                let _ = Command::new("kill").args(["-STOP", &pid]).status();
                Sim::shared().put(&path, faults.clone());
                let _ = Command::new("kill").args(["-CONT", &pid]).status();
                armed = None;
            }
            lines.push(line);
        }
        lines
    });
    let t = Instant::now();
    // A hung run is a finding too: give up after 4 minutes.
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        match spawned.child.try_wait() {
            Ok(Some(_)) => break,
            _ if Instant::now() > deadline => {
                let _ = spawned.child.kill();
                break;
            }
            _ => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    let secs = t.elapsed().as_secs_f64();
    let lines = reader.join().unwrap_or_default();
    let mut run = spawned.wait();
    run.stdout = lines.join("\n");
    let _ = ureq::delete(&sim.url(&format!("/_sim/faults?access_key={key}"))).call();
    (run, secs)
}

/// The case's AWS calls with times relative to the first (verbose mode).
fn timeline(access_key: &str) -> String {
    let calls = Sim::shared().calls(access_key);
    let t0 = calls.first().and_then(|c| c["at"].as_f64()).unwrap_or(0.0);
    calls
        .iter()
        .map(|c| {
            format!(
                "{:>8.3} {} {} {}",
                c["at"].as_f64().unwrap_or(0.0) - t0,
                c["operation"].as_str().unwrap_or("?"),
                c["status"],
                c["fault"].as_str().unwrap_or("")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn hits(access_key: &str) -> usize {
    Sim::shared()
        .calls(access_key)
        .iter()
        .filter(|c| !c["fault"].is_null())
        .count()
}

/// Faulted calls; a delayed call is logged when it is served, which can be after the action
/// (which gave up on it) exited: wait for those.
async fn hits_of(access_key: &str, kind: Kind) -> usize {
    let mut n = hits(access_key);
    if kind == Kind::Latency {
        for _ in 0..14 {
            if n >= 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
            n = hits(access_key);
        }
    }
    n
}

/// Deploy locks still held once Parameter Store's read delay (2.5 s simulated) has passed:
/// another caller may read a just-released lock as held for that long.
async fn lock_left(aws: &Aws, arns: &[String]) -> Vec<String> {
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut left = Vec::new();
    for arn in arns {
        if let Some(value) = aws.lock_held(arn).await {
            left.push(format!("lock left: {value}"));
        }
    }
    left
}

// --- rolling -------------------------------------------------------------------------------

struct RollingFixture {
    setup: Aws,
    cluster: String,
    previous: BTreeMap<&'static str, String>,
    arns: Vec<String>,
    v2: String,
    bad: String,
    repo: String,
}

async fn rolling_fixture(id: &str) -> RollingFixture {
    let setup = Aws::new(&format!("s{id}")).await;
    let cluster = format!("c-{id}");
    let repo = format!("app-{id}");
    setup.create_cluster(&cluster).await;
    setup.push_image(&repo, "v1").await;
    let v2 = setup.push_image(&repo, "v2").await;
    let bad = setup.push_image(&repo, "bad").await;
    // Crashing as it starts: never steady, so the circuit breaker always trips.
    Sim::shared().scenario(&bad, serde_json::json!({"crash": true, "crash_after_seconds": 0}));
    let mut previous = BTreeMap::new();
    let mut arns = Vec::new();
    for name in ["api", "web"] {
        let td = setup
            .register(&format!("{id}-{name}"), &[(name, &Aws::image_uri(&repo, "v1"))])
            .await;
        setup.create_service(&cluster, name, &td, 1).await;
        arns.push(setup.service(&cluster, name).await.service_arn().unwrap().to_string());
        previous.insert(name, td);
    }
    RollingFixture {
        setup,
        cluster,
        previous,
        arns,
        v2,
        bad,
        repo,
    }
}

async fn rolling_state(f: &RollingFixture, new_digests: &[(&str, &str)]) -> EndState {
    let mut on_new = 0;
    let mut on_previous = 0;
    let mut other = Vec::new();
    for (name, digest) in new_digests {
        let svc = f.setup.service(&f.cluster, name).await;
        let td = svc.task_definition().unwrap_or_default().to_string();
        if td == f.previous[name] {
            on_previous += 1;
            continue;
        }
        let (def, _) = f.setup.task_definition(&td).await;
        let image = def.container_definitions()[0].image().unwrap_or_default().to_string();
        if image.ends_with(digest) {
            on_new += 1;
        } else {
            other.push(format!("{name} on {td} ({image})"));
        }
    }
    match (on_new, on_previous) {
        (n, 0) if n == new_digests.len() => EndState::Deployed,
        (0, p) if p == new_digests.len() => EndState::RolledBack,
        _ => EndState::Other(format!(
            "{on_new} service(s) on the new revision, {on_previous} on the previous; {other:?}"
        )),
    }
}

async fn run_rolling_case(id: String, case: Case) -> CaseResult {
    let f = rolling_fixture(&id).await;
    let runner = Aws::new(&format!("r{id}")).await;
    let web_digest = if case.phase == Phase::Rollback { &f.bad } else { &f.v2 };
    let web_tag = if case.phase == Phase::Rollback { "bad" } else { "v2" };
    let containers = format!(
        "api={}\nweb={}",
        Aws::image_uri(&f.repo, "v2"),
        Aws::image_uri(&f.repo, web_tag)
    );
    let inputs = [
        ("cluster", f.cluster.as_str()),
        ("services", "api, web"),
        ("containers", containers.as_str()),
        ("wait-timeout", "1m"),
    ];
    let (run, seconds) = tokio::task::block_in_place(|| {
        run_with_faults(
            &runner,
            &inputs,
            &[],
            case.marker(),
            serde_json::json!([case.kind.fault(case.op)]),
        )
    });
    let state = rolling_state(&f, &[("api", &f.v2), ("web", web_digest)]).await;
    let outcome = run.outputs.get("outcome").cloned().unwrap_or_else(|| "(none)".into());
    let mut problem = judge(&outcome, run.code, &state);
    let leftovers = lock_left(&f.setup, &f.arns).await;
    if problem.is_none() && !leftovers.is_empty() {
        problem = Some(leftovers.join("; "));
    }
    let result = CaseResult {
        name: case.name(),
        outcome,
        state,
        hits: hits_of(&runner.access_key, case.kind).await,
        leftovers,
        seconds,
        problem,
    };
    if result.problem.is_some() || verbose() {
        eprintln!("--- {}: {:?}\n{}\n", result.name, result.problem, run.stdout);
    }
    if verbose() {
        eprintln!("{}\n", timeline(&runner.access_key));
    }
    cleanup_rolling(&f).await;
    result
}

async fn cleanup_rolling(f: &RollingFixture) {
    for name in ["api", "web"] {
        let _ = f
            .setup
            .ecs
            .delete_service()
            .cluster(&f.cluster)
            .service(name)
            .force(true)
            .send()
            .await;
    }
}

// --- canary --------------------------------------------------------------------------------

struct CanaryFixture {
    setup: Aws,
    slots: Slots,
    v2: String,
    alarm: String,
    arns: Vec<String>,
    /// The listener rule the canary shifts, when it shifts one (else the listener).
    rule: Option<String>,
}

impl CanaryFixture {
    fn split(&self) -> &str {
        self.rule.as_deref().unwrap_or(&self.slots.listener)
    }
    async fn weights(&self) -> (i32, i32) {
        match &self.rule {
            Some(rule) => self.setup.rule_weights(rule, &self.slots).await,
            None => self.setup.weights(&self.slots.listener, &self.slots).await,
        }
    }
}

async fn canary_fixture(id: &str, on_rule: bool) -> CanaryFixture {
    let setup = Aws::new(&format!("s{id}")).await;
    let slots = setup.slots(id, 1).await;
    let rule = if on_rule {
        let rule = setup.api_rule(&slots).await;
        Sim::shared().put("/_sim/config", serde_json::json!({"rule_shares": {rule.as_str(): 0.9}}));
        Some(rule)
    } else {
        None
    };
    let v2 = setup.push_image(&slots.repo, "v2").await;
    let bad = setup.push_image(&slots.repo, "bad").await;
    Sim::shared().scenario(&bad, serde_json::json!({"error_rate": 0.5}));
    // An alarm that stays OK, so DescribeAlarms is part of every analysis.
    let alarm = format!("{id}-quiet");
    let cw = aws_sdk_cloudwatch::Client::new(&setup.config);
    cw.put_metric_alarm()
        .alarm_name(&alarm)
        .namespace("AWS/ApplicationELB")
        .metric_name("RequestCount")
        .dimensions(
            aws_sdk_cloudwatch::types::Dimension::builder()
                .name("TargetGroup")
                .value(slots.green_tg.rsplit(':').next().unwrap())
                .build(),
        )
        .statistic(aws_sdk_cloudwatch::types::Statistic::Sum)
        .period(60)
        .evaluation_periods(1)
        .threshold(1e12)
        .comparison_operator(aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanThreshold)
        .treat_missing_data("notBreaching")
        .send()
        .await
        .expect("PutMetricAlarm");
    let mut arns = Vec::new();
    for name in ["web-blue", "web-green"] {
        arns.push(
            setup
                .service(&slots.cluster, name)
                .await
                .service_arn()
                .unwrap()
                .to_string(),
        );
    }
    CanaryFixture {
        setup,
        slots,
        v2,
        alarm,
        arns,
        rule,
    }
}

fn canary_inputs<'a>(f: &'a CanaryFixture, image: &'a str, steps: &'a str, bake: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("cluster", f.slots.cluster.as_str()),
        ("services", "web-blue, web-green"),
        ("image", image),
        ("strategy", "canary"),
        ("listener-arn", f.split()),
        ("canary-steps", steps),
        ("bake-time", bake),
        ("analysis-interval", "500ms"),
        ("min-requests", "10"),
        ("keep-old-for", "0s"),
        ("wait-timeout", "1m"),
        ("alarms", f.alarm.as_str()),
    ]
}

/// (state, leftovers): which slot serves, on what, and anything left running or locked.
async fn canary_state(f: &CanaryFixture, blue_td_before: &str, digest: &str) -> (EndState, Vec<String>) {
    let s = &f.slots;
    let weights = f.weights().await;
    let blue = f.setup.service(&s.cluster, "web-blue").await;
    let green = f.setup.service(&s.cluster, "web-green").await;
    let image_of = |svc: &aws_sdk_ecs::types::Service| svc.task_definition().unwrap_or_default().to_string();
    let runs_new = |td: String| {
        let setup = &f.setup;
        async move {
            let (def, _) = setup.task_definition(&td).await;
            def.container_definitions()[0]
                .image()
                .unwrap_or_default()
                .ends_with(digest)
        }
    };
    let mut leftovers = lock_left(&f.setup, &f.arns).await;
    let state = match weights {
        (100, 0) if blue.task_definition() == Some(blue_td_before) => {
            if green.desired_count() != 0 {
                leftovers.push(format!("idle slot web-green left at desired {}", green.desired_count()));
            }
            EndState::RolledBack
        }
        (0, 100) if runs_new(image_of(&green)).await => {
            if blue.desired_count() != 0 {
                leftovers.push(format!("old slot web-blue left at desired {}", blue.desired_count()));
            }
            EndState::Deployed
        }
        (100, 0) if runs_new(image_of(&blue)).await => EndState::Deployed,
        w => EndState::Other(format!(
            "weights {w:?}, blue on {}, green on {}",
            image_of(&blue),
            image_of(&green)
        )),
    };
    (state, leftovers)
}

async fn cleanup_canary(f: &CanaryFixture) {
    for name in ["web-blue", "web-green"] {
        let _ = f
            .setup
            .ecs
            .delete_service()
            .cluster(&f.slots.cluster)
            .service(name)
            .force(true)
            .send()
            .await;
    }
    let _ = f
        .setup
        .elb
        .delete_load_balancer()
        .load_balancer_arn(&f.slots.load_balancer)
        .send()
        .await;
}

async fn run_canary_case(id: String, case: Case) -> CaseResult {
    let f = canary_fixture(&id, case.strategy == Strategy::CanaryRule).await;
    let runner = Aws::new(&format!("r{id}")).await;
    let tag = if case.phase == Phase::Rollback { "bad" } else { "v2" };
    let image = Aws::image_uri(&f.slots.repo, tag);
    let digest = if case.phase == Phase::Rollback {
        String::from("never-deployed")
    } else {
        f.v2.clone()
    };
    let inputs = canary_inputs(&f, &image, "50,100", "2s");
    let (run, seconds) = tokio::task::block_in_place(|| {
        run_with_faults(
            &runner,
            &inputs,
            &[],
            case.marker(),
            serde_json::json!([case.kind.fault(case.op)]),
        )
    });
    let (state, leftovers) = canary_state(&f, &f.slots.blue_td, &digest).await;
    let outcome = run.outputs.get("outcome").cloned().unwrap_or_else(|| "(none)".into());
    let mut problem = judge(&outcome, run.code, &state);
    if problem.is_none() && !leftovers.is_empty() {
        problem = Some(leftovers.join("; "));
    }
    let result = CaseResult {
        name: case.name(),
        outcome,
        state,
        hits: hits_of(&runner.access_key, case.kind).await,
        leftovers,
        seconds,
        problem,
    };
    if result.problem.is_some() || verbose() {
        eprintln!("--- {}: {:?}\n{}\n", result.name, result.problem, run.stdout);
    }
    if verbose() {
        eprintln!("{}\n", timeline(&runner.access_key));
    }
    cleanup_canary(&f).await;
    result
}

async fn run_case(id: String, case: Case) -> (Case, CaseResult) {
    let r = match case.strategy {
        Strategy::Rolling => run_rolling_case(id, case.clone()).await,
        Strategy::Canary | Strategy::CanaryRule => run_canary_case(id, case.clone()).await,
    };
    eprintln!("{:<55} {:>5.1} s  {}", r.name, r.seconds, r.cell());
    (case, r)
}

fn matrix_table(results: &[(Case, CaseResult)]) -> String {
    let mut rows: BTreeMap<(Strategy, Phase, &str), BTreeMap<Kind, &CaseResult>> = BTreeMap::new();
    for (c, r) in results {
        rows.entry((c.strategy, c.phase, c.op)).or_default().insert(c.kind, r);
    }
    let mut out = String::from(
        "| strategy | phase | operation | throttle ×8 | 5xx ×8 | latency 6 s ×2 | drop ×8 |\n|---|---|---|---|---|---|---|\n",
    );
    for ((s, p, op), cells) in &rows {
        out.push_str(&format!("| {s:?} | {p:?} | {op} |"));
        for k in Kind::ALL {
            out.push_str(&format!(
                " {} |",
                cells.get(&k).map(|r| r.cell()).unwrap_or_else(|| "—".into())
            ));
        }
        out.push('\n');
    }
    out
}

fn write_report(name: &str, text: &str) {
    let dir = support::repo_root().join("target/reliability");
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join(name), text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fault_matrix_ends_in_a_known_state_with_an_honest_outcome() {
    let mut cases = if full() { full_matrix() } else { reduced_matrix() };
    // ECS_DEPLOY_MATRIX_ONLY=Canary/Shift runs the cases whose name contains it (debugging).
    if let Ok(only) = std::env::var("ECS_DEPLOY_MATRIX_ONLY") {
        cases.retain(|c| c.name().contains(&only));
    }
    let tag = if full() { "fm" } else { "rm" };
    let n = cases.len();
    let t = Instant::now();
    // Each case is its own task: a case blocks its thread while the action runs.
    let results: Vec<(Case, CaseResult)> = stream::iter(cases.into_iter().enumerate())
        .map(|(i, c)| tokio::spawn(run_case(format!("{tag}{i:03}"), c)))
        .buffer_unordered(parallel())
        .map(|r| r.expect("a case panicked"))
        .collect()
        .await;
    let table = matrix_table(&results);
    let bad: Vec<_> = results
        .iter()
        .filter_map(|(_, r)| r.problem.as_ref().map(|p| format!("{}: {p}", r.name)))
        .collect();
    let summary = format!(
        "{n} cases in {:.0} s; {} ended in a known state with an honest outcome; faulted calls: {}\n\n{table}",
        t.elapsed().as_secs_f64(),
        n - bad.len(),
        results.iter().map(|(_, r)| r.hits).sum::<usize>()
    );
    println!("{summary}");
    if std::env::var("ECS_DEPLOY_MATRIX_ONLY").is_err() {
        write_report(if full() { "matrix-full.md" } else { "matrix-reduced.md" }, &summary);
    }
    let unhit: Vec<_> = results
        .iter()
        .filter(|(_, r)| r.hits == 0)
        .map(|(_, r)| r.name.clone())
        .collect();
    // A fault that never fired tested nothing: that case fails, it does not pass.
    let mut bad = bad;
    bad.extend(
        unhit.iter().map(|n| {
            format!("{n}: the fault was never injected (phase not reached, op not called, or a stale marker)")
        }),
    );
    assert!(
        bad.is_empty(),
        "{} case(s) broke the property:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

// ------------------------------------------------------------------------------------------
// Crash and resume
// ------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signal {
    Kill,
    Term,
}

#[derive(Debug)]
struct Trial {
    signal: Signal,
    at: f64,
    /// The last log group when the signal arrived.
    phase: String,
    weights_at_signal: (i32, i32),
    /// SIGTERM: signal → exit; SIGKILL: the re-run's wall time.
    seconds: f64,
    outcome: String,
    state: EndState,
    problem: Option<String>,
}

async fn weights_events(listener: &str, since: f64) -> Vec<serde_json::Value> {
    Sim::shared()
        .get(&format!("/_sim/events?since={since}"))
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e["type"] == "weights_changed" && e["listener"] == listener)
        .collect()
}

async fn run_trial(id: String, signal: Signal, at: f64) -> Trial {
    let f = canary_fixture(&id, false).await;
    let runner = Aws::new(&format!("r{id}")).await;
    let image = Aws::image_uri(&f.slots.repo, "v2");
    let mut inputs = canary_inputs(&f, &image, "10,50,100", "1s");
    // These trials are about crashes, not about evidence: at 10% the simulated ALB sends a
    // few requests a second, so any sample is enough.
    inputs.retain(|(k, _)| *k != "min-requests");
    inputs.push(("min-requests", "1"));
    let mut spawned = spawn_action(&runner, &inputs, &[]);
    let stdout = spawned.child.stdout.take().expect("stdout");
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    tokio::time::sleep(Duration::from_secs_f64(at)).await;
    let phase = lines
        .lock()
        .unwrap()
        .iter()
        .rev()
        .find(|l| l.starts_with("::group::"))
        .map(|l| l.trim_start_matches("::group::").to_string())
        .unwrap_or_else(|| "(start)".into());
    let weights_at_signal = f.setup.weights(&f.slots.listener, &f.slots).await;
    let signalled = Instant::now();
    match signal {
        Signal::Kill => {
            let _ = spawned.child.kill();
        }
        Signal::Term => spawned.signal("TERM"),
    }
    let run = tokio::task::block_in_place(|| {
        let _ = reader.join();
        spawned.wait()
    });
    let exit_secs = signalled.elapsed().as_secs_f64();
    let weights_at_signal = match signal {
        // What the killed run left is what the re-run finds.
        Signal::Kill => f.setup.weights(&f.slots.listener, &f.slots).await,
        Signal::Term => weights_at_signal,
    };
    let stdout = lines.lock().unwrap().join("\n");

    let (seconds, outcome, code, log, state, leftovers, mut problem) = match signal {
        Signal::Term => {
            let outcome = run.outputs.get("outcome").cloned().unwrap_or_else(|| "(none)".into());
            let (state, leftovers) = canary_state(&f, &f.slots.blue_td, &f.v2).await;
            let mut problem = judge(&outcome, run.code, &state);
            if exit_secs > 7.5 {
                problem = Some(format!(
                    "exited {exit_secs:.1} s after SIGTERM; the runner kills at ~7.5 s"
                ));
            }
            (exit_secs, outcome, run.code, stdout, state, leftovers, problem)
        }
        Signal::Kill => {
            // The re-run of the killed job: the next attempt of the same run.
            let since = now_unix();
            let t = Instant::now();
            let rerun =
                tokio::task::block_in_place(|| support::run_action(&runner, &inputs, &[("GITHUB_RUN_ATTEMPT", "2")]));
            let secs = t.elapsed().as_secs_f64();
            let outcome = rerun.outputs.get("outcome").cloned().unwrap_or_else(|| "(none)".into());
            let (state, leftovers) = canary_state(&f, &f.slots.blue_td, &f.v2).await;
            // A re-run must converge: it finishes the deploy.
            let mut problem = match judge(&outcome, rerun.code, &state) {
                None if outcome != "success" => {
                    Some(format!("the re-run did not converge to the new version: {outcome}"))
                }
                p => p,
            };
            // Never a second split: if the kill left traffic split, the re-run's first change
            // puts it back on one slot.
            let split = weights_at_signal.0 > 0 && weights_at_signal.1 > 0;
            if split && problem.is_none() {
                let events = weights_events(&f.slots.listener, since).await;
                let first = events.first().map(|e| e["weights"].clone());
                let single = first
                    .as_ref()
                    .and_then(|w| w.as_object())
                    .is_some_and(|w| w.values().any(|v| v.as_f64() == Some(0.0)));
                if !single {
                    problem = Some(format!(
                        "the kill left {weights_at_signal:?} and the re-run's first weights were {first:?}"
                    ));
                }
            }
            (secs, outcome, rerun.code, rerun.stdout, state, leftovers, problem)
        }
    };
    let _ = code;
    if problem.is_none() && !leftovers.is_empty() {
        problem = Some(leftovers.join("; "));
    }
    if problem.is_some() {
        eprintln!("--- trial {id} {signal:?} at {at:.2} s FAILED: {problem:?}\n{log}\n");
    }
    let trial = Trial {
        signal,
        at,
        phase,
        weights_at_signal,
        seconds,
        outcome,
        state,
        problem,
    };
    eprintln!(
        "trial {id} {:?} at {:.2} s during {:?}: weights then {:?} → {} {:?} {}",
        trial.signal,
        trial.at,
        trial.phase,
        trial.weights_at_signal,
        trial.outcome,
        trial.state,
        if trial.problem.is_none() { "ok" } else { "FAILED" }
    );
    cleanup_canary(&f).await;
    trial
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crash_and_resume_trials_converge() {
    let (mut kills, mut terms) = if full() { (30, 30) } else { (2, 2) };
    // ECS_DEPLOY_TRIALS=K,T overrides the numbers of SIGKILL and SIGTERM trials.
    if let Some((k, t)) = std::env::var("ECS_DEPLOY_TRIALS")
        .ok()
        .and_then(|v| v.split_once(',').map(|(k, t)| (k.parse().ok(), t.parse().ok())))
    {
        kills = k.unwrap_or(kills);
        terms = t.unwrap_or(terms);
    }
    let mut rng = Rng(seed());
    // A clean run of this canary takes about 6 s: signals land anywhere in it, and a little after.
    let mut trials: Vec<(String, Signal, f64)> = Vec::new();
    for i in 0..kills {
        trials.push((format!("k{i:03}"), Signal::Kill, 0.05 + rng.unit() * 7.0));
    }
    for i in 0..terms {
        trials.push((format!("t{i:03}"), Signal::Term, 0.05 + rng.unit() * 7.0));
    }
    let t = Instant::now();
    let results: Vec<Trial> = stream::iter(trials)
        .map(|(id, s, at)| tokio::spawn(run_trial(id, s, at)))
        .buffer_unordered(parallel())
        .map(|r| r.expect("a trial panicked"))
        .collect()
        .await;
    let mut table = String::from("| signal | at (s) | during | weights then | outcome | end state | signal→exit / re-run (s) | ok |\n|---|---|---|---|---|---|---|---|\n");
    let mut sorted: Vec<&Trial> = results.iter().collect();
    sorted.sort_by(|a, b| (a.signal as u8, a.at).partial_cmp(&(b.signal as u8, b.at)).unwrap());
    for r in &sorted {
        table.push_str(&format!(
            "| {} | {:.2} | {} | {}/{} | {} | {:?} | {:.2} | {} |\n",
            if r.signal == Signal::Kill {
                "SIGKILL + re-run"
            } else {
                "SIGTERM"
            },
            r.at,
            r.phase,
            r.weights_at_signal.0,
            r.weights_at_signal.1,
            r.outcome,
            r.state,
            r.seconds,
            if r.problem.is_none() { "✅" } else { "❌" }
        ));
    }
    let bad: Vec<String> = results
        .iter()
        .filter_map(|r| {
            r.problem
                .as_ref()
                .map(|p| format!("{:?} at {:.2}: {p}", r.signal, r.at))
        })
        .collect();
    let max_term = results
        .iter()
        .filter(|r| r.signal == Signal::Term)
        .map(|r| r.seconds)
        .fold(0.0, f64::max);
    let summary = format!(
        "{} SIGKILL and {} SIGTERM trials (seed {}) in {:.0} s; {} ok; slowest SIGTERM → exit {max_term:.2} s\n\n{table}",
        kills,
        terms,
        seed(),
        t.elapsed().as_secs_f64(),
        results.len() - bad.len()
    );
    println!("{summary}");
    write_report(if full() { "crash-full.md" } else { "crash-reduced.md" }, &summary);
    assert!(bad.is_empty(), "{} trial(s) failed:\n{}", bad.len(), bad.join("\n"));
}

// ------------------------------------------------------------------------------------------
// The SDK's retry and timeout settings, as configured in src/aws/mod.rs
// ------------------------------------------------------------------------------------------

/// 5 attempts: a burst of 4 throttles is absorbed inside the SDK, a 5th surfaces. Each attempt
/// has a 5 s timeout: a 6 s response is abandoned and retried before it arrives.
#[tokio::test(flavor = "multi_thread")]
async fn sdk_retries_and_timeouts_are_as_configured() {
    let sim = Sim::shared();
    let setup = Aws::new("sdkcfgsetup").await;
    let cluster = "c-sdkcfg";
    let repo = "app-sdkcfg";
    setup.create_cluster(cluster).await;
    setup.push_image(repo, "v1").await;
    let td = setup
        .register("sdkcfg-api", &[("app", &Aws::image_uri(repo, "v1"))])
        .await;
    setup.create_service(cluster, "api", &td, 1).await;
    let image = Aws::image_uri(repo, "v1");
    let inputs = [("cluster", cluster), ("services", "api"), ("image", image.as_str())];
    let ops = |key: &str, op: &str| -> Vec<(f64, i64)> {
        sim.calls(key)
            .iter()
            .filter(|c| c["operation"] == op)
            .map(|c| (c["at"].as_f64().unwrap_or(0.0), c["status"].as_i64().unwrap_or(-1)))
            .collect()
    };

    let absorbed = Aws::new("sdkcfgfour").await;
    let (run, _) = tokio::task::block_in_place(|| {
        run_with_faults(
            &absorbed,
            &inputs,
            &[],
            None,
            serde_json::json!([{"operation": "DescribeImages", "kind": "throttle", "count": 4}]),
        )
    });
    run.assert_code(0);
    assert!(
        !run.stdout.contains("DescribeImages"),
        "no error surfaced:\n{}",
        run.stdout
    );
    let statuses: Vec<i64> = ops(&absorbed.access_key, "DescribeImages")
        .iter()
        .map(|c| c.1)
        .collect();
    assert_eq!(
        statuses,
        [400, 400, 400, 400, 200],
        "four throttles retried, the fifth attempt served"
    );

    let surfaced = Aws::new("sdkcfgfive").await;
    let (run, _) = tokio::task::block_in_place(|| {
        run_with_faults(
            &surfaced,
            &inputs,
            &[],
            None,
            serde_json::json!([{"operation": "DescribeImages", "kind": "throttle", "count": 5}]),
        )
    });
    run.assert_code(1);
    assert!(run.stdout.contains("ThrottlingException"), "{}", run.stdout);
    assert_eq!(ops(&surfaced.access_key, "DescribeImages").len(), 5, "no sixth attempt");

    let slow = Aws::new("sdkcfgslow").await;
    let (run, _) = tokio::task::block_in_place(|| {
        run_with_faults(
            &slow,
            &inputs,
            &[],
            None,
            serde_json::json!([{"operation": "DescribeImages", "kind": "latency", "latency_ms": 6000, "count": 1}]),
        )
    });
    run.assert_code(0);
    let calls = ops(&slow.access_key, "DescribeImages");
    // The slow one is logged when served (6 s after it arrived): wait for it.
    let calls = if calls.len() < 2 {
        tokio::time::sleep(Duration::from_secs(2)).await;
        ops(&slow.access_key, "DescribeImages")
    } else {
        calls
    };
    let mut arrivals: Vec<f64> = calls.iter().map(|c| c.0).collect();
    arrivals.sort_by(f64::total_cmp);
    assert_eq!(arrivals.len(), 2, "{calls:?}");
    assert!(
        arrivals[1] - arrivals[0] < 6.0,
        "the retry went out before the slow response came: the attempt timed out ({:.1} s)",
        arrivals[1] - arrivals[0]
    );
}
