//! Turning raw inputs into a `DeployConfig`, or into errors that each name the input and the
//! fix. Nothing here talks to AWS: a run with a bad input makes no AWS call at all.

pub use crate::domain::settings::{ContainerImages, DeployConfig};
use std::time::Duration;

use super::containers::parse_containers;
use super::github_context::GithubContext;
pub use super::input_error::{duration_input, printable, InputError};
use super::inputs::{given, RawInputs};
use super::parse;
use super::progressive;
use super::service_controls::service_controls;
use crate::domain::image::ImageRef;

const MAX_WAIT: Duration = Duration::from_secs(6 * 3600);

/// `previous`, a semantic version (with or without `v`), or an image digest.
fn valid_rollback_target(to: &str) -> bool {
    to == "previous"
        || semver::Version::parse(to.strip_prefix('v').unwrap_or(to)).is_ok()
        || crate::domain::image::Digest::parse(to).is_some()
}

pub(super) fn is_ecs_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 255 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn is_region(s: &str) -> bool {
    // e.g. us-east-1, eu-central-2, us-gov-west-1, ap-southeast-5
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].parse::<u8>().is_ok()
}

/// Validates everything; returns every problem at once so one run fixes them all.
pub fn validate(
    raw: &RawInputs,
    context: GithubContext,
    region_env: Option<String>,
) -> Result<DeployConfig, Vec<InputError>> {
    let mut errors = Vec::new();

    let cluster = match given(&raw.cluster) {
        None => {
            errors.push(InputError::new(
                "cluster",
                "is required",
                "set `cluster:` to the ECS cluster name, e.g. `cluster: prod`",
            ));
            String::new()
        }
        Some(c) => {
            let name = c.rsplit_once(":cluster/").map(|(_, n)| n).unwrap_or(c);
            if !is_ecs_name(name) {
                errors.push(InputError::new(
                    "cluster",
                    format!("`{}` is not an ECS cluster name", printable(c)),
                    "use the cluster name (letters, digits, - and _, up to 255) or its ARN",
                ));
            }
            c.to_string()
        }
    };

    let services = match given(&raw.services) {
        None => {
            errors.push(InputError::new(
                "services",
                "is required",
                "set `services:` to one service name, or several separated by commas or newlines",
            ));
            vec![]
        }
        Some(s) => {
            let list = parse::list(s);
            if list.is_empty() {
                errors.push(InputError::new(
                    "services",
                    "names no service",
                    "give at least one service name",
                ));
            }
            for name in &list {
                if !is_ecs_name(name) {
                    errors.push(InputError::new(
                        "services",
                        format!("`{}` is not an ECS service name", printable(name)),
                        "use service names: letters, digits, - and _, up to 255 characters",
                    ));
                }
            }
            let mut seen = std::collections::BTreeSet::new();
            for name in &list {
                if !seen.insert(name) {
                    errors.push(InputError::new(
                        "services",
                        format!("`{name}` is listed twice"),
                        "list each service once",
                    ));
                }
            }
            list
        }
    };

    let image = match given(&raw.image) {
        None => None,
        Some(i) => match ImageRef::parse(i) {
            Ok(r) => Some(r),
            Err(e) => {
                errors.push(InputError::new(
                    "image",
                    format!("{e}").replace(i.trim(), &printable(i.trim())),
                    "give a full reference: registry/repository:tag or registry/repository@sha256:<digest>",
                ));
                None
            }
        },
    };

    let images = match (given(&raw.containers), image) {
        (None, Some(image)) => Some(ContainerImages::Default(image)),
        (None, None) => {
            if given(&raw.image).is_none() {
                errors.push(InputError::new("image", "is required", "set `image:` to the image to deploy, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/app:${{ github.sha }}"));
            }
            None
        }
        (Some(spec), image) => parse_containers(spec, image, given(&raw.image).is_some(), &mut errors),
    };

    let region = match given(&raw.aws_region).map(str::to_string).or(region_env) {
        None => {
            errors.push(InputError::new("aws-region", "is not set and neither is AWS_REGION", "set `aws-region:` or configure credentials with aws-actions/configure-aws-credentials, which sets AWS_REGION"));
            String::new()
        }
        Some(r) => {
            if !is_region(&r) {
                errors.push(InputError::new(
                    "aws-region",
                    format!("`{}` is not an AWS region", printable(&r)),
                    "use a region code such as us-east-1",
                ));
            }
            r
        }
    };

    let wait_timeout = duration_input(
        &raw.wait_timeout,
        "wait-timeout",
        Duration::from_secs(15 * 60),
        Duration::from_secs(10),
        MAX_WAIT,
        &mut errors,
    );
    let poll_interval = duration_input(
        &raw.poll_interval,
        "poll-interval",
        Duration::from_secs(1),
        Duration::from_millis(100),
        Duration::from_secs(60),
        &mut errors,
    );

    let rollback_on_failure = match given(&raw.rollback_on_failure) {
        None => true,
        Some(v) => parse::boolean(v).unwrap_or_else(|e| {
            errors.push(InputError::new(
                "rollback-on-failure",
                e,
                "write `rollback-on-failure: true` (the default) or `false`",
            ));
            true
        }),
    };

    // Only the chain reads it, but a value that is neither true nor false must never become
    // a silent `false` (or a silent override).
    if let Some(v) = given(&raw.allow_unverified) {
        if let Err(e) = parse::boolean(v) {
            errors.push(InputError::new(
                "allow-unverified",
                printable(&e),
                "write `allow-unverified: true` (emergencies only, logged) or leave it empty",
            ));
        }
    }
    if let Some(to) = given(&raw.to) {
        if !valid_rollback_target(to) {
            errors.push(InputError::new(
                "to",
                format!("`{}` is not a release", printable(to)),
                "write previous, a version such as v1.2.2, or a digest sha256:…",
            ));
        }
    }

    let stage = given(&raw.stage).map(str::to_string);
    if let Some(s) = &stage {
        if s.len() > 32 || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            errors.push(InputError::new(
                "stage",
                format!("`{}` is not a stage name", printable(s)),
                "use up to 32 letters, digits, - and _, e.g. dev, staging, prod",
            ));
        }
    }

    let version = given(&raw.version).and_then(|v| match semver::Version::parse(v.strip_prefix('v').unwrap_or(v)) {
        Ok(ver) => Some(ver),
        Err(e) => {
            errors.push(InputError::new(
                "version",
                format!("`{}` is not a semantic version ({e})", printable(v)),
                "write e.g. v1.2.3 or 1.2.3-rc.1",
            ));
            None
        }
    });

    let github_token = given(&raw.github_token).map(str::to_string);
    if let Some(t) = &github_token {
        if t.chars().any(char::is_whitespace) {
            // Never echo the value: it is a secret.
            errors.push(InputError::new(
                "github-token",
                "contains whitespace",
                "pass the token as is, e.g. `github-token: ${{ github.token }}`",
            ));
        }
    }

    let strategy = progressive::strategy(raw, &mut errors);
    let (progressive, native) = if strategy.uses_two_slots() {
        (progressive::validate(raw, &services, &mut errors), None)
    } else {
        let analysis = progressive::validate_native(raw, &services, &mut errors);
        (None, super::native::native(raw, analysis, &mut errors))
    };
    let controls = service_controls(raw, strategy.uses_two_slots(), &mut errors);
    let run_task = super::run_task::run_task(raw, &mut errors);
    let role_to_assume = super::role::role_to_assume(raw, &mut errors);
    let task_definition_file = super::task_definition_file::task_definition_file(raw, images.as_ref(), &mut errors);

    match (errors.is_empty(), images) {
        (true, Some(images)) => Ok(DeployConfig {
            cluster,
            services,
            images,
            region,
            wait_timeout,
            poll_interval,
            rollback_on_failure,
            stage,
            version,
            github_token,
            aws_time_scale: 1.0,
            strategy,
            progressive,
            native,
            context,
            controls,
            run_task,
            role_to_assume,
            task_definition_file,
            release: None,
            given: super::inputs::given_inputs(raw),
        }),
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(pairs: &[(&str, &str)]) -> RawInputs {
        RawInputs::from_pairs(pairs)
    }

    const IMG: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1";

    #[test]
    fn hyphenated_inputs_and_empty_strings() {
        let r = raw(&[
            ("cluster", "c"),
            ("services", "a,b"),
            ("image", IMG),
            ("aws-region", "eu-west-1"),
            ("wait-timeout", "5m"),
            ("rollback-on-failure", ""),
            ("version", ""),
        ]);
        let cfg = validate(&r, GithubContext::default(), None).unwrap();
        assert_eq!(cfg.region, "eu-west-1");
        assert_eq!(cfg.wait_timeout, Duration::from_secs(300));
        assert!(cfg.rollback_on_failure, "empty means default");
        assert_eq!(cfg.version, None);
        assert_eq!(cfg.services, vec!["a", "b"]);
    }

    #[test]
    fn region_falls_back_to_the_environment() {
        let r = raw(&[("cluster", "c"), ("services", "a"), ("image", IMG)]);
        assert_eq!(
            validate(&r, GithubContext::default(), Some("ap-south-1".into()))
                .unwrap()
                .region,
            "ap-south-1"
        );
    }

    #[test]
    fn container_maps() {
        let r = raw(&[
            ("cluster", "c"),
            ("services", "a"),
            ("containers", "app=repo/app:v2\nsidecar=repo/side:v3"),
            ("aws-region", "us-east-1"),
        ]);
        match validate(&r, GithubContext::default(), None).unwrap().images {
            ContainerImages::Map(m) => assert_eq!(m.len(), 2),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_bad_input_is_named_with_a_fix() {
        let base = [
            ("cluster", "c"),
            ("services", "a"),
            ("image", IMG),
            ("aws-region", "us-east-1"),
        ];
        let cases: &[(&str, &str, &str)] = &[
            ("cluster", "", "cluster"),
            ("cluster", "my cluster", "cluster"),
            ("services", "", "services"),
            ("services", "api,api", "services"),
            ("services", "api/v2", "services"),
            ("image", "", "image"),
            ("image", "app", "image"),
            ("image", "app@sha256:123", "image"),
            ("aws-region", "mars-1", "aws-region"),
            ("wait-timeout", "soon", "wait-timeout"),
            ("wait-timeout", "1s", "wait-timeout"),
            ("wait-timeout", "7h", "wait-timeout"),
            ("poll-interval", "1ms", "poll-interval"),
            ("rollback-on-failure", "maybe", "rollback-on-failure"),
            ("stage", "prod!", "stage"),
            ("version", "one", "version"),
            ("containers", "app=", "containers"),
            ("containers", "app,web=x:1", "containers"),
            ("github-token", "a b", "github-token"),
        ];
        for (input, value, named) in cases {
            let mut pairs: Vec<(&str, &str)> = base.iter().filter(|(k, _)| k != input).cloned().collect();
            pairs.push((input, value));
            let errs = validate(&raw(&pairs), GithubContext::default(), None).expect_err(&format!("{input}={value:?}"));
            assert!(
                errs.iter().any(|e| e.input == *named && !e.fix.is_empty()),
                "{input}={value:?}: {errs:?}"
            );
        }
    }

    #[test]
    fn hostile_values_never_reach_the_message_raw() {
        let r = raw(&[
            ("cluster", "c\n::set-env name=X::1"),
            ("services", "a"),
            ("image", IMG),
            ("aws-region", "us-east-1"),
        ]);
        let errs = validate(&r, GithubContext::default(), None).unwrap_err();
        assert!(!errs[0].to_string().contains('\n'));
    }

    #[test]
    fn the_token_is_never_echoed() {
        let r = raw(&[
            ("cluster", "c"),
            ("services", "a"),
            ("image", IMG),
            ("aws-region", "us-east-1"),
            ("github-token", "ghs_secret value"),
        ]);
        let errs = validate(&r, GithubContext::default(), None).unwrap_err();
        assert!(!format!("{errs:?}").contains("ghs_secret"));
    }
}
