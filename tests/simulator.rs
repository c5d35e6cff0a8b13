//! The simulator's behaviour, proven through the real Rust AWS SDK (the same client stack the
//! action uses): rollouts that progress, the circuit breaker, tasks with stop reasons, target
//! health, ALB metrics split by weights, alarms evaluated against data, and faults.
#![allow(clippy::disallowed_methods)] // tests drive real processes and servers in real time

mod support;

use std::time::{Duration, Instant};

use aws_sdk_cloudwatch::types as cw;
use aws_sdk_elasticloadbalancingv2::types as elb;
use support::{Aws, Sim};

async fn until<F, Fut, T>(what: &str, limit: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let t = Instant::now();
    let sim_time = || Sim::shared().get("/_sim/config")["sim_time"].as_f64().unwrap_or(-1.0);
    let (t_sim, since) = (sim_time(), now());
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            t.elapsed() < limit,
            "timed out waiting for {what}: simulated time went from {t_sim:.0} s to {:.0} s; the simulator's events meanwhile: {:#?}",
            sim_time(),
            events_since(since)
                .iter()
                .rev()
                .take(80)
                .map(|e| format!("{} {} {}", e["sim_time"], e["type"], e["service"].as_str().or(e["target_group"].as_str()).unwrap_or("")))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn events_since(since: f64) -> Vec<serde_json::Value> {
    Sim::shared()
        .get(&format!("/_sim/events?since={since}"))
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_update_creates_a_primary_deployment_that_completes_in_simulated_time() {
    let aws = Aws::new("sim_rollout").await;
    aws.create_cluster("sim-rollout").await;
    aws.push_image("sim-rollout", "v1").await;
    aws.push_image("sim-rollout", "v2").await;
    let td1 = aws
        .register("sim-rollout", &[("app", &Aws::image_uri("sim-rollout", "v1"))])
        .await;
    let td2 = aws
        .register("sim-rollout", &[("app", &Aws::image_uri("sim-rollout", "v2"))])
        .await;
    aws.create_service("sim-rollout", "api", &td1, 2).await;
    let since = now();
    let out = aws
        .ecs
        .update_service()
        .cluster("sim-rollout")
        .service("api")
        .task_definition(&td2)
        .send()
        .await
        .unwrap();
    let deployments = out.service().unwrap().deployments();
    assert_eq!(deployments.len(), 2);
    assert_eq!(deployments[0].status(), Some("PRIMARY"));
    assert_eq!(deployments[0].task_definition(), Some(td2.as_str()));
    assert_eq!(deployments[0].rollout_state().map(|r| r.as_str()), Some("IN_PROGRESS"));
    assert_eq!(deployments[1].status(), Some("ACTIVE"));
    let id = deployments[0].id().unwrap().to_string();
    aws.wait_stable("sim-rollout", "api").await;
    let svc = aws.service("sim-rollout", "api").await;
    assert_eq!(svc.deployments()[0].id(), Some(id.as_str()));
    assert!(svc
        .events()
        .iter()
        .any(|e| e.message().unwrap_or_default().contains("has reached a steady state")));
    assert!(svc.events().iter().any(|e| e
        .message()
        .unwrap_or_default()
        .contains(&format!("(deployment {id}) deployment completed"))));
    let ev = events_since(since);
    let started = ev
        .iter()
        .find(|e| e["type"] == "deployment_started" && e["deployment"] == id.as_str())
        .expect("started event");
    let done = ev
        .iter()
        .find(|e| e["type"] == "deployment_completed" && e["deployment"] == id.as_str())
        .expect("completed event");
    let sim_secs = done["sim_time"].as_f64().unwrap() - started["sim_time"].as_f64().unwrap();
    assert!(
        sim_secs <= 60.0,
        "COMPLETED within a simulated minute, took {sim_secs} s"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn crashing_tasks_fail_the_rollout_and_the_circuit_breaker_rolls_back() {
    let aws = Aws::new("sim_crash").await;
    aws.create_cluster("sim-crash").await;
    aws.push_image("sim-crash", "v1").await;
    aws.push_image("sim-crash", "bad").await;
    Sim::shared().scenario("sim-crash:bad", serde_json::json!({"crash": true, "exit_code": 3}));
    let td1 = aws
        .register("sim-crash", &[("app", &Aws::image_uri("sim-crash", "v1"))])
        .await;
    let td2 = aws
        .register("sim-crash", &[("app", &Aws::image_uri("sim-crash", "bad"))])
        .await;
    aws.create_service("sim-crash", "api", &td1, 2).await;
    let svc = aws.service("sim-crash", "api").await;
    let cb = svc
        .deployment_configuration()
        .and_then(|c| c.deployment_circuit_breaker())
        .expect("circuit breaker kept");
    assert!(cb.enable() && cb.rollback());
    aws.ecs
        .update_service()
        .cluster("sim-crash")
        .service("api")
        .task_definition(&td2)
        .send()
        .await
        .unwrap();
    let rolled = until("the rollback deployment", Duration::from_secs(30), || async {
        let s = aws.service("sim-crash", "api").await;
        let primary_old = s
            .deployments()
            .iter()
            .any(|d| d.status() == Some("PRIMARY") && d.task_definition() == Some(td1.as_str()));
        let failed = s
            .deployments()
            .iter()
            .any(|d| d.rollout_state().map(|r| r.as_str()) == Some("FAILED"))
            || s.events().iter().any(|e| {
                e.message()
                    .unwrap_or_default()
                    .contains("deployment failed: tasks failed to start")
            });
        (primary_old && failed).then_some(s)
    })
    .await;
    assert!(rolled
        .events()
        .iter()
        .any(|e| e.message().unwrap_or_default().contains("rolling back to deployment")));
    assert_eq!(rolled.task_definition(), Some(td1.as_str()));
    let stopped = aws
        .ecs
        .list_tasks()
        .cluster("sim-crash")
        .service_name("api")
        .desired_status(aws_sdk_ecs::types::DesiredStatus::Stopped)
        .send()
        .await
        .unwrap();
    let tasks = aws
        .ecs
        .describe_tasks()
        .cluster("sim-crash")
        .set_tasks(Some(stopped.task_arns().to_vec()))
        .send()
        .await
        .unwrap();
    let crashed = tasks
        .tasks()
        .iter()
        .find(|t| t.task_definition_arn() == Some(td2.as_str()))
        .expect("a stopped task of the bad revision");
    assert_eq!(crashed.stopped_reason(), Some("Essential container in task exited"));
    assert_eq!(crashed.containers()[0].exit_code(), Some(3));
}

#[tokio::test(flavor = "multi_thread")]
async fn weights_split_requests_and_an_alarm_flips_on_5xx() {
    let aws = Aws::new("sim_split").await;
    let s = aws.slots("sim-split", 1).await;
    // Give green a task too, then split 90/10.
    aws.ecs
        .update_service()
        .cluster(&s.cluster)
        .service("web-green")
        .desired_count(1)
        .send()
        .await
        .unwrap();
    aws.wait_stable(&s.cluster, "web-green").await;
    until("green healthy", Duration::from_secs(30), || async {
        let h = aws
            .elb
            .describe_target_health()
            .target_group_arn(&s.green_tg)
            .send()
            .await
            .unwrap();
        h.target_health_descriptions()
            .iter()
            .any(|d| d.target_health().and_then(|t| t.state()) == Some(&elb::TargetHealthStateEnum::Healthy))
            .then_some(())
    })
    .await;
    let tuple = |tg: &str, w| elb::TargetGroupTuple::builder().target_group_arn(tg).weight(w).build();
    // Both listeners of the load balancer (the simulator splits its traffic across them).
    for listener in [&s.listener, &s.test_listener] {
        aws.elb
            .modify_listener()
            .listener_arn(listener)
            .default_actions(
                elb::Action::builder()
                    .r#type(elb::ActionTypeEnum::Forward)
                    .forward_config(
                        elb::ForwardActionConfig::builder()
                            .target_groups(tuple(&s.blue_tg, 90))
                            .target_groups(tuple(&s.green_tg, 10))
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
    // Datapoints are flushed about once a second: skip the one that mixes in the old weights.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let start = std::time::SystemTime::now();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let end = std::time::SystemTime::now();
    let client = aws_sdk_cloudwatch::Client::new(&aws.config);
    let lb_dim = s.load_balancer.split(":loadbalancer/").nth(1).unwrap().to_string();
    let sum = |tg: String, metric: &'static str| {
        let client = client.clone();
        let lb_dim = lb_dim.clone();
        async move {
            let q = cw::MetricDataQuery::builder()
                .id("m")
                .metric_stat(
                    cw::MetricStat::builder()
                        .metric(
                            cw::Metric::builder()
                                .namespace("AWS/ApplicationELB")
                                .metric_name(metric)
                                .dimensions(
                                    cw::Dimension::builder()
                                        .name("TargetGroup")
                                        .value(tg.rsplit(':').next().unwrap())
                                        .build(),
                                )
                                .dimensions(cw::Dimension::builder().name("LoadBalancer").value(&lb_dim).build())
                                .build(),
                        )
                        .period(60)
                        .stat("Sum")
                        .build(),
                )
                .build();
            let out = client
                .get_metric_data()
                .metric_data_queries(q)
                .start_time(start.into())
                .end_time(end.into())
                .send()
                .await
                .unwrap();
            out.metric_data_results()[0].values().iter().sum::<f64>()
        }
    };
    let blue = sum(s.blue_tg.clone(), "RequestCount").await;
    let green = sum(s.green_tg.clone(), "RequestCount").await;
    let share = blue / (blue + green);
    assert!(
        blue + green > 500.0 && (0.85..0.95).contains(&share),
        "90/10 weights gave {blue} / {green}"
    );

    // An alarm on blue's 5xx count goes to ALARM once its image starts failing.
    client
        .put_metric_alarm()
        .alarm_name("sim-split-blue-5xx")
        .namespace("AWS/ApplicationELB")
        .metric_name("HTTPCode_Target_5XX_Count")
        .dimensions(
            cw::Dimension::builder()
                .name("TargetGroup")
                .value(s.blue_tg.rsplit(':').next().unwrap())
                .build(),
        )
        .dimensions(cw::Dimension::builder().name("LoadBalancer").value(&lb_dim).build())
        .statistic(cw::Statistic::Sum)
        .period(60)
        .evaluation_periods(1)
        .threshold(20.0)
        .comparison_operator(cw::ComparisonOperator::GreaterThanThreshold)
        .treat_missing_data("notBreaching")
        .send()
        .await
        .unwrap();
    let state = || async {
        let a = client
            .describe_alarms()
            .alarm_names("sim-split-blue-5xx")
            .send()
            .await
            .unwrap();
        a.metric_alarms()[0].state_value().cloned()
    };
    until("OK", Duration::from_secs(20), || async {
        (state().await == Some(cw::StateValue::Ok)).then_some(())
    })
    .await;
    Sim::shared().scenario("sim-split:v1", serde_json::json!({"error_rate": 0.2}));
    until("ALARM", Duration::from_secs(20), || async {
        (state().await == Some(cw::StateValue::Alarm)).then_some(())
    })
    .await;
    Sim::shared().scenario("sim-split:v1", serde_json::json!({"error_rate": 0.0}));
}

#[tokio::test(flavor = "multi_thread")]
async fn unhealthy_targets_carry_aws_reasons() {
    let aws = Aws::new("sim_sick").await;
    let s = aws.slots("sim-sick", 1).await;
    aws.push_image(&s.repo, "sick").await;
    Sim::shared().scenario("sim-sick:sick", serde_json::json!({"unhealthy": true}));
    let td = aws
        .register("sim-sick-web", &[("app", &Aws::image_uri(&s.repo, "sick"))])
        .await;
    aws.ecs
        .update_service()
        .cluster(&s.cluster)
        .service("web-green")
        .task_definition(&td)
        .desired_count(1)
        // Keeps the task through its failed checks (as ECS does), so the state can be read
        // at leisure; without it ECS replaces the task within one simulator tick.
        .health_check_grace_period_seconds(3600)
        .send()
        .await
        .unwrap();
    let reason = until("an unhealthy target", Duration::from_secs(30), || async {
        let h = aws
            .elb
            .describe_target_health()
            .target_group_arn(&s.green_tg)
            .send()
            .await
            .unwrap();
        h.target_health_descriptions()
            .iter()
            .filter_map(|d| d.target_health())
            .find(|t| t.state() == Some(&elb::TargetHealthStateEnum::Unhealthy))
            .and_then(|t| t.reason().cloned())
    })
    .await;
    assert_eq!(reason, elb::TargetHealthReasonEnum::FailedHealthChecks);
}

#[tokio::test(flavor = "multi_thread")]
async fn faults_are_injected_per_operation_and_the_sdk_sees_them() {
    let aws = Aws::new("sim_faults").await;
    aws.create_cluster("sim-faults").await;
    // Two throttles: the SDK's standard retries absorb them.
    let faults = format!("/_sim/faults?access_key={}", aws.setup_key);
    Sim::shared().put(
        &faults,
        serde_json::json!([{"operation": "DescribeClusters", "kind": "throttle", "rate": 1.0, "count": 2}]),
    );
    aws.ecs
        .describe_clusters()
        .clusters("sim-faults")
        .send()
        .await
        .expect("retried through two throttles");
    let statuses: Vec<i64> = Sim::shared()
        .calls(&aws.setup_key)
        .iter()
        .filter(|c| c["operation"] == "DescribeClusters")
        .map(|c| c["status"].as_i64().unwrap_or(0))
        .collect();
    assert_eq!(statuses, vec![400, 400, 200]);
    // A persistent 5xx surfaces as an error after the retries.
    Sim::shared().put(
        &faults,
        serde_json::json!([{"operation": "DescribeClusters", "kind": "5xx", "rate": 1.0}]),
    );
    let err = aws
        .ecs
        .describe_clusters()
        .clusters("sim-faults")
        .send()
        .await
        .expect_err("5xx");
    assert!(
        format!("{err:?}").contains("503") || format!("{err:?}").contains("ServiceUnavailable"),
        "{err:?}"
    );
    Sim::shared().put(&faults, serde_json::json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_github_fake_holds_state_and_rejects_what_the_spec_rejects() {
    use support::github::{GitHub, TOKEN};
    let g = GitHub::shared();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let crab = ecs_deploy_action::github::transport::octocrab(g.api.as_str(), TOKEN, Duration::from_secs(5)).unwrap();
    let sha = "0123456789abcdef0123456789abcdef01234567";
    let created: serde_json::Value = crab
        .post(
            "/repos/acme/simfake/check-runs",
            Some(&serde_json::json!({"name": "ecs-deploy / dev", "head_sha": sha, "status": "in_progress"})),
        )
        .await
        .expect("a valid check run is created");
    let id = created["id"].as_u64().unwrap();
    let updated: serde_json::Value = crab
        .patch(
            format!("/repos/acme/simfake/check-runs/{id}"),
            Some(&serde_json::json!({"conclusion": "success"})),
        )
        .await
        .expect("and updated");
    assert_eq!(updated["status"], "completed");
    // A body the spec refuses (no `name`) is rejected by prism and never reaches the fake.
    let bad = crab
        .post::<_, serde_json::Value>(
            "/repos/acme/simfake/check-runs",
            Some(&serde_json::json!({"head_sha": sha})),
        )
        .await;
    assert!(bad.is_err(), "a check run without a name must be rejected");
    let creates = g
        .requests("acme/simfake")
        .iter()
        .filter(|r| r["method"] == "POST" && r["path"].as_str().is_some_and(|p| p.ends_with("/check-runs")))
        .count();
    assert_eq!(creates, 1, "the bad request never reached the fake");
    // octocrab's update_comment sends POST where the spec says PATCH: refused as well.
    let wrong = crab
        .issues("acme", "simfake")
        .update_comment(octocrab::models::CommentId(1), "x")
        .await;
    assert!(wrong.is_err());
}
