//! Inputs for a service ECS deploys with its own BLUE_GREEN, LINEAR or CANARY strategy: the
//! strategy overrides (`native-*`) and `wait-until`. Whether the service's strategy can take
//! an override is only known once the service is read; that check is `NativeOverrides::apply`,
//! still before any change.

pub use crate::domain::settings::{CodeDeployInputs, NativeConfig};
use std::time::Duration;

use super::inputs::{given, RawInputs};
use super::progressive::{rate, ProgressiveConfig};
use super::validate::{duration_input, printable, InputError};
use crate::domain::native::{NativeOverrides, WaitUntil};

/// A CodeDeploy name input (1-100 characters, no control characters), None when not given.
fn codedeploy_name(v: &Option<String>, input: &'static str, errors: &mut Vec<InputError>) -> Option<String> {
    let s = given(v)?;
    if s.chars().count() > 100 || s.chars().any(|c| c.is_control() || c.is_whitespace()) {
        errors.push(InputError::new(
            input,
            format!("`{}` is not a CodeDeploy name", printable(s)),
            "copy it from `aws deploy list-applications` or `list-deployment-groups`",
        ));
        return None;
    }
    Some(s.to_string())
}

const DAY: Duration = Duration::from_secs(24 * 3600);

/// A percentage input within `min`..=100 (ECS's valid values), None when not given.
fn percent(v: &Option<String>, input: &'static str, min: f64, errors: &mut Vec<InputError>) -> Option<f64> {
    let s = given(v)?;
    match rate(s) {
        Ok(r) if r * 100.0 >= min - 1e-9 && r > 0.0 => Some((r * 1000.0).round() / 10.0),
        Ok(_) => {
            errors.push(InputError::new(
                input,
                format!("{} is below ECS's minimum of {min}%", printable(s)),
                format!("write between {min}% and 100%"),
            ));
            None
        }
        Err(e) => {
            errors.push(InputError::new(input, e, "write a percentage such as 10%"));
            None
        }
    }
}

/// A whole-minutes input (ECS takes minutes, 0 to 1440), None when not given.
fn minutes(v: &Option<String>, input: &'static str, errors: &mut Vec<InputError>) -> Option<Duration> {
    given(v)?;
    let before = errors.len();
    let d = duration_input(v, input, Duration::ZERO, Duration::ZERO, DAY, errors);
    if errors.len() > before {
        return None;
    }
    if !d.as_secs().is_multiple_of(60) {
        errors.push(InputError::new(
            input,
            format!("{} is not whole minutes", humantime::format_duration(d)),
            "ECS takes minutes: write e.g. 5m",
        ));
        return None;
    }
    Some(d)
}

pub fn native(
    raw: &RawInputs,
    analysis: Option<ProgressiveConfig>,
    errors: &mut Vec<InputError>,
) -> Option<NativeConfig> {
    let overrides = NativeOverrides {
        canary_percent: percent(&raw.native_canary_percent, "native-canary-percent", 0.1, errors),
        canary_bake: minutes(&raw.native_canary_bake, "native-canary-bake", errors),
        linear_percent: percent(&raw.native_linear_percent, "native-linear-percent", 3.0, errors),
        linear_bake: minutes(&raw.native_linear_bake, "native-linear-bake", errors),
        bake: minutes(&raw.native_bake_time, "native-bake-time", errors),
    };
    let wait_until = match given(&raw.wait_until) {
        None => WaitUntil::Deployed,
        Some(s) => WaitUntil::parse(s).unwrap_or_else(|| {
            errors.push(super::choices::refusal("wait-until", s));
            WaitUntil::Deployed
        }),
    };
    let codedeploy = CodeDeployInputs {
        application: codedeploy_name(&raw.codedeploy_application, "codedeploy-application", errors),
        group: codedeploy_name(&raw.codedeploy_deployment_group, "codedeploy-deployment-group", errors),
        config: codedeploy_name(&raw.codedeploy_config, "codedeploy-config", errors),
    };
    if codedeploy.application.is_some() != codedeploy.group.is_some() {
        let missing = if codedeploy.application.is_some() {
            "codedeploy-deployment-group"
        } else {
            "codedeploy-application"
        };
        errors.push(InputError::new(
            missing,
            "is required with the other CodeDeploy input",
            "give both codedeploy-application and codedeploy-deployment-group",
        ));
    }
    Some(NativeConfig {
        analysis: analysis?,
        overrides,
        wait_until,
        codedeploy,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(pairs: &[(&str, &str)]) -> (Option<NativeConfig>, Vec<InputError>) {
        let raw = RawInputs::from_pairs(pairs);
        let mut errors = Vec::new();
        let analysis = super::super::progressive::validate_native(&raw, &["api".to_string()], &mut errors);
        (native(&raw, analysis, &mut errors), errors)
    }

    #[test]
    fn overrides_and_wait_until_parse() {
        let (cfg, errors) = run(&[
            ("native-canary-percent", "10%"),
            ("native-canary-bake", "5m"),
            ("wait-until", "shifted"),
        ]);
        assert!(errors.is_empty(), "{errors:?}");
        let cfg = cfg.unwrap();
        assert_eq!(cfg.overrides.canary_percent, Some(10.0));
        assert_eq!(cfg.overrides.canary_bake, Some(Duration::from_secs(300)));
        assert_eq!(cfg.wait_until, WaitUntil::Shifted);
        assert_eq!(cfg.analysis.slots[0], "api");
    }

    #[test]
    fn a_deployment_group_without_its_application_names_the_missing_input() {
        let (_, errors) = run(&[("codedeploy-deployment-group", "api-dg")]);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].input, "codedeploy-application");
        let (cfg, errors) = run(&[
            ("codedeploy-application", "shop"),
            ("codedeploy-deployment-group", "api-dg"),
            ("codedeploy-config", "CodeDeployDefault.ECSAllAtOnce"),
        ]);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(cfg.unwrap().codedeploy.group.as_deref(), Some("api-dg"));
    }

    #[test]
    fn each_bad_value_is_one_error_naming_its_input() {
        for (input, value, says) in [
            ("native-linear-percent", "1%", "minimum of 3%"),
            ("native-canary-percent", "lots", "not a rate"),
            ("native-bake-time", "90s", "whole minutes"),
            ("native-linear-bake", "2d", "out of range"),
            ("wait-until", "forever", "is not one of"),
            ("codedeploy-application", "my app", "not a CodeDeploy name"),
        ] {
            let (_, errors) = run(&[(input, value)]);
            assert_eq!(errors.len(), 1, "{input}: {errors:?}");
            assert_eq!(errors[0].input, input);
            assert!(errors[0].to_string().contains(says), "{input}: {}", errors[0]);
        }
    }
}
