//! Test harness: one AWS simulator per test binary, AWS fixtures made through the real Rust
//! SDK, and a way to run the real binary the way the runner does (INPUT_* env, GITHUB_* files).
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use aws_sdk_ecs::types as ecs;
use aws_sdk_elasticloadbalancingv2::types as elb;

pub mod github;
pub mod runner;
pub mod runner_env;

pub const REGION: &str = "us-east-1";
pub const ACCOUNT: &str = "123456789012";

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The simulator process. It exits when its stdin closes, i.e. when this test process ends,
/// however it ends, so no test leaves a server behind.
pub struct Sim {
    pub endpoint: String,
    _child: Mutex<Child>,
    _stdin: Mutex<ChildStdin>,
}

static SIM: OnceLock<Sim> = OnceLock::new();

/// How long one integration-test binary may run in all (`ECS_DEPLOY_TEST_BINARY_TIMEOUT`,
/// seconds): a test that hangs outside the action (a wait loop on the simulator, a lock)
/// fails the suite instead of stalling CI. The slowest binary in `make test` takes about
/// 6 minutes here; slow suites (`make reliability`, `make slow`) set their own.
const BINARY_DEADLINE: Duration = Duration::from_secs(25 * 60);

fn watchdog() {
    let limit = std::env::var("ECS_DEPLOY_TEST_BINARY_TIMEOUT")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(BINARY_DEADLINE, Duration::from_secs);
    std::thread::spawn(move || {
        std::thread::sleep(limit);
        eprintln!("this test binary ran past {limit:?}: a hang; exiting so that CI fails instead of stalling");
        std::process::exit(124);
    });
}

impl Sim {
    // The child is kept (never waited on) for the life of the test process; it exits on stdin EOF.
    #[allow(clippy::zombie_processes)]
    pub fn shared() -> &'static Sim {
        SIM.get_or_init(|| {
            watchdog();
            let root = repo_root();
            let python = root.join(".venv/bin/python");
            assert!(
                python.exists(),
                "run `make setup` (or `make test`) first: {} is missing",
                python.display()
            );
            let mut child = Command::new(python)
                .args(["-m", "sim.aws", "--port", "0", "--time-scale", "60"])
                .current_dir(&root)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("start the AWS simulator");
            let stdin = child.stdin.take().expect("simulator stdin");
            let mut stdout = BufReader::new(child.stdout.take().expect("simulator stdout"));
            let mut line = String::new();
            loop {
                line.clear();
                let n = stdout.read_line(&mut line).expect("read simulator stdout");
                assert!(n > 0, "the simulator exited before it was ready");
                if let Some(url) = line.trim().strip_prefix("READY ") {
                    let endpoint = url.to_string();
                    // Keep draining its stdout so it never blocks on a full pipe.
                    std::thread::spawn(move || for _ in stdout.lines() {});
                    return Sim {
                        endpoint,
                        _child: Mutex::new(child),
                        _stdin: Mutex::new(stdin),
                    };
                }
            }
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.endpoint, path)
    }

    pub fn put(&self, path: &str, body: serde_json::Value) {
        ureq::put(&self.url(path))
            .send_json(body)
            .unwrap_or_else(|e| panic!("PUT {path}: {e}"));
    }

    pub fn post(&self, path: &str, body: serde_json::Value) {
        ureq::post(&self.url(path))
            .send_json(body)
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
    }

    pub fn get(&self, path: &str) -> serde_json::Value {
        ureq::get(&self.url(path))
            .call()
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
            .body_mut()
            .read_json()
            .expect("json")
    }

    /// Sets the behaviour of every task whose image ends with `image_key`.
    pub fn scenario(&self, image_key: &str, scenario: serde_json::Value) {
        self.put("/_sim/scenarios", serde_json::json!({ image_key: scenario }));
    }

