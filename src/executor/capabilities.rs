//! What each deployment controller honours. A setting a controller cannot honour is refused
//! before any change, naming the setting, the controller and what to do instead: never
//! silently skipped.

use crate::domain::settings::DeployConfig;
use crate::error::Error;

pub use crate::domain::controller::Controller;

/// How a controller takes an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    /// It does what the input says.
    Honoured,
    /// It cannot: refused before any change, with what to do instead.
    Refused(&'static str),
    /// Honoured at this value (case-insensitive), refused at any other.
    OnlyAt(&'static str, &'static str),
}

use Support::{Honoured as H, OnlyAt, Refused as R};

const NO_WEIGHTS: &str = "an ECS rolling update moves no ALB weights; set `strategy` to canary, linear, blue-green or all-at-once to deploy through two slots, or remove it";
const NATIVE_SHIFTS: &str = "ECS shifts this service's traffic with its own strategy and load balancer settings; set its steps with native-canary-percent or native-linear-percent, or remove it";
const CODEDEPLOY_SHIFTS: &str = "CodeDeploy shifts this service's traffic with its deployment configuration; choose one with codedeploy-config, or remove it";
const ECS_JUDGES: &str = "an ECS rolling update is judged by ECS itself (the deployment circuit breaker and the service's deploymentConfiguration.alarms), not by the action's analysis; put the alarms on the service's deployment configuration, or set `strategy` to canary, linear or blue-green for the action's analysis, or remove it";
const NATIVE_BAKES: &str = "ECS times this service's steps itself; set them with native-canary-bake, native-linear-bake or native-bake-time, or remove it";
const CODEDEPLOY_BAKES: &str =
    "the deployment configuration times CodeDeploy's steps; choose one with codedeploy-config, or remove it";
const NOT_NATIVE: &str =
    "it applies only to a service on ECS's own BLUE_GREEN, LINEAR or CANARY strategy, and this one is not; remove it";
const NOT_CODEDEPLOY: &str =
    "it applies only to a service on the CODE_DEPLOY deployment controller, and this one is not; remove it";
const NOT_FOLLOWED: &str =
    "it applies only to a deployment ECS or CodeDeploy runs on its own, which this job follows; remove it";
const WHOLE_STEP: &str = "here each step is judged as a whole; remove it";
const AWS_PACES: &str = "ECS or CodeDeploy sets when each step ends, so no step can pass early; remove it";
const ALWAYS_ROLLS_BACK: &str = "a failed rollout on this controller always ends with traffic back on the stable version; remove it (or set it to true)";
const KEEPS_COUNT_NATIVE: &str = "ECS starts the new revision at the service's own desired count; change the count on the service (or in your infrastructure code) before deploying, or remove the input";
const KEEPS_COUNT_CODEDEPLOY: &str = "CodeDeploy starts the replacement task set at the service's own desired count; change the count on the service (or in your infrastructure code) before deploying, or remove the input";
const NO_SPLIT: &str = "an ECS rolling update leaves no traffic split to find; remove it";
const CODEDEPLOY_STOPS: &str =
    "an earlier run's CodeDeploy deployment is always stopped with auto-rollback before this one starts; remove it";
const CODEDEPLOY_SMOKE: &str = "CodeDeploy does not wait for `smoke-url` (test it with an AppSpec hook of your own, or the group's deployment-ready wait); remove it";
const NO_SMOKE: &str = "an ECS rolling update has no test listener to smoke-test before production traffic; use a two-slot strategy with test-listener-arn, or remove it";

