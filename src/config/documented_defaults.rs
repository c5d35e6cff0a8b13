//! The defaults a user reads are the ones the code applies. action.yml declares `default: ""`
//! for every input a config-file stage can also set (the runner passes a declared default as
//! if the step had set it, and a set input wins over the file), and says "Default is X" in the
//! description; the README table is generated from action.yml (tests/docs.rs). Here: X given
//! explicitly must validate to exactly what leaving the input at its default does.

use super::inputs::{action_yml_defaults, RawInputs};
use super::validate::validate;
use super::GithubContext;

const IMG: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1";

/// "Default is X." in an input's description, when X is a value (not prose like "the
/// service's own count").
fn documented_default(description: &str) -> Option<String> {
    let rest = description.split("Default is ").nth(1)?;
    let word = rest.split_whitespace().next()?;
    let value = word.trim_end_matches(['.', ',']);
    let is_value = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ',' | '%' | '-'))
        && !matches!(value, "the" | "all" | "this" | "a" | "an");
    is_value.then(|| value.to_string())
}

fn descriptions() -> Vec<(String, String)> {
    let action: serde_yaml_ng::Value = serde_yaml_ng::from_str(include_str!("../../action.yml")).unwrap();
    action["inputs"]
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().unwrap().to_string(),
                v["description"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// The config as validated from a step's `with:` (everything else at action.yml's defaults).
/// The settings, without the record of which inputs were given (which says, rightly, that
/// one more was: what the controllers are checked against, `executor::capabilities`).
fn validated(pairs: &[(&str, &str)]) -> Result<String, String> {
    validate(
        &RawInputs::from_pairs(pairs),
        GithubContext::default(),
        Some("us-east-1".into()),
    )
    .map(|mut c| {
        c.given.clear();
        format!("{c:?}")
    })
    .map_err(|e| format!("{e:?}"))
}

#[test]
fn every_documented_default_is_the_code_default() {
    let bases: [&[(&str, &str)]; 3] = [
        &[("cluster", "c"), ("services", "api"), ("image", IMG)],
        &[
            ("cluster", "c"),
            ("services", "blue,green"),
            ("image", IMG),
            ("strategy", "canary"),
            (
                "listener-arn",
                "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/a/1/2",
            ),
        ],
        &[
            ("cluster", "c"),
            ("services", "blue,green"),
            ("image", IMG),
            ("strategy", "linear"),
            (
                "listener-arn",
                "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/a/1/2",
            ),
        ],
    ];
    let mut checked = Vec::new();
    for (name, description) in descriptions() {
        let Some(value) = documented_default(&description) else {
            continue;
        };
        // The input must behave as documented in at least one setting where it applies, and
        // never differently where it is accepted.
        let mut applies = false;
        for base in bases.iter().filter(|b| !b.iter().any(|(k, _)| *k == name)) {
            let without = validated(base).unwrap_or_else(|e| panic!("the base {base:?} is invalid: {e}"));
            let mut with = base.to_vec();
            with.push((name.as_str(), value.as_str()));
            if let Ok(with) = validated(&with) {
                assert_eq!(
                    with, without,
                    "`{name}: {value}` (its documented default) changes the run"
                );
                applies = true;
            }
        }
        assert!(
            applies,
            "`{name}: {value}`, its documented default, is refused everywhere"
        );
        checked.push(name);
    }
    assert!(checked.len() >= 20, "only {checked:?} carry a documented default");
}

#[test]
fn only_the_required_inputs_validate_with_every_other_at_its_default() {
    let cfg = validate(
        &RawInputs::from_pairs(&[("cluster", "c"), ("services", "api"), ("image", IMG)]),
        GithubContext::default(),
        Some("us-east-1".into()),
    );
    assert!(cfg.is_ok(), "{:?}", cfg.err());
}

#[test]
fn no_declared_default_can_override_a_stage_of_the_config_file() {
    for (name, default) in action_yml_defaults() {
        if super::chain_file::is_stage_input(&name) {
            assert_eq!(
                default, "",
                "`{name}` declares a default in action.yml: the runner passes it as if set, and it would override every stage's `{name}` in the config file; declare \"\" and say \"Default is {default}\" in the description"
            );
        }
    }
}
