//! The `judge: compare` inputs (issue 17): `judge`, `judge-confidence`, `judge-margin` and
//! `early-pass`, validated together so each bad value is one error naming its input.

use super::inputs::{given, RawInputs};
use super::progressive::rate;
use super::validate::{printable, InputError};
pub use crate::domain::settings::CompareJudge;

/// A rate input with a default; a bad value is an error naming the input.
fn percent(value: &Option<String>, input: &'static str, default: f64, errors: &mut Vec<InputError>) -> f64 {
    match given(value) {
        None => default,
        Some(s) => rate(s).unwrap_or_else(|e| {
            errors.push(InputError::new(input, e, "write a percentage such as 95% or 0.5%"));
            default
        }),
    }
}

/// `judge`, `judge-confidence`, `judge-margin` and `early-pass`; None for `judge: threshold`.
/// The capability table refuses a given `judge` where nothing is judged (rolling); the default
/// is harmless there, as nothing reads it.
pub fn compare_judge(raw: &RawInputs, errors: &mut Vec<InputError>) -> Option<CompareJudge> {
    // `compare` by default since issue 28: a test whose error rate holds per rollout.
    let compare = match given(&raw.judge).unwrap_or("compare") {
        "threshold" => false,
        "compare" => true,
        other => {
            errors.push(super::choices::refusal("judge", other));
            false
        }
    };
    let confidence = percent(&raw.judge_confidence, "judge-confidence", 0.95, errors);
    if !(0.5..1.0).contains(&confidence) {
        errors.push(InputError::new(
            "judge-confidence",
            "must be at least 50% and below 100%",
            "write e.g. 95%",
        ));
    }
    // Relative since issue 28: 10% lets the canary's 5xx rate be 1.1× the stable version's.
    let margin = percent(&raw.judge_margin, "judge-margin", 0.10, errors);
    if !(0.0..=1.0).contains(&margin) {
        errors.push(InputError::new(
            "judge-margin",
            "must be from 0% to 100% (how much higher, relative, the new version's 5xx rate may be)",
            "write e.g. 10%",
        ));
    }
    let early_pass = match given(&raw.early_pass).unwrap_or("false") {
        "true" => true,
        "false" => false,
        other => {
            errors.push(InputError::new(
                "early-pass",
                format!("`{}` is not true or false", printable(other)),
                "write true or false",
            ));
            false
        }
    };
    compare.then_some(CompareJudge {
        alpha: 1.0 - confidence,
        margin,
        early_pass,
    })
}
