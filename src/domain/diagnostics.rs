//! What we gather when a deployment fails, so nobody has to open the AWS console to learn why.

use std::time::SystemTime;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Diagnostics {
    /// Service events since the deployment started, oldest first.
    pub events: Vec<String>,
    pub stopped_tasks: Vec<StoppedTask>,
    pub unhealthy_targets: Vec<TargetProblem>,
    /// Anything we could not collect (a diagnostics call failing must not hide the failure).
    pub gaps: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoppedTask {
    pub task_id: String,
    pub task_definition: String,
    pub stopped_reason: String,
    pub stopped_at: Option<SystemTime>,
    /// (container, exit code, reason)
    pub containers: Vec<(String, Option<i32>, Option<String>)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TargetProblem {
    pub target_group: String,
    pub target: String,
    pub state: String,
    pub reason: String,
    pub description: String,
}

impl Diagnostics {
    pub fn is_empty(&self) -> bool {
        self.events.is_empty() && self.stopped_tasks.is_empty() && self.unhealthy_targets.is_empty()
    }

    /// Plain lines for the log and for `::error` (most telling first).
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        for t in &self.stopped_tasks {
            let codes: Vec<String> = t
                .containers
                .iter()
                .map(|(name, code, reason)| {
                    let code = code
                        .map(|c| format!("exit {c}"))
                        .unwrap_or_else(|| "no exit code".into());
                    match reason {
                        Some(r) => format!("{name}: {code} ({r})"),
                        None => format!("{name}: {code}"),
                    }
                })
                .collect();
            out.push(format!(
                "stopped task {}: {} [{}]",
                t.task_id,
                t.stopped_reason,
                codes.join("; ")
            ));
        }
        for p in &self.unhealthy_targets {
            out.push(
                format!(
                    "target {} in {} is {}: {} {}",
                    p.target, p.target_group, p.state, p.reason, p.description
                )
                .trim_end()
                .to_string(),
            );
        }
        for e in &self.events {
            out.push(format!("event: {e}"));
        }
        for g in &self.gaps {
            out.push(format!("(could not collect: {g})"));
        }
        out
    }
}
