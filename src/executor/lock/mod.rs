//! One deploy per service at a time: a lock tag on every service a run changes.
//!
//! The tag `ecs-deploy:lock` holds `<run id>/<attempt>@<expiry unix secs>+<nonce>`:
//! - the run id and attempt come from `GITHUB_RUN_ID`/`GITHUB_RUN_ATTEMPT` (a random id when
//!   run outside Actions), so the error of a second run names the holder;
//! - the expiry makes a lock left by a killed run stale by itself, after the longest time a run
//!   can take (`ttl`);
//! - the nonce tells apart two jobs of one workflow run (a matrix) that share run id and
//!   attempt.
//!
//! A lock is stale, and taken over with a warning, when it expired, when it was written by an
//! earlier attempt of the same run (GitHub starts a re-run only after the attempt ended), or
//! when it is unreadable. Tags have no compare-and-swap, so taking the lock is: read (every
//! service's tags, ten a DescribeServices call), write, wait `SETTLE`, read back. Two runs that
//! both read "free" both write; whichever wrote last owns it, and the other sees that when it
//! reads back, as long as each run writes soon enough after its read (`max_gap`, checked per
//! service: a later write starts over) and ECS's tag reads converge within
//! `TAG_VISIBILITY` (eventual consistency). A store with a real compare-and-swap (a DynamoDB
//! or S3 conditional write) would need no such bound, at the cost of another resource.

mod holder;

use std::time::Duration;

use futures::stream::{self, StreamExt};

use super::retry::{always, retry, Backoff};
use super::{log, Ports};
use crate::domain::settings::DeployConfig;
use crate::error::{AwsError, AwsErrorKind, Error};
pub use holder::{judge, Found, Holder};

pub const LOCK_TAG: &str = "ecs-deploy:lock";

/// `arn:aws:ecs:REGION:ACCOUNT:service/NAME`: a service created before the account opted in
/// to ECS's long ARN format (`service/CLUSTER/NAME`), which cannot carry tags.
fn is_short_service_arn(arn: &str) -> bool {
    arn.split_once(":service/").is_some_and(|(_, rest)| !rest.contains('/'))
}

/// How long another caller may still read a service's old tags after a change. ECS's API is
/// eventually consistent and AWS gives no figure; this is the bound the lock is built for
/// (the simulator delays tag reads by as much).
pub const TAG_VISIBILITY: Duration = Duration::from_millis(2500);

/// Between writing the lock and reading it back. Two runs that both found it free both
/// wrote; the earlier writer sees the later one's tag when it reads back if SETTLE covers
/// the later writer's read-to-write gap plus two propagations (its read missed ours, ours
/// must see its write): SETTLE >= gap + 2 x TAG_VISIBILITY, checked per run.
pub const SETTLE: Duration = Duration::from_secs(6);

/// SETTLE against an AWS `scale` times faster than real time, never under a second (the
/// read-to-write gap is real time: API latency does not speed up with a simulator).
fn settle(cfg: &DeployConfig) -> Duration {
    SETTLE.div_f64(cfg.aws_time_scale.max(1.0)).max(Duration::from_secs(1))
}

/// The longest read-to-write gap that still keeps two racing runs apart.
fn max_gap(cfg: &DeployConfig) -> Duration {
    settle(cfg).saturating_sub(2 * TAG_VISIBILITY.div_f64(cfg.aws_time_scale.max(1.0)))
}

/// Slack on top of the longest a run can take, for API latency and retries.
const MARGIN: Duration = Duration::from_secs(600);

// Tag calls in flight at once (services are locked together, e.g. 50 in one rolling deploy).
use super::batches::PARALLEL;

/// The longest a run can hold its services: every remaining step of its plan at its worst,
/// then the rollback's own wait.
pub fn ttl(cfg: &DeployConfig, plan: &crate::domain::plan::Plan) -> Duration {
    let metrics_wait = cfg
        .progressive
        .as_ref()
        .map(|pc| pc.clock.minute + pc.clock.max_delay + pc.bake.interval)
        .unwrap_or_default();
    plan.worst_case(cfg.wait_timeout, metrics_wait) + cfg.wait_timeout.max(Duration::from_secs(60)) + MARGIN
}

/// The services this run holds, released by `release`.
#[derive(Debug)]
pub struct Lock {
    /// The cluster of `services`: their locks are read ten at a time, by cluster.
    pub cluster: String,
    pub holder: Holder,
    /// (service name, service ARN)
    pub services: Vec<(String, String)>,
}

/// Runs `body` holding the deploy lock of `services` (the same scaffold for every
/// controller): taken before `body` reads the state it acts on, released whatever `body`
/// returns. A lock that cannot be taken is an error before any change.
pub async fn holding<T>(
    cfg: &DeployConfig,
    ports: &Ports<'_>,
    services: &[(String, String)],
    ttl: Duration,
    body: impl std::future::Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    let held = acquire(cfg, ports, services, ttl).await?;
    let result = body.await;
    release(ports, &held).await;
    result
}

