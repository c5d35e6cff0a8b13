//! Errors that name the resource, the operation and the fix.

/// A failed AWS call, already classified so the message can say what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation} on {resource} failed: {message}. {}", self.kind.fix(operation))]
pub struct AwsError {
    pub operation: &'static str,
    pub resource: String,
    pub message: String,
    pub kind: AwsErrorKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AwsErrorKind {
    NotFound,
    AccessDenied,
    /// Throttling or a 5xx that survived the SDK's retries.
    Transient,
    Invalid,
    Other,
}

impl AwsErrorKind {
    /// AWS refused the call outright: nothing was changed, and asking again cannot help.
    pub fn is_definite_refusal(&self) -> bool {
        matches!(
            self,
            AwsErrorKind::AccessDenied | AwsErrorKind::Invalid | AwsErrorKind::NotFound
        )
    }

    pub fn fix(&self, operation: &str) -> String {
        match self {
            AwsErrorKind::NotFound => "Check the name and the region (aws-region input or AWS_REGION).".into(),
            AwsErrorKind::AccessDenied => format!(
                "Grant `{operation}` to the role the workflow assumes (see iam-policy.json in this repository)."
            ),
            AwsErrorKind::Transient => "AWS throttled or failed after retries; re-run the job.".into(),
            AwsErrorKind::Invalid => "AWS rejected the request as invalid; check the inputs it came from.".into(),
            AwsErrorKind::Other => "See the AWS message above.".into(),
        }
    }
}

/// Everything that stops a run before or outside a deployment.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Aws(#[from] AwsError),
    #[error("{0}")]
    Render(#[from] crate::domain::task_definition::RenderError),
    #[error("service `{service}` in cluster `{cluster}` {problem}")]
    Preflight {
        cluster: String,
        service: String,
        problem: String,
    },
    /// The chain will not let the release into a stage (provenance, versions, records).
    #[error("stage `{stage}` refused the release: {problem}")]
    Refused { stage: String, problem: String },
    /// A one-off task (`run-task-command`) did not exit 0: the deploy stops before any service
    /// or traffic moves.
    #[error("one-off task `{task}` (`{command}`) {problem}; no service was changed{logs}")]
    OneOffTask {
        task: String,
        command: String,
        problem: String,
        /// ` (logs: URL)` or empty.
        logs: String,
    },
    #[error("image `{image}`: {problem}")]
    Image { image: String, problem: String },
    /// A failure after the run changed the service: says what runs now and how to recover,
    /// and is never reported as "nothing was changed".
    #[error(
        "service `{service}` in cluster `{cluster}` {problem}. It was already changed: {now}. To recover: {recover}"
    )]
    AfterChange {
        cluster: String,
        service: String,
        problem: String,
        /// What the service (or its traffic) is on now.
        now: String,
        /// What the user does about it.
        recover: String,
    },
    #[error("service `{service}` in cluster `{cluster}` is being deployed by {holder} (deploy lock: SSM parameter {parameter}, until {until}); nothing was changed. Wait for that run to finish or cancel it, then re-run; a lock left by a killed run is taken over when it expires or when that run is re-run")]
    Locked {
        cluster: String,
        service: String,
        parameter: String,
        holder: String,
        until: String,
    },
}

impl Error {
    /// Whether the run had changed something when it failed (reports must not say otherwise).
    pub fn after_change(&self) -> bool {
        matches!(self, Error::AfterChange { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_after_a_change_says_what_runs_now_and_how_to_recover() {
        let e = Error::AfterChange {
            cluster: "prod".into(),
            service: "api".into(),
            problem: "lost its deployment".into(),
            now: "ECS is deploying api:7".into(),
            recover: "re-run".into(),
        };
        let text = e.to_string();
        assert!(e.after_change());
        assert!(
            text.contains("already changed: ECS is deploying api:7") && text.contains("To recover: re-run"),
            "{text}"
        );
        let before = Error::Preflight {
            cluster: "prod".into(),
            service: "api".into(),
            problem: "does not exist".into(),
        };
        assert!(!before.after_change());
    }
}