/// Every input of action.yml, and how each controller takes it: [rolling, two-slot,
/// ECS-native, CodeDeploy]. A test keeps it complete against action.yml.
pub const TABLE: &[(&str, [Support; 4])] = &[
    // What every controller honours: where and what to deploy, records, reports.
    ("cluster", [H, H, H, H]),
    ("services", [H, H, H, H]),
    ("image", [H, H, H, H]),
    ("containers", [H, H, H, H]),
    ("aws-region", [H, H, H, H]),
    ("wait-timeout", [H, H, H, H]),
    ("poll-interval", [H, H, H, H]),
    ("stage", [H, H, H, H]),
    ("version", [H, H, H, H]),
    ("github-token", [H, H, H, H]),
    ("strategy", [H, H, H, H]),
    ("config", [H, H, H, H]),
    ("command", [H, H, H, H]),
    ("to", [H, H, H, H]),
    ("until", [H, H, H, H]),
    ("allow-unverified", [H, H, H, H]),
    ("commit", [H, H, H, H]),
    ("commit-repository", [H, H, H, H]),
    ("force-new-deployment", [H, H, H, H]),
    ("keep-revisions", [H, H, H, H]),
    ("task-definition", [H, H, H, H]),
    ("role-to-assume", [H, H, H, H]),
    ("suspend-auto-scaling", [H, H, H, H]),
    ("run-task-command", [H, H, H, H]),
    ("run-task-container", [H, H, H, H]),
    ("run-task-timeout", [H, H, H, H]),
    ("run-task-subnets", [H, H, H, H]),
    ("run-task-security-groups", [H, H, H, H]),
    ("run-task-assign-public-ip", [H, H, H, H]),
    ("report", [H, H, H, H]),
    ("slack-webhook-url", [H, H, H, H]),
    ("webhook-url", [H, H, H, H]),
    // How many tasks, and what a failure does.
    (
        "desired-count",
        [H, H, R(KEEPS_COUNT_NATIVE), R(KEEPS_COUNT_CODEDEPLOY)],
    ),
    (
        "rollback-on-failure",
        [
            H,
            OnlyAt("true", ALWAYS_ROLLS_BACK),
            OnlyAt("true", ALWAYS_ROLLS_BACK),
            OnlyAt("true", ALWAYS_ROLLS_BACK),
        ],
    ),
    // Two slots behind ALB weights.
    (
        "listener-arn",
        [R(NO_WEIGHTS), H, R(NATIVE_SHIFTS), R(CODEDEPLOY_SHIFTS)],
    ),
    (
        "test-listener-arn",
        [R(NO_WEIGHTS), H, R(NATIVE_SHIFTS), R(CODEDEPLOY_SHIFTS)],
    ),
    (
        "canary-steps",
        [R(NO_WEIGHTS), H, R(NATIVE_SHIFTS), R(CODEDEPLOY_SHIFTS)],
    ),
    (
        "linear-step",
        [R(NO_WEIGHTS), H, R(NATIVE_SHIFTS), R(CODEDEPLOY_SHIFTS)],
    ),
    (
        "keep-old-for",
        [R(NO_WEIGHTS), H, R(NATIVE_SHIFTS), R(CODEDEPLOY_SHIFTS)],
    ),
    (
        "sticky-rollback",
        [R(NO_WEIGHTS), H, R(NATIVE_SHIFTS), R(CODEDEPLOY_SHIFTS)],
    ),
    ("on-split", [R(NO_SPLIT), H, H, R(CODEDEPLOY_STOPS)]),
    // The action's analysis of a rollout.
    ("bake-time", [R(ECS_JUDGES), H, R(NATIVE_BAKES), R(CODEDEPLOY_BAKES)]),
    ("analysis-interval", [R(ECS_JUDGES), H, H, H]),
    ("alarms", [R(ECS_JUDGES), H, H, H]),
    ("max-5xx-rate", [R(ECS_JUDGES), H, H, H]),
    ("max-p99-latency", [R(ECS_JUDGES), H, H, H]),
    ("max-5xx-rate-increase", [R(ECS_JUDGES), H, H, H]),
    ("min-requests", [R(ECS_JUDGES), H, H, H]),
    ("failure-limit", [R(ECS_JUDGES), H, H, H]),
    ("metrics-delay", [R(ECS_JUDGES), H, H, H]),
    ("on-inconclusive", [R(ECS_JUDGES), H, H, H]),
    ("recent-window", [R(ECS_JUDGES), H, R(WHOLE_STEP), R(WHOLE_STEP)]),
    ("judge", [R(ECS_JUDGES), H, H, H]),
    ("judge-confidence", [R(ECS_JUDGES), H, H, H]),
    ("judge-margin", [R(ECS_JUDGES), H, H, H]),
    ("early-pass", [R(ECS_JUDGES), H, R(AWS_PACES), R(AWS_PACES)]),
    ("smoke-url", [R(NO_SMOKE), H, H, R(CODEDEPLOY_SMOKE)]),
    ("smoke-timeout", [R(NO_SMOKE), H, H, R(CODEDEPLOY_SMOKE)]),
    // A deployment AWS runs on its own.
    (
        "native-canary-percent",
        [R(NOT_NATIVE), R(NOT_NATIVE), H, R(NOT_NATIVE)],
    ),
    ("native-canary-bake", [R(NOT_NATIVE), R(NOT_NATIVE), H, R(NOT_NATIVE)]),
    (
        "native-linear-percent",
        [R(NOT_NATIVE), R(NOT_NATIVE), H, R(NOT_NATIVE)],
    ),
    ("native-linear-bake", [R(NOT_NATIVE), R(NOT_NATIVE), H, R(NOT_NATIVE)]),
    ("native-bake-time", [R(NOT_NATIVE), R(NOT_NATIVE), H, R(NOT_NATIVE)]),
    ("wait-until", [R(NOT_FOLLOWED), R(NOT_FOLLOWED), H, H]),
    (
        "codedeploy-application",
        [R(NOT_CODEDEPLOY), R(NOT_CODEDEPLOY), R(NOT_CODEDEPLOY), H],
    ),
    (
        "codedeploy-deployment-group",
        [R(NOT_CODEDEPLOY), R(NOT_CODEDEPLOY), R(NOT_CODEDEPLOY), H],
    ),
    (
        "codedeploy-config",
        [R(NOT_CODEDEPLOY), R(NOT_CODEDEPLOY), R(NOT_CODEDEPLOY), H],
    ),
];

