//! The chain config file (suggested `.github/ecs-deploy.yml`, named by the `config` input): the
//! stages dev → staging → prod with everything each needs. Its keys are the action's input
//! names, so a stage reads like the `with:` block of a single-stage step; inputs override it.
//! Unknown keys are errors (a typo must never silently fall back to a default).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::inputs::RawInputs;
use super::validate::{printable, InputError};

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ChainFile {
    /// The ECR repository (`registry/repository`) the chain's images live in.
    pub repository: Option<String>,
    /// A release of several images: component (container name) → its ECR repository. Instead
    /// of `repository`; the components are promoted, versioned and rolled back together.
    #[serde(default)]
    pub images: std::collections::BTreeMap<String, String>,
    /// The workflow file that resumes a stopped chain (named in the approval-gate message).
    pub resume_workflow: Option<String>,
    /// Custom metric gates of every stage (`metric_gates`).
    #[serde(default)]
    pub metrics: Vec<super::metric_gates::GateFile>,
    pub stages: Vec<StageFile>,
}

/// A scalar or a list in YAML; lists become comma-separated input strings.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Value {
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    List(Vec<Value>),
}

impl Value {
    pub fn as_input(&self) -> String {
        match self {
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Text(s) => s.clone(),
            Value::List(l) => l.iter().map(Value::as_input).collect::<Vec<_>>().join(","),
        }
    }
}

// No `deny_unknown_fields` here: serde cannot combine it with `flatten`; `ChainFile::parse`
// checks every key against the known inputs instead.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case")]
pub struct StageFile {
    pub name: String,
    /// The GitHub environment of the stage (defaults to its name): its protection rules are
    /// the approval gate.
    pub environment: Option<String>,
    /// Where the stage is reachable, for reports.
    pub url: Option<String>,
    /// The IAM role the stage's job assumes (documentation for the walk: a run never walks
    /// into a stage whose role differs from the one it started with).
    pub aws_role: Option<String>,
    /// `auto`: entering this stage gives the digest the next release version.
    pub version: Option<String>,
    /// Custom metric gates of this stage (a gate named like one of the file's replaces it).
    #[serde(default)]
    pub metrics: Vec<super::metric_gates::GateFile>,
    /// Every other key is an action input of the same name.
    #[serde(flatten)]
    pub inputs: BTreeMap<String, Value>,
}

/// Inputs a stage may set (the action's inputs that describe a deployment).
const STAGE_INPUTS: &[&str] = &[
    "cluster",
    "services",
    "containers",
    "aws-region",
    "wait-timeout",
    "poll-interval",
    "rollback-on-failure",
    "strategy",
    "listener-arn",
    "test-listener-arn",
    "canary-steps",
    "linear-step",
    "bake-time",
    "analysis-interval",
    "alarms",
    "max-5xx-rate",
    "max-p99-latency",
    "max-5xx-rate-increase",
    "min-requests",
    "failure-limit",
    "on-inconclusive",
    "smoke-url",
    "smoke-timeout",
    "keep-old-for",
    "desired-count",
    "force-new-deployment",
    "keep-revisions",
    "suspend-auto-scaling",
    "role-to-assume",
    "task-definition",
    "run-task-command",
    "run-task-container",
    "run-task-timeout",
    "run-task-subnets",
    "run-task-security-groups",
    "run-task-assign-public-ip",
    "metrics-delay",
    "recent-window",
    "sticky-rollback",
    "judge",
    "judge-confidence",
    "judge-margin",
    "early-pass",
    "on-split",
    "native-canary-percent",
    "native-canary-bake",
    "native-linear-percent",
    "native-linear-bake",
    "native-bake-time",
    "wait-until",
    "codedeploy-application",
    "codedeploy-deployment-group",
    "codedeploy-config",
];

/// Whether a stage of the config file may set the input `name`.
pub fn is_stage_input(name: &str) -> bool {
    STAGE_INPUTS.contains(&name)
}

