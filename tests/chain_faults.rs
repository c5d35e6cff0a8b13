//! The chain's own AWS calls under faults: ECR (DescribeRepositories, DescribeImages,
//! BatchGetImage, PutImage) and the release history (ListTaskDefinitions,
//! DescribeTaskDefinition, ListTagsForResource), each faulted through a promotion from dev to
//! staging. Every run ends promoted or untouched, releases its lock, and says which.
//! `ECS_DEPLOY_FULL_MATRIX=1` runs every operation with every kind; otherwise a reduced set.
#![allow(clippy::disallowed_methods)] // tests drive real processes and servers in real time

mod support;

use std::time::Duration;

use support::{run_action, spawn_action, Aws, Run, Sim};

const OPERATIONS: [&str; 7] = [
    "DescribeRepositories",
    "DescribeImages",
    "BatchGetImage",
    "PutImage",
    "ListTaskDefinitions",
    "DescribeTaskDefinition",
    "ListTagsForResource",
];

fn fault(op: &str, kind: &str) -> serde_json::Value {
    match kind {
        "latency" => serde_json::json!({"operation": op, "kind": "latency", "latency_ms": 6000, "count": 2}),
        k => serde_json::json!({"operation": op, "kind": k, "count": 8}),
    }
}

struct Fixture {
    setup: Aws,
    runner: Aws,
    config: tempfile::NamedTempFile,
    base: String,
    v2: String,
    staging: String,
}

/// dev and staging run v1 (pinned); dev has then taken v2 through the chain.
async fn fixture(id: &str) -> Fixture {
    let setup = Aws::new(&format!("cs{id}")).await;
    let runner = Aws::new(&format!("cr{id}")).await;
    let repo = format!("app-cf{id}");
    let base = setup.push_image(&repo, "v1.0.0").await;
    let v2 = setup.push_image(&repo, "v2").await;
    let repository = Aws::image_uri(&repo, "x")
        .rsplit_once(':')
        .map(|(r, _)| r.to_string())
        .unwrap_or_default();
    for stage in ["dev", "staging"] {
        let cluster = format!("c-cf{id}-{stage}");
        setup.create_cluster(&cluster).await;
        let td = setup
            .register(
                &format!("cf{id}-{stage}-web"),
                &[("app", &format!("{repository}@{base}"))],
            )
            .await;
        setup.create_service(&cluster, "web", &td, 1).await;
    }
    let config = tempfile::NamedTempFile::new().expect("config");
    std::fs::write(
        config.path(),
        format!(
            "repository: {repository}\nstages:\n  - name: dev\n    cluster: c-cf{id}-dev\n    services: web\n  - name: staging\n    version: auto\n    cluster: c-cf{id}-staging\n    services: web\n"
        ),
    )
    .expect("write config");
    let f = Fixture {
        staging: format!("c-cf{id}-staging"),
        setup,
        runner,
        config,
        base,
        v2,
    };
    let image = Aws::image_uri(&repo, "v2");
    let run = f.run(&[("stage", "dev"), ("image", &image)]);
    run.assert_code(0);
    f
}

impl Fixture {
    fn inputs<'a>(&'a self, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let mut v = vec![
            ("config", self.config.path().to_str().unwrap_or_default()),
            ("wait-timeout", "1m"),
        ];
        v.extend_from_slice(extra);
        v
    }

    fn run(&self, extra: &[(&str, &str)]) -> Run {
        run_action(&self.runner, &self.inputs(extra), &[])
    }

    async fn staging_digest(&self) -> String {
        let svc = self.setup.service(&self.staging, "web").await;
        let (td, _) = self
            .setup
            .task_definition(svc.task_definition().unwrap_or_default())
            .await;
        td.container_definitions()[0]
            .image()
            .and_then(|i| i.rsplit_once('@'))
            .map(|(_, d)| d.to_string())
            .unwrap_or_default()
    }
}

/// Promotes dev's release to staging with `fault` on every call from the start; the problem
/// with how it ended, if any.
async fn case(id: &str, op: &str, kind: &str) -> Option<String> {
    let f = fixture(id).await;
    let key = f.runner.access_key.clone();
    let sim = Sim::shared();
    let before = sim.calls(&key).len();
    sim.put(
        &format!("/_sim/faults?access_key={key}"),
        serde_json::json!([fault(op, kind)]),
    );
    let run = tokio::task::block_in_place(|| spawn_action(&f.runner, &f.inputs(&[("stage", "staging")]), &[]).wait());
    let _ = ureq::delete(&sim.url(&format!("/_sim/faults?access_key={key}"))).call();
    let hits = sim.calls(&key)[before..]
        .iter()
        .filter(|c| !c["fault"].is_null())
        .count();
    let outcome = run.outputs.get("outcome").cloned().unwrap_or_default();
    let digest = f.staging_digest().await;
    tokio::time::sleep(Duration::from_millis(200)).await; // Parameter Store's delay for another caller
    let svc = f.setup.service(&f.staging, "web").await;
    let lock = f.setup.lock_held(svc.service_arn().unwrap_or_default()).await;
    let problem = match (outcome.as_str(), run.code) {
        _ if hits == 0 => Some("the fault never fired: the operation was not called".to_string()),
        _ if lock.is_some() => Some(format!("lock left: {lock:?}")),
        ("success", 0) if digest == f.v2 => None,
        ("failure", 1) if digest == f.base => None,
        (o, c) => Some(format!(
            "outcome {o:?} (exit {c}) with staging on {}",
            if digest == f.v2 {
                "the new release"
            } else if digest == f.base {
                "the old one"
            } else {
                "neither"
            }
        )),
    };
    eprintln!(
        "chain/{op}/{kind}: {outcome} ({hits}×) {}",
        problem.as_deref().unwrap_or("✅")
    );
    if problem.is_some() {
        eprintln!("{}\n{}", run.stdout, run.stderr);
    }
    problem
}

#[tokio::test(flavor = "multi_thread")]
async fn the_chains_ecr_and_history_calls_under_faults_end_promoted_or_untouched() {
    let full = std::env::var("ECS_DEPLOY_FULL_MATRIX").is_ok_and(|v| v == "1");
    let cases: Vec<(&str, &str)> = if full {
        OPERATIONS
            .iter()
            .flat_map(|op| ["throttle", "5xx", "latency", "drop"].map(|k| (*op, k)))
            .collect()
    } else {
        vec![
            ("PutImage", "5xx"),
            ("ListTaskDefinitions", "throttle"),
            ("DescribeRepositories", "drop"),
        ]
    };
    let mut problems = Vec::new();
    for (i, (op, kind)) in cases.iter().enumerate() {
        if let Some(p) = case(&format!("{i:02}"), op, kind).await {
            problems.push(format!("{op}/{kind}: {p}"));
        }
    }
    assert!(
        problems.is_empty(),
        "{} case(s) broke the property:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
