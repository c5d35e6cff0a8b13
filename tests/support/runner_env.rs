//! The environment GitHub's runner gives a Docker action, built from action.yml: the one way the
//! tests start the binary (on the host, or inside the image with the runner's mounts).
//!
//! Followed from `actions/runner` (commit 258d6c857db3519913f7deb6004b60172f8043ae):
//! - `ActionRunner.cs`: every input declared in action.yml that the step does not set gets its
//!   `default:` (expressions evaluated in `input-default-context`); `ActionManifestManager.cs`:
//!   an input with no `default:` is `""`. Inputs the step sets but action.yml does not declare
//!   are passed too (with a warning).
//! - `Handler.cs` `AddInputsToEnvironment`: `INPUT_` + the name with spaces as `_`, upper-cased
//!   (hyphens kept).
//! - `ContainerActionHandler.cs`: `HOME` is `_github_home`; mounts `/github/runner_temp`,
//!   `/github/home`, `/github/workflow` (the event payload is `event.json` there),
//!   `/github/file_commands` and `/github/workspace`; `--workdir /github/workspace`; every
//!   environment value that is a host path is translated to its container path; the job's
//!   `ACTIONS_RUNTIME_*` variables.
//! - `GitHubContext.cs` (the `GITHUB_*` allow-list), `RunnerContext.cs` (`RUNNER_*`), and
//!   `DockerCommandManager.cs`: `GITHUB_ACTIONS=true`, `CI=true` unless set.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::repo_root;

/// Where the runner keeps a job's files, and where a Docker action sees them.
pub struct Layout {
    dir: tempfile::TempDir,
}

/// (host directory under the layout, container path), as ContainerActionHandler mounts them.
const MOUNTS: [(&str, &str); 5] = [
    ("_temp", "/github/runner_temp"),
    ("_temp/_github_home", "/github/home"),
    ("_temp/_github_workflow", "/github/workflow"),
    ("_temp/_runner_file_commands", "/github/file_commands"),
    ("workspace", "/github/workspace"),
];

impl Layout {
    pub fn new() -> Layout {
        let dir = tempfile::tempdir().expect("runner directory");
        for (host, _) in MOUNTS {
            std::fs::create_dir_all(dir.path().join(host)).expect("runner directories");
        }
        Layout { dir }
    }
    fn at(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }
    pub fn workspace(&self) -> PathBuf {
        self.at("workspace")
    }
    pub fn file_command(&self, name: &str) -> PathBuf {
        // The runner names them `<command>_<guid>`; one step, one set.
        self.at("_temp/_runner_file_commands").join(format!("{name}_6f1d2c3b"))
    }
    pub fn output_file(&self) -> PathBuf {
        self.file_command("set_output")
    }
    pub fn summary_file(&self) -> PathBuf {
        self.file_command("step_summary")
    }
    pub fn event_file(&self) -> PathBuf {
        self.at("_temp/_github_workflow/event.json")
    }
    /// `-v host:container` pairs for a container run.
    pub fn mounts(&self) -> Vec<(PathBuf, &'static str)> {
        MOUNTS.iter().map(|(h, c)| (self.at(h), *c)).collect()
    }
    /// A value as the container sees it: host paths under a mount become container paths
    /// (`TranslateToContainerPath`: the longest matching mount wins).
    pub fn in_container(&self, value: &str) -> String {
        let mut mounts = self.mounts();
        mounts.sort_by_key(|(h, _)| std::cmp::Reverse(h.as_os_str().len()));
        for (host, container) in mounts {
            let host = host.to_string_lossy().into_owned();
            if value == host {
                return container.to_string();
            }
            if let Some(rest) = value.strip_prefix(&format!("{host}/")) {
                return format!("{container}/{rest}");
            }
        }
        value.to_string()
    }
}

/// action.yml's inputs, in order: (name, declared default if any).
pub fn declared_inputs() -> &'static [(String, Option<String>)] {
    static INPUTS: OnceLock<Vec<(String, Option<String>)>> = OnceLock::new();
    INPUTS.get_or_init(|| {
        let text = std::fs::read_to_string(repo_root().join("action.yml")).expect("action.yml");
        let action: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).expect("action.yml is YAML");
        action["inputs"]
            .as_mapping()
            .expect("action.yml inputs")
            .iter()
            .map(|(k, v)| {
                let default = match &v["default"] {
                    serde_yaml_ng::Value::Null => None,
                    serde_yaml_ng::Value::String(s) => Some(s.clone()),
                    serde_yaml_ng::Value::Bool(b) => Some(b.to_string()),
                    serde_yaml_ng::Value::Number(n) => Some(n.to_string()),
                    other => panic!("input {k:?}: a default the runner would not take: {other:?}"),
                };
                (k.as_str().expect("input name").to_string(), default)
            })
            .collect()
    })
}