impl ChainFile {
    pub fn parse(text: &str, path: &str) -> Result<ChainFile, InputError> {
        let path = printable(path);
        let file: ChainFile = serde_yaml_ng::from_str(text).map_err(|e| {
            InputError::new(
                "config",
                format!("{path}: {e}"),
                "fix the file; its schema is docs/ecs-deploy.schema.json",
            )
        })?;
        if file.stages.is_empty() {
            return Err(InputError::new(
                "config",
                format!("{path} has no stages"),
                "list the stages in order, e.g. dev, staging, prod",
            ));
        }
        if !file.images.is_empty() && file.repository.is_some() {
            return Err(InputError::new(
                "config",
                format!("{path} sets both `repository` and `images`"),
                "a single-image chain names its `repository`; a multi-image one lists `images` (component: repository)",
            ));
        }
        for (component, repo) in &file.images {
            let ecr = crate::domain::image::ImageRef::parse(&format!("{repo}:x"))
                .ok()
                .and_then(|r| r.ecr());
            if !super::validate::is_ecs_name(component) || ecr.is_none() {
                return Err(InputError::new(
                    "config",
                    format!(
                        "{path}: image `{}: {}` is not a container name and an ECR repository",
                        printable(component),
                        printable(repo)
                    ),
                    "list each component as `container: <account>.dkr.ecr.<region>.amazonaws.com/<repository>`",
                ));
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for s in &file.stages {
            if !seen.insert(&s.name) {
                return Err(InputError::new(
                    "config",
                    format!("{path}: stage `{}` is defined twice", printable(&s.name)),
                    "give each stage once",
                ));
            }
            for key in s.inputs.keys() {
                if !STAGE_INPUTS.contains(&key.as_str()) {
                    return Err(InputError::new(
                        "config",
                        format!(
                            "{path}: stage `{}` has an unknown key `{}`",
                            printable(&s.name),
                            printable(key)
                        ),
                        format!(
                            "use one of: name, environment, url, version, {}",
                            STAGE_INPUTS.join(", ")
                        ),
                    ));
                }
            }
            check_words_and_steps(&path, s)?;
            if let Some(v) = &s.version {
                if v != "auto" {
                    return Err(InputError::new(
                        "config",
                        format!("{path}: stage `{}` has version `{}`", printable(&s.name), printable(v)),
                        "a stage's version can only be `auto`; explicit versions are inputs",
                    ));
                }
            }
        }
        Ok(file)
    }

    /// Whether the chain's release is several images (`images:`).
    pub fn multi_image(&self) -> bool {
        !self.images.is_empty()
    }

    /// The stand-in `containers` of a multi-image stage whose images are decided at run time.
    pub fn stand_in_containers(&self) -> String {
        self.images
            .iter()
            .map(|(c, repo)| format!("{c}={repo}:chain"))
            .collect::<Vec<_>>()
            .join(",")
    }

    pub fn stage(&self, name: &str) -> Option<&StageFile> {
        self.stages.iter().find(|s| s.name == name)
    }

    pub fn index(&self, name: &str) -> Option<usize> {
        self.stages.iter().position(|s| s.name == name)
    }
}

/// Every stage's words and canary steps are checked when the file is read, as the schema checks
/// them, not only the stage a run deploys: a typo in prod's strategy fails dev's run too.
fn check_words_and_steps(path: &str, s: &StageFile) -> Result<(), InputError> {
    let in_stage = |key: &str, problem: String, fix: String| {
        InputError::new(
            "config",
            format!("{path}: stage `{}`: {key}: {problem}", printable(&s.name)),
            fix,
        )
    };
    for (key, value) in &s.inputs {
        if super::choices::words(key).is_some() {
            super::choices::check(key, &value.as_input()).map_err(|e| in_stage(key, e.problem, e.fix))?;
        }
        if key == "canary-steps" {
            crate::domain::strategy::parse_steps(&value.as_input()).map_err(|e| {
                in_stage(
                    key,
                    printable(&e),
                    "list ascending percentages that end at 100, e.g. 5,25,100".into(),
                )
            })?;
        }
    }
    Ok(())
}

impl StageFile {
    pub fn environment(&self) -> &str {
        self.environment.as_deref().unwrap_or(&self.name)
    }

    /// The stage's values under `inputs` (scoped by `stage_scope`): an input that was given
    /// wins. A value that does not read is an error naming the stage, never a default.
    pub fn overlay(&self, inputs: &RawInputs) -> Result<RawInputs, InputError> {
        let pairs: Vec<(String, String)> = self
            .inputs
            .iter()
            .map(|(k, v)| (format!("INPUT_{}", k.to_uppercase()), v.as_input()))
            .collect();
        let base = RawInputs::from_vars(pairs).map_err(|e| {
            InputError::new(
                "config",
                format!("stage `{}`: {}", super::validate::printable(&self.name), e.problem),
                "fix the stage's values in the config file",
            )
        })?;
        merge(base, inputs).map_err(|e| {
            InputError::new(
                "config",
                format!(
                    "stage `{}`: its values and the inputs do not combine: {e}",
                    super::validate::printable(&self.name)
                ),
                "fix the stage's values in the config file",
            )
        })
    }
}

/// `over` wins wherever it has a non-empty value. Field by field through serde, so an input
/// added to `RawInputs` is merged without being listed here.
fn merge(base: RawInputs, over: &RawInputs) -> Result<RawInputs, serde_json::Error> {
    let (serde_json::Value::Object(mut merged), serde_json::Value::Object(over)) =
        (serde_json::to_value(base.clone())?, serde_json::to_value(over)?)
    else {
        return Ok(base);
    };
    for (key, value) in over {
        if value.as_str().is_some_and(|v| !v.trim().is_empty()) {
            let trimmed = value.as_str().map(str::trim).unwrap_or_default().to_string();
            merged.insert(key, serde_json::Value::String(trimmed));
        }
    }
    serde_json::from_value(serde_json::Value::Object(merged))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
repository: 123456789012.dkr.ecr.us-east-1.amazonaws.com/shop/web
stages:
  - name: dev
    cluster: dev
    services: [web]
  - name: staging
    version: auto
    cluster: staging
    services: [web-blue, web-green]
    strategy: blue-green
    bake-time: 2m
  - name: prod
    environment: production
    cluster: prod
    services: web-blue, web-green
    strategy: canary
    canary-steps: [5, 25, 100]
    min-requests: 100
    rollback-on-failure: true
"#;

    #[test]
    fn parses_and_overlays() {
        let f = ChainFile::parse(FILE, "x.yml").unwrap();
        assert_eq!(f.stages.len(), 3);
        assert_eq!(f.stage("prod").unwrap().environment(), "production");
        assert_eq!(f.stage("dev").unwrap().environment(), "dev");
        let over = RawInputs {
            bake_time: Some("30s".into()),
            cluster: Some("".into()),
            ..Default::default()
        };
        let prod = f.stage("prod").unwrap().overlay(&over).unwrap();
        assert_eq!(prod.canary_steps.as_deref(), Some("5,25,100"));
        assert_eq!(
            prod.cluster.as_deref(),
            Some("prod"),
            "an empty input does not override"
        );
        assert_eq!(
            prod.bake_time.as_deref(),
            Some("30s"),
            "a given input overrides the file"
        );
        assert_eq!(prod.services.as_deref(), Some("web-blue, web-green"));
        assert_eq!(prod.rollback_on_failure.as_deref(), Some("true"));
    }

    #[test]
    fn unknown_keys_are_errors() {
        let bad = "stages:\n  - name: dev\n    clustr: dev\n";
        let e = ChainFile::parse(bad, "f.yml").unwrap_err();
        assert!(e.problem.contains("unknown key `clustr`"), "{e}");
        let bad = "stagez: []\n";
        assert!(ChainFile::parse(bad, "f.yml").is_err());
        let dup = "stages:\n  - name: dev\n  - name: dev\n";
        assert!(ChainFile::parse(dup, "f.yml").unwrap_err().problem.contains("twice"));
    }
}
