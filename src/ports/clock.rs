//! Time, injected so scenario tests can run on a paused clock.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;

/// Time, injected so scenario tests can run on a paused clock.
#[async_trait]
pub trait Clock: Send + Sync {
    fn now(&self) -> SystemTime;
    async fn sleep(&self, d: Duration);
}

/// The real clock.
pub struct SystemClock;

#[async_trait]
#[allow(clippy::disallowed_methods)] // the Clock port itself: the one place real time is read
impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
    async fn sleep(&self, d: Duration) {
        tokio::time::sleep(d).await
    }
}
