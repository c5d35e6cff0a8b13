//! The notification inputs: `slack-webhook-url` (a Slack-compatible incoming webhook) and
//! `webhook-url` (a generic JSON webhook). Both are secrets: a URL that carries its own
//! credential. Errors never quote them.

use super::inputs::{given, RawInputs};
use super::InputError;
pub use crate::domain::settings::{Webhook, WebhookKind};

/// The secrets to mask before anything is printed.
pub fn secrets(raw: &RawInputs) -> Vec<&str> {
    [&raw.slack_webhook_url, &raw.webhook_url]
        .into_iter()
        .filter_map(given)
        .collect()
}

pub fn webhooks(raw: &RawInputs) -> Result<Vec<Webhook>, InputError> {
    let mut out = Vec::new();
    for (input, kind, value) in [
        ("slack-webhook-url", WebhookKind::Slack, &raw.slack_webhook_url),
        ("webhook-url", WebhookKind::Json, &raw.webhook_url),
    ] {
        let Some(url) = given(value) else { continue };
        check(input, url)?;
        out.push(Webhook {
            kind,
            url: url.to_string(),
        });
    }
    Ok(out)
}

/// HTTPS only (the URL is a credential), except to this machine (a local relay, the tests).
fn check(input: &str, url: &str) -> Result<(), InputError> {
    let fix =
        "pass the webhook URL from a secret, e.g. `${{ secrets.SLACK_WEBHOOK_URL }}`; it must start with https://";
    let rest = if let Some(rest) = url.strip_prefix("https://") {
        rest
    } else if let Some(rest) = url.strip_prefix("http://") {
        let host = rest.split(['/', '?']).next().unwrap_or("");
        let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
        let name = host.strip_prefix('[').map_or_else(
            || host.split(':').next().unwrap_or(""),
            |h| h.split(']').next().unwrap_or(""),
        );
        if !matches!(name, "localhost" | "127.0.0.1" | "::1") {
            return Err(InputError::new(
                input,
                "is not an https:// URL (the value is withheld: it is a secret)",
                fix,
            ));
        }
        rest
    } else {
        return Err(InputError::new(
            input,
            "is not an https:// URL (the value is withheld: it is a secret)",
            fix,
        ));
    };
    if rest.is_empty() || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(InputError::new(
            input,
            "is not a valid URL: it has no host, or contains whitespace (the value is withheld: it is a secret)",
            fix,
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(slack: &str, hook: &str) -> RawInputs {
        RawInputs {
            slack_webhook_url: Some(slack.into()),
            webhook_url: Some(hook.into()),
            ..Default::default()
        }
    }

    #[test]
    fn https_urls_and_local_ones_are_taken() {
        let hooks = webhooks(&raw(
            "https://hooks.slack.com/services/T0/B0/secret",
            "http://127.0.0.1:8080/x",
        ))
        .unwrap();
        assert_eq!(hooks.len(), 2);
        assert_eq!(hooks[0].kind, WebhookKind::Slack);
        assert!(webhooks(&raw("", "")).unwrap().is_empty());
        assert!(webhooks(&raw("http://localhost/hook", "")).is_ok());
    }

    #[test]
    fn a_bad_url_is_refused_without_quoting_it() {
        for bad in [
            "http://hooks.slack.com/services/T0/B0/secret",
            "hooks.slack.com/services/T0/B0/secret",
            "https://hooks.slack.com/services/T0/B0/sec ret",
            "http://localhost.evil.example/secret",
            "https://",
        ] {
            let e = webhooks(&raw(bad, "")).unwrap_err();
            assert_eq!(e.input, "slack-webhook-url");
            assert!(
                !e.to_string().contains("secret") || e.to_string().contains("is a secret"),
                "{e}"
            );
            assert!(!e.to_string().contains("T0/B0"), "{e}");
        }
    }

    #[test]
    fn debug_output_withholds_the_url() {
        let hooks = webhooks(&raw("https://hooks.slack.com/services/T0/B0/secret", "")).unwrap();
        assert!(!format!("{hooks:?}").contains("T0"));
    }
}
