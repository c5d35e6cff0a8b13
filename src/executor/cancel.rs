//! Cancellation as a first-class path: every wait of the executor is raced against the
//! runner's signal, so a SIGTERM during a slow call (CloudWatch, a smoke GET) is acted on at
//! once instead of after the call returns.

use std::future::Future;
use std::time::{Duration, SystemTime};

use super::{Cancel, Ports};

/// Resolves when the signal arrives (never, if the sender is gone without one).
pub async fn signalled(cancel: &mut Cancel) {
    loop {
        if *cancel.borrow() {
            return;
        }
        if cancel.changed().await.is_err() {
            return std::future::pending().await;
        }
    }
}

/// Runs a read-only future unless the signal comes first (then `None`; the call is dropped).
/// Never use it around a mutating call: a dropped write can still land.
pub async fn race<T>(cancel: &mut Cancel, fut: impl Future<Output = T>) -> Option<T> {
    if *cancel.borrow() {
        return None;
    }
    tokio::select! {
        v = fut => Some(v),
        _ = signalled(cancel) => None,
    }
}

/// Runs `fut` unless `deadline` (on the run's clock) passes first: then `None`. For the calls
/// made while reverting, which must finish inside the runner's grace period (~7.5 s) even if
/// AWS does not answer.
pub async fn within<T>(ports: &Ports<'_>, deadline: SystemTime, fut: impl Future<Output = T>) -> Option<T> {
    let left = deadline.duration_since(ports.clock.now()).unwrap_or_default();
    tokio::select! {
        v = fut => Some(v),
        _ = ports.clock.sleep(left) => None,
    }
}

/// Sleeps through the clock; true if cancelled meanwhile.
pub async fn sleep_or_cancel(ports: &Ports<'_>, d: Duration, cancel: &mut Cancel) -> bool {
    race(cancel, ports.clock.sleep(d)).await.is_none()
}