    /// The AWS calls made with `access_key` (every test uses its own key).
    pub fn calls(&self, access_key: &str) -> Vec<serde_json::Value> {
        self.get(&format!("/_sim/calls?access_key={access_key}"))
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

/// AWS credentials and clients for one test. The action runs with its own access key, bound in
/// the simulator to the shipped `iam-policy.json` (filled in with the resources that exist), so
/// its calls can be counted and faulted and every one of them is authorized as on AWS. The
/// clients here set the world up with another key, which nothing restricts.
pub struct Aws {
    pub access_key: String,
    pub setup_key: String,
    pub config: aws_config::SdkConfig,
    pub ecs: aws_sdk_ecs::Client,
    pub ecr: aws_sdk_ecr::Client,
    pub elb: aws_sdk_elasticloadbalancingv2::Client,
}

/// The policy made of the given pieces of `iam/` (docs/iam.md, "Pieces by feature"), each
/// attached as the user would: their statements side by side.
pub fn pieces_policy(pieces: &[&str]) -> String {
    let mut statements = Vec::new();
    for piece in pieces {
        let path = repo_root().join("iam").join(format!("{piece}.json"));
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
                .expect("a policy");
        statements.extend(doc["Statement"].as_array().cloned().unwrap_or_default());
    }
    serde_json::json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

impl Aws {
    /// The action's key is held to the shipped iam-policy.json, filled in as a user would.
    pub async fn new(test: &str) -> Aws {
        let policy = std::fs::read_to_string(repo_root().join("iam-policy.json")).expect("iam-policy.json");
        Aws::with_policy(test, &policy).await
    }

    /// The action's key is held to only these pieces of `iam/`.
    pub async fn with_pieces(test: &str, pieces: &[&str]) -> Aws {
        Aws::with_policy(test, &pieces_policy(pieces)).await
    }

    async fn with_policy(test: &str, policy: &str) -> Aws {
        let sim = Sim::shared();
        let access_key = access_key(test);
        sim.put(
            "/_sim/iam",
            serde_json::json!({"access_key": access_key, "template": policy}),
        );
        let setup_key = format!("{access_key}SETUP");
        let creds = aws_sdk_ecs::config::Credentials::new(&setup_key, "test-secret", None, None, "tests");
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(REGION))
            .endpoint_url(&sim.endpoint)
            .credentials_provider(creds)
            .load()
            .await;
        Aws {
            ecs: aws_sdk_ecs::Client::new(&config),
            ecr: aws_sdk_ecr::Client::new(&config),
            elb: aws_sdk_elasticloadbalancingv2::Client::new(&config),
            access_key,
            setup_key,
            config,
        }
    }

    /// Pushes an image manifest to ECR under `tag` and returns its digest (as ECR computes it).
    pub async fn push_image(&self, repo: &str, tag: &str) -> String {
        self.push_labelled_image(repo, tag, &[]).await
    }

    /// Pushes `repo:tag` as docker does: its config (with `labels`) and layer blobs first,
    /// then the manifest (ECR refuses a manifest whose blobs are missing). Returns the digest.
    pub async fn push_labelled_image(&self, repo: &str, tag: &str, labels: &[(&str, &str)]) -> String {
        let _ = self.ecr.create_repository().repository_name(repo).send().await;
        let labels: serde_json::Map<String, serde_json::Value> =
            labels.iter().map(|(k, v)| (k.to_string(), (*v).into())).collect();
        let config = serde_json::json!({
            "architecture": "amd64", "os": "linux", "config": {"Labels": labels},
            "rootfs": {"type": "layers", "diff_ids": []}, "created": format!("{repo}:{tag}")
        })
        .to_string();
        let layer = format!("{repo}:{tag}:layer");
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": config.len(),
                       "digest": self.upload_blob(repo, config.as_bytes()).await},
            "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": layer.len(),
                        "digest": self.upload_blob(repo, layer.as_bytes()).await}]
        });
        let out = self
            .ecr
            .put_image()
            .repository_name(repo)
            .image_tag(tag)
            .image_manifest(manifest.to_string())
            .send()
            .await
            .expect("PutImage");
        out.image()
            .and_then(|i| i.image_id())
            .and_then(|i| i.image_digest())
            .expect("digest")
            .to_string()
    }

    /// One blob through ECR's layer upload; returns its digest.
    pub async fn upload_blob(&self, repo: &str, data: &[u8]) -> String {
        let upload = self
            .ecr
            .initiate_layer_upload()
            .repository_name(repo)
            .send()
            .await
            .expect("InitiateLayerUpload");
        let id = upload.upload_id().expect("upload id").to_string();
        self.ecr
            .upload_layer_part()
            .repository_name(repo)
            .upload_id(&id)
            .part_first_byte(0)
            .part_last_byte(data.len() as i64 - 1)
            .layer_part_blob(aws_smithy_types::Blob::new(data))
            .send()
            .await
            .expect("UploadLayerPart");
        let digest = format!("sha256:{}", sha256_bytes_hex(data));
        self.ecr
            .complete_layer_upload()
            .repository_name(repo)
            .upload_id(&id)
            .layer_digests(&digest)
            .send()
            .await
            .expect("CompleteLayerUpload")
            .layer_digest()
            .expect("layer digest")
            .to_string()
    }

    pub fn image_uri(repo: &str, tag: &str) -> String {
        format!("{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{repo}:{tag}")
    }

    pub async fn create_cluster(&self, name: &str) {
        self.ecs
            .create_cluster()
            .cluster_name(name)
            .send()
            .await
            .expect("CreateCluster");
    }

    /// Registers a task definition with the given (container, image) pairs and returns its ARN.
    pub async fn register(&self, family: &str, containers: &[(&str, &str)]) -> String {
        let defs = containers
            .iter()
            .map(|(name, image)| {
                ecs::ContainerDefinition::builder()
                    .name(*name)
                    .image(*image)
                    .essential(true)
                    .memory(256)
                    .port_mappings(ecs::PortMapping::builder().container_port(8080).build())
                    .environment(ecs::KeyValuePair::builder().name("KEEP").value("me").build())
                    .build()
            })
            .collect::<Vec<_>>();
        let out = self
            .ecs
            .register_task_definition()
            .family(family)
            .set_container_definitions(Some(defs))
            .network_mode(ecs::NetworkMode::Awsvpc)
            .requires_compatibilities(ecs::Compatibility::Fargate)
            .cpu("256")
            .memory("512")
            .tags(ecs::Tag::builder().key("team").value("payments").build())
            .send()
            .await
            .expect("RegisterTaskDefinition");
        out.task_definition()
            .and_then(|t| t.task_definition_arn())
            .expect("arn")
            .to_string()
    }

    /// Creates a service with the circuit breaker (with rollback) on, and waits until it is stable.
    pub async fn create_service(&self, cluster: &str, name: &str, task_definition: &str, desired: i32) {
        self.create_paced_service(cluster, name, task_definition, desired, (200, 100))
            .await;
    }

    /// As `create_service`, with (maximumPercent, minimumHealthyPercent).
    pub async fn create_paced_service(
        &self,
        cluster: &str,
        name: &str,
        task_definition: &str,
        desired: i32,
        (max, min): (i32, i32),
    ) {
        let config = Aws::breaker_config().maximum_percent(max).minimum_healthy_percent(min);
        self.create_configured_service(cluster, name, task_definition, desired, config.build())
            .await;
    }

    /// The circuit breaker with rollback on: what every test service starts from.
    pub fn breaker_config() -> ecs::builders::DeploymentConfigurationBuilder {
        ecs::DeploymentConfiguration::builder().deployment_circuit_breaker(
            ecs::DeploymentCircuitBreaker::builder()
                .enable(true)
                .rollback(true)
                .build(),
        )
    }

    /// A Fargate service with this deployment configuration, once it is stable.
    pub async fn create_configured_service(
        &self,
        cluster: &str,
        name: &str,
        task_definition: &str,
        desired: i32,
        config: ecs::DeploymentConfiguration,
    ) {
        self.ecs
            .create_service()
            .cluster(cluster)
            .service_name(name)
            .task_definition(task_definition)
            .desired_count(desired)
            .launch_type(ecs::LaunchType::Fargate)
            .deployment_configuration(config)
            .send()
            .await
            .expect("CreateService");
        self.wait_stable(cluster, name).await;
    }

    pub async fn service(&self, cluster: &str, name: &str) -> ecs::Service {
        let out = self
            .ecs
            .describe_services()
            .cluster(cluster)
            .services(name)
            .send()
            .await
            .expect("DescribeServices");
        out.services().first().cloned().expect("service")
    }

    pub async fn wait_stable(&self, cluster: &str, name: &str) {
        for _ in 0..200 {
            let s = self.service(cluster, name).await;
            let d = s.deployments();
            if d.len() == 1
                && d[0].rollout_state().map(|r| r.as_str()) == Some("COMPLETED")
                && s.running_count() == s.desired_count()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("service {name} never became stable in the simulator");
    }

    pub async fn task_definition(&self, arn: &str) -> (ecs::TaskDefinition, Vec<(String, String)>) {
        let out = self
            .ecs
            .describe_task_definition()
            .task_definition(arn)
            .include(ecs::TaskDefinitionField::Tags)
            .send()
            .await
            .expect("DescribeTaskDefinition");
        let tags = out
            .tags()
            .iter()
            .map(|t| {
                (
                    t.key().unwrap_or_default().to_string(),
                    t.value().unwrap_or_default().to_string(),
                )
            })
            .collect();
        (out.task_definition().cloned().expect("td"), tags)
    }
}

