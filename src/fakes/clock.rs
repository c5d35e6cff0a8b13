//! Time that passes only when the code under test sleeps.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use crate::ports::Clock;

pub struct FakeClock(Mutex<SystemTime>);

impl FakeClock {
    pub fn at(t: SystemTime) -> FakeClock {
        FakeClock(Mutex::new(t))
    }

    /// How far the clock moved since `start`.
    pub fn since(&self, start: SystemTime) -> Duration {
        self.now().duration_since(start).unwrap_or_default()
    }
}

impl Default for FakeClock {
    fn default() -> Self {
        FakeClock::at(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000))
    }
}

#[async_trait]
impl Clock for FakeClock {
    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
    /// Time moves only if the sleep is still wanted after one turn: a sleep that loses a race
    /// (a deadline against a call that answers) leaves the clock where it was.
    async fn sleep(&self, d: Duration) {
        tokio::task::yield_now().await;
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) += d;
    }
}
