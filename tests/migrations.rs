//! `run-task-command`: a migration run as a one-off task of the new revision before anything
//! moves, through the real binary against the simulator's RunTask (the shipped IAM policy
//! enforced, as in every test).
#![allow(clippy::disallowed_methods)] // tests drive real processes and servers in real time

mod support;

use aws_sdk_ecs::types as ecs;
use support::{mutations, run_action, Aws, Sim, Slots};

/// The simulator's record of each RunTask of a task definition family.
fn tasks_run(family: &str) -> Vec<serde_json::Value> {
    Sim::shared()
        .get("/_sim/events")
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["type"] == "task_run")
        .filter(|e| {
            e["task_definition"]
                .as_str()
                .unwrap_or_default()
                .contains(&format!("/{family}:"))
        })
        .cloned()
        .collect()
}

/// A service `api` whose task definition logs to CloudWatch Logs (awslogs) and that runs in
/// the default VPC's subnets; v1 deployed, v2 pushed. Returns (cluster, subnets).
async fn logged_service(aws: &Aws, test: &str) -> (String, Vec<String>) {
    let cluster = format!("c-{test}");
    let repo = format!("app-{test}");
    aws.create_cluster(&cluster).await;
    aws.push_image(&repo, "v1").await;
    aws.push_image(&repo, "v2").await;
    let log = ecs::LogConfiguration::builder()
        .log_driver(ecs::LogDriver::Awslogs)
        .options("awslogs-group", "/ecs/shop-api")
        .options("awslogs-region", "us-east-1")
        .options("awslogs-stream-prefix", "ecs")
        .build()
        .unwrap();
    let td = aws
        .ecs
        .register_task_definition()
        .family(format!("{test}-api"))
        .network_mode(ecs::NetworkMode::Awsvpc)
        .requires_compatibilities(ecs::Compatibility::Fargate)
        .cpu("256")
        .memory("512")
        .container_definitions(
            ecs::ContainerDefinition::builder()
                .name("app")
                .image(Aws::image_uri(&repo, "v1"))
                .essential(true)
                .log_configuration(log)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let td = td.task_definition().unwrap().task_definition_arn().unwrap().to_string();
    let (_, subnets, sg) = aws.default_subnets();
    aws.ecs
        .create_service()
        .cluster(&cluster)
        .service_name("api")
        .task_definition(&td)
        .desired_count(1)
        .launch_type(ecs::LaunchType::Fargate)
        .network_configuration(
            ecs::NetworkConfiguration::builder()
                .awsvpc_configuration(
                    ecs::AwsVpcConfiguration::builder()
                        .set_subnets(Some(subnets.clone()))
                        .security_groups(sg)
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    aws.wait_stable(&cluster, "api").await;
    (cluster, subnets)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_migration_runs_from_the_new_revision_in_the_services_network_before_the_rolling_update() {
    // Under exactly the pieces of iam/ this needs: core and run-task.
    let aws = Aws::with_pieces("mig_ok", &["core", "run-task"]).await;
    let (cluster, subnets) = logged_service(&aws, "mig-ok").await;
    let image = Aws::image_uri("app-mig-ok", "v2");
    Sim::shared().scenario(":v2", serde_json::json!({})); // the default: runs 20 s, exits 0
    let inputs = [
        ("cluster", cluster.as_str()),
        ("services", "api"),
        ("image", image.as_str()),
        (
            "run-task-command",
            "npx prisma migrate deploy --schema 'db/schema.prisma'",
        ),
    ];
    let plan = run_action(&aws, &[&inputs[..], &[("command", "plan")]].concat(), &[]);
    plan.assert_code(0);
    assert!(
        plan.stdout
            .contains("2/4 run-task: run `npx prisma migrate deploy --schema db/schema.prisma` as a one-off task"),
        "{}",
        plan.stdout
    );
    assert!(tasks_run("mig-ok-api").is_empty(), "a plan runs nothing");

    let run = run_action(&aws, &inputs, &[]);
    run.assert_code(0);
    let runs = tasks_run("mig-ok-api");
    assert_eq!(runs.len(), 1, "{runs:?}");
    let task = &runs[0];
    let svc = aws.service(&cluster, "api").await;
    assert_eq!(
        task["task_definition"].as_str(),
        svc.task_definition(),
        "the migration ran the revision the service now runs"
    );
    assert_eq!(
        task["overrides"]["containerOverrides"][0],
        serde_json::json!({"name": "app", "command": ["npx", "prisma", "migrate", "deploy", "--schema", "db/schema.prisma"]})
    );
    assert_eq!(task["started_by"], "ecs-deploy-action");
    assert_eq!(
        task["network"]["awsvpcConfiguration"]["subnets"],
        serde_json::json!(subnets),
        "the service's own network"
    );
    // RunTask came after RegisterTaskDefinition and before UpdateService.
    let order: Vec<String> = mutations(&aws.access_key)
        .into_iter()
        .filter(|m| ["RegisterTaskDefinition", "RunTask", "UpdateService"].contains(&m.as_str()))
        .collect();
    assert_eq!(order, ["RegisterTaskDefinition", "RunTask", "UpdateService"]);
    let id = task["task"].as_str().unwrap().rsplit('/').next().unwrap();
    assert!(
        run.stdout.contains(&format!(
            "log-groups/log-group/$252Fecs$252Fshop-api/log-events/ecs$252Fapp$252F{id}"
        )),
        "the log stream of the task is linked:\n{}",
        run.stdout
    );
    assert!(run.stdout.contains(&format!("task {id} exited 0")), "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_migration_stops_a_canary_before_any_traffic_moves() {
    let aws = Aws::new("mig_fail").await;
    let s: Slots = aws.slots("mig-fail", 2).await;
    let bad = aws.push_image(&s.repo, "v2").await;
    Sim::shared().scenario(&bad, serde_json::json!({"task_seconds": 8, "task_exit_code": 3}));
    let image = Aws::image_uri(&s.repo, "v2");
    let green_before = aws.service(&s.cluster, "web-green").await;
    let run = run_action(
        &aws,
        &[
            ("cluster", s.cluster.as_str()),
            ("services", "web-blue, web-green"),
            ("image", image.as_str()),
            ("strategy", "canary"),
            ("listener-arn", s.listener.as_str()),
            ("canary-steps", "10,100"),
            ("bake-time", "2s"),
            ("run-task-command", "npm run migration:run"),
            ("run-task-timeout", "10m"),
        ],
        &[],
    );
    run.assert_code(1);
    assert_eq!(run.output("outcome"), "failure");
    let reason = run.output("rolled-back-reason");
    assert!(
        reason.contains("`npm run migration:run`")
            && reason.contains("container `app` exited with code 3")
            && reason.contains("Essential container in task exited")
            && reason.contains("no service was changed"),
        "{reason}"
    );
    assert!(run.summary.contains("exited with code 3"), "{}", run.summary);
    assert_eq!(aws.weights(&s.listener, &s).await, (100, 0), "no traffic moved");
    let green = aws.service(&s.cluster, "web-green").await;
    assert_eq!(green.task_definition(), green_before.task_definition());
    assert_eq!(green.desired_count(), 0);
    let after_run_task: Vec<String> = mutations(&aws.access_key)
        .into_iter()
        .skip_while(|m| m != "RunTask")
        .filter(|m| matches!(m.as_str(), "ModifyListener" | "ModifyRule"))
        .collect();
    assert!(after_run_task.is_empty(), "{after_run_task:?}");
    // (The ending's scale-down of the new slot to 0 is an UpdateService of desiredCount only:
    // the slot's revision and count are checked above.)
    assert_eq!(tasks_run("mig-fail-web").len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_run_task_inputs_get_one_error_each_and_no_aws_call() {
    let aws = Aws::new("mig_bad").await;
    for (input, value, extra) in [
        ("run-task-command", "echo 'unclosed", None),
        ("run-task-timeout", "soon", Some(("run-task-command", "migrate"))),
        ("run-task-subnets", "subnet-zz", Some(("run-task-command", "migrate"))),
        (
            "run-task-assign-public-ip",
            "maybe",
            Some(("run-task-command", "migrate")),
        ),
    ] {
        let mut inputs = vec![
            ("cluster", "c-none"),
            ("services", "api"),
            ("image", "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v2"),
            (input, value),
        ];
        inputs.extend(extra);
        let run = run_action(&aws, &inputs, &[]);
        run.assert_code(2);
        let errors: Vec<&str> = run.stdout.lines().filter(|l| l.starts_with("::error")).collect();
        assert_eq!(errors.len(), 1, "{input}: {}", run.stdout);
        assert!(errors[0].contains(&format!("input `{input}`")), "{}", errors[0]);
    }
    assert!(Sim::shared().calls(&aws.access_key).is_empty());
}
