//! The GitHub fake (`python -m sim.github`: a stateful fake behind `prism proxy --errors`, which
//! checks every request and response against GitHub's OpenAPI description), one per test
//! binary, and real webhook payloads from `@octokit/webhooks-examples`. Tests keep apart by
//! repository (`owner/repo`); faults are per repository path too.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use serde_json::{json, Value};

use super::repo_root;

/// The token every test's runs present; the fake answers 401 to any other.
pub const TOKEN: &str = "ghs_reportingTestToken0123456789abcdef";

pub struct GitHub {
    /// The prism URL: `GITHUB_API_URL` for the action.
    pub api: String,
    /// The fake's own port, for `/_fake/...`.
    pub control: String,
    faults: Mutex<()>,
    _child: Mutex<Child>,
    _stdin: Mutex<ChildStdin>,
}

static GITHUB: OnceLock<GitHub> = OnceLock::new();

impl GitHub {
    // Kept (never waited on) for the life of the test process; it exits on stdin EOF.
    #[allow(clippy::zombie_processes)]
    pub fn shared() -> &'static GitHub {
        GITHUB.get_or_init(|| {
            let root = repo_root();
            let python = root.join(".venv/bin/python");
            assert!(
                python.exists(),
                "run `make setup` first: {} is missing",
                python.display()
            );
            let mut child = Command::new(python)
                .args(["-m", "sim.github", "--port", "0"])
                .current_dir(&root)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("start the GitHub fake");
            let stdin = child.stdin.take().expect("fake stdin");
            let mut out = BufReader::new(child.stdout.take().expect("fake stdout"));
            let mut line = String::new();
            loop {
                line.clear();
                assert!(
                    out.read_line(&mut line).expect("read the fake's stdout") > 0,
                    "the GitHub fake exited before it was ready"
                );
                if let Some(rest) = line.trim().strip_prefix("READY ") {
                    let (api, control) = rest.split_once(" control=").expect("READY line");
                    std::thread::spawn(move || for _ in out.lines() {});
                    let g = GitHub {
                        api: api.to_string(),
                        control: control.to_string(),
                        faults: Mutex::new(()),
                        _child: Mutex::new(child),
                        _stdin: Mutex::new(stdin),
                    };
                    g.put("/_fake/state", json!({ "expected_token": TOKEN }));
                    return g;
                }
            }
        })
    }

    fn put(&self, path: &str, body: Value) -> Value {
        ureq::put(&format!("{}{path}", self.control))
            .send_json(body)
            .unwrap_or_else(|e| panic!("PUT {path}: {e}"))
            .body_mut()
            .read_json()
            .expect("json")
    }

    fn get(&self, path: &str) -> Value {
        ureq::get(&format!("{}{path}", self.control))
            .call()
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
            .body_mut()
            .read_json()
            .expect("json")
    }

    /// Seeds one repository (environments, pulls, commit_pulls, comments …).
    pub fn seed(&self, repo: &str, seed: Value) {
        self.put("/_fake/state", json!({ "repos": { repo: seed } }));
    }

    /// What the fake holds for `repo`: check_runs, comments, deployments (with statuses).
    pub fn state(&self, repo: &str) -> Value {
        self.get("/_fake/state")["repos"][repo].clone()
    }

    /// Every API request made to `repo`, oldest first.
    pub fn requests(&self, repo: &str) -> Vec<Value> {
        let rx = format!("^/repos/{repo}/");
        let path = format!("/_fake/requests?path_regex={}", encode(&rx));
        self.get(&path).as_array().cloned().unwrap_or_default()
    }

    /// prism's errors (a request the spec refuses, a response it had to replace) for `repo`.
    pub fn violations(&self, repo: &str) -> Vec<Value> {
        self.get("/_fake/violations?severity=error")
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|v| {
                v["path"]
                    .as_str()
                    .is_some_and(|p| p.contains(&format!("/repos/{repo}/")))
            })
            .collect()
    }

    /// Adds faults (each should name its test's repository in `path_regex`), keeping the other
    /// tests' faults and what is left of their counts.
    pub fn add_faults(&self, faults: Vec<Value>) {
        let _guard = self.faults.lock().unwrap_or_else(|e| e.into_inner());
        let mut all = self.get("/_fake/faults").as_array().cloned().unwrap_or_default();
        all.extend(faults);
        self.put("/_fake/faults", Value::Array(all));
    }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A real payload from `@octokit/webhooks-examples` (`pull_request` opened, or a `push` to a
/// branch), with the repository rewritten to `repo` and `edit` applied.
pub fn event(name: &str, repo: &str, edit: impl FnOnce(&mut Value)) -> tempfile::NamedTempFile {
    let path = repo_root().join("sim/node_modules/@octokit/webhooks-examples/api.github.com/index.json");
    let all: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("webhook examples")).expect("json");
    let examples = all
        .as_array()
        .expect("list")
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("no {name} examples"))["examples"]
        .as_array()
        .expect("examples")
        .clone();
    let mut payload = match name {
        "pull_request" => examples.into_iter().find(|e| e["action"] == "opened").expect("opened"),
        "push" => examples
            .into_iter()
            .find(|e| e["ref"].as_str().is_some_and(|r| r.starts_with("refs/heads/")) && e["head_commit"].is_object())
            .expect("a branch push"),
        _ => examples.into_iter().next().expect("an example"),
    };
    let (owner, name_) = repo.split_once('/').expect("owner/repo");
    for r in ["/repository", "/pull_request/base/repo", "/pull_request/head/repo"] {
        if let Some(v) = payload.pointer_mut(r).filter(|v| v.is_object()) {
            v["name"] = name_.into();
            v["full_name"] = repo.into();
            v["owner"]["login"] = owner.into();
        }
    }
    edit(&mut payload);
    let file = tempfile::NamedTempFile::new().expect("tempfile");
    std::fs::write(file.path(), payload.to_string()).expect("write the payload");
    file
}
