//! One deploy per service at a time: a lock per service, held in SSM Parameter Store.
//!
//! The lock of service S in cluster C is the String parameter `/ecs-deploy-action/lock/C/S`.
//! Its value (record.rs) claims it free or for a holder `<run id>/<attempt>@<expiry>+<nonce>`
//! (holder.rs):
//! - the run id and attempt come from `GITHUB_RUN_ID`/`GITHUB_RUN_ATTEMPT` (a random id when
//!   run outside Actions), so the error of a second run names the holder;
//! - the expiry makes a lock left by a killed run stale by itself, after the longest time a run
//!   can take (`ttl`);
//! - the nonce tells apart two jobs of one workflow run (a matrix) that share run id and
//!   attempt.
//!
//! A lock is stale, and taken over with a warning, when it expired, when it was written by an
//! earlier attempt of the same run (GitHub starts a re-run only after the attempt ended), or
//! when its value is not one this action wrote.
//!
//! Taking it is a compare-and-swap on Parameter Store's version numbers: read, judge, write
//! "held, after the version I read". The store numbers every write; the write counts only if
//! it got the very next number (record::counts). No timing bound is involved: two runs that
//! both read the lock free both write, one gets the next number and holds the lock, the other
//! sees that in PutParameter's own answer and changes nothing else.

mod holder;
mod record;

use std::time::Duration;

use futures::stream::{self, StreamExt};

use super::retry::{retry, Backoff};
use super::{log, Ports};
use crate::domain::settings::DeployConfig;
use crate::error::{AwsErrorKind, Error};
use crate::ports::{Record, Written};
pub use holder::{judge, Found, Holder};
use record::{counts, encode, parse, Claim};

/// Where the locks live in Parameter Store (the IAM policy grants this path only).
pub const LOCK_PATH: &str = "/ecs-deploy-action/lock";

/// The lock parameter of `service` in `cluster` (a name or an ARN).
pub fn parameter_name(cluster: &str, service: &str) -> String {
    let cluster = cluster.rsplit('/').next().unwrap_or(cluster);
    format!("{LOCK_PATH}/{cluster}/{service}")
}

/// `arn:aws:ecs:REGION:ACCOUNT:service/NAME`: a service created before the account opted in
/// to ECS's long ARN format (`service/CLUSTER/NAME`), which cannot carry tags.
fn is_short_service_arn(arn: &str) -> bool {
    arn.split_once(":service/").is_some_and(|(_, rest)| !rest.contains('/'))
}

/// Slack on top of the longest a run can take, for API latency and retries.
const MARGIN: Duration = Duration::from_secs(600);

/// Lock writes in flight at once (services are locked together, e.g. 50 in one rolling deploy).
use super::batches::PARALLEL;

/// Versions a reader walks back past writes that do not count before giving up.
const WALK_BACK: usize = 8;

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
    pub cluster: String,
    pub holder: Holder,
    /// (service name, service ARN)
    pub services: Vec<(String, String)>,
}

