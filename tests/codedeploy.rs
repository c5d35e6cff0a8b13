//! A service on the CODE_DEPLOY controller, set up as the CodeDeploy team has it (one service,
//! a blue and a green target group, CodeDeployDefault.ECSCanary10Percent5Minutes, auto-rollback
//! on two alarms, a test listener), deployed by the real binary with one step and no change to
//! that setup, against the simulator's CodeDeploy (sim/aws/codedeploy_ecs.py).
#![allow(clippy::disallowed_methods)] // tests drive real processes and servers in real time

mod support;

use std::time::{Duration, Instant};

use aws_sdk_codedeploy::types as cd;
use aws_sdk_ecs::types as ecs;
use aws_sdk_elasticloadbalancingv2::types as elb;
use support::{mutations, run_action, spawn_action, Aws, Sim};

struct Team {
    cluster: String,
    repo: String,
    blue_tg: String,
    green_tg: String,
    prod: String,
    alarms: [String; 2],
}

const CANARY: &str = "CodeDeployDefault.ECSCanary10Percent5Minutes";

async fn team(aws: &Aws, test: &str, wait_minutes: i32) -> Team {
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
    let mut listeners = Vec::new();
    for port in [80, 8080] {
        let forward = elb::Action::builder()
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
            .build();
        let l = aws
            .elb
            .create_listener()
            .load_balancer_arn(&lb_arn)
            .protocol(elb::ProtocolEnum::Http)
            .port(port)
            .default_actions(forward)
            .send()
            .await
            .expect("CreateListener");
        listeners.push(l.listeners()[0].listener_arn().unwrap().to_string());
    }
    aws.ecs
        .create_service()
        .cluster(&cluster)
        .service_name("api")
        .task_definition(&td)
        .desired_count(2)
        .launch_type(ecs::LaunchType::Fargate)
        .deployment_controller(
            ecs::DeploymentController::builder()
                .r#type(ecs::DeploymentControllerType::CodeDeploy)
                .build()
                .unwrap(),
        )
        .load_balancers(
            ecs::LoadBalancer::builder()
                .target_group_arn(&tgs[0])
                .container_name("app")
                .container_port(8080)
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
        .send()
        .await
        .expect("CreateService");
    aws.wait_stable(&cluster, "api").await;
    // Two alarms on the green target group, as the team has them (quiet unless a test trips them).
    let cw = aws_sdk_cloudwatch::Client::new(&aws.config);
    let dim = |name: &str, value: &str| {
        aws_sdk_cloudwatch::types::Dimension::builder()
            .name(name)
            .value(value)
            .build()
    };
    let alarms = [format!("{test}-5xx"), format!("{test}-latency")];
    for (alarm, metric, stat, threshold) in [
        (
            &alarms[0],
            "HTTPCode_Target_5XX_Count",
            aws_sdk_cloudwatch::types::Statistic::Sum,
            1e9,
        ),
        (
            &alarms[1],
            "TargetResponseTime",
            aws_sdk_cloudwatch::types::Statistic::Average,
            1e9,
        ),
    ] {
        cw.put_metric_alarm()
            .alarm_name(alarm)
            .namespace("AWS/ApplicationELB")
            .metric_name(metric)
            .dimensions(dim("TargetGroup", tgs[1].rsplit(':').next().unwrap()))
            .dimensions(dim("LoadBalancer", lb_arn.split(":loadbalancer/").nth(1).unwrap()))
            .statistic(stat)
            .period(60)
            .evaluation_periods(1)
            .threshold(threshold)
            .comparison_operator(aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanThreshold)
            .send()
            .await
            .expect("PutMetricAlarm");
    }
    let cdc = aws_sdk_codedeploy::Client::new(&aws.config);
    cdc.create_application()
        .application_name(test)
        .compute_platform(cd::ComputePlatform::Ecs)
        .send()
        .await
        .expect("CreateApplication");
    let route = |arn: &str| cd::TrafficRoute::builder().listener_arns(arn).build();
    cdc.create_deployment_group()
        .application_name(test)
        .deployment_group_name(format!("{test}-dg"))
        .service_role_arn("arn:aws:iam::123456789012:role/codedeploy-ecs")
        .deployment_config_name(CANARY)
        .deployment_style(
            cd::DeploymentStyle::builder()
                .deployment_type(cd::DeploymentType::BlueGreen)
                .deployment_option(cd::DeploymentOption::WithTrafficControl)
                .build(),
        )
        .blue_green_deployment_configuration(
            cd::BlueGreenDeploymentConfiguration::builder()
                .terminate_blue_instances_on_deployment_success(
                    cd::BlueInstanceTerminationOption::builder()
                        .action(cd::InstanceAction::Terminate)
                        .termination_wait_time_in_minutes(wait_minutes)
                        .build(),
                )
                .build(),
        )
        .ecs_services(
            cd::EcsService::builder()
                .service_name("api")
                .cluster_name(&cluster)
                .build(),
        )
        .load_balancer_info(
            cd::LoadBalancerInfo::builder()
                .target_group_pair_info_list(
                    cd::TargetGroupPairInfo::builder()
                        .target_groups(cd::TargetGroupInfo::builder().name(format!("b-{test}")).build())
                        .target_groups(cd::TargetGroupInfo::builder().name(format!("g-{test}")).build())
                        .prod_traffic_route(route(&listeners[0]))
                        .test_traffic_route(route(&listeners[1]))
                        .build(),
                )
                .build(),
        )
        .alarm_configuration(
            cd::AlarmConfiguration::builder()
                .enabled(true)
                .alarms(cd::Alarm::builder().name(&alarms[0]).build())
                .alarms(cd::Alarm::builder().name(&alarms[1]).build())
                .build(),
        )
        .auto_rollback_configuration(
            cd::AutoRollbackConfiguration::builder()
                .enabled(true)
                .events(cd::AutoRollbackEvent::DeploymentFailure)
                .events(cd::AutoRollbackEvent::DeploymentStopOnAlarm)
                .build(),
        )
        .send()
        .await
        .expect("CreateDeploymentGroup");
    Team {
        cluster,
        repo,
        blue_tg: tgs[0].clone(),
        green_tg: tgs[1].clone(),
        prod: listeners[0].clone(),
        alarms,
    }
}

impl Team {
    async fn weights(&self, aws: &Aws) -> (i32, i32) {
        let out = aws
            .elb
            .describe_listeners()
            .listener_arns(&self.prod)
            .send()
            .await
            .expect("DescribeListeners");
        let groups = out.listeners()[0].default_actions()[0]
            .forward_config()
            .unwrap()
            .target_groups();
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
        aws.service(&self.cluster, "api")
            .await
            .task_definition()
            .unwrap_or_default()
            .to_string()
    }
}

fn inputs<'a>(
    t: &'a Team,
    test: &'a str,
    group: &'a str,
    image: &'a str,
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut v = vec![
        ("cluster", t.cluster.as_str()),
        ("services", "api"),
        ("image", image),
        ("codedeploy-application", test),
        ("codedeploy-deployment-group", group),
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

fn events(kind: &str) -> Vec<serde_json::Value> {
    Sim::shared()
        .get("/_sim/events")
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["type"] == kind)
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_codedeploy_teams_setup_deploys_with_one_step() {
    // Under exactly the pieces of iam/ a CodeDeploy service needs.
    let aws = Aws::with_pieces("cd_ok", &["core", "codedeploy", "metrics"]).await;
    let test = "cd-ok";
    let t = team(&aws, test, 2).await;
    let group = format!("{test}-dg");
    let v2 = aws.push_image(&t.repo, "v2").await;
    let image = Aws::image_uri(&t.repo, "v2");
    let plan = run_action(&aws, &inputs(&t, test, &group, &image, &[("command", "plan")]), &[]);
    plan.assert_code(0);
    assert!(plan.stdout.contains(&format!("2/3 create-codedeploy-deployment: deploy the new revision to api through CodeDeploy deployment group {test}/{group}")), "{}", plan.stdout);
    assert!(plan.stdout.contains(CANARY), "{}", plan.stdout);
    assert_eq!(mutations(&aws.access_key), Vec::<String>::new());
    let run = run_action(&aws, &inputs(&t, test, &group, &image, &[]), &[]);
    run.assert_code(0);
    assert_eq!(run.output("outcome"), "success", "{}", run.stdout);
    assert_eq!(t.weights(&aws).await, (0, 100));
    let (td, _) = aws.task_definition(&t.running(&aws).await).await;
    assert!(td.container_definitions()[0].image().unwrap().ends_with(&v2));
    assert!(run.stdout.contains("AllowTraffic (10% of production"), "{}", run.stdout);
    assert!(run.summary.contains("| 10% |"), "{}", run.summary);
    assert!(
        run.summary.contains("| 100% |"),
        "judged in the termination wait too:\n{}",
        run.summary
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_release_is_caught_by_the_analysis_and_rolled_back_by_codedeploy() {
    caught_at_10_percent("cd_bad", "cd-bad", &[], "analysis failed at 10% traffic").await;
}

/// `judge: compare` with no absolute gate: the rollout's sequential test of the replacement's
/// share of the 5xx stops the 10% canary.
#[tokio::test(flavor = "multi_thread")]
async fn a_bad_release_is_caught_by_the_comparison_and_rolled_back_by_codedeploy() {
    let compare = [("judge", "compare"), ("max-5xx-rate", "off")];
    caught_at_10_percent("cd_cmp", "cd-cmp", &compare, "worse than the stable version").await;
}

/// A release with 10% 5xx on a 10%, 5-minute canary is stopped at 10% and rolled back by
/// CodeDeploy; the reason names `why`.
async fn caught_at_10_percent(key: &str, test: &str, extra: &[(&str, &str)], why: &str) {
    let aws = Aws::new(key).await;
    let t = team(&aws, test, 2).await;
    let group = format!("{test}-dg");
    let bad = aws.push_image(&t.repo, "bad").await;
    Sim::shared().scenario(&bad, serde_json::json!({"error_rate": 0.1}));
    let before = t.running(&aws).await;
    let image = Aws::image_uri(&t.repo, "bad");
    // The predefined 5-minute canary: CloudWatch publishes the canary's minutes 1-3 minutes
    // late, so they may arrive after CodeDeploy moved to 100%. The 10% window is still judged
    // on the minutes CodeDeploy served at 10%, and its failure still stops the deployment.
    let mut given = vec![("codedeploy-config", "CodeDeployDefault.ECSCanary10Percent5Minutes")];
    given.extend_from_slice(extra);
    let run = run_action(&aws, &inputs(&t, test, &group, &image, &given), &[]);
    run.assert_code(1);
    let reason = run.output("rolled-back-reason");
    assert!(
        reason.contains("analysis failed at 10% traffic") && reason.contains(why),
        "{reason}\n{}",
        run.stdout
    );
    assert!(run.summary.contains("rolled back by CodeDeploy"), "{}", run.summary);
    assert!(!run.summary.contains("NOT rolled back"), "{}", run.summary);
    assert_eq!(t.weights(&aws).await, (100, 0));
    assert_eq!(t.running(&aws).await, before);
    let stopped = events("codedeploy_stopped");
    assert!(
        stopped.iter().any(|e| e["code"] == "MANUAL_STOP"),
        "stopped by the action, not an alarm: {stopped:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_in_the_termination_wait_stops_with_rollback() {
    let aws = Aws::new("cd_term").await;
    let test = "cd-term";
    let t = team(&aws, test, 30).await;
    let group = format!("{test}-dg");
    aws.push_image(&t.repo, "v2").await;
    let before = t.running(&aws).await;
    let image = Aws::image_uri(&t.repo, "v2");
    let child = spawn_action(&aws, &inputs(&t, test, &group, &image, &[("wait-timeout", "5m")]), &[]);
    let start = Instant::now();
    while t.weights(&aws).await != (0, 100) {
        assert!(start.elapsed() < Duration::from_secs(60), "never shifted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await; // into the termination wait
    let signalled = support::epoch_now();
    child.signal("TERM");
    let run = child.wait();
    assert_eq!(run.output("outcome"), "cancelled", "{}", run.stdout);
    let took = support::seconds_until_call(&aws.access_key, "StopDeployment", signalled);
    assert!(
        took < 2.0,
        "StopDeployment {took:.2} s after SIGTERM (within 2 s of real time)"
    );
    let start = Instant::now();
    while t.weights(&aws).await != (100, 0) || t.running(&aws).await != before {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "CodeDeploy never rolled back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_runner_leaves_the_group_alarms_protecting_and_a_rerun_converges() {
    let aws = Aws::new("cd_kill").await;
    let test = "cd-kill";
    let t = team(&aws, test, 5).await;
    let group = format!("{test}-dg");
    aws.push_image(&t.repo, "v2").await;
    let image = Aws::image_uri(&t.repo, "v2");
    let child = spawn_action(&aws, &inputs(&t, test, &group, &image, &[]), &[]);
    let start = Instant::now();
    while t.weights(&aws).await != (90, 10) {
        assert!(start.elapsed() < Duration::from_secs(60), "the canary never started");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    child.signal("KILL");
    let _ = child.wait();
    // The job is gone; an alarm fires; CodeDeploy stops and rolls back on its own.
    let cw = aws_sdk_cloudwatch::Client::new(&aws.config);
    cw.set_alarm_state()
        .alarm_name(&t.alarms[1])
        .state_value(aws_sdk_cloudwatch::types::StateValue::Alarm)
        .state_reason("latency")
        .send()
        .await
        .expect("SetAlarmState");
    let start = Instant::now();
    while !events("codedeploy_stopped").iter().any(|e| e["code"] == "ALARM_ACTIVE") || t.weights(&aws).await != (100, 0)
    {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "CodeDeploy's alarm rollback never came"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The alarm clears on its own data; a re-run (attempt 2 takes over its lock) converges.
    let start = Instant::now();
    loop {
        let out = cw
            .describe_alarms()
            .alarm_names(&t.alarms[1])
            .send()
            .await
            .expect("DescribeAlarms");
        if out.metric_alarms()[0].state_value() != Some(&aws_sdk_cloudwatch::types::StateValue::Alarm) {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "the alarm never cleared");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let run = run_action(
        &aws,
        &inputs(&t, test, &group, &image, &[]),
        &[("GITHUB_RUN_ATTEMPT", "2")],
    );
    assert_eq!(run.output("outcome"), "success", "{}", run.stdout);
    assert_eq!(t.weights(&aws).await, (0, 100));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_group_or_config_that_does_not_exist_is_one_clear_error_before_any_change() {
    let aws = Aws::new("cd_input").await;
    let test = "cd-input";
    let t = team(&aws, test, 0).await;
    aws.push_image(&t.repo, "v2").await;
    let image = Aws::image_uri(&t.repo, "v2");
    let run = run_action(&aws, &inputs(&t, test, "no-such-group", &image, &[]), &[]);
    run.assert_code(1);
    let errors: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("::error title=Deploy failed"))
        .collect();
    assert_eq!(errors.len(), 1, "{}", run.stdout);
    assert!(
        errors[0].contains("no-such-group") && errors[0].contains("codedeploy-deployment-group"),
        "{}",
        errors[0]
    );
    let group = format!("{test}-dg");
    let run = run_action(
        &aws,
        &inputs(&t, test, &group, &image, &[("codedeploy-config", "MyCanary")]),
        &[],
    );
    run.assert_code(1);
    assert!(run.stdout.contains("codedeploy-config"), "{}", run.stdout);
    let run = run_action(
        &aws,
        &[
            ("cluster", t.cluster.as_str()),
            ("services", "api"),
            ("image", image.as_str()),
        ],
        &[],
    );
    run.assert_code(1);
    assert!(
        run.stdout
            .contains("give `codedeploy-application` and `codedeploy-deployment-group`"),
        "{}",
        run.stdout
    );
    assert_eq!(mutations(&aws.access_key), Vec::<String>::new(), "nothing was changed");
}

/// Only what a CODE_DEPLOY service needs named (`cluster`, `services`, `image`, the application
/// and the deployment group), every other input at action.yml's default, as the runner passes
/// them.
/// Settings CodeDeploy cannot honour (capability table) are refused before any change, each
/// naming the controller and the alternative: `bake-time` and `recent-window` were silently
/// ignored here before; `early-pass` cannot be honoured (CodeDeploy ends each step).
#[tokio::test(flavor = "multi_thread")]
async fn settings_codedeploy_cannot_honour_are_refused_before_any_change() {
    let aws = Aws::new("cd_refused").await;
    let test = "cd-refused";
    let t = team(&aws, test, 0).await;
    aws.push_image(&t.repo, "v2").await;
    let image = Aws::image_uri(&t.repo, "v2");
    let group = format!("{test}-dg");
    for (input, value, instead) in [
        ("bake-time", "10m", "codedeploy-config"),
        ("recent-window", "3m", "as a whole"),
        ("early-pass", "true", "pass early"),
        (
            "listener-arn",
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/x/1/2",
            "codedeploy-config",
        ),
        ("native-linear-percent", "10%", "BLUE_GREEN, LINEAR or CANARY"),
        ("smoke-url", "http://127.0.0.1:9/health", "AppSpec hook"),
    ] {
        let run = run_action(&aws, &inputs(&t, test, &group, &image, &[(input, value)]), &[]);
        run.assert_code(1);
        let errors: Vec<&str> = run.stdout.lines().filter(|l| l.starts_with("::error")).collect();
        assert!(
            errors
                .iter()
                .any(|e| e.contains(&format!("`{input}`")) && e.contains("CODE_DEPLOY") && e.contains(instead)),
            "{input}: {}",
            run.stdout
        );
        assert_eq!(
            support::mutations(&aws.access_key),
            Vec::<String>::new(),
            "{input}: nothing changed"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn only_the_required_inputs_deploy_through_codedeploy() {
    let aws = Aws::new("cd_min").await;
    let test = "cd-min";
    let t = team(&aws, test, 2).await;
    let group = format!("{test}-dg");
    let v2 = aws.push_image(&t.repo, "v2").await;
    let image = Aws::image_uri(&t.repo, "v2");
    let required = [
        ("cluster", t.cluster.as_str()),
        ("services", "api"),
        ("image", image.as_str()),
        ("codedeploy-application", test),
        ("codedeploy-deployment-group", group.as_str()),
    ];
    let run = run_action(&aws, &required, &[]);
    run.assert_code(0);
    assert_eq!(run.output("outcome"), "success", "{}", run.stdout);
    assert_eq!(t.weights(&aws).await, (0, 100));
    let (td, _) = aws.task_definition(&t.running(&aws).await).await;
    assert!(td.container_definitions()[0].image().unwrap().ends_with(&v2));
}

/// `run-task-command` on a CODE_DEPLOY service: the migration runs from the new revision after
/// it is registered and before CodeDeploy is asked for anything (it was silently skipped).
#[tokio::test(flavor = "multi_thread")]
async fn a_migration_runs_before_codedeploy_moves_any_traffic() {
    let aws = Aws::new("cd_mig").await;
    let test = "cd-mig";
    let t = team(&aws, test, 1).await;
    let group = format!("{test}-dg");
    aws.push_image(&t.repo, "v2").await;
    let image = Aws::image_uri(&t.repo, "v2");
    let migrate = [("run-task-command", "./migrate --to latest")];
    let plan = run_action(
        &aws,
        &inputs(&t, test, &group, &image, &[migrate[0], ("command", "plan")]),
        &[],
    );
    plan.assert_code(0);
    assert!(
        plan.stdout
            .contains("2/4 run-task: run `./migrate --to latest` as a one-off task"),
        "{}",
        plan.stdout
    );
    let run = run_action(&aws, &inputs(&t, test, &group, &image, &migrate), &[]);
    run.assert_code(0);
    assert_eq!(run.output("outcome"), "success", "{}", run.stdout);
    let order: Vec<String> = mutations(&aws.access_key)
        .into_iter()
        .filter(|m| ["RegisterTaskDefinition", "RunTask", "CreateDeployment"].contains(&m.as_str()))
        .collect();
    assert_eq!(order, ["RegisterTaskDefinition", "RunTask", "CreateDeployment"]);
    let runs: Vec<serde_json::Value> = events("task_run")
        .into_iter()
        .filter(|e| {
            e["task_definition"]
                .as_str()
                .unwrap_or_default()
                .contains(&format!("/{test}-api:"))
        })
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(
        runs[0]["overrides"]["containerOverrides"][0]["command"],
        serde_json::json!(["./migrate", "--to", "latest"])
    );
    assert_eq!(
        runs[0]["task_definition"].as_str(),
        Some(t.running(&aws).await.as_str()),
        "the migration ran the revision CodeDeploy deployed"
    );
}

/// Issue 27's measurement, repeated: `make faults` runs it (ECS_DEPLOY_TRIALS sets how many).
#[tokio::test(flavor = "multi_thread")]
#[ignore = "slow: make faults"]
async fn a_bad_five_minute_canary_is_rolled_back_at_10_percent_every_time() {
    let trials: usize = std::env::var("ECS_DEPLOY_TRIALS")
        .ok()
        .and_then(|v| v.split(',').next().and_then(|n| n.parse().ok()))
        .unwrap_or(20);
    let mut caught = 0;
    for i in 0..trials {
        let aws = Aws::new(&format!("cd_bad5_{i}")).await;
        let test = format!("cd-bad5-{i}");
        let t = team(&aws, &test, 2).await;
        let group = format!("{test}-dg");
        let bad = aws.push_image(&t.repo, "bad").await;
        Sim::shared().scenario(&bad, serde_json::json!({"error_rate": 0.1}));
        let before = t.running(&aws).await;
        let image = Aws::image_uri(&t.repo, "bad");
        let canary = [("codedeploy-config", "CodeDeployDefault.ECSCanary10Percent5Minutes")];
        let run = run_action(&aws, &inputs(&t, &test, &group, &image, &canary), &[]);
        let reason = run.output("rolled-back-reason").to_string();
        let ok = run.code == 1
            && reason.contains("analysis failed at 10% traffic")
            && t.weights(&aws).await == (100, 0)
            && t.running(&aws).await == before;
        eprintln!("trial {i}: exit {} {reason}", run.code);
        caught += usize::from(ok);
    }
    eprintln!("caught at 10% and rolled back: {caught} of {trials}");
    assert_eq!(caught, trials);
}