/// A default as the runner evaluates it (`input-default-context`: github, strategy, matrix,
/// job, runner, env). The only expression action.yml uses is `github.token`; any other fails
/// the test, so a new one cannot slip past unevaluated.
fn evaluate_default(value: &str, github_token: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("}}").expect("a closed expression") + start;
        match rest[start + 3..end].trim() {
            "github.token" => out.push_str(github_token),
            other => panic!("action.yml default uses `{other}`, which this helper does not evaluate"),
        }
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

/// `INPUT_<NAME>` as `Handler.AddInputsToEnvironment` spells it.
pub fn input_variable(name: &str) -> String {
    format!("INPUT_{}", name.replace(' ', "_").to_uppercase())
}

/// The job's token: what `${{ github.token }}` evaluates to. The GitHub fake accepts it.
pub const JOB_TOKEN: &str = super::github::TOKEN;

/// The whole environment of one step: the runner's variables, the inputs (`with` over the
/// declared defaults), then `env` (the workflow's `env:` and what earlier steps put in
/// `GITHUB_ENV`, e.g. configure-aws-credentials' keys) over everything. Paths are the host's.
pub fn environment(layout: &Layout, with: &[(&str, &str)], env: &[(&str, &str)]) -> BTreeMap<String, String> {
    let given = |k: &str| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string());
    let mut vars = BTreeMap::new();
    let mut set = |k: &str, v: String| {
        vars.insert(k.to_string(), v);
    };
    let repository = given("GITHUB_REPOSITORY").unwrap_or_else(|| "acme/shop".into());
    let sha = given("GITHUB_SHA").unwrap_or_else(|| "0123456789abcdef0123456789abcdef01234567".into());
    let (owner, _) = repository.split_once('/').expect("GITHUB_REPOSITORY is owner/repo");
    let path = |p: PathBuf| p.to_string_lossy().into_owned();

    // The event payload the runner writes to `_github_workflow/event.json`: the test's own
    // (copied there, as the runner would), else a real `push` from GitHub's examples.
    match given("GITHUB_EVENT_PATH") {
        Some(file) => {
            std::fs::copy(&file, layout.event_file()).unwrap_or_else(|e| panic!("copy the event {file}: {e}"));
        }
        None => {
            let push = super::github::event("push", &repository, |p| {
                p["ref"] = "refs/heads/main".into();
                p["after"] = sha.as_str().into();
                p["head_commit"]["id"] = sha.as_str().into();
            });
            std::fs::copy(push.path(), layout.event_file()).expect("write the event");
        }
    }
    for f in ["set_output", "step_summary", "set_env", "add_path", "save_state"] {
        std::fs::write(layout.file_command(f), "").expect("file command");
    }

    set("HOME", path(layout.at("_temp/_github_home")));
    set("GITHUB_ACTIONS", "true".into());
    set("CI", "true".into());
    set("GITHUB_ACTION", "__acme_ecs-deploy-action".into());
    set("GITHUB_ACTION_REPOSITORY", "acme/ecs-deploy-action".into());
    set("GITHUB_ACTION_REF", "v1".into());
    set("GITHUB_ACTOR", "octocat".into());
    set("GITHUB_ACTOR_ID", "583231".into());
    set("GITHUB_TRIGGERING_ACTOR", "octocat".into());
    set("GITHUB_API_URL", ambient_github_api());
    set("GITHUB_GRAPHQL_URL", format!("{}/graphql", ambient_github_api()));
    set("GITHUB_SERVER_URL", "https://github.com".into());
    set("GITHUB_BASE_REF", String::new());
    set("GITHUB_HEAD_REF", String::new());
    set("GITHUB_EVENT_NAME", "push".into());
    set("GITHUB_EVENT_PATH", path(layout.event_file()));
    set("GITHUB_JOB", "deploy".into());
    set("GITHUB_REF", "refs/heads/main".into());
    set("GITHUB_REF_NAME", "main".into());
    set("GITHUB_REF_TYPE", "branch".into());
    set("GITHUB_REF_PROTECTED", "false".into());
    set("GITHUB_REPOSITORY", repository.clone());
    set("GITHUB_REPOSITORY_ID", "1296269".into());
    set("GITHUB_REPOSITORY_OWNER", owner.to_string());
    set("GITHUB_REPOSITORY_OWNER_ID", "1".into());
    set("GITHUB_RETENTION_DAYS", "90".into());
    set("GITHUB_RUN_ID", "1001".into());
    set("GITHUB_RUN_NUMBER", "7".into());
    set("GITHUB_RUN_ATTEMPT", "1".into());
    set("GITHUB_SHA", sha.clone());
    set("GITHUB_WORKFLOW", "Deploy".into());
    set(
        "GITHUB_WORKFLOW_REF",
        format!("{repository}/.github/workflows/deploy.yml@refs/heads/main"),
    );
    set("GITHUB_WORKFLOW_SHA", sha.clone());
    set("GITHUB_WORKSPACE", path(layout.workspace()));
    set("GITHUB_OUTPUT", path(layout.output_file()));
    set("GITHUB_STEP_SUMMARY", path(layout.summary_file()));
    set("GITHUB_ENV", path(layout.file_command("set_env")));
    set("GITHUB_PATH", path(layout.file_command("add_path")));
    set("GITHUB_STATE", path(layout.file_command("save_state")));
    set("RUNNER_OS", "Linux".into());
    set("RUNNER_ARCH", "X64".into());
    set("RUNNER_NAME", "GitHub Actions 2".into());
    set("RUNNER_ENVIRONMENT", "github-hosted".into());
    set("RUNNER_TEMP", path(layout.at("_temp")));
    set("RUNNER_TOOL_CACHE", "/opt/hostedtoolcache".into());
    set("RUNNER_WORKSPACE", path(layout.dir.path().to_path_buf()));
    // Secrets the job carries: the action must never print them.
    set(
        "ACTIONS_RUNTIME_URL",
        "https://pipelines.actions.githubusercontent.com/abc/".into(),
    );
    set("ACTIONS_RUNTIME_TOKEN", "runtimeTokenSecret0123456789".into());
    set(
        "ACTIONS_RESULTS_URL",
        "https://results-receiver.actions.githubusercontent.com/".into(),
    );

    for (name, default) in declared_inputs() {
        let value = match with.iter().find(|(k, _)| k == name) {
            Some((_, v)) => v.to_string(),
            None => default
                .as_deref()
                .map(|d| evaluate_default(d, JOB_TOKEN))
                .unwrap_or_default(),
        };
        set(&input_variable(name), value);
    }
    for (k, v) in with {
        if !declared_inputs().iter().any(|(n, _)| n == k) {
            set(&input_variable(k), v.to_string());
        }
    }
    for (k, v) in env {
        if *k != "GITHUB_EVENT_PATH" {
            set(k, v.to_string());
        }
    }
    vars
}

