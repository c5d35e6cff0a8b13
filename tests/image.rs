//! The container image, the way a release ships it and the runner runs it:
//! 1. the binary from `scripts/build-binary.sh` (the build the Dockerfile's builder stage runs),
//!    put in the image by `scripts/build-image.sh` (buildah, the Dockerfile's final stage);
//! 2. the release, dry: pushed to a local OCI registry (Debian's docker-registry), action.yml
//!    pinned to the pushed digest by `scripts/pin-action-image.sh`, the local copy dropped and
//!    the pinned reference pulled back anonymously;
//! 3. one real deploy from the pulled image against the simulator, started as
//!    ContainerActionHandler starts a Docker action: the runner's mounts, `--workdir
//!    /github/workspace`, the step's environment with container paths, the image's ENTRYPOINT
//!    and action.yml's `args`.
#![allow(clippy::disallowed_methods)] // tests drive real processes and servers in real time

mod support;

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::{parse_outputs, runner_env, Aws};

fn buildah() -> Command {
    let mut c = Command::new("buildah");
    c.args(["--storage-driver", "vfs"]);
    c
}

fn ok(what: &str, out: Output) -> String {
    assert!(
        out.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A registry on loopback with no authentication: anyone may pull, as from a public package.
struct Registry {
    child: Child,
    address: String,
    _dir: tempfile::TempDir,
}

impl Registry {
    fn start() -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let address = format!("127.0.0.1:{port}");
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {address}\n",
                dir.path().join("data").display()
            ),
        )
        .unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start docker-registry (Debian's docker-registry: make setup)");
        let t = Instant::now();
        while ureq::get(&format!("http://{address}/v2/")).call().is_err() {
            assert!(t.elapsed() < Duration::from_secs(30), "the registry never answered");
            std::thread::sleep(Duration::from_millis(100));
        }
        Registry {
            child,
            address,
            _dir: dir,
        }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `runs.image` of an action.yml.
fn runs_image(action_yml: &Path) -> String {
    let action: serde_yaml_ng::Value = serde_yaml_ng::from_str(&std::fs::read_to_string(action_yml).unwrap()).unwrap();
    action["runs"]["image"].as_str().expect("runs.image").to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_release_pinned_by_digest_deploys_from_inside_the_container() {
    let root = support::repo_root();
    let work = tempfile::tempdir().unwrap();

    // 1. The build the Dockerfile's builder stage runs, on the host, into the image.
    let profile = std::env::var("ECS_DEPLOY_IMAGE_PROFILE").unwrap_or_else(|_| "dev".into());
    let bin = work.path().join("bin");
    ok(
        "scripts/build-binary.sh",
        Command::new(root.join("scripts/build-binary.sh"))
            .arg(&bin)
            .arg(&profile)
            .current_dir(&root)
            .output()
            .unwrap(),
    );
    let local = "ecs-deploy-action:image-test";
    ok(
        "scripts/build-image.sh (needs buildah: make setup)",
        Command::new(root.join("scripts/build-image.sh"))
            .arg(bin.join("ecs-deploy-action"))
            .env("IMAGE", local)
            .current_dir(&root)
            .output()
            .unwrap(),
    );

    // 2. The release, dry: push, pin action.yml to the digest, pull the pinned reference.
    let registry = Registry::start();
    let repository = format!("{}/ecs-deploy-action/ecs-deploy-action", registry.address);
    let digest_file = work.path().join("digest");
    ok(
        "buildah push",
        buildah()
            .args(["push", "--tls-verify=false", "--digestfile"])
            .arg(&digest_file)
            .arg(local)
            .arg(format!("docker://{repository}:v0.0.0-dryrun"))
            .output()
            .unwrap(),
    );
    let digest = std::fs::read_to_string(&digest_file).unwrap().trim().to_string();
    assert!(digest.starts_with("sha256:") && digest.len() == 71, "{digest}");
    let action_yml = work.path().join("action.yml");
    std::fs::copy(root.join("action.yml"), &action_yml).unwrap();
    ok(
        "scripts/pin-action-image.sh",
        Command::new(root.join("scripts/pin-action-image.sh"))
            .arg(format!("{repository}@{digest}"))
            .env("ACTION_FILE", &action_yml)
            .output()
            .unwrap(),
    );
    let pinned = runs_image(&action_yml);
    assert_eq!(pinned, format!("docker://{repository}@{digest}"));
    let original: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(root.join("action.yml")).unwrap()).unwrap();
    let released: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(&action_yml).unwrap()).unwrap();
    assert_eq!(
        original["inputs"], released["inputs"],
        "pinning changes runs.image only"
    );
    let _ = buildah().args(["rmi", "-f", local]).output();
    let anonymous = work.path().join("auth.json");
    std::fs::write(&anonymous, r#"{"auths": {}}"#).unwrap();
    let image = pinned.strip_prefix("docker://").unwrap().to_string();
    ok(
        "anonymous pull of the pinned digest",
        buildah()
            .args(["pull", "--tls-verify=false", "--authfile"])
            .arg(&anonymous)
            .arg(format!("docker://{image}"))
            .output()
            .unwrap(),
    );

    // 3. A deploy from the pulled image, as the runner starts it.
    let aws = Aws::new("image").await;
    let (cluster, repo) = ("c-image", "app-image");
    aws.create_cluster(cluster).await;
    aws.push_image(repo, "v1").await;
    let v2 = aws.push_image(repo, "v2").await;
    let td1 = aws.register("image-api", &[("app", &Aws::image_uri(repo, "v1"))]).await;
    aws.create_service(cluster, "api", &td1, 1).await;

    let container = ok("buildah from", buildah().args(["from", &image]).output().unwrap());
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
    let inspect = ok(
        "buildah inspect",
        buildah().args(["inspect", "--type", "image", &image]).output().unwrap(),
    );
    let inspect: serde_json::Value = serde_json::from_str(&inspect).expect("buildah inspect is JSON");
    let entrypoint: Vec<String> =
        serde_json::from_value(inspect["OCIv1"]["config"]["Entrypoint"].clone()).expect("the image's ENTRYPOINT");
    run.arg(&container).args(&entrypoint).args(runner_env::action_args());
    let out = run.output().expect("buildah run");
    let _ = buildah().args(["rm", &container]).output();
    let _ = buildah().args(["rmi", "-f", &image]).output();
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
    let summary = std::fs::read_to_string(layout.summary_file()).unwrap();
    assert!(!summary.is_empty(), "the job summary was written through the mount");
}
