//! The lock's value and the pure judgement of a lock tag found on a service: whose it is,
//! until when, and whether it is stale.

use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::domain::settings::GithubContext;

/// Who holds (or wants) a lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub run_id: String,
    pub attempt: u32,
    /// Unix seconds after which the lock is stale.
    pub expires: u64,
    pub nonce: String,
}

impl Holder {
    /// This run's claim, valid for `ttl` from `now`.
    pub fn for_run(ctx: &GithubContext, now: SystemTime, ttl: Duration) -> Holder {
        let run_id = ctx
            .run_id
            .as_deref()
            .map(sanitize)
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| format!("local-{}", random_hex(8)));
        let attempt = ctx
            .run_attempt
            .as_deref()
            .and_then(|a| a.trim().parse().ok())
            .unwrap_or(1);
        Holder {
            run_id,
            attempt,
            expires: unix(now) + ttl.as_secs(),
            nonce: random_hex(6),
        }
    }

    /// The tag value (ECS tag values allow letters, digits and `+ - = . _ : / @`).
    pub fn value(&self) -> String {
        format!("{}/{}@{}+{}", self.run_id, self.attempt, self.expires, self.nonce)
    }

    pub fn parse(value: &str) -> Option<Holder> {
        let (run, rest) = value.split_once('@')?;
        let (run_id, attempt) = run.rsplit_once('/')?;
        let (expires, nonce) = rest.split_once('+').unwrap_or((rest, ""));
        Some(Holder {
            run_id: run_id.to_string(),
            attempt: attempt.parse().ok()?,
            expires: expires.parse().ok()?,
            nonce: nonce.to_string(),
        })
    }

    /// "run 1001 attempt 1 (https://github.com/o/r/actions/runs/1001/attempts/1)".
    pub fn describe(&self, ctx: &GithubContext) -> String {
        let url = GithubContext {
            run_id: Some(self.run_id.clone()),
            run_attempt: Some(self.attempt.to_string()),
            ..ctx.clone()
        }
        .run_url()
        .filter(|_| !self.run_id.starts_with("local-"));
        match url {
            Some(u) => format!("run {} attempt {} ({u})", self.run_id, self.attempt),
            None => format!("run {} attempt {}", self.run_id, self.attempt),
        }
    }

    pub fn expiry_text(&self) -> String {
        let t = UNIX_EPOCH + Duration::from_secs(self.expires);
        humantime::format_rfc3339_seconds(t).to_string()
    }
}

/// What a lock tag found on a service means for this run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    Free,
    Ours,
    /// Taken over, with the reason in the warning.
    Stale(String),
    Held(Holder),
}

/// Decides about one service's lock tag (pure).
pub fn judge(existing: Option<&str>, me: &Holder, now: SystemTime) -> Found {
    let Some(value) = existing else {
        return Found::Free;
    };
    if value == me.value() {
        return Found::Ours;
    }
    let Some(h) = Holder::parse(value) else {
        return Found::Stale(format!("its value `{value}` is not a lock this action wrote"));
    };
    if h.expires <= unix(now) {
        return Found::Stale(format!(
            "run {} attempt {} held it until {}, which has passed",
            h.run_id,
            h.attempt,
            h.expiry_text()
        ));
    }
    if h.run_id == me.run_id && h.attempt < me.attempt {
        return Found::Stale(format!(
            "it was taken by attempt {} of this run, which ended when attempt {} started",
            h.attempt, me.attempt
        ));
    }
    Found::Held(h)
}

pub(super) fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn sanitize(s: &str) -> String {
    s.trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .take(64)
        .collect()
}

/// `n` random hex digits from the std hasher's per-process random keys (no extra crate).
fn random_hex(n: usize) -> String {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    let s = format!("{:016x}", h.finish());
    s[..n.min(16)].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn me() -> Holder {
        Holder {
            run_id: "1001".into(),
            attempt: 2,
            expires: 5000,
            nonce: "abc123".into(),
        }
    }

    #[test]
    fn the_value_round_trips() {
        let h = me();
        assert_eq!(h.value(), "1001/2@5000+abc123");
        assert_eq!(Holder::parse(&h.value()), Some(h));
        assert_eq!(Holder::parse("7/1@99").map(|h| h.expires), Some(99));
        assert_eq!(Holder::parse("garbage"), None);
    }

    #[test]
    fn a_live_lock_of_another_run_is_held() {
        let other = "2002/1@6000+ffffff";
        match judge(Some(other), &me(), at(1000)) {
            Found::Held(h) => assert_eq!(h.run_id, "2002"),
            f => panic!("{f:?}"),
        }
        // The same run and attempt but another job (matrix): held too.
        assert!(matches!(
            judge(Some("1001/2@6000+000000"), &me(), at(1000)),
            Found::Held(_)
        ));
    }

    #[test]
    fn expired_earlier_attempt_and_unreadable_locks_are_stale() {
        assert!(matches!(judge(Some("2002/1@999+x"), &me(), at(1000)), Found::Stale(_)));
        assert!(matches!(judge(Some("1001/1@6000+x"), &me(), at(1000)), Found::Stale(_)));
        assert!(matches!(judge(Some("whatever"), &me(), at(1000)), Found::Stale(_)));
        assert_eq!(judge(None, &me(), at(1000)), Found::Free);
        assert_eq!(judge(Some(&me().value()), &me(), at(1000)), Found::Ours);
    }

    #[test]
    fn a_run_without_github_context_gets_a_random_id() {
        let a = Holder::for_run(&GithubContext::default(), at(100), Duration::from_secs(60));
        let b = Holder::for_run(&GithubContext::default(), at(100), Duration::from_secs(60));
        assert!(a.run_id.starts_with("local-"));
        assert_ne!(a.value(), b.value());
        assert_eq!(a.expires, 160);
        assert_eq!(Holder::parse(&a.value()), Some(a));
    }

    #[test]
    fn the_holder_is_named_with_its_run_url() {
        let ctx = GithubContext {
            repository: Some("acme/shop".into()),
            ..Default::default()
        };
        let h = Holder::parse("42/3@100+x").unwrap();
        assert_eq!(
            h.describe(&ctx),
            "run 42 attempt 3 (https://github.com/acme/shop/actions/runs/42/attempts/3)"
        );
    }
}
