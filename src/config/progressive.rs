//! Inputs of the two-slot strategies (blue/green, canary, linear, all-at-once).

pub use crate::domain::settings::{OnSplit, ProgressiveConfig, StickyRollback};
use std::time::Duration;

use super::choices;
use super::compare_judge::compare_judge;
use super::inputs::{given, RawInputs};
use super::parse;
use super::validate::{duration_input, printable, InputError};
use crate::domain::analysis::{Limits, OnInconclusive, Thresholds};
use crate::domain::minutes::MetricsClock;
use crate::domain::strategy::{Bake, Strategy};
use crate::domain::traffic::TrafficSplitRef;

fn split_ref(arn: &str) -> Option<TrafficSplitRef> {
    if !arn.starts_with("arn:") || arn.chars().any(char::is_whitespace) {
        return None;
    }
    if arn.contains(":listener-rule/") {
        Some(TrafficSplitRef::Rule(arn.to_string()))
    } else if arn.contains(":listener/") {
        Some(TrafficSplitRef::Listener(arn.to_string()))
    } else {
        None
    }
}

/// `1%`, `0.5%` or a fraction such as `0.01`.
pub fn rate(s: &str) -> Result<f64, String> {
    let s = s.trim();
    let v = match s.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|p| p / 100.0),
        None => s.parse::<f64>(),
    }
    .map_err(|_| format!("`{}` is not a rate; write e.g. 1% or 0.01", printable(s)))?;
    if !(0.0..=1.0).contains(&v) || v.is_nan() {
        return Err(format!("{s} is outside 0–100%"));
    }
    Ok(v)
}

pub fn strategy(raw: &RawInputs, errors: &mut Vec<InputError>) -> Strategy {
    let name = given(&raw.strategy).unwrap_or("rolling");
    if let Err(e) = choices::check("strategy", name) {
        errors.push(e);
        return Strategy::Rolling;
    }
    match Strategy::parse(name, given(&raw.canary_steps), given(&raw.linear_step)) {
        Ok(s) => s,
        Err(e) => {
            let input = if e.contains("strategy") {
                "strategy"
            } else if name == "linear" {
                "linear-step"
            } else {
                "canary-steps"
            };
            errors.push(InputError::new(
                input,
                printable(&e),
                "see the strategies in the README",
            ));
            Strategy::Rolling
        }
    }
}

pub fn validate(raw: &RawInputs, services: &[String], errors: &mut Vec<InputError>) -> Option<ProgressiveConfig> {
    validate_shaped(raw, services, true, errors)
}

/// The analysis settings (alarms, thresholds, judge, metrics clock, smoke) for a service that
/// ECS deploys with its own BLUE_GREEN, LINEAR or CANARY strategy: no slots, no listener input
/// (the rule ECS shifts is the service's). `slots` and `split` are filled in from the service
/// when the deployment starts.
pub fn validate_native(
    raw: &RawInputs,
    services: &[String],
    errors: &mut Vec<InputError>,
) -> Option<ProgressiveConfig> {
    validate_shaped(raw, services, false, errors)
}