/// The table's column of a controller.
trait Column {
    fn column(self) -> usize;
}

impl Column for Controller {
    fn column(self) -> usize {
        match self {
            Controller::Rolling => 0,
            Controller::TwoSlot => 1,
            Controller::EcsNative => 2,
            Controller::CodeDeploy => 3,
        }
    }
}

/// How `controller` takes `input` (an input the table does not list is honoured: the table
/// test keeps every action.yml input listed).
pub fn support(input: &str, controller: Controller) -> Support {
    TABLE
        .iter()
        .find(|(name, _)| *name == input)
        .map_or(Support::Honoured, |(_, row)| row[controller.column()])
}

/// The README's table of what each controller honours: every input some controller refuses
/// (the others are honoured by all four), generated from `TABLE` and tested against README.md.
pub fn markdown_table() -> String {
    let mut md = String::from(
        "| Input | ECS rolling | Two slots (ALB weights) | ECS-native | CodeDeploy |\n|---|---|---|---|---|\n",
    );
    for (input, row) in TABLE
        .iter()
        .filter(|(_, row)| row.iter().any(|s| *s != Support::Honoured))
    {
        let cells: Vec<String> = row
            .iter()
            .map(|s| match s {
                Support::Honoured => "✓".to_string(),
                Support::Refused(_) => "refused".to_string(),
                Support::OnlyAt(value, _) => format!("only `{value}`"),
            })
            .collect();
        md.push_str(&format!("| `{input}` | {} |\n", cells.join(" | ")));
    }
    md
}

/// Why `controller` cannot honour the input at this value, if it cannot.
fn refusal(input: &str, value: &str, controller: Controller) -> Option<&'static str> {
    match support(input, controller) {
        Support::Honoured => None,
        Support::Refused(instead) => Some(instead),
        Support::OnlyAt(ok, _) if value.eq_ignore_ascii_case(ok) => None,
        Support::OnlyAt(_, instead) => Some(instead),
    }
}

