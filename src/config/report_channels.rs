//! The `report` input: which of the action's GitHub channels are on. Each is also switched off
//! by withholding its permission, but that warns on every run; this says it on purpose.

use super::inputs::{given, RawInputs};
use super::InputError;
pub use crate::domain::settings::ReportChannels;

const NAMES: &str = "checks, comment, deployments, summary (or none)";

/// `checks, comment, deployments, summary` (the default: all), any subset, or `none`.
pub fn report_channels(raw: &RawInputs) -> Result<ReportChannels, InputError> {
    let Some(value) = given(&raw.report) else {
        return Ok(ReportChannels::default());
    };
    let mut on = ReportChannels {
        checks: false,
        comment: false,
        deployments: false,
        summary: false,
    };
    for name in value.split([',', ' ', '\n']).map(str::trim).filter(|s| !s.is_empty()) {
        match name {
            "checks" => on.checks = true,
            "comment" => on.comment = true,
            "deployments" => on.deployments = true,
            "summary" => on.summary = true,
            "none" => {}
            other => {
                return Err(InputError::new(
                    "report",
                    format!("`{}` is not a report channel", super::input_error::printable(other)),
                    format!("list some of {NAMES}, e.g. `report: checks, summary`"),
                ))
            }
        }
    }
    Ok(on)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: &str) -> Result<ReportChannels, InputError> {
        report_channels(&RawInputs {
            report: Some(v.into()),
            ..Default::default()
        })
    }

    #[test]
    fn channels_are_listed_or_all_by_default() {
        assert_eq!(parse("").unwrap(), ReportChannels::default());
        let some = parse("checks, summary").unwrap();
        assert!(some.checks && some.summary && !some.comment && !some.deployments);
        let none = parse("none").unwrap();
        assert!(!none.checks && !none.comment && !none.deployments && !none.summary);
        let e = parse("checks, slack").unwrap_err();
        assert_eq!(e.input, "report");
        assert!(e.to_string().contains("`slack` is not a report channel"), "{e}");
    }
}
