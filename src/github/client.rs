//! The GitHub REST client: octocrab without its retry layer (which retries 5xx and 429 at once,
//! three times, without backoff), over our own connection pool (`transport`), a short timeout
//! per request, and GitHub's rate-limit answers (429, or 403 with `retry-after`) honoured only
//! within a small budget, so reporting never stalls a deploy for more than a few seconds.

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use octocrab::Octocrab;
use serde_json::Value;

/// The longest any one request may take, connection included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest we wait for one `retry-after`; a longer one skips the write instead.
pub const MAX_RETRY_WAIT: Duration = Duration::from_secs(3);
/// All rate-limit and 5xx waits of a run together.
pub const RETRY_BUDGET: Duration = Duration::from_secs(8);
/// The pause before the one retry of an idempotent request that got a 5xx.
const SERVER_ERROR_BACKOFF: Duration = Duration::from_millis(500);

/// The default API of github.com; `GITHUB_API_URL` overrides it (GitHub Enterprise, tests).
pub const DEFAULT_API_URL: &str = "https://api.github.com";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Patch,
}

impl Method {
    pub fn as_str(&self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
        }
    }
}

/// What went wrong, in the classes the reporter acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// 401: the token itself was refused.
    Unauthorized,
    /// 403 that is not a rate limit: a missing permission, or a fork's read-only token.
    Forbidden,
    /// 404: the repository is not visible to the token (or the resource is gone).
    NotFound,
    /// 429, or 403 with `retry-after` / `x-ratelimit-remaining: 0`.
    RateLimited,
    /// 5xx.
    Server,
    /// No answer within [`REQUEST_TIMEOUT`].
    Timeout,
    /// Any other 4xx (422 validation, 409 conflict …): our request, not the permissions.
    Rejected,
    /// No HTTP answer at all (connection refused, TLS, DNS) or an unreadable one.
    Transport,
}

/// A failed GitHub request, naming the request; the reporter adds the fix (which permission).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{method} {path}: {detail}")]
pub struct ApiError {
    pub method: &'static str,
    pub path: String,
    pub kind: ErrorKind,
    /// Status and GitHub's message, cut to one short line. Never contains the token.
    pub detail: String,
    /// What `retry-after` (or `x-ratelimit-reset`) asked for, if anything.
    pub retry_after: Option<Duration>,
}

/// The client could not be built (a bad `GITHUB_API_URL`, no TLS roots).
#[derive(Debug, thiserror::Error)]
#[error("GitHub API client for `{api_url}` could not be built: {message}. Fix: set GITHUB_API_URL to the API root (e.g. https://api.github.com, or https://HOST/api/v3 for GitHub Enterprise Server)")]
pub struct ClientError {
    pub api_url: String,
    pub message: String,
}

pub struct Client {
    crab: Octocrab,
    /// What is left of [`RETRY_BUDGET`].
    budget: Mutex<Duration>,
    writes: std::sync::atomic::AtomicUsize,
}

impl Client {
    pub fn new(api_url: &str, token: &str) -> Result<Client, ClientError> {
        let api_url = api_url.trim().trim_end_matches('/');
        let err = |message: String| ClientError {
            api_url: api_url.to_string(),
            message,
        };
        let crab = super::transport::octocrab(api_url, token, REQUEST_TIMEOUT).map_err(err)?;
        Ok(Client {
            crab,
            budget: Mutex::new(RETRY_BUDGET),
            writes: Default::default(),
        })
    }

