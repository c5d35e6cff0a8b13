//! A release of two images from two repositories (`images:` in the config file), through the
//! chain as the example workflows run it: dev → staging → prod's gate → promote → rollback,
//! the real binary against the simulator and the GitHub fake.
#![allow(clippy::disallowed_methods)] // tests drive real processes and servers in real time

mod support;

use std::collections::BTreeMap;

use support::github::{GitHub, TOKEN};
use support::{spawn_action, Aws, Run};

const REPO: &str = "acme/storefront";

struct Storefront {
    aws: Aws,
    config: tempfile::NamedTempFile,
    /// Names of this test's clusters (`c-<prefix>-<stage>`) and repositories (`app-<prefix>-api`).
    prefix: String,
    api: String,
    web: String,
}

impl Storefront {
    fn run(&self, inputs: &[(&str, &str)], event_name: &str) -> Run {
        let g = GitHub::shared();
        let event = support::github::event(event_name, REPO, |p| {
            if event_name == "push" {
                p["ref"] = "refs/heads/main".into();
            }
        });
        let event_path = event.path().to_str().unwrap().to_string();
        let mut all = vec![
            ("config", self.config.path().to_str().unwrap()),
            ("github-token", TOKEN),
        ];
        all.extend_from_slice(inputs);
        spawn_action(
            &self.aws,
            &all,
            &[
                ("GITHUB_API_URL", g.api.as_str()),
                ("GITHUB_REPOSITORY", REPO),
                ("GITHUB_EVENT_NAME", event_name),
                ("GITHUB_EVENT_PATH", &event_path),
            ],
        )
        .wait()
    }

    /// container → digest the stage's service runs.
    async fn running(&self, stage: &str) -> BTreeMap<String, String> {
        let svc = self.aws.service(&format!("c-{}-{stage}", self.prefix), "shop").await;
        let (td, _) = self.aws.task_definition(svc.task_definition().unwrap()).await;
        td.container_definitions()
            .iter()
            .map(|c| {
                let image = c.image().unwrap();
                (
                    c.name().unwrap().to_string(),
                    image
                        .rsplit_once('@')
                        .map(|(_, d)| d.to_string())
                        .unwrap_or(image.to_string()),
                )
            })
            .collect()
    }
}

async fn storefront(prefix: &str) -> Storefront {
    let aws = Aws::new(&prefix.replace('-', "_")).await;
    let (api, web) = (format!("app-{prefix}-api"), format!("app-{prefix}-web"));
    let (api_repo, web_repo) = (api.as_str(), web.as_str());
    GitHub::shared().seed(
        REPO,
        serde_json::json!({"environments": {"dev": {}, "staging": {},
            "prod": {"required_reviewers": [{"type": "User", "login": "sre-oncall"}], "wait_timer": 0}}}),
    );
    aws.push_image(api_repo, "v0").await;
    aws.push_image(web_repo, "v0").await;
    for stage in ["dev", "staging", "prod"] {
        let cluster = format!("c-{prefix}-{stage}");
        aws.create_cluster(&cluster).await;
        let td = aws
            .register(
                &format!("{prefix}-{stage}-shop"),
                &[
                    ("api", &Aws::image_uri(api_repo, "v0")),
                    ("web", &Aws::image_uri(web_repo, "v0")),
                ],
            )
            .await;
        aws.create_service(&cluster, "shop", &td, 1).await;
    }
    let repo = |r: &str| Aws::image_uri(r, "x").rsplit_once(':').unwrap().0.to_string();
    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        config.path(),
        format!(
            "images:\n  api: {}\n  web: {}\nresume-workflow: promote.yml\nstages:\n  - name: dev\n    cluster: c-{prefix}-dev\n    services: [shop]\n  - name: staging\n    version: auto\n    cluster: c-{prefix}-staging\n    services: [shop]\n  - name: prod\n    cluster: c-{prefix}-prod\n    services: [shop]\n",
            repo(api_repo),
            repo(web_repo)
        ),
    )
    .unwrap();
    Storefront {
        aws,
        config,
        prefix: prefix.to_string(),
        api: api.clone(),
        web: web.clone(),
    }
}

/// One release of api+web through dev, staging and prod; returns (digests, version).
async fn release(s: &Storefront, tag: &str) -> (BTreeMap<String, String>, String) {
    let (api_repo, web_repo) = (s.api.as_str(), s.web.as_str());
    let api = s.aws.push_image(api_repo, tag).await;
    let web = s.aws.push_image(web_repo, tag).await;
    let want: BTreeMap<String, String> = [("api".to_string(), api), ("web".to_string(), web)].into();
    let containers = format!(
        "api={},web={}",
        Aws::image_uri(api_repo, tag),
        Aws::image_uri(web_repo, tag)
    );
    let dev = s.run(&[("stage", "dev"), ("containers", &containers)], "pull_request");
    dev.assert_code(0);
    assert_eq!(s.running("dev").await, want, "dev runs both images of the release");

    let merge = s.run(&[("stage", "staging"), ("until", "prod")], "push");
    merge.assert_code(0);
    assert_eq!(merge.output("outcome"), "awaiting-approval", "{}", merge.stdout);
    assert_eq!(s.running("staging").await, want, "staging runs what passed dev");
    let version = merge.output("version").to_string();

    let promote = s.run(&[("stage", "prod"), ("version", &version)], "workflow_dispatch");
    promote.assert_code(0);
    assert_eq!(promote.output("outcome"), "success", "{}", promote.stdout);
    assert_eq!(s.running("prod").await, want, "prod runs exactly what passed staging");
    let images = promote.output("images");
    for (c, d) in &want {
        assert!(
            images
                .lines()
                .any(|l| l.starts_with(&format!("{c}=")) && l.ends_with(d.as_str())),
            "{images}"
        );
    }
    (want, version)
}

#[tokio::test(flavor = "multi_thread")]
async fn two_images_are_promoted_together_and_rolled_back_together() {
    let s = storefront("multi").await;
    let (first, v1) = release(&s, "a").await;
    let (second, v2) = release(&s, "b").await;
    assert_ne!(first, second);
    assert_ne!(v1, v2);
    // Both repositories carry the version tags.
    for repo in [s.api.as_str(), s.web.as_str()] {
        let tags = s.aws.ecr.list_images().repository_name(repo).send().await.unwrap();
        let names: Vec<&str> = tags.image_ids().iter().filter_map(|i| i.image_tag()).collect();
        assert!(
            names.contains(&v2.as_str()) && names.contains(&"prod"),
            "{repo}: {names:?}"
        );
    }

    let rollback = s.run(&[("command", "rollback"), ("stage", "prod")], "workflow_dispatch");
    rollback.assert_code(0);
    assert_eq!(rollback.output("outcome"), "success", "{}", rollback.stdout);
    assert_eq!(
        s.running("prod").await,
        first,
        "both services back on the earlier release"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_release_missing_a_component_is_refused_before_any_change() {
    let s = storefront("multi-partial").await;
    s.aws.push_image(&s.api, "lonely").await;
    let before = s.running("dev").await;
    let run = s.run(
        &[
            ("stage", "dev"),
            ("containers", &format!("api={}", Aws::image_uri(&s.api, "lonely"))),
        ],
        "pull_request",
    );
    run.assert_code(1);
    assert!(
        run.output("rolled-back-reason").contains("component `web`"),
        "{}",
        run.stdout
    );
    assert_eq!(s.running("dev").await, before);
}
