//! The sticky comment's body: a table of the stages deployed from the pull request, and its
//! rows as hidden JSON so each run adds or replaces only its own.

use serde::{Deserialize, Serialize};

use super::event::{short_sha, RunInfo};
use super::markdown::{cell, code, link, prose};

pub const MARKER: &str = "<!-- ecs-deploy-action:sticky -->";
const STATE_OPEN: &str = "<!-- ecs-deploy-action:state ";
const STATE_CLOSE: &str = " -->";
/// GitHub's limit for a comment body, in characters.
pub const COMMENT_LIMIT: usize = 65_536;
/// Rows kept; the oldest go first.
const MAX_ROWS: usize = 40;

/// One stage's line in the table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub stage: String,
    /// `in-progress`, or the `outcome` output: `success`, `failure`, `cancelled`, `paused`,
    /// `awaiting-approval`.
    pub outcome: String,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub digest: Option<String>,
    #[serde(default)]
    pub strategy: String,
    #[serde(default)]
    pub sha: String,
    #[serde(default)]
    pub seconds: Option<u64>,
    #[serde(default)]
    pub run_url: Option<String>,
    #[serde(default)]
    pub environment_url: Option<String>,
    /// Why it did not succeed, shortened (failures, cancellations, gates).
    #[serde(default)]
    pub reason: Option<String>,
    /// When the row last changed, `2026-11-26 19:55 UTC`.
    #[serde(default)]
    pub updated_at: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    v: u32,
    rows: Vec<Row>,
}

/// Replaces the row of the same stage in place, or appends.
pub fn upsert(rows: &mut Vec<Row>, row: Row) {
    match rows.iter_mut().find(|r| r.stage == row.stage) {
        Some(r) => *r = row,
        None => rows.push(row),
    }
    while rows.len() > MAX_ROWS {
        rows.remove(0);
    }
}

/// The rows in a body we wrote earlier; none when there is no (readable) state block.
pub fn parse_rows(body: &str) -> Vec<Row> {
    // The state block is always last; text shown above it may quote the marker.
    let Some(start) = body.rfind(STATE_OPEN) else {
        return Vec::new();
    };
    let rest = &body[start + STATE_OPEN.len()..];
    let Some(end) = rest.find(STATE_CLOSE) else {
        return Vec::new();
    };
    serde_json::from_str::<State>(&rest[..end])
        .map(|s| s.rows)
        .unwrap_or_default()
}

fn outcome_label(outcome: &str) -> String {
    match outcome {
        "in-progress" => "⏳ in progress".into(),
        "success" => "✅ success".into(),
        "failure" => "❌ failure".into(),
        "cancelled" => "⏹️ cancelled".into(),
        "paused" => "⏸️ paused".into(),
        "awaiting-approval" => "✋ awaiting approval".into(),
        "planned" => "📝 planned".into(),
        other => cell(other, 40),
    }
}

pub fn duration(seconds: u64) -> String {
    match seconds {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m {:02}s", s / 60, s % 60),
        s => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// Our own `2026-11-26 19:55 UTC` as is; anything else (the state block is editable) escaped.
fn timestamp(t: &str) -> String {
    let ours = t.len() <= 24 && t.chars().all(|c| c.is_ascii_digit() || " -:UTC".contains(c));
    if ours {
        t.to_string()
    } else {
        cell(t, 40)
    }
}

/// `sha256:` and the first 12 hex digits.
pub fn short_digest(d: &str) -> String {
    match d.strip_prefix("sha256:") {
        Some(hex) => format!("sha256:{}", hex.get(..12).unwrap_or(hex)),
        None => d.chars().take(19).collect(),
    }
}

/// The comment body: marker, table, footer and state, within GitHub's limit (the oldest rows
/// are dropped until it fits).
pub fn render(rows: &[Row], info: &RunInfo) -> String {
    let mut rows = rows.to_vec();
    loop {
        let body = render_all(&rows, info);
        if body.chars().count() <= COMMENT_LIMIT || rows.len() <= 1 {
            return body;
        }
        rows.remove(0);
    }
}

fn render_all(rows: &[Row], info: &RunInfo) -> String {
    let mut md = format!("{MARKER}\n### 🚀 ecs-deploy\n\n");
    md.push_str("| Stage | Version | Digest | Strategy | Outcome | Duration | Updated | Commit | Links |\n");
    md.push_str("|---|---|---|---|---|---|---|---|---|\n");
    for r in rows {
        let mut links = Vec::new();
        if let Some(u) = &r.run_url {
            links.push(link("run", u));
        }
        if let Some(u) = &r.environment_url {
            links.push(link("environment", u));
        }
        let outcome = match &r.reason {
            Some(why) => format!("{}: {}", outcome_label(&r.outcome), prose(why, 160)),
            None => outcome_label(&r.outcome),
        };
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            cell(&r.stage, 100),
            r.version.as_deref().map(|v| cell(v, 100)).unwrap_or_else(|| "—".into()),
            r.digest
                .as_deref()
                .map(|d| code(&short_digest(d), 40))
                .unwrap_or_else(|| "—".into()),
            cell(&r.strategy, 40),
            outcome,
            r.seconds.map(duration).unwrap_or_else(|| "—".into()),
            r.updated_at.as_deref().map(timestamp).unwrap_or_else(|| "—".into()),
            code(short_sha(&r.sha), 40),
            if links.is_empty() {
                "—".into()
            } else {
                links.join(" · ")
            },
        ));
    }
    let mut footer = format!("\n<sub>Last update: {}", code(info.short_sha(), 40));
    if let Some(b) = &info.branch {
        footer.push_str(&format!(" on {}", cell(b, 200)));
    }
    if let Some(m) = &info.commit_message {
        footer.push_str(&format!(": {}", cell(m, 200)));
    }
    footer.push_str(". This comment is updated in place by ecs-deploy-action.</sub>\n");
    md.push_str(&footer);
    md.push_str(&state_block(rows));
    md
}

/// The rows as JSON in an HTML comment. `<`, `>` and `@` are written as `\u003c`, `\u003e` and
/// `\u0040` (valid JSON, as they occur only inside strings), so nothing can close the comment
/// early or mention anyone.
fn state_block(rows: &[Row]) -> String {
    let json = serde_json::to_string(&State {
        v: 1,
        rows: rows.to_vec(),
    })
    .unwrap_or_else(|_| "{}".into())
    .replace('<', "\\u003c")
    .replace('>', "\\u003e")
    .replace('@', "\\u0040");
    format!("\n{STATE_OPEN}{json}{STATE_CLOSE}\n")
}