impl Lock {
    fn parameter(&self, service: &str) -> String {
        parameter_name(&self.cluster, service)
    }
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

/// Takes the lock of every service, or changes nothing it keeps and says who holds it. A
/// throttled or failing AWS call, or a race lost to a run that has not shown itself yet,
/// restarts the attempt (up to three, with backoff); a live lock of another run fails at once.
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
                "has an ARN in ECS's old short format ({arn}), and ECS refuses to tag such a service; the release records are tags, so nothing was changed. The format is fixed when a service is created: opt the account in (aws ecs put-account-setting-default --name serviceLongArnFormat --value enabled) and re-create the service, e.g. as a new slot, then deploy to that"
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

/// A lock as read: its newest version (0: no parameter yet) and the claim of the newest
/// version that counts.
#[derive(Debug, Clone)]
struct Seen {
    version: u64,
    claim: Claim,
}

impl Seen {
    fn holder_value(&self) -> Option<&str> {
        match &self.claim {
            Claim::Free => None,
            Claim::Held(v) => Some(v),
        }
    }
}

/// Reads every service's lock (ten a call), judges them all, then writes. A live lock of
/// another run anywhere changes nothing at all; whatever goes wrong after a write gives ours back.
async fn try_acquire(cfg: &DeployConfig, ports: &Ports<'_>, lock: &Lock) -> Result<(), Attempt> {
    let me = &lock.holder;
    let names: Vec<String> = lock.services.iter().map(|(s, _)| lock.parameter(s)).collect();
    let seen = read(ports, &names).await.map_err(classify)?;
    let now = ports.clock.now();
    for ((service, _), s) in lock.services.iter().zip(&seen) {
        match judge(s.holder_value(), me, now) {
            Found::Held(h) => return Err(Attempt::Fatal(locked(cfg, service, &h))),
            Found::Stale(why) => log::warning(
                "Stale deploy lock taken over",
                &format!("{service}: its deploy lock is stale ({why}); taking it over"),
            ),
            Found::Free | Found::Ours => {}
        }
    }
    // In name order, the first alone: two runs of the same services meet there, and the
    // loser stops before writing any other.
    let mut order: Vec<usize> = (0..names.len()).collect();
    order.sort_by(|a, b| names[*a].cmp(&names[*b]));
    let mine = Claim::Held(me.value());
    let take = |i: usize| {
        let (name, seen, mine) = (&names[i], &seen[i], &mine);
        async move {
            let written = ports
                .locks
                .write(name, &encode(mine, seen.version), seen.version == 0)
                .await;
            (i, written)
        }
    };
    let mut results = vec![take(order[0]).await];
    if matches!(results[0].1, Ok(Written::Version(v)) if counts(v, seen[order[0]].version)) {
        results.extend(
            stream::iter(&order[1..])
                .map(|i| take(*i))
                .buffered(PARALLEL)
                .collect::<Vec<_>>()
                .await,
        );
    }
    let mut outcome: Result<(), Attempt> = Ok(());
    for (i, written) in results {
        let this = match written {
            Ok(Written::Version(v)) if counts(v, seen[i].version) => Ok(()),
            Ok(_) => Err(Attempt::Retry(Error::Preflight {
                cluster: cfg.cluster.clone(),
                service: lock.services[i].0.clone(),
                problem: format!(
                    "lost the race for its deploy lock (SSM parameter {}): another run wrote it at the same moment",
                    names[i]
                ),
            })),
            Err(e) => Err(classify(e.into())),
        };
        outcome = match (outcome, this) {
            (Err(Attempt::Fatal(e)), _) | (_, Err(Attempt::Fatal(e))) => Err(Attempt::Fatal(e)),
            (Err(e), _) | (Ok(()), Err(e)) => Err(e),
            (Ok(()), Ok(())) => Ok(()),
        };
    }
    if outcome.is_err() {
        release(ports, lock).await;
    }
    outcome
}

/// Each lock's newest version and the claim that counts.
async fn read(ports: &Ports<'_>, names: &[String]) -> Result<Vec<Seen>, Error> {
    let current = ports.locks.current(names).await?;
    let mut out = Vec::with_capacity(names.len());
    for (name, record) in names.iter().zip(current) {
        out.push(resolve(ports, name, record).await?);
    }
    Ok(out)
}

/// Walks back from the newest version to the newest one that counts.
async fn resolve(ports: &Ports<'_>, name: &str, newest: Option<Record>) -> Result<Seen, Error> {
    let Some(newest) = newest else {
        return Ok(Seen {
            version: 0,
            claim: Claim::Free,
        });
    };
    let version = newest.version;
    let mut at = newest;
    for _ in 0..WALK_BACK {
        let entry = match parse(&at.value) {
            // Not a value this action wrote: `judge` calls it stale.
            None => {
                return Ok(Seen {
                    version,
                    claim: Claim::Held(at.value),
                })
            }
            Some(e) => e,
        };
        if counts(at.version, entry.after) {
            return Ok(Seen {
                version,
                claim: entry.claim,
            });
        }
        let earlier = match at.version.checked_sub(1).filter(|v| *v > 0) {
            Some(v) => ports.locks.version(name, v).await?,
            None => None,
        };
        match earlier {
            Some(r) => at = r,
            None => break,
        }
    }
    Err(Error::Aws(crate::error::AwsError {
        operation: "ssm:GetParameters",
        resource: name.to_string(),
        message: format!(
            "no version of the deploy lock at or below version {} that counts can be read (yet)",
            at.version
        ),
        kind: AwsErrorKind::Transient,
    }))
}

/// Marks our lock free on every service (not another run's, if ours expired and was taken).
/// One read for every ten services, then a compare-and-swap each; a service whose swap fails
/// is read and tried again alone. Never fails the run: a lock left behind only delays the
/// next run until it expires.
pub async fn release(ports: &Ports<'_>, lock: &Lock) {
    let mine = lock.holder.value();
    let names: Vec<String> = lock.services.iter().map(|(s, _)| lock.parameter(s)).collect();
    let first_read = read(ports, &names).await.ok();
    let results: Vec<(&String, Result<(), String>)> = stream::iter(names.iter().enumerate())
        .map(|(i, name)| {
            let (mine, seen) = (&mine, first_read.as_ref().map(|all| all[i].clone()));
            async move {
                let mut seen = seen;
                let once = |_| {
                    let known = seen.take();
                    async move {
                        let seen = match known {
                            Some(s) => s,
                            None => read(ports, std::slice::from_ref(name))
                                .await
                                .map_err(|e| e.to_string())?
                                .remove(0),
                        };
                        free(ports, name, mine, &seen).await
                    }
                };
                let released = retry(ports, Backoff::linear(3, Duration::from_millis(500)), |_| true, once).await;
                (name, released)
            }
        })
        .buffered(PARALLEL)
        .collect()
        .await;
    for (name, r) in results {
        if let Err(e) = r {
            log::warning(
                "Deploy lock not released",
                &format!(
                    "{name}: {e}. The lock expires by itself at {}; to release it now, once no deploy of the service runs: aws ssm delete-parameter --name {name}",
                    lock.holder.expiry_text()
                ),
            );
        }
    }
}

/// One compare-and-swap from ours to free, on what was read; an error asks for another try.
async fn free(ports: &Ports<'_>, name: &str, mine: &str, seen: &Seen) -> Result<(), String> {
    if seen.holder_value() != Some(mine) {
        return Ok(()); // not ours (any more): nothing to give back
    }
    match ports
        .locks
        .write(name, &encode(&Claim::Free, seen.version), false)
        .await
    {
        Ok(Written::Version(v)) if counts(v, seen.version) => Ok(()),
        Ok(_) => Err("another write came in between".into()),
        Err(e) => Err(e.to_string()),
    }
}

fn locked(cfg: &DeployConfig, service: &str, h: &Holder) -> Error {
    Error::Locked {
        cluster: cfg.cluster.clone(),
        service: service.to_string(),
        parameter: parameter_name(&cfg.cluster, service),
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

    #[test]
    fn the_lock_parameter_is_named_by_cluster_name_and_service() {
        assert_eq!(parameter_name("prod", "web"), "/ecs-deploy-action/lock/prod/web");
        assert_eq!(
            parameter_name("arn:aws:ecs:us-east-1:123456789012:cluster/prod", "web"),
            "/ecs-deploy-action/lock/prod/web"
        );
    }
}
