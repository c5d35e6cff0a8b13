//! Stateful in-memory ports (not expectation mocks), shared by every scenario test, so that a
//! test reads as a story: "alarm fires at 25% → weights 100/0, canary scaled down". Built with
//! the `fakes` feature (the crate's own dev-dependency turns it on for tests).

mod clock;
mod ecs;
mod lock_store;
mod traffic;

pub use clock::FakeClock;
pub use ecs::FakeEcs;
pub use lock_store::FakeLockStore;
pub use traffic::{FakeMetrics, FakeRouter, FakeSmoke};

use async_trait::async_trait;

use crate::domain::image::{Digest, EcrLocation};
use crate::error::AwsError;
use crate::ports::{Registry, Retag};

/// One order for the calls of every fake: each logged call takes the next number, so a test
/// can interleave the ECS and the load balancer's calls and assert which came first.
pub fn next_call() -> u64 {
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    SEQ.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
}

/// The digest every ECR tag resolves to.
pub const DIGEST: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

/// A registry whose every tag points at `DIGEST`.
pub struct FakeRegistry;

#[async_trait]
impl Registry for FakeRegistry {
    async fn resolve_tag(&self, _: &EcrLocation, _: &str) -> Result<Digest, AwsError> {
        Digest::parse(DIGEST).ok_or_else(|| throttled("BatchGetImage", DIGEST))
    }
    async fn confirm_digest(&self, _: &EcrLocation, _: &Digest) -> Result<(), AwsError> {
        Ok(())
    }
    async fn tags(&self, _: &EcrLocation) -> Result<Vec<(String, Digest)>, AwsError> {
        Ok(vec![])
    }
    async fn immutable(&self, _: &EcrLocation) -> Result<bool, AwsError> {
        Ok(false)
    }
    async fn retag(&self, _: &EcrLocation, _: &Digest, _: &str) -> Result<Retag, AwsError> {
        Ok(Retag::Created)
    }
    async fn revision(&self, _: &EcrLocation, _: &str) -> Result<Option<String>, AwsError> {
        Ok(None)
    }
}

/// The error AWS gives a throttled call once the SDK's retries are spent.
pub fn throttled(operation: &'static str, resource: &str) -> AwsError {
    AwsError {
        operation,
        resource: resource.to_string(),
        message: "Rate exceeded (ThrottlingException)".into(),
        kind: crate::error::AwsErrorKind::Transient,
    }
}