pub fn access_key(test: &str) -> String {
    let clean: String = test
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_uppercase();
    format!("AKIA{}", &clean[..clean.len().min(16)])
}

fn sha256_bytes_hex(data: &[u8]) -> String {
    use sha2::Digest as _;
    format!("{:x}", sha2::Sha256::digest(data))
}

/// What one run of the binary left behind.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub outputs: HashMap<String, String>,
    /// The `GITHUB_OUTPUT` file as written.
    pub output_text: String,
    pub summary: String,
}

/// No run of the binary in a test may last longer (the slowest suites finish in about a minute).
const RUN_DEADLINE: Duration = Duration::from_secs(600);

/// A running action process and the files it writes.
pub struct Spawned {
    pub child: Child,
    layout: runner_env::Layout,
    access_key: String,
}

impl Spawned {
    /// Waits for the run; every answer the action got must fit AWS's own service models
    /// (botocore's, checked by the simulator), as GitHub's answers are checked by prism.
    pub fn wait(self) -> Run {
        self.wait_within(RUN_DEADLINE)
    }

    /// `wait` with another deadline, for the slow suites that run AWS's real durations.
    pub fn wait_within(self, deadline: Duration) -> Run {
        // A hang fails the test instead of stalling CI: the run is killed at the deadline.
        use std::sync::atomic::{AtomicU8, Ordering};
        let pid = self.child.id();
        // 0 running, 1 exited, 2 killed by the watchdog.
        let state = std::sync::Arc::new(AtomicU8::new(0));
        let watch = state.clone();
        std::thread::spawn(move || {
            let deadline = std::time::Instant::now() + deadline;
            while std::time::Instant::now() < deadline {
                if watch.load(Ordering::SeqCst) != 0 {
                    return;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            if watch.compare_exchange(0, 2, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
                let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
            }
        });
        let out = self.child.wait_with_output().expect("wait for the action");
        let killed = state.swap(1, Ordering::SeqCst) == 2;
        assert!(
            !killed,
            "the action ran past {deadline:?} and was killed: a hang\n--- stdout\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
        let broken = Sim::shared().get(&format!("/_sim/model-violations?access_key={}", self.access_key));
        assert_eq!(
            broken,
            serde_json::json!([]),
            "answers outside AWS's service models were given to the action"
        );
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            outputs: parse_outputs(&self.layout.output_file()),
            output_text: std::fs::read_to_string(self.layout.output_file()).unwrap_or_default(),
            summary: std::fs::read_to_string(self.layout.summary_file()).unwrap_or_default(),
        }
    }

    /// Sends a signal, as the runner does when a job is cancelled.
    pub fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .args(["-s", sig, &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }
}

/// The AWS side of a step's environment: what configure-aws-credentials leaves in the job's
/// environment, pointed at the simulator with this test's key.
pub fn aws_env(aws: &Aws) -> Vec<(String, String)> {
    vec![
        ("AWS_ENDPOINT_URL".into(), Sim::shared().endpoint.clone()),
        ("AWS_ACCESS_KEY_ID".into(), aws.access_key.clone()),
        ("AWS_SECRET_ACCESS_KEY".into(), "test-secret".into()),
        ("AWS_REGION".into(), REGION.into()),
        ("AWS_DEFAULT_REGION".into(), REGION.into()),
        ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
        // The simulator runs 60 times faster than real time: CloudWatch's minute is a second.
        ("ECS_DEPLOY_TIME_SCALE".into(), "60".into()),
    ]
}

/// Starts the real binary as GitHub's runner starts the action: action.yml's declared inputs
/// (the step's `with:` values over their defaults), the runner's variables and files
/// (`runner_env`), the AWS credentials, then `extra_env` (the workflow's `env:`) over all.
pub fn spawn_action(aws: &Aws, inputs: &[(&str, &str)], extra_env: &[(&str, &str)]) -> Spawned {
    let layout = runner_env::Layout::new();
    let aws_vars = aws_env(aws);
    let mut env: Vec<(&str, &str)> = aws_vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    env.extend_from_slice(extra_env);
    let vars = runner_env::environment(&layout, inputs, &env);
    let mut cmd = Command::new(runner_env::binary());
    cmd.env_clear()
        .envs(&vars)
        .current_dir(layout.workspace())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    Spawned {
        child: cmd.spawn().expect("start the action binary"),
        layout,
        access_key: aws.access_key.clone(),
    }
}

/// Runs the real binary to the end.
pub fn run_action(aws: &Aws, inputs: &[(&str, &str)], extra_env: &[(&str, &str)]) -> Run {
    spawn_action(aws, inputs, extra_env).wait()
}

/// Reads a `GITHUB_OUTPUT` file the way the runner does; a file the runner would refuse fails
/// the test.
pub fn parse_outputs(path: &Path) -> HashMap<String, String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    runner::parse_output_file(&text).unwrap_or_else(|e| panic!("the runner would refuse GITHUB_OUTPUT: {e}\n{text}"))
}

impl Run {
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }
    pub fn output(&self, name: &str) -> &str {
        self.outputs
            .get(name)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("no output {name}: {:?}\n{}", self.outputs, self.stdout))
    }
}

