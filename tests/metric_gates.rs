//! Custom metric gates (`metrics:` in the config file) on a canary, through the real binary
//! against the simulator: the new slot's own metric, published by the "application" (this
//! test) with PutMetricData, late by minute as CloudWatch publishes it.
#![allow(clippy::disallowed_methods)] // tests drive real processes and servers in real time

mod support;

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
use support::{run_action, Aws, Slots};

const CONFIG: &str = r#"
metrics:
  - name: queue-errors
    namespace: TaskQueue/Production
    metric: ErrorRate
    dimensions: { Service: "${service}" }
    statistic: Average
    threshold: 2
stages:
  - name: prod
    services: [web-blue, web-green]
    strategy: canary
    canary-steps: [20, 100]
    bake-time: 4s
    analysis-interval: 1s
    min-requests: 10
    keep-old-for: 1s
    wait-timeout: 1m
"#;

/// Publishes `ErrorRate` for both slots every simulated half-minute until stopped: the
/// stable slot's 0.5, the new one's `green`.
fn publish(aws: &Aws, green: f64) -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let cw = aws_sdk_cloudwatch::Client::new(&aws.config);
    let flag = stop.clone();
    tokio::spawn(async move {
        while !flag.load(Ordering::SeqCst) {
            let datum = |service: &str, value: f64| {
                MetricDatum::builder()
                    .metric_name("ErrorRate")
                    .dimensions(Dimension::builder().name("Service").value(service).build())
                    .value(value)
                    .build()
            };
            let _ = cw
                .put_metric_data()
                .namespace("TaskQueue/Production")
                .metric_data(datum("web-blue", 0.5))
                .metric_data(datum("web-green", green))
                .send()
                .await;
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
    stop
}

fn run(aws: &Aws, s: &Slots, image: &str) -> support::Run {
    let mut config = tempfile::NamedTempFile::new().unwrap();
    config.write_all(CONFIG.as_bytes()).unwrap();
    run_action(
        aws,
        &[
            ("config", config.path().to_str().unwrap()),
            ("stage", "prod"),
            ("cluster", s.cluster.as_str()),
            ("listener-arn", s.listener.as_str()),
            ("image", image),
        ],
        &[],
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_canary_over_its_custom_gate_is_rolled_back_and_one_under_it_goes_through() {
    let aws = Aws::new("gate_bad").await;
    let s = aws.slots("gate-bad", 2).await;
    aws.push_image(&s.repo, "v2").await;
    let stop = publish(&aws, 6.0);
    let bad = run(&aws, &s, &Aws::image_uri(&s.repo, "v2"));
    stop.store(true, Ordering::SeqCst);
    bad.assert_code(1);
    let reason = bad.output("rolled-back-reason");
    assert!(
        reason.contains("analysis failed at 20% traffic") && reason.contains("custom metric queue-errors 6 > 2"),
        "{reason}"
    );
    assert_eq!(aws.weights(&s.listener, &s).await, (100, 0));
    assert!(bad.stdout.contains("queue-errors 6.000"), "{}", bad.stdout);

    let stop = publish(&aws, 0.4);
    let good = run(&aws, &s, &Aws::image_uri(&s.repo, "v2"));
    stop.store(true, Ordering::SeqCst);
    good.assert_code(0);
    assert_eq!(aws.weights(&s.listener, &s).await, (0, 100));
}