/// The GitHub API every run reports to unless the test brings its own: `make test` starts one
/// GitHub fake for all test binaries (ECS_DEPLOY_TEST_GITHUB_API / _CONTROL); a test binary run
/// alone starts its own.
#[allow(clippy::disallowed_methods)] // the harness reads its own environment
pub fn ambient_github_api() -> String {
    static API: OnceLock<String> = OnceLock::new();
    API.get_or_init(|| {
        match (
            std::env::var("ECS_DEPLOY_TEST_GITHUB_API"),
            std::env::var("ECS_DEPLOY_TEST_GITHUB_CONTROL"),
        ) {
            (Ok(api), Ok(control)) if !api.is_empty() => {
                ureq::put(&format!("{control}/_fake/state"))
                    .send_json(serde_json::json!({ "expected_token": JOB_TOKEN }))
                    .expect("seed the shared GitHub fake");
                api
            }
            _ => super::github::GitHub::shared().api.clone(),
        }
    })
    .clone()
}

/// The binary's path, in one place: every test starts it through this module.
pub fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_ecs-deploy-action"))
}

/// `runs.args` of action.yml, as the container's arguments (none declared: the binary reads
/// only its environment).
pub fn action_args() -> Vec<String> {
    let text = std::fs::read_to_string(repo_root().join("action.yml")).expect("action.yml");
    let action: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).expect("action.yml is YAML");
    action["runs"]["args"]
        .as_sequence()
        .map(|a| a.iter().map(|v| v.as_str().expect("an argument").to_string()).collect())
        .unwrap_or_default()
}
