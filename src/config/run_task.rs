//! `run-task-*`: a one-off task (a database migration) run from the release's task definition
//! before the deploy moves anything, e.g. `run-task-command: npx prisma migrate deploy`.

use std::time::Duration;

use super::input_error::{printable, InputError};
use super::inputs::{given, RawInputs};
use super::parse;
use crate::domain::one_off_task::OneOffTaskSpec;

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15 * 60);
const MAX_TIMEOUT: Duration = Duration::from_secs(6 * 3600);
/// ECS's limit on a RunTask's `overrides` (containerOverrides included), in characters.
const MAX_OVERRIDE_CHARS: usize = 8192;
/// awsvpcConfiguration limits (ECS API Reference, AwsVpcConfiguration).
const MAX_SUBNETS: usize = 16;
const MAX_SECURITY_GROUPS: usize = 5;

pub fn run_task(raw: &RawInputs, errors: &mut Vec<InputError>) -> Option<OneOffTaskSpec> {
    // The other run-task-* inputs only shape that task: without a command they are not read
    // (the runner passes every input, defaults included, so their presence means nothing).
    let line = given(&raw.run_task_command)?;
    let before = errors.len();
    let command = match shlex::split(line) {
        Some(words) if !words.is_empty() => words,
        _ => {
            errors.push(InputError::new(
                "run-task-command",
                format!("`{}` is not a command line (unbalanced quotes?)", printable(line)),
                "write the command as in a shell, e.g. `npm run migration:run` or `sh -c \"./migrate && ./seed\"`",
            ));
            Vec::new()
        }
    };
    if command.iter().map(|w| w.len() + 3).sum::<usize>() > MAX_OVERRIDE_CHARS {
        errors.push(InputError::new(
            "run-task-command",
            format!("is longer than ECS's {MAX_OVERRIDE_CHARS} characters of overrides"),
            "put the steps in a script in the image and run that",
        ));
    }
    let container = given(&raw.run_task_container).map(str::to_string);
    if let Some(c) = &container {
        if !super::validate::is_ecs_name(c) {
            errors.push(InputError::new(
                "run-task-container",
                format!("`{}` is not a container name", printable(c)),
                "name a container of the task definition (letters, digits, - and _)",
            ));
        }
    }
    let timeout = match given(&raw.run_task_timeout).map(parse::duration) {
        None => DEFAULT_TIMEOUT,
        Some(Ok(d)) if d >= Duration::from_secs(1) && d <= MAX_TIMEOUT => d,
        Some(Ok(_)) => {
            errors.push(InputError::new(
                "run-task-timeout",
                "must be from 1s to 6h",
                "give how long the task may run, e.g. `run-task-timeout: 20m`",
            ));
            DEFAULT_TIMEOUT
        }
        Some(Err(e)) => {
            errors.push(InputError::new(
                "run-task-timeout",
                e,
                "give how long the task may run, e.g. `run-task-timeout: 20m`",
            ));
            DEFAULT_TIMEOUT
        }
    };
    let subnets = ids(
        raw.run_task_subnets.as_ref(),
        "run-task-subnets",
        "subnet-",
        MAX_SUBNETS,
        errors,
    );
    let security_groups = ids(
        raw.run_task_security_groups.as_ref(),
        "run-task-security-groups",
        "sg-",
        MAX_SECURITY_GROUPS,
        errors,
    );
    if subnets.is_empty() && !security_groups.is_empty() {
        errors.push(InputError::new(
            "run-task-security-groups",
            "is given without `run-task-subnets`",
            "give the subnets too, or neither (the task then runs in the service's network)",
        ));
    }
    let assign_public_ip = match given(&raw.run_task_assign_public_ip).map(parse::boolean) {
        None => None,
        Some(Ok(_)) if subnets.is_empty() => {
            errors.push(InputError::new(
                "run-task-assign-public-ip",
                "is given without `run-task-subnets`",
                "give the subnets too, or leave it out (the task then takes the service's setting)",
            ));
            None
        }
        Some(Ok(b)) => Some(b),
        Some(Err(e)) => {
            errors.push(InputError::new(
                "run-task-assign-public-ip",
                e,
                "write `true` or `false`",
            ));
            None
        }
    };
    (errors.len() == before).then_some(OneOffTaskSpec {
        command,
        container,
        timeout,
        subnets,
        security_groups,
        assign_public_ip,
    })
}

