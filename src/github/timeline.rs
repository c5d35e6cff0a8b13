//! The job summary's timeline: a row per step, the Mermaid chart, and with `judge: compare`
//! the evidence of each step, canary against the stable version.

use crate::domain::report::StepRecord;
use crate::domain::sequential::evidence_text;
use crate::github::markdown::cell;
use crate::github::summary::utc_time;

/// The per-step table and a Mermaid chart of weight and 5xx rate over the rollout; with
/// `judge: compare`, the stable version's side and the evidence too.
pub fn timeline(steps: &[StepRecord], limits: Option<&crate::domain::analysis::Thresholds>) -> String {
    let mut md = String::from(
        "\n### Timeline\n\n| Step | Start (UTC) | Weight | Duration | Requests | 5xx rate | p99 | Verdict |\n|---|---|---|---|---|---|---|---|\n",
    );
    for (i, s) in steps.iter().enumerate() {
        let (req, rate, p99) = match &s.canary {
            Some(c) => (
                format!("{:.0}", c.requests),
                c.error_rate()
                    .map(|r| format!("{:.2}%", r * 100.0))
                    .unwrap_or_else(|| "—".into()),
                c.p99_ms.map(|p| format!("{p:.0} ms")).unwrap_or_else(|| "—".into()),
            ),
            None => ("—".into(), "—".into(), "—".into()),
        };
        md.push_str(&format!(
            "| {} | {} | {}% | {:.1} s | {req} | {rate} | {p99} | {} |\n",
            i + 1,
            s.started_at.map(utc_time).unwrap_or_else(|| "—".into()),
            s.weight,
            s.seconds,
            cell(&s.verdict, 300)
        ));
    }
    let compared = steps.iter().any(|s| s.comparison.is_some());
    if compared {
        md.push_str(&evidence_table(steps));
    }
    md.push_str(&crate::github::chart::chart(steps, limits));
    md
}

fn rate((errors, requests): (f64, f64)) -> f64 {
    if requests > 0.0 {
        errors / requests
    } else {
        0.0
    }
}

/// `judge: compare`'s numbers at each step's end: each side's 5xx and requests over the rollout
/// so far, the evidence that the new version is worse and that it is not, against what a
/// decision needs, and the same for the requests slower than the stable version's p99.
fn evidence_table(steps: &[StepRecord]) -> String {
    let mut md = String::from(
        "\n**Canary against the stable version** (`judge: compare`)\n\n| Step | New: 5xx of requests, so far | Stable: 5xx of requests, so far | Evidence: worse | Evidence: not worse | Needed to roll back / to promote | Slower than the stable p99: new vs stable, so far | Evidence: slower |\n|---|---|---|---|---|---|---|---|\n",
    );
    for (i, s) in steps.iter().enumerate() {
        let Some(c) = &s.comparison else { continue };
        let e = &c.errors;
        let (slow, evidence) = match &c.latency {
            Some(l) => {
                let r = &l.reading;
                let needs = r.needs;
                (
                    format!(
                        "past {:.0} ms: {:.0} of {:.0} ({:.2}%) vs {:.0} of {:.0} ({:.2}%)",
                        l.limit_ms,
                        r.canary.0,
                        r.canary.1,
                        rate(r.canary) * 100.0,
                        r.stable.0,
                        r.stable.1,
                        rate(r.stable) * 100.0
                    ),
                    format!(
                        "{} (above {:.2}×; needs {needs:.0})",
                        evidence_text(r.worse),
                        r.null_ratio
                    ),
                )
            }
            None => ("no reference p99 yet".into(), "—".into()),
        };
        md.push_str(&format!(
            "| {} | {:.0} of {:.0} ({:.2}%) | {:.0} of {:.0} ({:.2}%) | {} (above {:.2}×) | {} (below {:.2}×) | {:.0} / {:.0} | {slow} | {evidence} |\n",
            i + 1,
            e.canary.0,
            e.canary.1,
            rate(e.canary) * 100.0,
            e.stable.0,
            e.stable.1,
            rate(e.stable) * 100.0,
            evidence_text(e.worse),
            e.null_ratio,
            evidence_text(e.not_worse),
            e.tolerance,
            e.needs,
            e.needs_to_promote
        ));
    }
    md
}
