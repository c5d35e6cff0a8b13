//! Adapters from the ports to the AWS SDK. Only this module (and `github`) imports SDK crates.

pub mod cloudwatch;
pub mod ecr;
pub mod ecs;
pub mod elbv2;

use std::time::{Duration, SystemTime};

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ecs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use crate::error::{AwsError, AwsErrorKind};

/// One shared SDK configuration: adaptive retries (client-side rate limiting when AWS throttles,
/// bounded attempts) and a timeout on every operation so a hung connection cannot stall a
/// deployment. Credentials and endpoints come from the usual AWS environment variables
/// (`AWS_ENDPOINT_URL` points every client at the local simulator).
pub async fn sdk_config(region: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .retry_config(
            RetryConfig::adaptive()
                .with_max_attempts(5)
                .with_max_backoff(Duration::from_secs(5)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(10))
                .operation_timeout(Duration::from_secs(45))
                .build(),
        )
        .load()
        .await
}

/// Turns any SDK error into ours, keeping AWS's code and message and naming the resource.
pub(crate) fn classify<E, R>(operation: &'static str, resource: &str, err: SdkError<E, R>) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
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