/// A two-slot topology: one ALB listener forwarding to blue (100) and green (0), a service per
/// slot registered to its own target group, and a second (test) listener.
pub struct Slots {
    pub cluster: String,
    pub repo: String,
    pub listener: String,
    pub test_listener: String,
    pub blue_tg: String,
    pub green_tg: String,
    pub blue_td: String,
    pub load_balancer: String,
}

impl Slots {
    /// CloudWatch's dimensions of the green (new) slot's target group behind its load balancer.
    pub fn green_dimensions(&self) -> [aws_sdk_cloudwatch::types::Dimension; 2] {
        [
            aws_sdk_cloudwatch::types::Dimension::builder()
                .name("TargetGroup")
                .value(self.green_tg.rsplit(':').next().unwrap())
                .build(),
            aws_sdk_cloudwatch::types::Dimension::builder()
                .name("LoadBalancer")
                .value(self.load_balancer.split(":loadbalancer/").nth(1).unwrap())
                .build(),
        ]
    }
}

impl Aws {
    /// Subnet ids of the simulator's default VPC (EC2 spoken directly: no EC2 SDK needed).
    pub fn default_subnets(&self) -> (String, Vec<String>, String) {
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential={}/20250101/{REGION}/ec2/aws4_request, SignedHeaders=host, Signature=0",
            self.setup_key
        );
        let get = |action: &str| -> String {
            ureq::get(&format!(
                "{}/?Action={action}&Version=2016-11-15",
                Sim::shared().endpoint
            ))
            .header("Authorization", &auth)
            .call()
            .expect(action)
            .body_mut()
            .read_to_string()
            .expect("body")
        };
        let ids = |xml: &str, tag: &str| -> Vec<String> {
            xml.split(&format!("<{tag}>"))
                .skip(1)
                .filter_map(|s| s.split(&format!("</{tag}>")).next().map(str::to_string))
                .collect()
        };
        let subnets = ids(&get("DescribeSubnets"), "subnetId");
        let vpc = ids(&get("DescribeVpcs"), "vpcId")
            .into_iter()
            .next()
            .expect("default vpc");
        let sg = ids(&get("DescribeSecurityGroups"), "groupId")
            .into_iter()
            .next()
            .expect("default security group");
        (vpc, subnets.into_iter().take(2).collect(), sg)
    }

    pub async fn slots(&self, test: &str, desired: i32) -> Slots {
        use aws_sdk_elasticloadbalancingv2::types as elb;
        let cluster = format!("c-{test}");
        let repo = format!("app-{test}");
        self.create_cluster(&cluster).await;
        self.push_image(&repo, "v1").await;
        let blue_td = self
            .register(&format!("{test}-web"), &[("app", &Aws::image_uri(&repo, "v1"))])
            .await;
        let (vpc, subnets, sg) = self.default_subnets();
        let lb = self
            .elb
            .create_load_balancer()
            .name(format!("lb-{test}").replace('_', "-"))
            .set_subnets(Some(subnets.clone()))
            .send()
            .await
            .expect("CreateLoadBalancer");
        let lb_arn = lb.load_balancers()[0].load_balancer_arn().unwrap().to_string();
        let mut tgs = Vec::new();
        for color in ["blue", "green"] {
            let tg = self
                .elb
                .create_target_group()
                .name(format!("{color}-{test}").replace('_', "-"))
                .protocol(elb::ProtocolEnum::Http)
                .port(8080)
                .vpc_id(&vpc)
                .target_type(elb::TargetTypeEnum::Ip)
                .send()
                .await
                .expect("CreateTargetGroup");
            tgs.push(tg.target_groups()[0].target_group_arn().unwrap().to_string());
        }
        let forward = |port: i32| {
            let tgs = tgs.clone();
            let lb_arn = lb_arn.clone();
            async move {
                let out = self
                    .elb
                    .create_listener()
                    .load_balancer_arn(lb_arn)
                    .protocol(elb::ProtocolEnum::Http)
                    .port(port)
                    .default_actions(
                        elb::Action::builder()
                            .r#type(elb::ActionTypeEnum::Forward)
                            .forward_config(
                                elb::ForwardActionConfig::builder()
                                    .target_groups(
                                        elb::TargetGroupTuple::builder()
                                            .target_group_arn(&tgs[0])
                                            .weight(100)
                                            .build(),
                                    )
                                    .target_groups(
                                        elb::TargetGroupTuple::builder()
                                            .target_group_arn(&tgs[1])
                                            .weight(0)
                                            .build(),
                                    )
                                    .build(),
                            )
                            .build(),
                    )
                    .send()
                    .await
                    .expect("CreateListener");
                out.listeners()[0].listener_arn().unwrap().to_string()
            }
        };
        let listener = forward(80).await;
        let test_listener = forward(8080).await;
        for (color, tg, count) in [("blue", &tgs[0], desired), ("green", &tgs[1], 0)] {
            self.ecs
                .create_service()
                .cluster(&cluster)
                .service_name(format!("web-{color}"))
                .task_definition(&blue_td)
                .desired_count(count)
                .launch_type(ecs::LaunchType::Fargate)
                .load_balancers(
                    ecs::LoadBalancer::builder()
                        .target_group_arn(tg)
                        .container_name("app")
                        .container_port(8080)
                        .build(),
                )
                .network_configuration(
                    ecs::NetworkConfiguration::builder()
                        .awsvpc_configuration(
                            ecs::AwsVpcConfiguration::builder()
                                .set_subnets(Some(subnets.clone()))
                                .security_groups(&sg)
                                .build()
                                .unwrap(),
                        )
                        .build(),
                )
                .deployment_configuration(
                    ecs::DeploymentConfiguration::builder()
                        .deployment_circuit_breaker(
                            ecs::DeploymentCircuitBreaker::builder()
                                .enable(true)
                                .rollback(true)
                                .build(),
                        )
                        .build(),
                )
                .send()
                .await
                .expect("CreateService");
            self.wait_stable(&cluster, &format!("web-{color}")).await;
        }
        Slots {
            cluster,
            repo,
            listener,
            test_listener,
            blue_tg: tgs[0].clone(),
            green_tg: tgs[1].clone(),
            blue_td,
            load_balancer: lb_arn,
        }
    }

    /// (blue, green) weights as the listener reads now.
    pub async fn weights(&self, listener: &str, s: &Slots) -> (i32, i32) {
        let out = self
            .elb
            .describe_listeners()
            .listener_arns(listener)
            .send()
            .await
            .expect("DescribeListeners");
        blue_green(&out.listeners()[0].default_actions()[0], s)
    }
}

