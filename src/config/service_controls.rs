//! `desired-count`, `force-new-deployment`, `keep-revisions` and `suspend-auto-scaling`: how many tasks the new
//! revision runs, whether a stage that already runs the release deploys it again (to pick up
//! rotated secrets), and how many revisions of the family are kept registered.

use super::input_error::{printable, InputError};
use super::inputs::{given, RawInputs};
use super::parse;
pub use crate::domain::settings::ServiceControls;

/// ECS's default quota of tasks per service.
const MAX_DESIRED: i32 = 5000;

pub fn service_controls(raw: &RawInputs, two_slot: bool, errors: &mut Vec<InputError>) -> ServiceControls {
    let mut c = ServiceControls {
        suspend_auto_scaling: true,
        ..ServiceControls::default()
    };
    if let Some(v) = given(&raw.desired_count) {
        let least = if two_slot { 1 } else { 0 };
        match v.parse::<i32>() {
            Ok(n) if (least..=MAX_DESIRED).contains(&n) => c.desired_count = Some(n),
            _ => errors.push(InputError::new(
                "desired-count",
                format!("`{}` is not a task count from {least} to {MAX_DESIRED}", printable(v)),
                if two_slot {
                    "write a whole number of tasks, e.g. `desired-count: 4` (a slot that takes traffic needs at least 1)"
                } else {
                    "write a whole number of tasks, e.g. `desired-count: 4`"
                },
            )),
        }
    }
    if let Some(v) = given(&raw.force_new_deployment) {
        match parse::boolean(v) {
            Ok(b) => c.force_new_deployment = b,
            Err(e) => errors.push(InputError::new(
                "force-new-deployment",
                e,
                "write `force-new-deployment: true` or `false` (the default)",
            )),
        }
    }
    if let Some(v) = given(&raw.suspend_auto_scaling) {
        match parse::boolean(v) {
            Ok(b) => c.suspend_auto_scaling = b,
            Err(e) => errors.push(InputError::new(
                "suspend-auto-scaling",
                e,
                "write `suspend-auto-scaling: true` (the default) or `false`",
            )),
        }
    }
    if let Some(v) = given(&raw.keep_revisions) {
        match v.parse::<u32>() {
            Ok(n) if (2..=1000).contains(&n) => c.keep_revisions = Some(n),
            _ => errors.push(InputError::new(
                "keep-revisions",
                format!("`{}` is not a number of revisions from 2 to 1000", printable(v)),
                "write how many of the newest revisions stay registered, e.g. `keep-revisions: 10` (the new one and the previous one always stay)",
            )),
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(pairs: &[(&str, &str)]) -> RawInputs {
        RawInputs::from_pairs(pairs)
    }

    #[test]
    fn good_values_are_taken_and_bad_ones_named() {
        let mut errors = Vec::new();
        let c = service_controls(
            &raw(&[
                ("desired-count", "4"),
                ("force-new-deployment", "true"),
                ("keep-revisions", "10"),
                ("suspend-auto-scaling", "false"),
            ]),
            false,
            &mut errors,
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            c,
            ServiceControls {
                desired_count: Some(4),
                force_new_deployment: true,
                keep_revisions: Some(10),
                suspend_auto_scaling: false,
            }
        );
        assert_eq!(
            service_controls(&raw(&[]), false, &mut errors),
            ServiceControls {
                suspend_auto_scaling: true,
                ..ServiceControls::default()
            }
        );
        for (input, bad, two_slot) in [
            ("desired-count", "-1", false),
            ("desired-count", "0", true),
            ("desired-count", "many", false),
            ("desired-count", "5001", false),
            ("force-new-deployment", "maybe", false),
            ("keep-revisions", "1", false),
            ("keep-revisions", "ten", false),
            ("suspend-auto-scaling", "sometimes", false),
        ] {
            let mut errors = Vec::new();
            service_controls(&raw(&[(input, bad)]), two_slot, &mut errors);
            assert_eq!(errors.len(), 1, "{input}={bad}");
            assert_eq!(errors[0].input, input);
        }
    }
}
