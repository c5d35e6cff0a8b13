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

/// Why one task stopped, as concretely as ECS says: the container that crashed and how
/// ("app exited 137 (OutOfMemoryError)"), or ECS's own reason when ECS stopped it.
fn cause(t: &StoppedTask) -> String {
    if t.stopped_by_ecs() {
        return t.stopped_reason.clone();
    }
    let crashed: Vec<String> = t
        .containers
        .iter()
        .filter_map(|(name, code, reason)| match (code, reason) {
            (Some(c), Some(r)) => Some(format!("{name} exited {c} ({r})")),
            (Some(c), None) if *c != 0 => Some(format!("{name} exited {c}")),
            (None, Some(r)) => Some(format!("{name}: {r}")),
            _ => None,
        })
        .collect();
    if crashed.is_empty() {
        t.stopped_reason.clone()
    } else {
        crashed.join("; ")
    }
}

/// Each container's exit, as the diagnostics list it.
fn exits(t: &StoppedTask) -> String {
    t.containers
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
        .collect::<Vec<_>>()
        .join("; ")
}

impl Diagnostics {
    pub fn is_empty(&self) -> bool {
        self.events.is_empty() && self.stopped_tasks.is_empty() && self.unhealthy_targets.is_empty()
    }

    /// The most telling cause in one line, for the headline and `rolled-back-reason`: ECS's
    /// circuit breaker says only "tasks failed to start" even when the tasks started and failed
    /// ELB health checks, or ran out of memory. The commonest cause of the stopped tasks, with
    /// how many ("3×"), and what the load balancer saw when ECS stopped them for it.
    pub fn headline(&self) -> Option<String> {
        let causes: Vec<(String, bool)> = self
            .stopped_tasks
            .iter()
            .map(|t| (cause(t), t.stopped_by_ecs()))
            .collect();
        let (top, by_ecs) = causes
            .iter()
            .max_by_key(|(c, _)| {
                let n = causes.iter().filter(|(o, _)| o == c).count();
                // Ties go to the earliest (max_by_key keeps the last maximum).
                (n, std::cmp::Reverse(causes.iter().position(|(o, _)| o == c)))
            })?
            .clone();
        let n = causes.iter().filter(|(c, _)| *c == top).count();
        let mut line = if n > 1 { format!("{n}× {top}") } else { top };
        if by_ecs {
            if let Some(p) = self.unhealthy_targets.first() {
                let seen = format!("{} {}", p.reason, p.description);
                line.push_str(&format!(" ({})", seen.trim()));
            }
        }
        Some(line)
    }

    /// Plain lines for the log and for `::error` (most telling first). Stopped tasks with the
    /// same cause and exit codes are one line ("3× stopped tasks a, b, c: …").
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
        for t in &self.stopped_tasks {
            let what = format!("{} [{}]", t.stopped_reason, exits(t));
            match groups.iter_mut().find(|(w, _)| *w == what) {
                Some((_, ids)) => ids.push(&t.task_id),
                None => groups.push((what, vec![&t.task_id])),
            }
        }
        for (what, ids) in groups {
            out.push(match ids.len() {
                1 => format!("stopped task {}: {what}", ids[0]),
                n => {
                    let shown: Vec<&str> = ids.iter().take(5).copied().collect();
                    let more = if n > 5 { ", …" } else { "" };
                    format!("{n}× stopped tasks {}{more}: {what}", shown.join(", "))
                }
            });
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
            Some("Task failed ELB health checks in (target-group arn:…/web-green/1)")
        );
    }

    #[test]
    fn the_headline_is_the_commonest_concrete_cause_and_same_tasks_are_one_line() {
        let oom = |id: &str| StoppedTask {
            task_id: id.into(),
            containers: vec![(
                "app".into(),
                Some(137),
                Some("OutOfMemoryError: Container killed".into()),
            )],
            ..task("Essential container in task exited", 137)
        };
        let d = Diagnostics {
            stopped_tasks: vec![
                task("Essential container in task exited", 1),
                oom("a"),
                oom("b"),
                oom("c"),
            ],
            ..Default::default()
        };
        assert_eq!(
            d.headline().as_deref(),
            Some("3× app exited 137 (OutOfMemoryError: Container killed)")
        );
        let lines = d.lines();
        assert_eq!(lines.len(), 2, "{lines:#?}");
        assert_eq!(
            lines[1],
            "3× stopped tasks a, b, c: Essential container in task exited [app: exit 137 (OutOfMemoryError: Container killed)]"
        );

        // ECS stopped them for failing health checks: what the load balancer saw goes along.
        let d = Diagnostics {
            stopped_tasks: vec![task("Task failed ELB health checks in (target-group tg)", 0)],
            unhealthy_targets: vec![TargetProblem {
                target_group: "tg".into(),
                target: "10.0.0.1:80".into(),
                state: "unhealthy".into(),
                reason: "Target.ResponseCodeMismatch".into(),
                description: "Health checks failed with these codes: [502]".into(),
            }],
            ..Default::default()
        };
        assert_eq!(
            d.headline().as_deref(),
            Some("Task failed ELB health checks in (target-group tg) (Target.ResponseCodeMismatch Health checks failed with these codes: [502])")
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
        assert_eq!(d.headline().as_deref(), Some("app exited 3"));
        assert_eq!(Diagnostics::default().headline(), None);
    }
}