/// Waits until `after` past the moment the listener gave green `weight` percent, as the
/// simulator logged it (not when this test noticed: under load that can be seconds later).
pub async fn when_green_has(aws: &Aws, s: &Slots, weight: i32, after: Duration) {
    let t = std::time::Instant::now();
    while aws.weights(&s.listener, s).await.1 != weight {
        assert!(t.elapsed() < Duration::from_secs(90), "green never reached {weight}%");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let events = Sim::shared().get("/_sim/events");
    let set_at = events
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["type"] == "weights_changed" && e["listener"] == s.listener.as_str())
        .filter(|e| e["weights"][s.green_tg.as_str()].as_f64() == Some(f64::from(weight)))
        .filter_map(|e| e["at"].as_f64())
        .next_back()
        .expect("the simulator logged the weight change");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    tokio::time::sleep(after.saturating_sub(Duration::from_secs_f64((now - set_at).max(0.0)))).await;
}

/// A cluster with one service on v1, and v2 pushed; returns (cluster, image v2, service ARN).
pub async fn one_service(aws: &Aws, test: &str) -> (String, String, String) {
    let cluster = format!("c-{test}");
    let repo = format!("app-{test}");
    aws.create_cluster(&cluster).await;
    aws.push_image(&repo, "v1").await;
    aws.push_image(&repo, "v2").await;
    let td = aws
        .register(&format!("{test}-api"), &[("app", &Aws::image_uri(&repo, "v1"))])
        .await;
    aws.create_service(&cluster, "api", &td, 1).await;
    let arn = aws
        .service(&cluster, "api")
        .await
        .service_arn()
        .unwrap_or_default()
        .to_string();
    (cluster, Aws::image_uri(&repo, "v2"), arn)
}

