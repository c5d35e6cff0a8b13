//! The smoke check's HTTP client (a small blocking client on a worker thread; the check is
//! one GET at a time).

use std::time::Duration;

use async_trait::async_trait;

use crate::ports::SmokeCheck;

pub struct HttpSmokeCheck;

#[async_trait]
impl SmokeCheck for HttpSmokeCheck {
    async fn get(&self, url: &str, timeout: Duration) -> Result<u16, String> {
        let url = url.to_string();
        tokio::task::spawn_blocking(move || {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .timeout_global(Some(timeout))
                .http_status_as_error(false)
                .build()
                .into();
            agent
                .get(&url)
                .call()
                .map(|r| r.status().as_u16())
                .map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| format!("smoke check task failed: {e}"))?
    }
}