/// Takes the lock on every service, or changes nothing and says who holds it. A throttled or
/// failing AWS call, or a write that came too late after its read, restarts the attempt (up
/// to three, with backoff); a live lock of another run fails at once.
pub async fn acquire(
    cfg: &DeployConfig,
    ports: &Ports<'_>,
    services: &[(String, String)],
    ttl: Duration,
) -> Result<Lock, Error> {
    if let Some((name, arn)) = services.iter().find(|(_, arn)| is_short_service_arn(arn)) {
        return Err(Error::Preflight {
            cluster: cfg.cluster.clone(),
            service: name.clone(),
            problem: format!(
                "has an ARN in ECS's old short format ({arn}), and ECS refuses to tag such a service; the deploy lock and the release records are tags, so nothing was changed. The format is fixed when a service is created: opt the account in (aws ecs put-account-setting-default --name serviceLongArnFormat --value enabled) and re-create the service, e.g. as a new slot, then deploy to that"
            ),
        });
    }
    let lock = Lock {
        holder: Holder::for_run(&cfg.context, ports.clock.now(), ttl),
        cluster: cfg.cluster.clone(),
        services: services.to_vec(),
    };
    let backoff = Backoff::doubling(ATTEMPTS, Duration::from_millis(500));
    let again = |a: &Attempt| match a {
        Attempt::Retry(e) => {
            log::warning("Deploy lock not taken yet", &format!("{e}; trying again"));
            true
        }
        Attempt::Fatal(_) => false,
    };
    match retry(ports, backoff, again, |_| try_acquire(cfg, ports, &lock)).await {
        Ok(()) => {
            log::info(&format!(
                "deploy lock taken on {} service(s) as {} until {}",
                services.len(),
                lock.holder.describe(&cfg.context),
                lock.holder.expiry_text()
            ));
            Ok(lock)
        }
        Err(Attempt::Retry(e) | Attempt::Fatal(e)) => Err(e),
    }
}

const ATTEMPTS: u32 = 3;

enum Attempt {
    /// Transient: nothing of ours is left; try again.
    Retry(Error),
    Fatal(Error),
}

fn classify(e: Error) -> Attempt {
    match &e {
        Error::Aws(a) if a.kind == AwsErrorKind::Transient => Attempt::Retry(e),
        _ => Attempt::Fatal(e),
    }
}

/// Per service: read, judge, write at once. Then wait `SETTLE` and read back. Whatever goes
/// wrong after a write gives our tags back.
async fn try_acquire(cfg: &DeployConfig, ports: &Ports<'_>, lock: &Lock) -> Result<(), Attempt> {
    let (me, services) = (&lock.holder, &lock.services);
    let mine = me.value();
    let tag = [(LOCK_TAG.to_string(), mine.clone())];

    enum Step {
        Taken { gap: Duration },
        Failed(AwsError),
    }
    // One read of every service's lock (ten a call), judged before any write: a live lock of
    // another run anywhere changes nothing at all.
    let read_at = ports.clock.now();
    let existing = ports
        .ecs
        .services_tags(&lock.cluster, services)
        .await
        .map_err(|e| classify(e.into()))?;
    for ((name, _), tags) in services.iter().zip(&existing) {
        match judge(lock_value(tags).as_deref(), me, read_at) {
            Found::Held(h) => return Err(Attempt::Fatal(locked(cfg, name, &h))),
            Found::Stale(why) => log::warning(
                "Stale deploy lock taken over",
                &format!("{name}: the lock tag `{LOCK_TAG}` is stale ({why}); taking it over"),
            ),
            Found::Free | Found::Ours => {}
        }
    }
    let steps: Vec<(&String, Step)> = stream::iter(services)
        .map(|(name, arn)| {
            let tag = &tag;
            async move {
                match ports.ecs.tag_service(arn, tag).await {
                    Ok(()) => (
                        name,
                        Step::Taken {
                            gap: ports.clock.now().duration_since(read_at).unwrap_or_default(),
                        },
                    ),
                    Err(e) => (name, Step::Failed(e)),
                }
            }
        })
        .buffered(PARALLEL)
        .collect()
        .await;

    let mut outcome: Result<(), Attempt> = Ok(());
    for (name, step) in steps {
        let this = match step {
            Step::Failed(e) => Err(classify(e.into())),
            // Mutual exclusion holds while every run writes within `max_gap` of the read that
            // found the lock free; a write slowed down by retries starts over.
            Step::Taken { gap } if gap > max_gap(cfg) => Err(Attempt::Retry(Error::Preflight {
                cluster: cfg.cluster.clone(),
                service: name.clone(),
                problem: format!(
                    "took {} ms to write its deploy lock after reading it (AWS slow)",
                    gap.as_millis()
                ),
            })),
            Step::Taken { .. } => Ok(()),
        };
        // A live lock of another run outranks any other problem.
        outcome = match (outcome, this) {
            (Err(Attempt::Fatal(e)), _) => Err(Attempt::Fatal(e)),
            (_, Err(Attempt::Fatal(e))) => Err(Attempt::Fatal(e)),
            (Err(e), _) | (Ok(()), Err(e)) => Err(e),
            (Ok(()), Ok(())) => Ok(()),
        };
    }
    if outcome.is_err() {
        release(ports, lock).await;
        return outcome;
    }

    ports.clock.sleep(settle(cfg)).await;
    let back = match read_all(ports, &lock.cluster, services).await {
        Ok(b) => b,
        Err(e) => {
            release(ports, lock).await;
            return Err(classify(e));
        }
    };
    for ((name, _), value) in services.iter().zip(&back) {
        if value.as_deref() != Some(mine.as_str()) {
            // Another run wrote after us: it owns the lock. Give back what we hold.
            release(ports, lock).await;
            let holder = value.as_deref().and_then(Holder::parse);
            return Err(Attempt::Fatal(match holder {
                Some(h) => locked(cfg, name, &h),
                None => Error::Preflight {
                    cluster: cfg.cluster.clone(),
                    service: name.clone(),
                    problem: format!(
                        "lost its deploy lock (`{LOCK_TAG}` now reads {value:?}) while taking it; another run is starting, re-run after it"
                    ),
                },
            }));
        }
    }
    Ok(())
}

