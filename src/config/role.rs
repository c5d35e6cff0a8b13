//! `role-to-assume`: the IAM role a stage's AWS calls run under (a stage in its own account).
//! The run's own credentials assume it through STS; ECR (the release's registry) is always
//! reached with the run's own credentials.

use super::input_error::{printable, InputError};
use super::inputs::{given, RawInputs};

pub fn role_to_assume(raw: &RawInputs, errors: &mut Vec<InputError>) -> Option<String> {
    let arn = given(&raw.role_to_assume)?;
    if is_role_arn(arn) {
        Some(arn.to_string())
    } else {
        errors.push(InputError::new(
            "role-to-assume",
            format!("`{}` is not an IAM role ARN", printable(arn)),
            "give the role's ARN, e.g. `arn:aws:iam::210987654321:role/ecs-deploy-prod`",
        ));
        None
    }
}

/// `arn:<partition>:iam::<12 digits>:role/<path/>name`, with IAM's characters for names.
fn is_role_arn(s: &str) -> bool {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    let [arn, partition, iam, region, account, resource] = parts.as_slice() else {
        return false;
    };
    let name_ok = resource.strip_prefix("role/").is_some_and(|r| {
        !r.is_empty()
            && r.len() <= 512
            && r.chars().all(|c| c.is_ascii_alphanumeric() || "+=,.@_-/".contains(c))
            && !r.ends_with('/')
    });
    *arn == "arn"
        && partition.starts_with("aws")
        && *iam == "iam"
        && region.is_empty()
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && name_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns() {
        for good in [
            "arn:aws:iam::210987654321:role/ecs-deploy-prod",
            "arn:aws:iam::210987654321:role/deploy/ecs-deploy",
            "arn:aws-us-gov:iam::210987654321:role/x",
        ] {
            assert!(is_role_arn(good), "{good}");
        }
        for bad in [
            "ecs-deploy-prod",
            "arn:aws:iam::21098765432:role/x",
            "arn:aws:iam:us-east-1:210987654321:role/x",
            "arn:aws:iam::210987654321:user/x",
            "arn:aws:iam::210987654321:role/",
            "arn:aws:iam::210987654321:role/a b",
        ] {
            assert!(!is_role_arn(bad), "{bad}");
        }
        let mut errors = Vec::new();
        assert_eq!(
            role_to_assume(&RawInputs::from_pairs(&[("role-to-assume", "prod")]), &mut errors),
            None
        );
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].input, "role-to-assume");
    }
}
