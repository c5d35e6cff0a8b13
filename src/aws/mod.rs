//! Adapters from the ports to the AWS SDK. Only this module (and `github`) imports SDK crates.

pub mod autoscaling;
pub mod cloudwatch;
mod cloudwatch_gates;
mod codedeploy;
pub mod ecr;
pub mod ecs;
mod ecs_diagnostics;
mod ecs_native;
mod ecs_register;
mod ecs_revisions;
mod ecs_service_state;
mod ecs_tasks;
pub mod elbv2;
pub mod ssm;

use std::time::{Duration, SystemTime};

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ecs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use crate::error::{AwsError, AwsErrorKind};

/// The retry and timeout settings every client starts from. Chosen deliberately, and checked
/// by the fault matrix (tests/faults.rs, RELIABILITY.md):
///
/// - **Standard retries, not adaptive.** Adaptive mode adds a client-side rate limiter that,
///   after one throttling error, paces a client that sends a call or two a second (we poll)
///   at a fraction of that: measured against the simulator, every retry after a throttle then
///   waited the full `max_backoff`, and a step's weight change took 37 s instead of about 2 s.
///   We are never the ones saturating an API quota, so plain exponential backoff with jitter is
///   what throttling from other tenants of the account needs.
/// - **5 attempts, backoff from 250 ms up to 2 s** (jittered): a throttling or 5xx burst is
///   ridden out in about 1.5 s (at most ~4 s) inside the SDK; longer outages surface as errors
///   to the executor, whose loops keep the deploy safe (waits poll on, a revert keeps trying).
/// - **Timeouts on every call**: connecting 3 s, each attempt 5 s (ECS, ECR and CloudWatch
///   answer in well under a second; a hung connection is retried instead of stalling the
///   deploy), the whole call with its retries 20 s. All our mutations are idempotent
///   (absolute weights, a task definition per call, tags), so retrying an attempt that
///   timed out after AWS executed it is safe. ELBv2 is tighter still (`elb_config`).
///
/// Credentials and endpoints come from the usual AWS environment variables
/// (`AWS_ENDPOINT_URL` points every client at the local simulator).
pub async fn sdk_config(region: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .retry_config(retry_config())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .operation_attempt_timeout(Duration::from_secs(5))
                .operation_timeout(Duration::from_secs(20))
                .build(),
        )
        .load()
        .await
}

/// `base`, with credentials of `role` assumed through STS (refreshed before they expire). The
/// first call made with it assumes the role: a refusal surfaces there, naming STS.
pub async fn assumed(base: &SdkConfig, role: &str, session: &str) -> SdkConfig {
    let provider = aws_config::sts::AssumeRoleProvider::builder(role)
        .session_name(session)
        .configure(base)
        .build()
        .await;
    base.to_builder()
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(provider))
        .build()
}

pub fn retry_config() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(5)
        .with_initial_backoff(Duration::from_millis(250))
        .with_max_backoff(Duration::from_secs(2))
}

/// ELBv2 carries the revert: weights back to the stable slot within the ~7.5 s GitHub gives a
/// cancelled job. `DescribeListeners`/`ModifyListener` answer in milliseconds, so an attempt
/// gets 2 s (one hung connection costs 2 s, not 5) and a call 8 s with its retries; the
/// executor's own revert loop goes on after that.
pub fn elb_config(sdk: &SdkConfig) -> aws_sdk_elasticloadbalancingv2::Config {
    aws_sdk_elasticloadbalancingv2::config::Builder::from(sdk)
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_attempt_timeout(Duration::from_secs(2))
                .operation_timeout(Duration::from_secs(8))
                .build(),
        )
        .build()
}

/// Turns any SDK error into ours, keeping AWS's code and message and naming the resource.
pub(crate) fn classify<E, R>(operation: &'static str, resource: &str, err: SdkError<E, R>) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    if let SdkError::DispatchFailure(_) = &err {
        if let Some(refusal) = credentials_refusal(&err) {
            return refusal.into_error(operation, resource);
        }
    }
    let code = err.code().map(str::to_string);
    let message = match (&code, err.message()) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c.clone(),
        _ => DisplayErrorContext(&err).to_string(),
    };
    let kind = match (&err, code.as_deref()) {
        (SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_), _) => {
            AwsErrorKind::Transient
        }
        (_, Some(c)) => kind_of_code(c),
        _ => AwsErrorKind::Other,
    };
    AwsError {
        operation,
        resource: resource.to_string(),
        message,
        kind,
    }
}

/// A call that never left because its credentials could not be loaded: a stage's
/// `role-to-assume` that STS refused. Said as STS's refusal, with its code and message, not
/// as the call's dispatch failure (which reads as throttling, and asking again cannot help).
struct CredentialsRefusal {
    code: Option<String>,
    message: String,
}

fn credentials_refusal(err: &(dyn std::error::Error + 'static)) -> Option<CredentialsRefusal> {
    let mut current = Some(err);
    let mut loading = false;
    let mut innermost = None;
    while let Some(e) = current {
        if e.downcast_ref::<aws_credential_types::provider::error::CredentialsError>()
            .is_some()
        {
            loading = true;
        }
        if loading {
            if let Some(meta) = e.downcast_ref::<aws_smithy_types::error::ErrorMetadata>() {
                return Some(CredentialsRefusal {
                    code: meta.code().map(str::to_string),
                    message: meta.message().unwrap_or_default().to_string(),
                });
            }
            innermost = Some(e.to_string());
        }
        current = e.source();
    }
    loading.then(|| CredentialsRefusal {
        code: None,
        message: innermost.unwrap_or_default(),
    })
}

impl CredentialsRefusal {
    fn into_error(self, operation: &str, resource: &str) -> AwsError {
        let kind = self.code.as_deref().map_or(AwsErrorKind::Other, kind_of_code);
        let said = match &self.code {
            Some(code) => format!("{code}: {}", self.message),
            None => self.message,
        };
        AwsError {
            operation: "sts:AssumeRole",
            resource: format!("the role the stage assumes (before {operation} on {resource})"),
            message: format!(
                "STS refused the credentials: {said}. The role's trust policy must allow the job's role, and the job's role needs `sts:AssumeRole` on it (iam/cross-account.json; README \"Stages in other accounts\")"
            ),
            kind,
        }
    }
}

fn kind_of_code(code: &str) -> AwsErrorKind {
    match code {
        "AccessDeniedException"
        | "AccessDenied"
        | "UnauthorizedOperation"
        | "UnrecognizedClientException"
        | "InvalidClientTokenId"
        | "ExpiredTokenException" => AwsErrorKind::AccessDenied,
        c if c.ends_with("NotFoundException") || c.ends_with("NotFound") => AwsErrorKind::NotFound,
        "ThrottlingException"
        | "Throttling"
        | "TooManyRequestsException"
        | "ServerException"
        | "ServiceUnavailable"
        | "ServiceUnavailableException"
        | "InternalFailure"
        | "InternalError" => AwsErrorKind::Transient,
        "InvalidParameterException"
        | "ClientException"
        | "ValidationError"
        | "ValidationException"
        | "InvalidParameterValue" => AwsErrorKind::Invalid,
        _ => AwsErrorKind::Other,
    }
}

pub(crate) fn system_time(t: Option<&aws_smithy_types::DateTime>) -> Option<SystemTime> {
    t.and_then(|t| SystemTime::try_from(*t).ok())
}