pub fn mutations(access_key: &str) -> Vec<String> {
    Sim::shared()
        .calls(access_key)
        .into_iter()
        .filter(|c| c["mutating"] == true)
        .map(|c| c["operation"].as_str().unwrap_or_default().to_string())
        .collect()
}

impl Aws {
    /// A path-pattern rule on the production listener forwarding to blue (100) and green (0).
    pub async fn api_rule(&self, s: &Slots) -> String {
        let out = self
            .elb
            .create_rule()
            .listener_arn(&s.listener)
            .priority(10)
            .conditions(
                elb::RuleCondition::builder()
                    .field("path-pattern")
                    .path_pattern_config(elb::PathPatternConditionConfig::builder().values("/api/*").build())
                    .build(),
            )
            .actions(forward_to_blue(s, None))
            .send()
            .await
            .expect("CreateRule");
        out.rules()[0].rule_arn().expect("rule arn").to_string()
    }

    pub async fn rule_weights(&self, rule: &str, s: &Slots) -> (i32, i32) {
        let out = self
            .elb
            .describe_rules()
            .rule_arns(rule)
            .send()
            .await
            .expect("DescribeRules");
        blue_green(&out.rules()[0].actions()[0], s)
    }
}

impl Aws {
    /// A tag's value on an ECS resource, as this (setup) caller reads it now.
    /// The deploy lock of a service (by ARN) if it is not free: the newest version of its SSM
    /// parameter, read by another caller (call it once Parameter Store's read delay passed).
    pub async fn lock_held(&self, service_arn: &str) -> Option<String> {
        let (_, cluster_and_name) = service_arn.split_once(":service/")?;
        let name = format!("/ecs-deploy-action/lock/{cluster_and_name}");
        let got = aws_sdk_ssm::Client::new(&self.config)
            .get_parameters()
            .names(name)
            .send()
            .await
            .expect("GetParameters");
        let value = got.parameters().first()?.value()?.to_string();
        (!value.starts_with("free;")).then_some(value)
    }

