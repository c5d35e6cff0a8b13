//! The container image: build the final stage with buildah from the binary this test build
//! produced, then run one real deploy from inside the container against the simulator.
#![allow(clippy::disallowed_methods)] // tests drive real processes and servers in real time

mod support;

use std::process::Command;

use support::{parse_outputs, runner_env, Aws};

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
        .arg(runner_env::binary())
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

    // As ContainerActionHandler runs it: the runner's mounts, --workdir /github/workspace,
    // every variable with host paths translated, the image's ENTRYPOINT with action.yml's args.
    let layout = runner_env::Layout::new();
    let uri = Aws::image_uri(repo, "v2");
    let aws_vars = support::aws_env(&aws);
    let env: Vec<(&str, &str)> = aws_vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let vars = runner_env::environment(
        &layout,
        &[("cluster", cluster), ("services", "api"), ("image", &uri)],
        &env,
    );
    let mut run = buildah();
    run.args([
        "run",
        "--isolation",
        "chroot",
        "--network",
        "host",
        "--workingdir",
        "/github/workspace",
    ]);
    for (host, inside) in layout.mounts() {
        run.args(["-v", &format!("{}:{inside}", host.display())]);
    }
    for (k, v) in &vars {
        run.args(["-e", &format!("{k}={}", layout.in_container(v))]);
    }
    let entrypoint = buildah()
        .args([
            "inspect",
            "--type",
            "image",
            "--format",
            "{{json .OCIv1.Config.Entrypoint}}",
            image,
        ])
        .output()
        .expect("buildah inspect");
    let entrypoint: Vec<String> = serde_json::from_slice(&entrypoint.stdout).expect("the image's ENTRYPOINT");
    run.arg(&container).args(&entrypoint).args(runner_env::action_args());
    let out = run.output().expect("buildah run");
    let _ = buildah().args(["rm", &container]).output();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "deploy inside the container failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let outputs = parse_outputs(&layout.output_file());
    assert_eq!(outputs.get("outcome").map(String::as_str), Some("success"), "{stdout}");
    assert_eq!(outputs.get("digest"), Some(&v2));
    let svc = aws.service(cluster, "api").await;
    assert_eq!(
        svc.task_definition(),
        outputs.get("task-definition-arns").map(String::as_str)
    );
}
