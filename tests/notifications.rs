//! Notifications to a Slack-compatible and a generic JSON webhook, against a local HTTP server:
//! posted on start and on the end (success, rollback), never fatal, never holding the deploy,
//! and the URL (a credential) never printed.
#![allow(clippy::disallowed_methods)] // tests drive real processes and servers in real time

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use support::{run_action, Aws, Sim};

/// How the local webhook answers.
#[derive(Clone, Copy)]
enum Answer {
    Ok,
    Status(u16),
    /// Reads the request and never answers.
    Hang,
}

/// A one-thread HTTP server recording (path, JSON body) of each POST.
struct Hook {
    url: String,
    posts: Arc<Mutex<Vec<(String, serde_json::Value)>>>,
}

impl Hook {
    fn start(answer: Answer) -> Hook {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let posts = Arc::new(Mutex::new(Vec::new()));
        let seen = posts.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let seen = seen.clone();
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                    let mut length = 0;
                    loop {
                        let mut h = String::new();
                        reader.read_line(&mut h).unwrap();
                        if h.trim().is_empty() {
                            break;
                        }
                        if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; length];
                    reader.read_exact(&mut body).unwrap();
                    seen.lock()
                        .unwrap()
                        .push((path, serde_json::from_slice(&body).unwrap_or_default()));
                    let status = match answer {
                        Answer::Ok => 200,
                        Answer::Status(s) => s,
                        Answer::Hang => {
                            std::thread::sleep(std::time::Duration::from_secs(3600));
                            return;
                        }
                    };
                    let _ = write!(
                        stream,
                        "HTTP/1.1 {status} X\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
                    );
                });
            }
        });
        Hook { url, posts }
    }

    fn posts(&self) -> Vec<(String, serde_json::Value)> {
        self.posts.lock().unwrap().clone()
    }
}

struct Service {
    aws: Aws,
    cluster: String,
    repo: String,
}

async fn service(test: &str) -> Service {
    let aws = Aws::new(test).await;
    let (cluster, _, _) = support::one_service(&aws, test).await;
    Service {
        aws,
        cluster,
        repo: format!("app-{test}"),
    }
}

/// The URL may appear only in the mask command that hides it.
fn assert_never_printed(stdout: &str, stderr: &str, secret: &str) {
    for line in stdout.lines().chain(stderr.lines()) {
        assert!(
            !line.contains(secret) || line.starts_with("::add-mask::"),
            "the webhook URL was printed: {line}"
        );
    }
    assert!(stdout
        .lines()
        .any(|l| l.starts_with("::add-mask::") && l.contains(secret)));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deploy_posts_its_start_and_its_success_to_both_webhooks() {
    let s = service("notify_ok").await;
    let hook = Hook::start(Answer::Ok);
    let slack = format!("{}/services/T0/B0/s3cret-slack", hook.url);
    let generic = format!("{}/generic/s3cret-json", hook.url);
    let image = Aws::image_uri(&s.repo, "v2");
    let run = run_action(
        &s.aws,
        &[
            ("cluster", &s.cluster),
            ("services", "api"),
            ("image", &image),
            ("stage", "dev"),
            ("version", "v1.2.3"),
            ("slack-webhook-url", &slack),
            ("webhook-url", &generic),
        ],
        &[],
    );
    run.assert_code(0);
    let posts = hook.posts();
    let json: Vec<&serde_json::Value> = posts
        .iter()
        .filter(|(p, _)| p == "/generic/s3cret-json")
        .map(|(_, b)| b)
        .collect();
    let events: Vec<&str> = json.iter().map(|b| b["event"].as_str().unwrap()).collect();
    assert_eq!(events, ["started", "succeeded"], "{posts:?}");
    assert_eq!(json[1]["stage"], "dev");
    assert_eq!(json[1]["services"][0], "api");
    assert_eq!(json[1]["version"], "v1.2.3");
    assert_eq!(json[1]["cluster"], s.cluster.as_str());
    let texts: Vec<&str> = posts
        .iter()
        .filter(|(p, _)| p == "/services/T0/B0/s3cret-slack")
        .map(|(_, b)| b["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts.len(), 2, "{posts:?}");
    assert!(texts[1].contains("rolling to *dev* v1.2.3: succeeded"), "{}", texts[1]);
    assert_never_printed(&run.stdout, &run.stderr, "s3cret-slack");
    assert_never_printed(&run.stdout, &run.stderr, "s3cret-json");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rollback_is_posted_as_one() {
    let s = service("notify_rb").await;
    let bad = s.aws.push_image(&s.repo, "bad").await;
    Sim::shared().scenario(&bad, serde_json::json!({"crash": true}));
    let hook = Hook::start(Answer::Ok);
    let generic = format!("{}/hook", hook.url);
    let image = Aws::image_uri(&s.repo, "bad");
    let run = run_action(
        &s.aws,
        &[
            ("cluster", &s.cluster),
            ("services", "api"),
            ("image", &image),
            ("webhook-url", &generic),
        ],
        &[],
    );
    run.assert_code(1);
    let events: Vec<String> = hook
        .posts()
        .iter()
        .map(|(_, b)| b["event"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(events, ["started", "rolled_back"]);
    let end = &hook.posts()[1].1;
    assert!(end["reason"].as_str().unwrap().contains("circuit breaker"), "{end}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_webhook_that_fails_or_hangs_changes_nothing_about_the_deploy() {
    let s = service("notify_bad").await;
    let refusing = Hook::start(Answer::Status(500));
    let hanging = Hook::start(Answer::Hang);
    let slack = format!("{}/s3cret-refusing", refusing.url);
    let generic = format!("{}/s3cret-hanging", hanging.url);
    let image = Aws::image_uri(&s.repo, "v2");
    let run = run_action(
        &s.aws,
        &[
            ("cluster", &s.cluster),
            ("services", "api"),
            ("image", &image),
            ("slack-webhook-url", &slack),
            ("webhook-url", &generic),
        ],
        &[],
    );
    run.assert_code(0);
    assert_eq!(run.output("outcome"), "success");
    assert!(
        run.stdout
            .contains("slack-webhook-url: the webhook answered HTTP 500; the deploy goes on"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("webhook-url: the webhook did not answer within 5 s"),
        "{}",
        run.stdout
    );
    assert_never_printed(&run.stdout, &run.stderr, "s3cret-refusing");
    assert_never_printed(&run.stdout, &run.stderr, "s3cret-hanging");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plain_http_webhook_elsewhere_is_refused_before_any_aws_call() {
    let aws = Aws::new("notify_invalid").await;
    let image = Aws::image_uri("app", "v1");
    let run = run_action(
        &aws,
        &[
            ("cluster", "c"),
            ("services", "api"),
            ("image", &image),
            ("slack-webhook-url", "http://hooks.example.com/services/T0/B0/s3cret"),
        ],
        &[],
    );
    run.assert_code(2);
    assert_eq!(run.output("outcome"), "invalid-input");
    assert!(
        run.stdout.contains("Invalid input%3A slack-webhook-url"),
        "{}",
        run.stdout
    );
    assert_never_printed(&run.stdout, &run.stderr, "s3cret");
    assert!(Sim::shared().calls(&aws.access_key).is_empty(), "no AWS call");
}