    /// `tag_value` once ECS's tag view has caught up: another caller sees a tag change only
    /// after the simulator's `tag_visibility_seconds` (sim/aws/tag_visibility.py), so a read
    /// right after the action exits may still show the value before its last write. Polls up
    /// to 5 s (real) for `want` (None: the tag gone), and returns what it read last.
    pub async fn tag_value_settled(&self, arn: &str, key: &str, want: Option<&str>) -> Option<String> {
        let t = std::time::Instant::now();
        loop {
            let got = self.tag_value(arn, key).await;
            if got.as_deref() == want || t.elapsed() > Duration::from_secs(5) {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn tag_value(&self, arn: &str, key: &str) -> Option<String> {
        let out = self
            .ecs
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .expect("ListTagsForResource");
        out.tags()
            .iter()
            .find(|t| t.key() == Some(key))
            .and_then(|t| t.value())
            .map(str::to_string)
    }
}

/// A forward action with blue at 100 and green at 0, with target-group stickiness (seconds).
pub fn forward_to_blue(s: &Slots, stickiness: Option<i32>) -> elb::Action {
    let tg = |arn: &str, weight: i32| {
        elb::TargetGroupTuple::builder()
            .target_group_arn(arn)
            .weight(weight)
            .build()
    };
    let sticky = stickiness.map(|d| {
        elb::TargetGroupStickinessConfig::builder()
            .enabled(true)
            .duration_seconds(d)
            .build()
    });
    elb::Action::builder()
        .r#type(elb::ActionTypeEnum::Forward)
        .forward_config(
            elb::ForwardActionConfig::builder()
                .target_groups(tg(&s.blue_tg, 100))
                .target_groups(tg(&s.green_tg, 0))
                .set_target_group_stickiness_config(sticky)
                .build(),
        )
        .build()
}

/// (blue, green) weights of a forward action.
fn blue_green(action: &elb::Action, s: &Slots) -> (i32, i32) {
    let tgs = action
        .forward_config()
        .map(|f| f.target_groups().to_vec())
        .unwrap_or_default();
    let w = |arn: &str| {
        tgs.iter()
            .find(|t| t.target_group_arn() == Some(arn))
            .and_then(|t| t.weight())
            .unwrap_or(0)
    };
    (w(&s.blue_tg), w(&s.green_tg))
}

/// Now, as the simulator stamps its calls (`at`, seconds since the epoch).
pub fn epoch_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

/// Seconds from `since` (epoch) to the first call of `operation` made with `access_key` at or
/// after it; panics when there is none.
pub fn seconds_until_call(access_key: &str, operation: &str, since: f64) -> f64 {
    Sim::shared()
        .calls(access_key)
        .iter()
        .filter(|c| c["operation"] == operation)
        .filter_map(|c| c["at"].as_f64())
        .find(|at| *at >= since)
        .map(|at| at - since)
        .unwrap_or_else(|| panic!("no {operation} after the signal"))
}