/// A list of AWS ids with a prefix (`subnet-0abc…`), each checked.
fn ids(value: Option<&String>, input: &str, prefix: &str, max: usize, errors: &mut Vec<InputError>) -> Vec<String> {
    let list = value.map(|v| parse::list(v)).unwrap_or_default();
    let bad: Vec<&String> = list
        .iter()
        .filter(|id| {
            id.strip_prefix(prefix)
                .is_none_or(|hex| hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()))
        })
        .collect();
    if let Some(b) = bad.first() {
        errors.push(InputError::new(
            input,
            format!("`{}` is not an id of the form `{prefix}0123abcd`", printable(b)),
            "list the ids, comma-separated",
        ));
    } else if list.len() > max {
        errors.push(InputError::new(
            input,
            format!("lists {} ids; ECS takes at most {max}", list.len()),
            "list fewer",
        ));
    }
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(pairs: &[(&str, &str)]) -> (Option<OneOffTaskSpec>, Vec<String>) {
        let mut errors = Vec::new();
        let spec = run_task(&RawInputs::from_pairs(pairs), &mut errors);
        (spec, errors.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn a_command_line_is_split_as_a_shell_would() {
        let (spec, errors) = check(&[
            ("run-task-command", r#"sh -c "./migrate && ./seed --env 'prod db'""#),
            ("run-task-container", "migrator"),
            ("run-task-timeout", "20m"),
            ("run-task-subnets", "subnet-0abc, subnet-0def"),
            ("run-task-security-groups", "sg-0123"),
            ("run-task-assign-public-ip", "false"),
        ]);
        assert!(errors.is_empty(), "{errors:?}");
        let spec = spec.unwrap();
        assert_eq!(spec.command, vec!["sh", "-c", "./migrate && ./seed --env 'prod db'"]);
        assert_eq!(spec.container.as_deref(), Some("migrator"));
        assert_eq!(spec.timeout, Duration::from_secs(1200));
        assert_eq!(spec.subnets, vec!["subnet-0abc", "subnet-0def"]);
        assert_eq!(spec.assign_public_ip, Some(false));
        let (spec, errors) = check(&[("run-task-command", "npx prisma migrate deploy")]);
        assert!(errors.is_empty());
        let spec = spec.unwrap();
        assert_eq!(spec.timeout, DEFAULT_TIMEOUT);
        assert!(spec.subnets.is_empty() && spec.container.is_none());
        assert_eq!(check(&[]), (None, vec![]));
    }

    #[test]
    fn settings_of_the_task_are_ignored_without_a_command() {
        // As the runner passes them: every input, at its default or set, and no command.
        for pairs in [
            &[("run-task-timeout", "15m")][..],
            &[("run-task-container", "app"), ("run-task-subnets", "subnet-0abc")][..],
            &[("run-task-timeout", "soon"), ("run-task-assign-public-ip", "maybe")][..],
        ] {
            assert_eq!(check(pairs), (None, vec![]), "{pairs:?}");
        }
    }

    #[test]
    fn each_bad_value_names_its_input() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("run-task-command", "echo 'unclosed")], "run-task-command"),
            (
                &[("run-task-command", "x"), ("run-task-container", "a b")],
                "run-task-container",
            ),
            (
                &[("run-task-command", "x"), ("run-task-timeout", "soon")],
                "run-task-timeout",
            ),
            (
                &[("run-task-command", "x"), ("run-task-timeout", "7h")],
                "run-task-timeout",
            ),
            (
                &[("run-task-command", "x"), ("run-task-subnets", "subnet-xyz")],
                "run-task-subnets",
            ),
            (
                &[("run-task-command", "x"), ("run-task-security-groups", "sg-01")],
                "run-task-security-groups",
            ),
            (
                &[("run-task-command", "x"), ("run-task-assign-public-ip", "true")],
                "run-task-assign-public-ip",
            ),
            (
                &[
                    ("run-task-command", "x"),
                    ("run-task-subnets", "subnet-01"),
                    ("run-task-assign-public-ip", "maybe"),
                ],
                "run-task-assign-public-ip",
            ),
        ];
        for (pairs, input) in cases {
            let (spec, errors) = check(pairs);
            assert!(spec.is_none(), "{pairs:?}");
            assert_eq!(errors.len(), 1, "{pairs:?}: {errors:?}");
            assert!(errors[0].contains(input), "{pairs:?}: {errors:?}");
        }
    }
}
