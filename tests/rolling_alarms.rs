//! A rolling service with deployment alarms (`deploymentConfiguration.alarms`): ECS fails and
//! rolls back a deployment whose alarm goes into ALARM, and holds a healthy one IN_PROGRESS
//! through a bake ("How CloudWatch alarms detect Amazon ECS deployment failures"). The action
//! names the alarm as what rolled the service back, never the circuit breaker, and calls a
//! healthy release done only after the bake.
#![allow(clippy::disallowed_methods)] // tests drive real processes and servers in real time

mod support;

use std::time::{Duration, Instant};

use aws_sdk_cloudwatch::types::{ComparisonOperator, MetricDatum, Statistic};
use aws_sdk_ecs::types as ecs;
use support::{run_action, spawn_action, Aws, Sim};

struct Alarmed {
    aws: Aws,
    cluster: String,
    repo: String,
    alarm: String,
    td1: String,
}

/// Service `api` on v1, with the circuit breaker and the deployment alarm `<test>-errors` (on a
/// custom metric the test publishes), both with rollback.
async fn alarmed(test: &str) -> Alarmed {
    let aws = Aws::new(test).await;
    let cluster = format!("c-{test}");
    let repo = format!("app-{test}");
    let alarm = format!("{test}-errors");
    aws.create_cluster(&cluster).await;
    aws.push_image(&repo, "v1").await;
    aws.push_image(&repo, "v2").await;
    let cw = aws_sdk_cloudwatch::Client::new(&aws.config);
    cw.put_metric_alarm()
        .alarm_name(&alarm)
        .namespace("Shop")
        .metric_name(format!("{test}-Errors"))
        .statistic(Statistic::Sum)
        .period(60)
        // "1 out of 5": one breaching minute alarms, and the bake is 5 minutes (CloudWatch
        // publishes a minute a minute or two late, so a bake shorter than that lag sees nothing).
        .evaluation_periods(5)
        .datapoints_to_alarm(1)
        .threshold(5.0)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .treat_missing_data("notBreaching")
        .send()
        .await
        .expect("PutMetricAlarm");
    let td1 = aws
        .register(&format!("{test}-api"), &[("app", &Aws::image_uri(&repo, "v1"))])
        .await;
    let alarms = ecs::DeploymentAlarms::builder()
        .alarm_names(&alarm)
        .enable(true)
        .rollback(true)
        .build()
        .expect("alarms");
    let config = Aws::breaker_config()
        .alarms(alarms)
        .maximum_percent(200)
        .minimum_healthy_percent(100);
    aws.create_configured_service(&cluster, "api", &td1, 2, config.build())
        .await;
    Alarmed {
        aws,
        cluster,
        repo,
        alarm,
        td1,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_alarm_rollback_of_a_rolling_deploy_is_reported_as_the_alarms() {
    let a = alarmed("rolling_alarm").await;
    let image = Aws::image_uri(&a.repo, "v2");
    let child = spawn_action(
        &a.aws,
        &[("cluster", a.cluster.as_str()), ("services", "api"), ("image", &image)],
        &[],
    );
    // Once the new deployment is under way, the release's errors push the alarm into ALARM.
    let t = Instant::now();
    while a.aws.service(&a.cluster, "api").await.task_definition() == Some(a.td1.as_str()) {
        assert!(t.elapsed() < Duration::from_secs(60), "the deploy never started");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let cw = aws_sdk_cloudwatch::Client::new(&a.aws.config);
    let publishing = tokio::spawn(async move {
        loop {
            let _ = cw
                .put_metric_data()
                .namespace("Shop")
                .metric_data(
                    MetricDatum::builder()
                        .metric_name("rolling_alarm-Errors")
                        .value(50.0)
                        .build(),
                )
                .send()
                .await;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    let run = child.wait();
    publishing.abort();
    run.assert_code(1);
    let reason = run.output("rolled-back-reason");
    assert!(
        reason.contains(&a.alarm) && reason.contains("deployment alarm") && !reason.contains("circuit breaker"),
        "{reason}\n{}",
        run.stdout
    );
    // (The summary is Markdown: the alarm's name is escaped there.)
    assert!(
        run.summary.contains("rolled back by ECS on deployment alarm") && !run.summary.contains("circuit breaker"),
        "{}",
        run.summary
    );
    let svc = a.aws.service(&a.cluster, "api").await;
    assert_eq!(svc.task_definition(), Some(a.td1.as_str()), "ECS put v1 back");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_healthy_release_is_done_only_after_the_alarms_bake() {
    let a = alarmed("rolling_bake").await;
    let image = Aws::image_uri(&a.repo, "v2");
    let run = run_action(
        &a.aws,
        &[("cluster", a.cluster.as_str()), ("services", "api"), ("image", &image)],
        &[],
    );
    run.assert_code(0);
    // ECS held the rollout through the bake (5 minutes of simulated time after the new tasks
    // were steady), and the action followed it to COMPLETED, within its default wait-timeout.
    let events: Vec<serde_json::Value> = Sim::shared()
        .get("/_sim/events")
        .as_array()
        .cloned()
        .unwrap_or_default();
    let new = |kind: &str| {
        events
            .iter()
            .filter(|e| e["type"] == kind && e["service"].as_str().is_some_and(|s| s.ends_with("c-rolling_bake/api")))
            .filter(|e| e["task_definition"] != a.td1.as_str())
            .map(|e| e["sim_time"].as_f64().unwrap())
            .next_back()
            .unwrap_or_else(|| panic!("no {kind} of the new revision"))
    };
    let took = new("deployment_completed") - new("deployment_started");
    assert!(
        took >= 300.0,
        "the rollout completed {took:.0} s after it started, inside the bake"
    );
    assert_eq!(run.output("outcome"), "success");
}
