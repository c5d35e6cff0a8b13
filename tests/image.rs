//! The container image: build the final stage with buildah from the binary this test build
//! produced, then run one real deploy from inside the container against the simulator.
#![allow(clippy::disallowed_methods)] // tests drive real processes and servers in real time

mod support;

use std::process::Command;

use support::{parse_outputs, Aws, REGION};

fn buildah() -> Command {
    let mut c = Command::new("buildah");
    c.args(["--storage-driver", "vfs"]);
    c
}

#[tokio::test(flavor = "multi_thread")]
async fn the_image_deploys_from_inside_the_container() {
    let root = support::repo_root();
    let image = "ecs-deploy-action:image-test";
    let build = Command::new(root.join("scripts/build-image.sh"))
        .arg(env!("CARGO_BIN_EXE_ecs-deploy-action"))
        .env("IMAGE", image)
        .current_dir(&root)
        .output()
        .expect("run scripts/build-image.sh (needs buildah: make setup)");
    assert!(
        build.status.success(),
        "image build failed:\n{}\n{}",
        String::from_utf8_lossy(&build.stdout),
        String::from_utf8_lossy(&build.stderr)
    );

    let aws = Aws::new("image").await;
    let (cluster, repo) = ("c-image", "app-image");
    aws.create_cluster(cluster).await;
    aws.push_image(repo, "v1").await;
    let v2 = aws.push_image(repo, "v2").await;
    let td1 = aws.register("image-api", &[("app", &Aws::image_uri(repo, "v1"))]).await;
    aws.create_service(cluster, "api", &td1, 1).await;

    let out = buildah().args(["from", image]).output().expect("buildah from");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let container = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let github = tempfile::tempdir().unwrap();
    let uri = Aws::image_uri(repo, "v2");
    let env = [
        format!("AWS_ENDPOINT_URL={}", support::Sim::shared().endpoint),
        format!("AWS_ACCESS_KEY_ID={}", aws.access_key),
        "AWS_SECRET_ACCESS_KEY=test-secret".to_string(),
        format!("AWS_REGION={REGION}"),
        "AWS_EC2_METADATA_DISABLED=true".to_string(),
        "GITHUB_OUTPUT=/github/output".to_string(),
        "GITHUB_STEP_SUMMARY=/github/summary".to_string(),
        format!("INPUT_CLUSTER={cluster}"),
        "INPUT_SERVICES=api".to_string(),
        format!("INPUT_IMAGE={uri}"),
        "INPUT_WAIT-TIMEOUT=2m".to_string(),
    ];
    let mut run = buildah();
    run.args([
        "run",
        "--isolation",
        "chroot",
        "--network",
        "host",
        "-v",
        &format!("{}:/github", github.path().display()),
    ]);
    for e in &env {
        run.args(["-e", e]);
    }
    let out = run
        .args([container.as_str(), "/ecs-deploy-action"])
        .output()
        .expect("buildah run");
    let _ = buildah().args(["rm", &container]).output();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "deploy inside the container failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let outputs = parse_outputs(&github.path().join("output"));
    assert_eq!(outputs.get("outcome").map(String::as_str), Some("success"), "{stdout}");
    assert_eq!(outputs.get("digest"), Some(&v2));
    let svc = aws.service(cluster, "api").await;
    assert_eq!(
        svc.task_definition(),
        outputs.get("task-definition-arns").map(String::as_str)
    );
}
