//! Services on ECS's own BLUE_GREEN, LINEAR and CANARY strategies, deployed by the real binary
//! against the simulator's service deployments (sim/aws/ecs_native.py). ECS minutes are
//! simulated: a minute is a second here.
#![allow(clippy::disallowed_methods)] // tests drive real processes and servers in real time

mod support;

use std::time::{Duration, Instant};

use aws_sdk_ecs::types as ecs;
use aws_sdk_elasticloadbalancingv2::types as elb;
use support::{mutations, run_action, spawn_action, Aws, Sim};

const ROLE: &str = "arn:aws:iam::123456789012:role/ecsInfrastructureRoleForLoadBalancers";

/// One ECS-native service on v1: its target group and alternate behind a production listener
/// (rule `/*`, blue 100 / green 0) and a test listener (rule `/*` likewise).
struct Native {
    cluster: String,
    repo: String,
    service: String,
    blue_tg: String,
    green_tg: String,
    prod_rule: String,
    test_rule: String,
}

async fn native(aws: &Aws, test: &str, config: ecs::builders::DeploymentConfigurationBuilder) -> Native {
    let cluster = format!("c-{test}");
    let repo = format!("app-{test}");
    aws.create_cluster(&cluster).await;
    aws.push_image(&repo, "v1").await;
    let td = aws
        .register(&format!("{test}-api"), &[("app", &Aws::image_uri(&repo, "v1"))])
        .await;
    let (vpc, subnets, sg) = aws.default_subnets();
    let lb = aws
        .elb
        .create_load_balancer()
        .name(format!("lb-{test}"))
        .set_subnets(Some(subnets.clone()))
        .send()
        .await
        .expect("CreateLoadBalancer");
    let lb_arn = lb.load_balancers()[0].load_balancer_arn().unwrap().to_string();
    let mut tgs = Vec::new();
    for color in ["b", "g"] {
        let tg = aws
            .elb
            .create_target_group()
            .name(format!("{color}-{test}"))
            .protocol(elb::ProtocolEnum::Http)
            .port(8080)
            .vpc_id(&vpc)
            .target_type(elb::TargetTypeEnum::Ip)
            .send()
            .await
            .expect("CreateTargetGroup");
        tgs.push(tg.target_groups()[0].target_group_arn().unwrap().to_string());
    }
    let forward = |a: i32| {
        elb::Action::builder()
            .r#type(elb::ActionTypeEnum::Forward)
            .forward_config(
                elb::ForwardActionConfig::builder()
                    .target_groups(
                        elb::TargetGroupTuple::builder()
                            .target_group_arn(&tgs[0])
                            .weight(a)
                            .build(),
                    )
                    .target_groups(
                        elb::TargetGroupTuple::builder()
                            .target_group_arn(&tgs[1])
                            .weight(100 - a)
                            .build(),
                    )
                    .build(),
            )
            .build()
    };
    let mut rules = Vec::new();
    for port in [80, 8080] {
        let listener = aws
            .elb
            .create_listener()
            .load_balancer_arn(&lb_arn)
            .protocol(elb::ProtocolEnum::Http)
            .port(port)
            .default_actions(
                elb::Action::builder()
                    .r#type(elb::ActionTypeEnum::FixedResponse)
                    .fixed_response_config(elb::FixedResponseActionConfig::builder().status_code("404").build())
                    .build(),
            )
            .send()
            .await
            .expect("CreateListener");
        let rule = aws
            .elb
            .create_rule()
            .listener_arn(listener.listeners()[0].listener_arn().unwrap())
            .priority(10)
            .conditions(
                elb::RuleCondition::builder()
                    .field("path-pattern")
                    .path_pattern_config(elb::PathPatternConditionConfig::builder().values("/*").build())
                    .build(),
            )
            .actions(forward(100))
            .send()
            .await
            .expect("CreateRule");
        rules.push(rule.rules()[0].rule_arn().unwrap().to_string());
    }
    aws.ecs
        .create_service()
        .cluster(&cluster)
        .service_name("api")
        .task_definition(&td)
        .desired_count(2)
        .launch_type(ecs::LaunchType::Fargate)
        .load_balancers(
            ecs::LoadBalancer::builder()
                .target_group_arn(&tgs[0])
                .container_name("app")
                .container_port(8080)
                .advanced_configuration(
                    ecs::AdvancedConfiguration::builder()
                        .alternate_target_group_arn(&tgs[1])
                        .production_listener_rule(&rules[0])
                        .test_listener_rule(&rules[1])
                        .role_arn(ROLE)
                        .build(),
                )
                .build(),
        )
        .network_configuration(
            ecs::NetworkConfiguration::builder()
                .awsvpc_configuration(
                    ecs::AwsVpcConfiguration::builder()
                        .set_subnets(Some(subnets))
                        .security_groups(sg)
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .deployment_configuration(config.build())
        .send()
        .await
        .expect("CreateService");
    aws.wait_stable(&cluster, "api").await;
    Native {
        cluster,
        repo,
        service: "api".into(),
        blue_tg: tgs[0].clone(),
        green_tg: tgs[1].clone(),
        prod_rule: rules[0].clone(),
        test_rule: rules[1].clone(),
    }
}

fn canary(percent: f64, minutes: i32, bake: i32) -> ecs::builders::DeploymentConfigurationBuilder {
    ecs::DeploymentConfiguration::builder()
        .strategy(ecs::DeploymentStrategy::Canary)
        .bake_time_in_minutes(bake)
        .canary_configuration(
            ecs::CanaryConfiguration::builder()
                .canary_percent(percent)
                .canary_bake_time_in_minutes(minutes)
                .build(),
        )
}

async fn alarm_state(cw: &aws_sdk_cloudwatch::Client, name: &str) -> String {
    let out = cw
        .describe_alarms()
        .alarm_names(name)
        .send()
        .await
        .expect("DescribeAlarms");
    out.metric_alarms()[0]
        .state_value()
        .map(|s| s.as_str().to_string())
        .unwrap_or_default()
}

fn blue_green(bake: i32) -> ecs::builders::DeploymentConfigurationBuilder {
    ecs::DeploymentConfiguration::builder()
        .strategy(ecs::DeploymentStrategy::BlueGreen)
        .bake_time_in_minutes(bake)
}

fn linear(percent: f64, minutes: i32, bake: i32) -> ecs::builders::DeploymentConfigurationBuilder {
    ecs::DeploymentConfiguration::builder()
        .strategy(ecs::DeploymentStrategy::Linear)
        .bake_time_in_minutes(bake)
        .linear_configuration(
            ecs::LinearConfiguration::builder()
                .step_percent(percent)
                .step_bake_time_in_minutes(minutes)
                .build(),
        )
}

/// A healthy release on `config` ends SUCCESSFUL with production on the new revision, every
/// production weight ECS set judged on the way (`weights`).
async fn healthy(test: &str, config: ecs::builders::DeploymentConfigurationBuilder, weights: &[u8]) {
    let aws = Aws::new(&test.replace('-', "_")).await;
    let n = native(&aws, test, config).await;
    let v2 = aws.push_image(&n.repo, "v2").await;
    let image = Aws::image_uri(&n.repo, "v2");
    let run = run_action(&aws, &inputs(&n, &image, &[]), &[]);
    run.assert_code(0);
    assert_eq!(run.output("outcome"), "success", "{}", run.stdout);
    assert_eq!(n.weights(&aws, &n.prod_rule).await, (0, 100));
    let (td, _) = aws.task_definition(&n.running(&aws).await).await;
    assert!(td.container_definitions()[0].image().unwrap().ends_with(&v2));
    for w in weights {
        assert!(
            run.summary.contains(&format!("| {w}% |")),
            "step {w}% judged:\n{}",
            run.summary
        );
    }
    assert!(n.deployments().iter().any(|e| e["status"] == "SUCCESSFUL"));
}

/// A release with a 20% 5xx rate on `config` is failed by the action's analysis (no AWS alarm
/// is configured) at `weight`, and ECS rolls it back at the action's request.
async fn caught(test: &str, config: ecs::builders::DeploymentConfigurationBuilder, weight: u8) {
    caught_by(test, config, weight, &[], "5xx").await;
}

/// `caught`, with these inputs, the reason naming `why`.
async fn caught_by(
    test: &str,
    config: ecs::builders::DeploymentConfigurationBuilder,
    weight: u8,
    extra: &[(&str, &str)],
    why: &str,
) {
    let bad = serde_json::json!({"error_rate": 0.2});
    caught_by_scenario(test, config, (weight, bad), extra, why).await;
}

/// As `caught_by`, with the new revision behaving as `scenario` says.
async fn caught_by_scenario(
    test: &str,
    config: ecs::builders::DeploymentConfigurationBuilder,
    (weight, scenario): (u8, serde_json::Value),
    extra: &[(&str, &str)],
    why: &str,
) {
    let aws = Aws::new(&test.replace('-', "_")).await;
    let n = native(&aws, test, config).await;
    // A service in production has served long before a deploy: give the stable revision five
    // of CloudWatch's minutes (5 s at the tests' 60×), the latency comparison's reference.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let bad = aws.push_image(&n.repo, "bad").await;
    Sim::shared().scenario(&bad, scenario);
    let before = n.running(&aws).await;
    let image = Aws::image_uri(&n.repo, "bad");
    let run = run_action(&aws, &inputs(&n, &image, extra), &[]);
    run.assert_code(1);
    assert_eq!(run.output("outcome"), "failure");
    let reason = run.output("rolled-back-reason");
    assert!(
        reason.contains(&format!("analysis failed at {weight}% traffic")) && reason.contains(why),
        "{reason}\n{}",
        run.stdout
    );
    assert_eq!(n.weights(&aws, &n.prod_rule).await, (100, 0), "ECS put production back");
    assert_eq!(n.running(&aws).await, before, "the service is on its previous revision");
    let rollbacks: Vec<_> = n
        .deployments()
        .into_iter()
        .filter(|e| e["type"] == "service_deployment_rollback")
        .collect();
    assert_eq!(rollbacks.len(), 1);
    assert!(
        rollbacks[0]["reason"]
            .as_str()
            .unwrap()
            .contains("StopServiceDeployment"),
        "{rollbacks:?}"
    );
    assert!(n.deployments().iter().any(|e| e["status"] == "ROLLBACK_SUCCESSFUL"));
    assert!(!run.summary.contains("NOT rolled back"), "{}", run.summary);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_healthy_blue_green_release_bakes_at_100_and_completes() {
    healthy("native-bg-ok", blue_green(3), &[100]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_healthy_linear_release_is_judged_at_every_step() {
    healthy("native-lin-ok", linear(50.0, 3, 1), &[50, 100]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_blue_green_release_is_caught_in_ecs_bake_and_rolled_back() {
    caught("native-bg-bad", blue_green(10), 100).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_linear_release_is_caught_at_its_first_step() {
    caught("native-lin-bad", linear(25.0, 10, 1), 25).await;
}

fn inputs<'a>(n: &'a Native, image: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut v = vec![
        ("cluster", n.cluster.as_str()),
        ("services", n.service.as_str()),
        ("image", image),
        ("analysis-interval", "1s"),
        ("min-requests", "10"),
        ("wait-timeout", "2m"),
    ];
    for (k, val) in extra {
        v.retain(|(key, _)| key != k);
        v.push((k, val));
    }
    v
}

impl Native {
    /// (blue, green) weights of a rule, in the order of the service's target groups.
    async fn weights(&self, aws: &Aws, rule: &str) -> (i32, i32) {
        let out = aws
            .elb
            .describe_rules()
            .rule_arns(rule)
            .send()
            .await
            .expect("DescribeRules");
        let groups = out.rules()[0].actions()[0].forward_config().unwrap().target_groups();
        let of = |tg: &str| {
            groups
                .iter()
                .find(|g| g.target_group_arn() == Some(tg))
                .and_then(|g| g.weight())
                .unwrap_or(0)
        };
        (of(&self.blue_tg), of(&self.green_tg))
    }

    async fn running(&self, aws: &Aws) -> String {
        aws.service(&self.cluster, &self.service)
            .await
            .task_definition()
            .unwrap_or_default()
            .to_string()
    }

    fn deployments(&self) -> Vec<serde_json::Value> {
        let events = Sim::shared().get("/_sim/events");
        events
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["type"] == "service_deployment_finished" || e["type"] == "service_deployment_rollback")
            .filter(|e| {
                e["arn"]
                    .as_str()
                    .is_some_and(|a| a.contains(&format!("/{}/", self.cluster)))
            })
            .cloned()
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_healthy_canary_is_followed_to_the_end() {
    // Under exactly the pieces of iam/ an ECS-native service needs.
    let aws = Aws::with_pieces("native_ok", &["core", "ecs-native", "metrics"]).await;
    let n = native(&aws, "native-ok", canary(10.0, 3, 2)).await;
    let v2 = aws.push_image(&n.repo, "v2").await;
    let image = Aws::image_uri(&n.repo, "v2");
    let plan = run_action(
        &aws,
        &inputs(&n, &image, &[("command", "plan"), ("native-canary-percent", "10%")]),
        &[],
    );
    plan.assert_code(0);
    assert!(
        plan.stdout.contains(
            "3/3 follow-service-deployment: follow the deployment of api (ECS CANARY: 10% for 3m, then 100%; bake 2m)"
        ),
        "{}",
        plan.stdout
    );
    assert_eq!(
        mutations(&aws.access_key),
        Vec::<String>::new(),
        "a plan changes nothing"
    );
    let run = run_action(&aws, &inputs(&n, &image, &[]), &[]);
    run.assert_code(0);
    assert_eq!(run.output("outcome"), "success", "{}", run.stdout);
    assert!(run.summary.contains("deploy: "), "{}", run.summary);
    assert_eq!(n.weights(&aws, &n.prod_rule).await, (0, 100));
    let (td, _) = aws.task_definition(&n.running(&aws).await).await;
    assert!(td.container_definitions()[0].image().unwrap().ends_with(&v2));
    assert!(
        run.stdout.contains("PRODUCTION_TRAFFIC_SHIFT (10% of production"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("analysis at 10%"),
        "judged the canary: {}",
        run.stdout
    );
    assert!(run.stdout.contains("follow-service-deployment"), "{}", run.stdout);
    assert!(n.deployments().iter().any(|e| e["status"] == "SUCCESSFUL"));
    assert!(run.summary.contains("| 10% |"), "{}", run.summary);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_canary_is_caught_by_the_analysis_and_rolled_back_by_ecs() {
    caught("native-bad", canary(20.0, 10, 2), 20).await;
}

/// `judge: compare` on ECS's own canary, with no absolute gate: the rollout's sequential test
/// of the new revision's share of the 5xx catches it at the canary weight.
#[tokio::test(flavor = "multi_thread")]
async fn a_bad_canary_is_caught_by_the_comparison_and_rolled_back_by_ecs() {
    let compare = [("judge", "compare"), ("max-5xx-rate", "off")];
    caught_by(
        "native-cmp",
        canary(20.0, 10, 2),
        20,
        &compare,
        "worse than the stable version",
    )
    .await;
}

/// `judge: compare` without `max-p99-latency` on ECS's own canary: a new revision with no 5xx
/// but a p99 of 160 ms against the stable version's 50 ms is caught by its share of the
/// requests slower than the stable version's p99 from before the rollout.
#[tokio::test(flavor = "multi_thread")]
async fn a_slow_canary_is_caught_by_the_latency_comparison_and_rolled_back_by_ecs() {
    let compare = [("judge", "compare"), ("max-5xx-rate", "off")];
    let slow = serde_json::json!({"p99_ms": 160, "mean_ms": 40});
    caught_by_scenario(
        "native-slow",
        canary(20.0, 10, 2),
        (20, slow),
        &compare,
        "slower than the stable version: ",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_during_the_bake_stops_the_deployment_with_rollback_before_exiting() {
    let aws = Aws::new("native_term").await;
    let config = ecs::DeploymentConfiguration::builder()
        .strategy(ecs::DeploymentStrategy::BlueGreen)
        .bake_time_in_minutes(30);
    let n = native(&aws, "native-term", config).await;
    aws.push_image(&n.repo, "v2").await;
    let before = n.running(&aws).await;
    let image = Aws::image_uri(&n.repo, "v2");
    let child = spawn_action(&aws, &inputs(&n, &image, &[]), &[]);
    let t = Instant::now();
    while !Sim::shared()
        .get("/_sim/events")
        .as_array()
        .into_iter()
        .flatten()
        .any(|e| {
            e["type"] == "service_deployment_stage"
                && e["stage"] == "BAKE_TIME"
                && e["arn"].as_str().is_some_and(|a| a.contains("c-native-term"))
        })
    {
        assert!(t.elapsed() < Duration::from_secs(60), "never reached the bake");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let signalled = support::epoch_now();
    child.signal("TERM");
    let run = child.wait();
    assert_eq!(run.output("outcome"), "cancelled", "{}", run.stdout);
    let took = support::seconds_until_call(&aws.access_key, "StopServiceDeployment", signalled);
    assert!(
        took < 2.0,
        "StopServiceDeployment {took:.2} s after SIGTERM (within 2 s of real time)"
    );
    // The deploy ends with the lock's release; only the record of how it ended (the new
    // revision tagged `cancelled`) follows.
    let calls = mutations(&aws.access_key);
    let deploy_end = match calls.last().map(String::as_str) {
        Some("TagResource") => &calls[..calls.len() - 1],
        _ => &calls[..],
    };
    assert_eq!(
        deploy_end.last().map(String::as_str),
        Some("PutParameter"),
        "the lock goes last: {calls:?}"
    );
    assert!(calls.contains(&"StopServiceDeployment".to_string()), "{calls:?}");
    // ECS finishes the rollback after the process is gone.
    let t = Instant::now();
    while n.running(&aws).await != before || n.weights(&aws, &n.prod_rule).await != (100, 0) {
        assert!(t.elapsed() < Duration::from_secs(30), "ECS never rolled back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// SIGTERM while ECS is in CLEAN_UP (issue 29, item 9): the previous revision's tasks are
/// already stopping, so a rollback would send production to their draining target group (the
/// simulator answers that with 503s until they are started again). The run leaves ECS to
/// finish, says so, and never calls StopServiceDeployment.
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_in_clean_up_leaves_ecs_to_finish_rather_than_send_production_to_draining_tasks() {
    let aws = Aws::new("native_cleanup").await;
    let n = native(&aws, "native-cu", blue_green(0)).await;
    aws.push_image(&n.repo, "v2").await;
    let before = n.running(&aws).await;
    let image = Aws::image_uri(&n.repo, "v2");
    let child = spawn_action(&aws, &inputs(&n, &image, &[]), &[]);
    let ecs = aws_sdk_ecs::Client::new(&aws.config);
    let t = Instant::now();
    loop {
        let stopping = ecs
            .list_tasks()
            .cluster(&n.cluster)
            .service_name(&n.service)
            .desired_status(ecs::DesiredStatus::Stopped)
            .send()
            .await
            .expect("ListTasks");
        let in_clean_up = Sim::shared()
            .get("/_sim/events")
            .as_array()
            .into_iter()
            .flatten()
            .any(|e| {
                e["type"] == "service_deployment_stage"
                    && e["stage"] == "CLEAN_UP"
                    && e["arn"].as_str().is_some_and(|a| a.contains("c-native-cu"))
            });
        if in_clean_up && !stopping.task_arns().is_empty() {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(90), "never reached CLEAN_UP");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.signal("TERM");
    let run = child.wait();
    assert_eq!(run.output("outcome"), "cancelled", "{}", run.stdout);
    assert!(run.stdout.contains("CLEAN_UP"), "{}", run.stdout);
    let calls = mutations(&aws.access_key);
    assert!(!calls.contains(&"StopServiceDeployment".to_string()), "{calls:?}");
    // ECS finishes with production on the new revision.
    let t = Instant::now();
    while n.weights(&aws, &n.prod_rule).await != (0, 100) || n.running(&aws).await == before {
        assert!(t.elapsed() < Duration::from_secs(30), "ECS never finished");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pause_hook_pauses_the_run_and_a_gated_rerun_continues_it() {
    let aws = Aws::new("native_pause").await;
    let config = ecs::DeploymentConfiguration::builder()
        .strategy(ecs::DeploymentStrategy::Linear)
        .bake_time_in_minutes(1)
        .linear_configuration(
            ecs::LinearConfiguration::builder()
                .step_percent(50.0)
                .step_bake_time_in_minutes(2)
                .build(),
        )
        .lifecycle_hooks(
            ecs::DeploymentLifecycleHook::builder()
                .target_type(ecs::DeploymentLifecycleHookTargetType::Pause)
                .lifecycle_stages(ecs::DeploymentLifecycleHookStage::PostTestTrafficShift)
                .build(),
        );
    let n = native(&aws, "native-pause", config).await;
    aws.push_image(&n.repo, "v2").await;
    let image = Aws::image_uri(&n.repo, "v2");
    let run = run_action(&aws, &inputs(&n, &image, &[]), &[]);
    run.assert_code(0);
    assert_eq!(run.output("outcome"), "paused", "{}", run.stdout);
    assert!(run.stdout.contains("on-split: continue"), "{}", run.stdout);
    assert_eq!(
        n.weights(&aws, &n.test_rule).await,
        (0, 100),
        "test traffic is on the new revision"
    );
    assert_eq!(n.weights(&aws, &n.prod_rule).await, (100, 0), "production is not");
    let again = run_action(&aws, &inputs(&n, &image, &[("on-split", "continue")]), &[]);
    again.assert_code(0);
    assert_eq!(again.output("outcome"), "success", "{}", again.stdout);
    assert!(
        again.stdout.contains("continuing service deployment"),
        "{}",
        again.stdout
    );
    assert_eq!(n.weights(&aws, &n.prod_rule).await, (0, 100));
    assert!(again.stdout.contains("analysis at 50%"), "{}", again.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_parameter_the_strategy_cannot_take_is_refused_before_any_change() {
    let aws = Aws::new("native_input").await;
    let n = native(&aws, "native-input", canary(10.0, 1, 1)).await;
    aws.push_image(&n.repo, "v2").await;
    let image = Aws::image_uri(&n.repo, "v2");
    let run = run_action(&aws, &inputs(&n, &image, &[("native-linear-percent", "20%")]), &[]);
    run.assert_code(1);
    assert!(
        run.stdout.contains("native-linear-percent") && run.stdout.contains("CANARY"),
        "{}",
        run.stdout
    );
    assert_eq!(mutations(&aws.access_key), Vec::<String>::new(), "nothing was changed");
    let run = run_action(&aws, &inputs(&n, &image, &[("wait-until", "shifted")]), &[]);
    run.assert_code(1);
    assert!(
        run.stdout.contains("no deployment alarms with rollback"),
        "{}",
        run.stdout
    );
    assert_eq!(mutations(&aws.access_key), Vec::<String>::new(), "nothing was changed");
    // A smoke check ECS would not wait for (no pause hook before production) is refused too.
    let health = Sim::shared().url("/_sim/health");
    let run = run_action(&aws, &inputs(&n, &image, &[("smoke-url", &health)]), &[]);
    run.assert_code(1);
    assert!(
        run.stdout
            .contains("would shift production without waiting for `smoke-url`"),
        "{}",
        run.stdout
    );
    assert_eq!(mutations(&aws.access_key), Vec::<String>::new(), "nothing was changed");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_runner_leaves_ecs_alarm_rollback_protecting_and_a_rerun_converges() {
    let aws = Aws::new("native_kill").await;
    let test = "native-kill";
    let alarm = format!("{test}-green-5xx");
    let config = canary(20.0, 10, 2).alarms(
        ecs::DeploymentAlarms::builder()
            .alarm_names(&alarm)
            .enable(true)
            .rollback(true)
            .build()
            .expect("alarms"),
    );
    let n = native(&aws, test, config).await;
    // The alarm watches the target group the new revision starts in (the alternate).
    let lb = aws
        .elb
        .describe_target_groups()
        .target_group_arns(&n.green_tg)
        .send()
        .await
        .expect("DescribeTargetGroups");
    let lb_arn = lb.target_groups()[0].load_balancer_arns()[0].clone();
    let dim = |name: &str, value: &str| {
        aws_sdk_cloudwatch::types::Dimension::builder()
            .name(name)
            .value(value)
            .build()
    };
    let cw = aws_sdk_cloudwatch::Client::new(&aws.config);
    cw.put_metric_alarm()
        .alarm_name(&alarm)
        .namespace("AWS/ApplicationELB")
        .metric_name("HTTPCode_Target_5XX_Count")
        .dimensions(dim("TargetGroup", n.green_tg.rsplit(':').next().unwrap()))
        .dimensions(dim("LoadBalancer", lb_arn.split(":loadbalancer/").nth(1).unwrap()))
        .statistic(aws_sdk_cloudwatch::types::Statistic::Sum)
        .period(60)
        .evaluation_periods(1)
        .threshold(5.0)
        .comparison_operator(aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanThreshold)
        .send()
        .await
        .expect("PutMetricAlarm");
    let bad = aws.push_image(&n.repo, "bad").await;
    Sim::shared().scenario(&bad, serde_json::json!({"error_rate": 0.3}));
    let before = n.running(&aws).await;
    let image = Aws::image_uri(&n.repo, "bad");
    // Nothing of the action's own analysis may beat the alarm to it: thresholds off.
    let child = spawn_action(
        &aws,
        &inputs(&n, &image, &[("max-5xx-rate", "off"), ("min-requests", "100000")]),
        &[],
    );
    let t = Instant::now();
    while n.weights(&aws, &n.prod_rule).await != (80, 20) {
        assert!(t.elapsed() < Duration::from_secs(60), "the canary never started");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    child.signal("KILL");
    let _ = child.wait();
    // The job is gone; ECS's own alarm rollback still protects production.
    let t = Instant::now();
    while !n
        .deployments()
        .iter()
        .any(|e| e["type"] == "service_deployment_finished" && e["status"] == "ROLLBACK_SUCCESSFUL")
    {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "ECS never rolled back on the alarm"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let rollback = n
        .deployments()
        .into_iter()
        .find(|e| e["type"] == "service_deployment_rollback")
        .expect("a rollback");
    assert!(rollback["reason"].as_str().unwrap().contains(&alarm), "{rollback}");
    assert_eq!(n.weights(&aws, &n.prod_rule).await, (100, 0));
    assert_eq!(n.running(&aws).await, before);
    // A re-run (attempt 2 of the run: it takes over its own lock) deploys a good release once
    // the alarm is quiet: still firing, it would roll the re-run back too, as on AWS.
    let t = Instant::now();
    while alarm_state(&cw, &alarm).await == "ALARM" {
        assert!(t.elapsed() < Duration::from_secs(60), "the alarm never cleared");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    aws.push_image(&n.repo, "v2").await;
    let good = Aws::image_uri(&n.repo, "v2");
    let run = run_action(&aws, &inputs(&n, &good, &[]), &[("GITHUB_RUN_ATTEMPT", "2")]);
    assert_eq!(run.output("outcome"), "success", "{}", run.stdout);
    assert_eq!(n.weights(&aws, &n.prod_rule).await, (0, 100));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_smoke_check_answers_the_test_traffic_hook() {
    let aws = Aws::new("native_smoke").await;
    let hooked = || {
        blue_green(1).lifecycle_hooks(
            ecs::DeploymentLifecycleHook::builder()
                .target_type(ecs::DeploymentLifecycleHookTargetType::Pause)
                .lifecycle_stages(ecs::DeploymentLifecycleHookStage::PostTestTrafficShift)
                .build(),
        )
    };
    let n = native(&aws, "native-smoke", hooked()).await;
    aws.push_image(&n.repo, "v2").await;
    let image = Aws::image_uri(&n.repo, "v2");
    let health = Sim::shared().url("/_sim/health");
    let run = run_action(&aws, &inputs(&n, &image, &[("smoke-url", &health)]), &[]);
    assert_eq!(run.output("outcome"), "success", "{}", run.stdout);
    assert!(run.stdout.contains("smoke check of"), "{}", run.stdout);
    let before = n.running(&aws).await;
    aws.push_image(&n.repo, "v3").await;
    let image = Aws::image_uri(&n.repo, "v3");
    let missing = Sim::shared().url("/_sim/no-such-page");
    let run = run_action(
        &aws,
        &inputs(&n, &image, &[("smoke-url", &missing), ("smoke-timeout", "2s")]),
        &[],
    );
    run.assert_code(1);
    assert!(
        run.output("rolled-back-reason").contains("smoke check"),
        "{}",
        run.stdout
    );
    assert_eq!(n.running(&aws).await, before);
    assert_eq!(
        n.weights(&aws, &n.prod_rule).await,
        (0, 100),
        "production never moved off v2"
    );
}

/// ECS asks a PRE_PRODUCTION_TRAFFIC_SHIFT hook "before every traffic shift step" of a LINEAR
/// deployment (API Reference): the first answer is the smoke check's, the next the judgement of
/// what 50% served, on every minute CloudWatch published of it.
#[tokio::test(flavor = "multi_thread")]
async fn a_pre_production_hook_is_judged_and_answered_at_every_linear_step() {
    let aws = Aws::new("native_steps").await;
    let config = linear(50.0, 1, 1).lifecycle_hooks(
        ecs::DeploymentLifecycleHook::builder()
            .target_type(ecs::DeploymentLifecycleHookTargetType::Pause)
            .lifecycle_stages(ecs::DeploymentLifecycleHookStage::PreProductionTrafficShift)
            .build(),
    );
    let n = native(&aws, "native-steps", config).await;
    aws.push_image(&n.repo, "v2").await;
    let image = Aws::image_uri(&n.repo, "v2");
    let health = Sim::shared().url("/_sim/health");
    let run = run_action(&aws, &inputs(&n, &image, &[("smoke-url", &health)]), &[]);
    run.assert_code(0);
    assert_eq!(run.output("outcome"), "success", "{}", run.stdout);
    assert!(run.stdout.contains("smoke check of"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("50% judged on every minute CloudWatch published of it; answering"),
        "{}",
        run.stdout
    );
    let events = Sim::shared().get("/_sim/events");
    let continued: Vec<_> = events
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["type"] == "hook_continued")
        .filter(|e| {
            e["arn"]
                .as_str()
                .is_some_and(|a| a.contains(&format!("/{}/", n.cluster)))
        })
        .collect();
    assert_eq!(continued.len(), 2, "one answer before each step: {continued:?}");
    assert_eq!(n.weights(&aws, &n.prod_rule).await, (0, 100));
    assert!(run.summary.contains("| 50% |"), "{}", run.summary);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deployment_left_paused_is_rolled_back_before_a_new_release_deploys() {
    let aws = Aws::new("native_left").await;
    let config = blue_green(1).lifecycle_hooks(
        ecs::DeploymentLifecycleHook::builder()
            .target_type(ecs::DeploymentLifecycleHookTargetType::Pause)
            .lifecycle_stages(ecs::DeploymentLifecycleHookStage::PreProductionTrafficShift)
            .build(),
    );
    let n = native(&aws, "native-left", config).await;
    aws.push_image(&n.repo, "v2").await;
    let run = run_action(&aws, &inputs(&n, &Aws::image_uri(&n.repo, "v2"), &[]), &[]);
    assert_eq!(run.output("outcome"), "paused", "{}", run.stdout);
    // Another release, without on-split: continue: the paused one is put back first.
    let v3 = aws.push_image(&n.repo, "v3").await;
    let run = run_action(&aws, &inputs(&n, &Aws::image_uri(&n.repo, "v3"), &[]), &[]);
    assert!(run.stdout.contains("stopping it with ROLLBACK"), "{}", run.stdout);
    assert_eq!(
        run.output("outcome"),
        "paused",
        "the new release pauses at the hook too"
    );
    assert!(
        mutations(&aws.access_key).contains(&"ContinueServiceDeployment".to_string()),
        "the paused one was answered ROLLBACK at its hook"
    );
    let rolled: Vec<_> = n
        .deployments()
        .into_iter()
        .filter(|e| e["status"] == "ROLLBACK_SUCCESSFUL")
        .collect();
    assert_eq!(rolled.len(), 1, "the first deployment was rolled back");
    let again = run_action(
        &aws,
        &inputs(&n, &Aws::image_uri(&n.repo, "v3"), &[("on-split", "continue")]),
        &[],
    );
    assert_eq!(again.output("outcome"), "success", "{}", again.stdout);
    let (td, _) = aws.task_definition(&n.running(&aws).await).await;
    assert!(td.container_definitions()[0].image().unwrap().ends_with(&v3));
}

/// Throttling and 5xx on the service-deployment calls (ridden out by retries and the
/// follower's polling) never turn a caught release into a false success or a split.
#[tokio::test(flavor = "multi_thread")]
async fn faults_on_the_service_deployment_calls_still_end_rolled_back() {
    let aws = Aws::new("native_faults").await;
    let n = native(&aws, "native-faults", canary(20.0, 10, 2)).await;
    let bad = aws.push_image(&n.repo, "bad").await;
    Sim::shared().scenario(&bad, serde_json::json!({"error_rate": 0.2}));
    let before = n.running(&aws).await;
    let key = aws.access_key.clone();
    Sim::shared().put(
        &format!("/_sim/faults?access_key={key}"),
        serde_json::json!([
            {"operation": "DescribeServiceDeployments", "kind": "5xx", "rate": 0.5},
            // A bounded burst: at rate 0.5 the preflight's one call could exhaust the SDK's
            // retries by chance (CI saw it) and end the run before any change, not the case.
            {"operation": "ListServiceDeployments", "kind": "throttle", "count": 2},
            {"operation": "StopServiceDeployment", "kind": "throttle", "count": 2},
        ]),
    );
    let run = run_action(&aws, &inputs(&n, &Aws::image_uri(&n.repo, "bad"), &[]), &[]);
    let _ = ureq::delete(&Sim::shared().url(&format!("/_sim/faults?access_key={key}"))).call();
    assert_eq!(run.output("outcome"), "failure", "{}", run.stdout);
    let reason = run.output("rolled-back-reason");
    assert!(
        reason.contains("analysis failed at 20% traffic"),
        "{reason}\n{}",
        run.stdout
    );
    assert!(!run.summary.contains("NOT rolled back"), "{}", run.summary);
    assert_eq!(n.weights(&aws, &n.prod_rule).await, (100, 0));
    assert_eq!(n.running(&aws).await, before);
    // Other callers read Parameter Store's writes late (the simulator's read lag): poll briefly.
    let arn = aws
        .service(&n.cluster, &n.service)
        .await
        .service_arn()
        .unwrap()
        .to_string();
    let t = Instant::now();
    while aws.lock_held(&arn).await.is_some() {
        assert!(t.elapsed() < Duration::from_secs(5), "a lock was left behind");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn wait_until_shifted_returns_once_production_is_on_the_new_revision_and_says_what_is_unwatched() {
    let aws = Aws::new("native_shifted").await;
    let alarm = "native-shifted-guard".to_string();
    let cw = aws_sdk_cloudwatch::Client::new(&aws.config);
    cw.put_metric_alarm()
        .alarm_name(&alarm)
        .namespace("AWS/ApplicationELB")
        .metric_name("HTTPCode_Target_5XX_Count")
        .statistic(aws_sdk_cloudwatch::types::Statistic::Sum)
        .period(60)
        .evaluation_periods(1)
        .threshold(1e9)
        .comparison_operator(aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanThreshold)
        .send()
        .await
        .expect("PutMetricAlarm");
    let config = blue_green(30).alarms(
        ecs::DeploymentAlarms::builder()
            .alarm_names(&alarm)
            .enable(true)
            .rollback(true)
            .build()
            .expect("alarms"),
    );
    let n = native(&aws, "native-shifted", config).await;
    aws.push_image(&n.repo, "v2").await;
    let image = Aws::image_uri(&n.repo, "v2");
    let run = run_action(&aws, &inputs(&n, &image, &[("wait-until", "shifted")]), &[]);
    run.assert_code(0);
    assert_eq!(run.output("outcome"), "success", "{}", run.stdout);
    assert!(
        run.stdout.contains("not watched by this action") && run.stdout.contains(&alarm),
        "{}",
        run.stdout
    );
    assert!(
        run.summary.contains("not watched by this action"),
        "the report says it: {}",
        run.summary
    );
    assert_eq!(n.weights(&aws, &n.prod_rule).await, (0, 100));
    assert!(
        !n.deployments()
            .iter()
            .any(|e| e["type"] == "service_deployment_finished"),
        "ECS is still baking (30 minutes) when the job is done"
    );
}

/// A chain whose prod stage is an ECS-native service: dev (rolling) → prod (CANARY), prod
/// getting exactly the release that passed dev, through the same plan and reports.
#[tokio::test(flavor = "multi_thread")]
async fn an_ecs_native_service_is_a_chain_stage_like_any_other() {
    use support::github::{GitHub, TOKEN};
    const REPO: &str = "acme/native-chain";
    let aws = Aws::new("native_chain").await;
    let n = native(&aws, "native-chain", canary(20.0, 2, 1)).await;
    // dev: a rolling service on the same repository.
    let dev_cluster = "c-native-chain-dev";
    aws.create_cluster(dev_cluster).await;
    let td = aws
        .register("native-chain-dev-api", &[("app", &Aws::image_uri(&n.repo, "v1"))])
        .await;
    aws.create_service(dev_cluster, "api", &td, 1).await;
    GitHub::shared().seed(REPO, serde_json::json!({"environments": {"dev": {}, "prod": {}}}));
    let config = tempfile::NamedTempFile::new().unwrap();
    let uri = Aws::image_uri(&n.repo, "x");
    let repository = uri.rsplit_once(':').unwrap().0;
    std::fs::write(
        config.path(),
        format!(
            "repository: {repository}\nstages:\n  - name: dev\n    cluster: {dev_cluster}\n    services: [api]\n  - name: prod\n    cluster: {}\n    services: [api]\n    analysis-interval: 1s\n    min-requests: 10\n",
            n.cluster
        ),
    )
    .unwrap();
    let run = |inputs: Vec<(&str, &str)>, event_name: &str| {
        let g = GitHub::shared();
        let event = support::github::event(event_name, REPO, |_| {});
        let event_path = event.path().to_str().unwrap().to_string();
        let mut all = vec![("config", config.path().to_str().unwrap()), ("github-token", TOKEN)];
        all.extend(inputs);
        spawn_action(
            &aws,
            &all,
            &[
                ("GITHUB_API_URL", g.api.as_str()),
                ("GITHUB_REPOSITORY", REPO),
                ("GITHUB_EVENT_NAME", event_name),
                ("GITHUB_EVENT_PATH", &event_path),
            ],
        )
        .wait()
    };
    let digest = aws.push_image(&n.repo, "v2").await;
    let image = Aws::image_uri(&n.repo, "v2");
    let dev = run(vec![("stage", "dev"), ("image", &image)], "pull_request");
    assert_eq!(dev.output("outcome"), "success", "{}", dev.stdout);
    let prod = run(vec![("stage", "prod")], "workflow_dispatch");
    assert_eq!(prod.output("outcome"), "success", "{}", prod.stdout);
    assert!(prod.stdout.contains("follow-service-deployment"), "{}", prod.stdout);
    assert_eq!(n.weights(&aws, &n.prod_rule).await, (0, 100));
    let (td, _) = aws.task_definition(&n.running(&aws).await).await;
    assert!(
        td.container_definitions()[0].image().unwrap().ends_with(&digest),
        "prod runs what passed dev"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rerun_with_on_split_continue_follows_the_killed_runs_canary_to_the_end() {
    let aws = Aws::new("native_resume").await;
    let n = native(&aws, "native-resume", canary(20.0, 5, 1)).await;
    aws.push_image(&n.repo, "v2").await;
    let image = Aws::image_uri(&n.repo, "v2");
    let child = spawn_action(&aws, &inputs(&n, &image, &[]), &[]);
    let t = Instant::now();
    while n.weights(&aws, &n.prod_rule).await != (80, 20) {
        assert!(t.elapsed() < Duration::from_secs(60), "the canary never started");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    child.signal("KILL");
    let _ = child.wait();
    let again = run_action(
        &aws,
        &inputs(&n, &image, &[("on-split", "continue")]),
        &[("GITHUB_RUN_ATTEMPT", "2")],
    );
    assert_eq!(again.output("outcome"), "success", "{}", again.stdout);
    assert!(again.stdout.contains("of this release again"), "{}", again.stdout);
    assert!(!again.stdout.contains("stopping it with ROLLBACK"), "{}", again.stdout);
    assert_eq!(n.weights(&aws, &n.prod_rule).await, (0, 100));
    let started: Vec<_> = Sim::shared()
        .get("/_sim/events")
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| {
            e["type"] == "service_deployment_started"
                && e["service"].as_str().is_some_and(|s| s.contains("c-native-resume"))
        })
        .cloned()
        .collect();
    assert_eq!(started.len(), 1, "one deployment, followed by two runs");
}

/// A team's first step: only `cluster`, `services` and `image`, every other input at
/// action.yml's default, as the runner passes them. The service's own CANARY strategy runs.
#[tokio::test(flavor = "multi_thread")]
async fn only_the_required_inputs_deploy_an_ecs_native_canary() {
    let aws = Aws::new("native_min").await;
    let n = native(&aws, "native-min", canary(10.0, 2, 1)).await;
    let v2 = aws.push_image(&n.repo, "v2").await;
    let image = Aws::image_uri(&n.repo, "v2");
    let required = [
        ("cluster", n.cluster.as_str()),
        ("services", n.service.as_str()),
        ("image", image.as_str()),
    ];
    let run = run_action(&aws, &required, &[]);
    run.assert_code(0);
    assert_eq!(run.output("outcome"), "success", "{}", run.stdout);
    assert_eq!(n.weights(&aws, &n.prod_rule).await, (0, 100));
    let (td, _) = aws.task_definition(&n.running(&aws).await).await;
    assert!(td.container_definitions()[0].image().unwrap().ends_with(&v2));
}

/// Settings ECS's own deployment cannot honour (capability table): each refused before any
/// change, with the setting, the controller and the alternative named. `desired-count` was
/// silently ignored before; `bake-time` was too. `early-pass` cannot be: ECS sets each step's end.
#[tokio::test(flavor = "multi_thread")]
async fn settings_ecs_native_cannot_honour_are_refused_before_any_change() {
    let aws = Aws::new("native_count").await;
    let n = native(&aws, "native-count", canary(10.0, 2, 1)).await;
    aws.push_image(&n.repo, "v2").await;
    let image = Aws::image_uri(&n.repo, "v2");
    for (input, value, instead) in [
        ("desired-count", "4", "desired count"),
        ("bake-time", "10m", "native-canary-bake"),
        ("early-pass", "true", "pass early"),
        ("canary-steps", "5,100", "native-canary-percent"),
        ("codedeploy-config", "CodeDeployDefault.ECSAllAtOnce", "CODE_DEPLOY"),
    ] {
        let run = run_action(&aws, &inputs(&n, &image, &[(input, value)]), &[]);
        run.assert_code(1);
        let errors: Vec<&str> = run.stdout.lines().filter(|l| l.starts_with("::error")).collect();
        assert!(
            errors
                .iter()
                .any(|e| e.contains(&format!("`{input}`")) && e.contains("ECS-native") && e.contains(instead)),
            "{input}: {}",
            run.stdout
        );
        assert_eq!(
            mutations(&aws.access_key),
            Vec::<String>::new(),
            "{input}: nothing changed"
        );
    }
}

/// Auto scaling is held still for an ECS-native deploy too (`suspend-auto-scaling`, on by
/// default), and put back when it ends.
#[tokio::test(flavor = "multi_thread")]
async fn auto_scaling_is_suspended_for_the_deploy_and_resumed() {
    use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
    let aws = Aws::new("native_scale").await;
    let n = native(&aws, "native-scale", canary(10.0, 2, 1)).await;
    let scaling = aws_sdk_applicationautoscaling::Client::new(&aws.config);
    let resource = format!("service/{}/{}", n.cluster, n.service);
    scaling
        .register_scalable_target()
        .service_namespace(ServiceNamespace::Ecs)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .resource_id(&resource)
        .min_capacity(2)
        .max_capacity(6)
        .send()
        .await
        .expect("RegisterScalableTarget");
    aws.push_image(&n.repo, "v2").await;
    let image = Aws::image_uri(&n.repo, "v2");
    let run = run_action(&aws, &inputs(&n, &image, &[]), &[]);
    run.assert_code(0);
    let calls: Vec<serde_json::Value> = Sim::shared()
        .calls(&aws.access_key)
        .into_iter()
        .filter(|c| c["mutating"] == true)
        .collect();
    let ops: Vec<&str> = calls
        .iter()
        .map(|c| c["operation"].as_str().unwrap_or_default())
        .collect();
    let registrations: Vec<usize> = ops
        .iter()
        .enumerate()
        .filter(|(_, o)| **o == "RegisterScalableTarget")
        .map(|(i, _)| i)
        .collect();
    let update = ops.iter().position(|o| *o == "UpdateService").expect("UpdateService");
    assert!(
        registrations.len() == 2 && registrations[0] < update && registrations[1] > update,
        "suspended before UpdateService and resumed after: {ops:?}"
    );
    let out = scaling
        .describe_scalable_targets()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_ids(&resource)
        .send()
        .await
        .unwrap();
    let t = &out.scalable_targets()[0];
    let s = t.suspended_state().expect("suspended state");
    assert_eq!(
        (
            s.dynamic_scaling_in_suspended(),
            s.dynamic_scaling_out_suspended(),
            s.scheduled_scaling_suspended()
        ),
        (Some(false), Some(false), Some(false)),
        "resumed"
    );
    assert_eq!((t.min_capacity(), t.max_capacity()), (2, 6), "the range as it was");
}