    /// How many writes (POST, PATCH) this client sent, answered or not.
    pub fn writes(&self) -> usize {
        self.writes.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Value, ApiError> {
        self.request(Method::Get, path, query, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, ApiError> {
        self.request(Method::Post, path, &[], Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Result<Value, ApiError> {
        self.request(Method::Patch, path, &[], Some(body)).await
    }

    /// One request, and at most one retry: after a short `retry-after`, or after a 5xx or a
    /// transport error for GET and PATCH (a POST might have taken effect, so it is not repeated).
    #[allow(clippy::disallowed_methods)] // retry-after waits are real time (GitHub's clock)
    async fn request(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Value, ApiError> {
        let mut retried = false;
        loop {
            if method != Method::Get {
                self.writes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            let err = match tokio::time::timeout(REQUEST_TIMEOUT, self.once(method, path, query, body)).await {
                Ok(Ok(v)) => return Ok(v),
                Ok(Err(e)) => e,
                Err(_) => ApiError {
                    method: method.as_str(),
                    path: path.to_string(),
                    kind: ErrorKind::Timeout,
                    detail: format!("no answer within {} s", REQUEST_TIMEOUT.as_secs()),
                    retry_after: None,
                },
            };
            if retried {
                return Err(err);
            }
            let wait = match err.kind {
                ErrorKind::RateLimited => match err.retry_after {
                    Some(w) if w <= MAX_RETRY_WAIT => w,
                    _ => return Err(err),
                },
                ErrorKind::Server if method != Method::Post => SERVER_ERROR_BACKOFF,
                // A connection dropped mid-request (a proxy, a reset): a fresh connection
                // usually succeeds. Only for idempotent requests.
                ErrorKind::Transport if method != Method::Post => Duration::ZERO,
                _ => return Err(err),
            };
            if !self.take_budget(wait) {
                return Err(err);
            }
            tokio::time::sleep(wait).await;
            retried = true;
        }
    }

    fn take_budget(&self, wait: Duration) -> bool {
        let Ok(mut left) = self.budget.lock() else {
            return false;
        };
        if *left < wait {
            return false;
        }
        *left -= wait;
        true
    }

    async fn once(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Value, ApiError> {
        let result = match method {
            Method::Get => {
                let q = (!query.is_empty()).then_some(query);
                self.crab.get::<Value, _, _>(path, q).await
            }
            Method::Post => self.crab.post::<_, Value>(path, body).await,
            // octocrab's `update_comment` sends POST; the spec (and GitHub) want PATCH.
            Method::Patch => self.crab.patch::<Value, _, _>(path, body).await,
        };
        result.map_err(|e| classify(method, path, e))
    }
}

#[allow(clippy::disallowed_methods)] // rate-limit reset times are compared with real time
fn classify(method: Method, path: &str, e: octocrab::Error) -> ApiError {
    let mut out = ApiError {
        method: method.as_str(),
        path: path.to_string(),
        kind: ErrorKind::Transport,
        detail: String::new(),
        retry_after: None,
    };
    match e {
        octocrab::Error::GitHub { source, .. } => {
            let status = source.status_code.as_u16();
            let header = |name: &str| {
                source
                    .headers
                    .as_ref()
                    .and_then(|h| h.get(name))
                    .and_then(|v| v.to_str().ok())
                    .map(|s| s.trim().to_string())
            };
            let retry_after = header("retry-after")
                .and_then(|s| s.parse::<u64>().ok())
                .map(Duration::from_secs);
            let exhausted = header("x-ratelimit-remaining").as_deref() == Some("0");
            let reset_in = header("x-ratelimit-reset")
                .and_then(|s| s.parse::<u64>().ok())
                .map(|reset| {
                    let now = SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .map(|d| d.as_secs())
                        .unwrap_or(0);
                    Duration::from_secs(reset.saturating_sub(now))
                });
            let message = one_line(&source.message, 200);
            let rate_limited = status == 429
                || (status == 403
                    && (retry_after.is_some() || exhausted || message.to_lowercase().contains("rate limit")));
            out.kind = match status {
                _ if rate_limited => ErrorKind::RateLimited,
                401 => ErrorKind::Unauthorized,
                403 => ErrorKind::Forbidden,
                404 => ErrorKind::NotFound,
                500..=599 => ErrorKind::Server,
                _ => ErrorKind::Rejected,
            };
            if rate_limited {
                out.retry_after = retry_after.or(if exhausted { reset_in } else { None });
            }
            out.detail = format!("HTTP {status}: {message}");
        }
        other => {
            // The outer error ("Service Error: client error (SendRequest)") says little; its
            // sources say what happened ("connection closed before message completed").
            let text = error_chain(&other);
            out.kind = if text.to_lowercase().contains("timed out") || text.to_lowercase().contains("timeout") {
                ErrorKind::Timeout
            } else {
                ErrorKind::Transport
            };
            out.detail = one_line(&text, 200);
        }
    }
    out
}

/// An error and its sources, joined by ": ", each said once.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next: Option<&dyn std::error::Error> = Some(e);
    while let Some(err) = next {
        let text = err.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = err.source();
    }
    parts.join(": ")
}

/// The first line of `s`, cut to `max` characters.
fn one_line(s: &str, max: usize) -> String {
    let line = s.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
    let mut out: String = line.chars().take(max).collect();
    if line.chars().count() > max {
        out.push('…');
    }
    out
}

/// Percent-encodes one path segment (an owner, a repository, an environment name): everything
/// but RFC 3986's unreserved characters.
pub fn seg(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `/repos/{owner}/{repo}` with both encoded.
pub fn repo_path(owner: &str, repo: &str) -> String {
    format!("/repos/{}/{}", seg(owner), seg(repo))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(seg("prod eu/1"), "prod%20eu%2F1");
        assert_eq!(seg("ünï"), "%C3%BCn%C3%AF");
        assert_eq!(repo_path("acme", "web.app"), "/repos/acme/web.app");
    }

    #[test]
    fn one_line_cuts() {
        assert_eq!(one_line("\n  first\nsecond", 3), "fir…");
    }

    #[tokio::test]
    async fn a_refused_connection_is_a_transport_error_not_a_panic() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        // Port 9 (discard) on localhost is closed on any test machine.
        let c = Client::new("http://127.0.0.1:9", "t").unwrap();
        let e = c.get("/repos/a/b", &[]).await.unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Transport | ErrorKind::Timeout), "{e:?}");
        assert!(!e.to_string().contains('\n'));
    }

    #[tokio::test]
    async fn a_bad_url_names_the_fix() {
        let e = Client::new("not a url", "t").err().unwrap();
        assert!(e.to_string().contains("GITHUB_API_URL"), "{e}");
    }
}
