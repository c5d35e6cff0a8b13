//! Which inputs reach which stage of a chain. The run's own inputs (what to release, how far,
//! where to report) reach every stage it walks. Every other input is a setting of the stage
//! named by `stage` only: never of the stages `until` walks into, and never of the previous
//! stage, which provenance reads where the file says it is. A run that walks several stages
//! takes where each one is (its cluster, services, listener…) from the file alone.

use super::inputs::{given, RawInputs};
use super::validate::InputError;

/// Inputs of the run itself: they reach every stage it walks.
pub const RUN_WIDE: &[&str] = &[
    "config",
    "stage",
    "until",
    "command",
    "image",
    "containers",
    "version",
    "to",
    "allow-unverified",
    "github-token",
    "slack-webhook-url",
    "webhook-url",
    "report",
    "commit",
    "commit-repository",
];

/// Inputs that say where a stage is: refused beside `until`, where they would be ambiguous.
pub const TOPOLOGY: &[&str] = &[
    "cluster",
    "services",
    "listener-arn",
    "test-listener-arn",
    "aws-region",
    "role-to-assume",
    "codedeploy-application",
    "codedeploy-deployment-group",
    "task-definition",
];

/// `raw` with only the run-wide inputs: what reaches a stage other than the one named.
pub fn run_wide(raw: &RawInputs) -> Result<RawInputs, InputError> {
    let broken = |e: serde_json::Error| {
        InputError::new(
            "(inputs)",
            format!("could not scope the inputs to the chain's stages: {e}"),
            "report this as a bug",
        )
    };
    let serde_json::Value::Object(all) = serde_json::to_value(raw).map_err(broken)? else {
        return Ok(RawInputs::default());
    };
    let kept: serde_json::Map<String, serde_json::Value> = all
        .into_iter()
        .filter(|(k, _)| RUN_WIDE.contains(&k.as_str()))
        .collect();
    serde_json::from_value(serde_json::Value::Object(kept)).map_err(broken)
}

/// One error per topology input given on a run that walks from `start` to `until`.
pub fn topology_beside_until(raw: &RawInputs, start: &str, until: &str) -> Vec<InputError> {
    let serde_json::Value::Object(all) = serde_json::to_value(raw).unwrap_or_default() else {
        return Vec::new();
    };
    TOPOLOGY
        .iter()
        .filter(|name| {
            all.get(**name)
                .and_then(|v| v.as_str())
                .is_some_and(|v| given(&Some(v.to_string())).is_some())
        })
        .map(|name| {
            InputError::new(
                name,
                format!(
                    "says where a stage is, and this run walks from `{}` to `{}`, each stage where the config file puts it",
                    super::validate::printable(start),
                    super::validate::printable(until)
                ),
                format!("set `{name}` in the stages of the config file, or deploy one stage (no `until`) to apply it to that stage only"),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(pairs: &[(&str, &str)]) -> RawInputs {
        RawInputs::from_vars(
            pairs
                .iter()
                .map(|(k, v)| (format!("INPUT_{}", k.to_uppercase()), v.to_string())),
        )
        .expect("inputs")
    }

    #[test]
    fn only_the_runs_own_inputs_reach_other_stages() {
        let r = raw(&[
            ("cluster", "x"),
            ("bake-time", "5m"),
            ("image", "repo:v1"),
            ("stage", "dev"),
        ]);
        let wide = run_wide(&r).expect("scoped");
        assert_eq!(wide.cluster, None);
        assert_eq!(wide.bake_time, None);
        assert_eq!(wide.image.as_deref(), Some("repo:v1"));
        assert_eq!(wide.stage.as_deref(), Some("dev"));
    }

    #[test]
    fn topology_beside_until_is_refused_by_name() {
        let r = raw(&[("cluster", "x"), ("services", ""), ("bake-time", "5m")]);
        let e = topology_beside_until(&r, "staging", "prod");
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0].input, "cluster");
        assert!(e[0].problem.contains("walks from `staging` to `prod`"), "{:?}", e[0]);
    }

    #[test]
    fn every_name_is_an_input_of_action_yml() {
        let declared: Vec<String> = crate::config::inputs::action_yml_defaults()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        for name in RUN_WIDE.iter().chain(TOPOLOGY) {
            assert!(declared.iter().any(|d| d == name), "{name} is not in action.yml");
        }
    }
}
