//! One way to retry a call the SDK cannot know is worth retrying (a read-back that disagrees,
//! a tag read at a split, a lock write that came too late, a scale-down): a few attempts, with
//! growing pauses on the run's clock. Throttling and 5xx of each call are the SDK's standard
//! retry's (aws::retry_config), not this.

use std::future::Future;
use std::time::Duration;

use super::Ports;

/// How many attempts, and the pause after each failed one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub attempts: u32,
    pub first: Duration,
    pub doubling: bool,
}

impl Backoff {
    /// Pauses of `first`, 2×`first`, 3×`first`…
    pub const fn linear(attempts: u32, first: Duration) -> Backoff {
        Backoff {
            attempts,
            first,
            doubling: false,
        }
    }

    /// Pauses of `first`, 2×`first`, 4×`first`…
    pub const fn doubling(attempts: u32, first: Duration) -> Backoff {
        Backoff {
            attempts,
            first,
            doubling: true,
        }
    }

    /// The pause after failed attempt `n` (1-based).
    pub fn pause(&self, n: u32) -> Duration {
        match self.doubling {
            true => self.first * 2u32.saturating_pow(n.saturating_sub(1)),
            false => self.first * n,
        }
    }
}

/// Runs `op` (given the attempt number, from 1) until it succeeds, `again` says an error is
/// final, or the attempts run out; the last error is returned.
pub async fn retry<T, E, F, Fut>(
    ports: &Ports<'_>,
    backoff: Backoff,
    mut again: impl FnMut(&E) -> bool,
    mut op: F,
) -> Result<T, E>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut attempt = 1;
    loop {
        match op(attempt).await {
            Ok(v) => return Ok(v),
            Err(e) if attempt >= backoff.attempts || !again(&e) => return Err(e),
            Err(_) => {
                ports.clock.sleep(backoff.pause(attempt)).await;
                attempt += 1;
            }
        }
    }
}

/// Every error is worth another attempt.
pub fn always<E>(_: &E) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_grow_linearly_or_by_doubling() {
        let ms = Duration::from_millis;
        let linear = Backoff::linear(4, ms(150));
        assert_eq!(
            (1..4).map(|n| linear.pause(n)).collect::<Vec<_>>(),
            [ms(150), ms(300), ms(450)]
        );
        let doubling = Backoff::doubling(4, ms(500));
        assert_eq!(
            (1..4).map(|n| doubling.pause(n)).collect::<Vec<_>>(),
            [ms(500), ms(1000), ms(2000)]
        );
    }
}