/// Removes our lock tag from every service (not someone else's, if ours expired and was taken).
/// Never fails the run: a tag left behind only delays the next run until it expires.
pub async fn release(ports: &Ports<'_>, lock: &Lock) {
    let mine = lock.holder.value();
    // Which services still carry our lock: one read, ten services a call.
    let read = |_| async {
        read_all(ports, &lock.cluster, &lock.services)
            .await
            .map_err(|e| e.to_string())
    };
    let ours: Vec<&(String, String)> = match retry(ports, Backoff::linear(3, Duration::from_millis(500)), always, read)
        .await
    {
        Ok(values) => lock
            .services
            .iter()
            .zip(values)
            .filter(|(_, v)| v.as_deref() == Some(mine.as_str()))
            .map(|(s, _)| s)
            .collect(),
        // Unreadable: left as it is (removing a tag another run may have written since
        // would be worse); it expires by itself.
        Err(e) => {
            log::warning(
                    "Deploy lock not released",
                    &format!(
                        "{e}. The lock expires by itself at {}; to release it now: aws ecs untag-resource --resource-arn <service ARN> --tag-keys {LOCK_TAG}",
                        lock.holder.expiry_text()
                    ),
                );
            return;
        }
    };
    let results: Vec<(String, String, Result<(), String>)> = stream::iter(ours)
        .map(|(name, arn)| async move {
            let keys = [LOCK_TAG.to_string()];
            let untag = |_| async { ports.ecs.untag_service(arn, &keys).await.map_err(|e| e.to_string()) };
            let released = retry(ports, Backoff::linear(3, Duration::from_millis(500)), always, untag).await;
            (name.clone(), arn.clone(), released)
        })
        .buffered(PARALLEL)
        .collect()
        .await;
    for (name, arn, r) in results {
        if let Err(e) = r {
            log::warning(
                "Deploy lock not released",
                &format!(
                    "{name}: {e}. The lock expires by itself at {}; to release it now: aws ecs untag-resource --resource-arn {arn} --tag-keys {LOCK_TAG}",
                    lock.holder.expiry_text()
                ),
            );
        }
    }
}

async fn read_all(
    ports: &Ports<'_>,
    cluster: &str,
    services: &[(String, String)],
) -> Result<Vec<Option<String>>, Error> {
    let tags = ports.ecs.services_tags(cluster, services).await?;
    Ok(tags.iter().map(|t| lock_value(t)).collect())
}

/// The lock tag's value among a service's tags.
fn lock_value(tags: &[(String, String)]) -> Option<String> {
    tags.iter().find(|(k, _)| k == LOCK_TAG).map(|(_, v)| v.clone())
}

fn locked(cfg: &DeployConfig, service: &str, h: &Holder) -> Error {
    Error::Locked {
        cluster: cfg.cluster.clone(),
        service: service.to_string(),
        holder: h.describe(&cfg.context),
        until: h.expiry_text(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_service_arn_is_told_from_a_long_one() {
        assert!(is_short_service_arn("arn:aws:ecs:us-east-1:123456789012:service/web"));
        assert!(!is_short_service_arn(
            "arn:aws:ecs:us-east-1:123456789012:service/prod/web"
        ));
    }
}
