//! The HTTP stack under octocrab, built here instead of by `OctocrabBuilder::build` for two
//! settings that builder does not expose and a deploy reporter needs:
//!
//! - **Idle connections are dropped before the server drops them.** Servers close an idle
//!   keep-alive connection on their own clock (Node, which serves GitHub's API simulator, after
//!   5 s). A request written onto a connection the server is closing at that moment is lost
//!   with "connection closed before message completed", and a lost POST cannot be repeated
//!   (it may have taken effect). Our live updates come about 5 s apart, right at that edge, so
//!   the pool forgets a connection after [`POOL_IDLE`] and the next request opens a fresh one.
//! - **No socket read timeout.** octocrab's `set_read_timeout` arms its timer when a read goes
//!   idle, including while the connection sits in the pool, so a request sent on a connection
//!   idle for almost the timeout was cut off just after the server had received it. The whole
//!   request is bounded by the client's own per-request timeout instead.

use std::time::Duration;

use http::header::{HeaderName, HeaderValue, USER_AGENT};
use http::Uri;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use octocrab::service::middleware::auth_header::AuthHeaderLayer;
use octocrab::service::middleware::base_uri::BaseUriLayer;
use octocrab::service::middleware::extra_headers::ExtraHeadersLayer;
use octocrab::{AuthState, OctoBody, Octocrab, OctocrabBuilder};

/// How long an idle connection may be reused: below the 5 s keep-alive of Node (and of most
/// proxies), measured from when we put it back, which is after the server's clock started.
pub const POOL_IDLE: Duration = Duration::from_secs(3);

/// An octocrab client for `api_url` that sends `token` as a bearer token to that host only.
pub fn octocrab(api_url: &str, token: &str, connect_timeout: Duration) -> Result<Octocrab, String> {
    let base: Uri = api_url.parse().map_err(|e| format!("not a URL ({e})"))?;
    if base.scheme().is_none() || base.host().is_none() {
        return Err("not an absolute http(s) URL".into());
    }
    let mut auth = HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|_| "the token has characters an HTTP header cannot carry".to_string())?;
    auth.set_sensitive(true);

    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(connect_timeout));
    // Two TLS providers are linked (the AWS SDK brings aws-lc-rs): take the process default,
    // else ring, rather than let rustls panic over the choice.
    let provider = rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| std::sync::Arc::new(rustls::crypto::ring::default_provider()));
    let tls = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(provider)
        .map_err(|e| format!("no TLS root certificates ({e})"))?
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    let pool = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
        .pool_idle_timeout(POOL_IDLE)
        .build::<_, OctoBody>(tls);

    let headers: Vec<(HeaderName, HeaderValue)> = vec![(USER_AGENT, HeaderValue::from_static("ecs-deploy-action"))];
    let crab = OctocrabBuilder::new_empty()
        .with_service(pool)
        .with_layer(&ExtraHeadersLayer::new(std::sync::Arc::new(headers)))
        .with_layer(&BaseUriLayer::new(base.clone()))
        .with_layer(&AuthHeaderLayer::new(Some(auth), base.clone(), base))
        .with_auth(AuthState::None)
        .build()
        .map_err(|e| e.to_string())?;
    Ok(crab)
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // these tests exercise real-time pacing and pools
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A keep-alive HTTP/1.1 server answering `{}` to every request; counts its connections.
    async fn server() -> (String, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let connections = Arc::new(AtomicUsize::new(0));
        let count = connections.clone();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 8192];
                    while let Ok(n) = sock.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        let reply = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";
                        if sock.write_all(reply.as_bytes()).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        (url, connections)
    }

    #[tokio::test]
    async fn a_connection_idle_past_the_pool_limit_is_replaced_not_reused() {
        let (url, connections) = server().await;
        let crab = octocrab(&url, "t", Duration::from_secs(2)).unwrap();
        let get = || crab.get::<serde_json::Value, _, ()>("/x", None);
        get().await.unwrap();
        get().await.unwrap();
        assert_eq!(connections.load(Ordering::SeqCst), 1, "a busy connection is reused");
        tokio::time::sleep(POOL_IDLE + Duration::from_millis(300)).await;
        get().await.unwrap();
        assert_eq!(
            connections.load(Ordering::SeqCst),
            2,
            "a connection idle longer than the pool keeps it is not written to again"
        );
    }

    #[test]
    fn the_token_is_refused_where_a_header_cannot_carry_it_and_never_echoed() {
        let e = octocrab("http://127.0.0.1:1", "ghs_secret\nInjected: 1", Duration::from_secs(1))
            .err()
            .unwrap();
        assert!(!e.contains("ghs_secret"), "{e}");
        assert!(octocrab("not a url", "t", Duration::from_secs(1)).is_err());
    }
}