fn validate_shaped(
    raw: &RawInputs,
    services: &[String],
    two_slot: bool,
    errors: &mut Vec<InputError>,
) -> Option<ProgressiveConfig> {
    let before = errors.len();
    if two_slot && services.len() != 2 {
        errors.push(InputError::new(
            "services",
            format!(
                "a two-slot strategy needs exactly two services (the blue and green slots), got {}",
                services.len()
            ),
            "name both slot services, e.g. `services: web-blue, web-green`",
        ));
    }
    let split = match given(&raw.listener_arn) {
        None if !two_slot => Some(TrafficSplitRef::Rule(String::new())),
        None => {
            errors.push(InputError::new(
                "listener-arn",
                "is required for this strategy",
                "give the ARN of the ALB listener (or listener rule) whose forward action carries both target groups",
            ));
            None
        }
        Some(a) => split_ref(a).or_else(|| {
            errors.push(InputError::new(
                "listener-arn",
                format!("`{}` is not a listener or listener-rule ARN", printable(a)),
                "copy the ARN from `aws elbv2 describe-listeners`",
            ));
            None
        }),
    };
    let test_listener = given(&raw.test_listener_arn).and_then(|a| {
        split_ref(a).or_else(|| {
            errors.push(InputError::new(
                "test-listener-arn",
                format!("`{}` is not a listener ARN", printable(a)),
                "give the ARN of the test listener, or leave it empty",
            ));
            None
        })
    });
    let dur = duration_input;
    let hour = Duration::from_secs(3600);
    let bake_time = dur(
        &raw.bake_time,
        "bake-time",
        Duration::from_secs(300),
        Duration::ZERO,
        6 * hour,
        errors,
    );
    let interval = dur(
        &raw.analysis_interval,
        "analysis-interval",
        Duration::from_secs(30),
        Duration::from_millis(200),
        hour,
        errors,
    );
    let smoke_timeout = dur(
        &raw.smoke_timeout,
        "smoke-timeout",
        Duration::from_secs(30),
        Duration::from_secs(1),
        600 * Duration::from_secs(1),
        errors,
    );
    let keep_old_for = dur(
        &raw.keep_old_for,
        "keep-old-for",
        Duration::from_secs(300),
        Duration::ZERO,
        6 * hour,
        errors,
    );
    let metrics_delay = dur(
        &raw.metrics_delay,
        "metrics-delay",
        // Above CloudWatch's usual 1-3 minutes: a slow publication must not end a step
        // inconclusive, only missing data may.
        Duration::from_secs(300),
        Duration::ZERO,
        hour,
        errors,
    );
    let recent_window = dur(
        &raw.recent_window,
        "recent-window",
        Duration::from_secs(120),
        Duration::ZERO,
        hour,
        errors,
    );
    let max_p99 = given(&raw.max_p99_latency).and_then(|s| match parse::duration(s) {
        Ok(d) if d > Duration::ZERO => Some(d.as_secs_f64() * 1000.0),
        _ => {
            errors.push(InputError::new(
                "max-p99-latency",
                format!("`{}` is not a latency", printable(s)),
                "write e.g. 500ms or 2s",
            ));
            None
        }
    });
    let compare = compare_judge(raw, errors);
    let mut rate_input = |v: &Option<String>, input: &str, default: Option<f64>| match given(v) {
        None => default,
        Some(s) if s.eq_ignore_ascii_case("off") => None,
        Some(s) => rate(s).map(Some).unwrap_or_else(|e| {
            errors.push(InputError::new(input, e, "write a percentage such as 1% (or `off`)"));
            default
        }),
    };
    // No absolute gate by default (issue 28): the comparison judges the 5xx against the stable
    // version's, and a 1% gate rolls back almost every healthy canary of a service whose
    // normal rate is 1%. With `judge: threshold` the gate is the judge, so it stays at 1%.
    let gate = if compare.is_some() { None } else { Some(0.01) };
    let max_error_rate = rate_input(&raw.max_5xx_rate, "max-5xx-rate", gate);
    // Where the comparison has no stable traffic to judge against (the 100% step, blue/green),
    // an unset gate stays at 1%: nothing else there would see a bad release's 5xx.
    let max_error_rate_uncompared = (compare.is_some() && given(&raw.max_5xx_rate).is_none()).then_some(0.01);
    let max_increase = rate_input(&raw.max_5xx_rate_increase, "max-5xx-rate-increase", None);
    let count = |v: &Option<String>, input: &str, default: u32, errors: &mut Vec<InputError>| match given(v) {
        None => default,
        Some(s) => s.trim().parse::<u32>().unwrap_or_else(|_| {
            errors.push(InputError::new(
                input,
                format!("`{}` is not a whole number", printable(s)),
                "write e.g. 0, 1 or 100",
            ));
            default
        }),
    };
    let min_requests = count(&raw.min_requests, "min-requests", 50, errors);
    if min_requests == 0 {
        // Zero would let a step pass on no requests at all: absence of evidence is no pass.
        errors.push(InputError::new(
            "min-requests",
            "is 0, which would let a step pass with no requests at all",
            "write at least 1 (the default is 50)",
        ));
    }
    let failure_limit = count(&raw.failure_limit, "failure-limit", 0, errors);
    let on_inconclusive = match given(&raw.on_inconclusive).unwrap_or("fail") {
        "fail" | "rollback" => OnInconclusive::Fail,
        "continue" => OnInconclusive::Continue,
        other => {
            errors.push(choices::refusal("on-inconclusive", other));
            OnInconclusive::Fail
        }
    };
    let sticky_rollback = match given(&raw.sticky_rollback).unwrap_or("unstick") {
        "unstick" => StickyRollback::Unstick,
        "keep-serving" => StickyRollback::KeepServing,
        other => {
            errors.push(choices::refusal("sticky-rollback", other));
            StickyRollback::Unstick
        }
    };
    let on_split = match given(&raw.on_split).unwrap_or("rollback") {
        "rollback" => OnSplit::Rollback,
        "continue" => OnSplit::Continue,
        other => {
            errors.push(choices::refusal("on-split", other));
            OnSplit::Rollback
        }
    };
    let smoke_url = given(&raw.smoke_url).map(str::to_string);
    if let Some(u) = &smoke_url {
        if !(u.starts_with("http://") || u.starts_with("https://")) || u.chars().any(char::is_whitespace) {
            errors.push(InputError::new(
                "smoke-url",
                format!("`{}` is not an http(s) URL", printable(u)),
                "write e.g. https://test.example.com/health",
            ));
        }
    }
    let alarms = given(&raw.alarms).map(parse::list).unwrap_or_default();
    for name in &alarms {
        // CloudWatch: 1–255 UTF-8 characters, no ASCII control characters (PutMetricAlarm).
        if name.chars().count() > 255 || name.chars().any(char::is_control) {
            errors.push(InputError::new(
                "alarms",
                format!("`{}` is not a CloudWatch alarm name", printable(name)),
                "give the alarm names as `aws cloudwatch describe-alarms` lists them, separated by commas or newlines",
            ));
        }
    }
    if errors.len() > before {
        return None;
    }
    Some(ProgressiveConfig {
        slots: [0, usize::from(two_slot)].map(|i| services.get(i).cloned().unwrap_or_default()),
        split: split?,
        test_listener,
        bake: Bake {
            duration: bake_time,
            interval: interval.min(bake_time.max(Duration::from_millis(200))),
        },
        alarms,
        thresholds: Thresholds {
            max_error_rate,
            max_p99_ms: max_p99,
            max_error_rate_increase: max_increase,
            min_requests: min_requests as f64,
            max_error_rate_uncompared,
        },
        limits: Limits {
            failure_limit,
            consecutive_error_limit: 4,
        },
        on_inconclusive,
        sticky_rollback,
        compare,
        smoke_url,
        smoke_timeout,
        keep_old_for,
        on_split,
        clock: MetricsClock::aws(metrics_delay),
        recent_minutes: recent_window.as_secs().div_ceil(60) as usize,
        gates: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates() {
        assert_eq!(rate("1%").unwrap(), 0.01);
        assert_eq!(rate("0.05").unwrap(), 0.05);
        assert!(rate("150%").is_err());
        assert!(rate("lots").is_err());
    }
}