/// Refuses, before any change, every setting of the run that `controller` cannot honour,
/// in one error naming each setting, the controller and what to do instead.
pub fn check(cfg: &DeployConfig, service: &str, controller: Controller) -> Result<(), Error> {
    let refused: Vec<String> = cfg
        .given
        .iter()
        .filter_map(|(input, value)| refusal(input, value, controller).map(|instead| format!("`{input}`: {instead}")))
        .collect();
    if refused.is_empty() {
        return Ok(());
    }
    Err(Error::Preflight {
        cluster: cfg.cluster.clone(),
        service: service.to_string(),
        problem: format!(
            "is deployed by the {} controller, which does not honour {}",
            controller.name(),
            refused.join("; and ")
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> DeployConfig {
        let mut all = vec![
            ("cluster", "c"),
            ("services", "api"),
            ("image", "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1"),
        ];
        all.extend_from_slice(pairs);
        crate::test_fixtures::settings(&all, Default::default())
    }

    /// The table lists every input of action.yml, once, and nothing else.
    #[test]
    fn the_table_covers_every_input_of_action_yml_once() {
        let declared = crate::test_fixtures::action_inputs();
        let listed: Vec<&str> = TABLE.iter().map(|(name, _)| *name).collect();
        for name in &declared {
            let times = listed.iter().filter(|l| *l == name).count();
            assert_eq!(times, 1, "`{name}` is in the capability table {times} times");
        }
        for name in &listed {
            assert!(
                declared.iter().any(|d| d == name),
                "`{name}` is not an input of action.yml"
            );
        }
    }

    /// Every input against every controller: honoured, or refused with one error that names
    /// the input, the controller and what to do instead.
    #[test]
    fn every_input_is_honoured_or_refused_with_its_alternative_on_every_controller() {
        let base = cfg(&[]);
        for (input, row) in TABLE {
            for controller in Controller::ALL {
                let support = row[controller.column()];
                let values: Vec<(&str, bool)> = match support {
                    Support::Honoured => vec![("x", true)],
                    Support::Refused(_) => vec![("x", false)],
                    Support::OnlyAt(ok, _) => vec![(ok, true), ("other", false)],
                };
                for (value, honoured) in values {
                    let mut with = base.clone();
                    with.given.insert(input.to_string(), value.to_string());
                    let verdict = check(&with, "api", controller);
                    assert_eq!(verdict.is_ok(), honoured, "{input}={value} on {controller:?}");
                    if let Err(e) = verdict {
                        let text = e.to_string();
                        let instead = match support {
                            Support::Refused(i) | Support::OnlyAt(_, i) => i,
                            Support::Honoured => unreachable!("refused above"),
                        };
                        assert!(
                            text.contains(&format!("`{input}`"))
                                && text.contains(controller.name())
                                && text.contains(instead),
                            "{text}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn every_refused_setting_is_named_in_the_one_error() {
        let mut with = cfg(&[]);
        with.given.insert("alarms".into(), "api-5xx".into());
        with.given.insert("canary-steps".into(), "5,100".into());
        let text = check(&with, "api", Controller::Rolling).unwrap_err().to_string();
        assert!(text.contains("`alarms`") && text.contains("`canary-steps`"), "{text}");
    }

    #[test]
    fn desired_count_is_refused_where_aws_keeps_the_count_and_honoured_elsewhere() {
        let with = cfg(&[("desired-count", "3")]);
        for (controller, refused) in [
            (Controller::Rolling, false),
            (Controller::TwoSlot, false),
            (Controller::EcsNative, true),
            (Controller::CodeDeploy, true),
        ] {
            let verdict = check(&with, "api", controller);
            assert_eq!(verdict.is_err(), refused, "{controller:?}");
            if let Err(e) = verdict {
                let text = e.to_string();
                assert!(
                    text.contains("`desired-count`") && text.contains(controller.name()),
                    "{text}"
                );
            }
        }
    }

    /// Every input at its action.yml default (the runner passes them all) is honoured.
    #[test]
    fn the_defaults_are_honoured_by_every_controller() {
        let defaults = cfg(&[]);
        for controller in Controller::ALL {
            assert!(check(&defaults, "api", controller).is_ok(), "{controller:?}");
        }
    }
}
