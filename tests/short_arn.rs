//! A service created before the account opted in to ECS's long ARN format cannot be tagged,
//! and the deploy lock is a tag: the run refuses it before any change and says what to do.
//! Its own test binary (its own simulator): the ARN format is an account-wide setting.
#![allow(clippy::disallowed_methods)] // tests drive real processes and servers in real time

mod support;

use aws_sdk_ecs::types::SettingName;
use support::{run_action, Aws, Sim};

async fn long_arns(aws: &Aws, on: bool) {
    aws.ecs
        .put_account_setting()
        .name(SettingName::ServiceLongArnFormat)
        .value(if on { "enabled" } else { "disabled" })
        .send()
        .await
        .expect("PutAccountSetting");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_short_arn_service_is_refused_before_any_change_with_the_way_out() {
    let aws = Aws::new("short_arn").await;
    let (cluster, repo) = ("c-short-arn", "app-short-arn");
    aws.create_cluster(cluster).await;
    aws.push_image(repo, "v1").await;
    aws.push_image(repo, "v2").await;
    let td = aws
        .register("short-arn-api", &[("app", &Aws::image_uri(repo, "v1"))])
        .await;
    long_arns(&aws, false).await;
    aws.create_service(cluster, "api", &td, 1).await;
    long_arns(&aws, true).await;
    let arn = aws
        .service(cluster, "api")
        .await
        .service_arn()
        .unwrap_or_default()
        .to_string();
    assert!(arn.ends_with(":service/api"), "{arn}");
    let run = run_action(
        &aws,
        &[
            ("cluster", cluster),
            ("services", "api"),
            ("image", &Aws::image_uri(repo, "v2")),
            ("wait-timeout", "1m"),
        ],
        &[],
    );
    run.assert_code(1);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(
        all.contains("old short format") && all.contains("serviceLongArnFormat"),
        "{all}"
    );
    let mutations: Vec<serde_json::Value> = Sim::shared()
        .calls(&aws.access_key)
        .into_iter()
        .filter(|c| c["mutating"] == true)
        .collect();
    assert!(mutations.is_empty(), "nothing was changed: {mutations:?}");
}
