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

impl StoppedTask {
    /// ECS stopped the task (its health checks failed, or it was scaled in), as opposed to the
    /// task's own process exiting.
    pub fn stopped_by_ecs(&self) -> bool {
        let r = self.stopped_reason.to_ascii_lowercase();
        r.contains("health check") || r.contains("scaling activity") || r.contains("stopped by")
    }
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

    /// The most telling cause in one line, for `rolled-back-reason`: ECS's circuit breaker says
    /// only "tasks failed to start" even when the tasks started and failed ELB health checks.
    pub fn headline(&self) -> Option<String> {
        self.stopped_tasks
            .first()
            .map(|t| format!("stopped task: {}", t.stopped_reason))
    }

    /// Plain lines for the log and for `::error` (most telling first).
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        for t in &self.stopped_tasks {
            let codes: Vec<String> = t
                .containers
                .iter()
                .map(|(name, code, reason)| {
                    // A task ECS stopped (failed health checks, a scale-in) exits as its process
                    // answers the stop signal: that code is not why it stopped.
                    let code = match code {
                        Some(c) if t.stopped_by_ecs() => format!("exit {c} after ECS stopped it"),
                        Some(c) => format!("exit {c}"),
                        None => "no exit code".into(),
                    };
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

#[cfg(test)]
mod tests {
    use super::*;

    fn task(reason: &str, code: i32) -> StoppedTask {
        StoppedTask {
            task_id: "t1".into(),
            task_definition: "web:2".into(),
            stopped_reason: reason.into(),
            stopped_at: None,
            containers: vec![("app".into(), Some(code), None)],
        }
    }

    #[test]
    fn an_exit_code_after_ecs_stopped_the_task_is_not_its_cause() {
        let d = Diagnostics {
            stopped_tasks: vec![task(
                "Task failed ELB health checks in (target-group arn:…/web-green/1)",
                0,
            )],
            ..Default::default()
        };
        assert_eq!(
            d.lines()[0],
            "stopped task t1: Task failed ELB health checks in (target-group arn:…/web-green/1) [app: exit 0 after ECS stopped it]"
        );
        assert_eq!(
            d.headline().as_deref(),
            Some("stopped task: Task failed ELB health checks in (target-group arn:…/web-green/1)")
        );
    }

    #[test]
    fn a_crash_keeps_its_exit_code() {
        let d = Diagnostics {
            stopped_tasks: vec![task("Essential container in task exited", 3)],
            ..Default::default()
        };
        assert_eq!(
            d.lines()[0],
            "stopped task t1: Essential container in task exited [app: exit 3]"
        );
        assert_eq!(Diagnostics::default().headline(), None);
    }
}
