//! The one loop every controller's plan runs in: each step from the cursor, in order, in its
//! own log group, with the signal checked before each. A controller supplies handlers for its
//! own steps (`Handlers`); what ends the walk (a failure, a pause, a followed deployment's end)
//! is the controller's value, so the loop itself carries no controller's rules and none of
//! them keeps a loop of its own.

use async_trait::async_trait;

use super::{log, Cancel};
use crate::domain::plan::{Plan, Step};

/// What a step handler tells the loop.
pub enum Flow<E> {
    /// Go on with the next step.
    Next,
    /// Stop here: the walk ends with this value.
    End(E),
}

/// A controller's handlers for the steps of its plans.
/// (Not `Send`: a deploy runs on one task, and its ports need not be `Sync`.)
#[async_trait(?Send)]
pub trait Handlers {
    /// How the walk ended, in the controller's terms.
    type End;

    /// Runs one step of the plan.
    async fn run(&mut self, index: usize, step: &Step, cancel: &mut Cancel) -> Flow<Self::End>;

    /// Whether a signal stops the walk before `step` (by default it does; two slots, once
    /// traffic is final, still record the release).
    fn stops_on_signal(&self, _step: &Step) -> bool {
        true
    }

    /// The end when a signal stopped the walk before step `index` ran.
    fn cancelled(&mut self, index: usize) -> Self::End;

    /// The end when every step ran.
    fn completed(&mut self) -> Self::End;
}

/// How a walk went: its end, and the steps that ran (for the report's plan section).
pub struct Walked<E> {
    pub end: E,
    pub executed: Vec<usize>,
}

/// Walks `plan` from its cursor through `handlers`.
pub async fn walk<H: Handlers>(plan: &Plan, handlers: &mut H, cancel: &mut Cancel) -> Walked<H::End> {
    let n = plan.steps.len();
    let mut executed = Vec::new();
    for (index, step) in plan.steps.iter().enumerate().skip(plan.cursor) {
        if *cancel.borrow() && handlers.stops_on_signal(step) {
            let end = handlers.cancelled(index);
            return Walked { end, executed };
        }
        log::group(&format!("Step {}/{n} {}: {step}", index + 1, step.kind()));
        executed.push(index);
        let flow = handlers.run(index, step, cancel).await;
        log::endgroup();
        if let Flow::End(end) = flow {
            return Walked { end, executed };
        }
    }
    Walked {
        end: handlers.completed(),
        executed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records the steps it is given; ends at `stop_at`, or when cancelled.
    struct Recorder {
        ran: Vec<usize>,
        stop_at: Option<usize>,
        flip: Option<(usize, tokio::sync::watch::Sender<bool>)>,
    }

    #[async_trait(?Send)]
    impl Handlers for Recorder {
        type End = &'static str;
        async fn run(&mut self, index: usize, _step: &Step, _cancel: &mut Cancel) -> Flow<&'static str> {
            self.ran.push(index);
            if let Some((at, tx)) = &self.flip {
                if *at == index {
                    let _ = tx.send(true);
                }
            }
            match self.stop_at {
                Some(s) if s == index => Flow::End("stopped"),
                _ => Flow::Next,
            }
        }
        fn cancelled(&mut self, _index: usize) -> &'static str {
            "cancelled"
        }
        fn completed(&mut self) -> &'static str {
            "completed"
        }
    }

    fn plan(cursor: usize) -> Plan {
        let mut p = crate::domain::plan::rolling(&["a".to_string()], "repo@sha256:0", None);
        p.cursor = cursor;
        p
    }

    #[tokio::test]
    async fn every_step_from_the_cursor_runs_in_order() {
        let (_tx, mut cancel) = tokio::sync::watch::channel(false);
        let mut r = Recorder {
            ran: vec![],
            stop_at: None,
            flip: None,
        };
        let p = plan(1);
        let walked = walk(&p, &mut r, &mut cancel).await;
        let rest: Vec<usize> = (1..p.steps.len()).collect();
        assert_eq!(
            (walked.end, walked.executed, r.ran.clone()),
            ("completed", rest.clone(), rest)
        );
    }

    #[tokio::test]
    async fn a_handler_ends_the_walk_and_a_signal_stops_it_before_the_next_step() {
        let (_tx, mut cancel) = tokio::sync::watch::channel(false);
        let mut r = Recorder {
            ran: vec![],
            stop_at: Some(0),
            flip: None,
        };
        let walked = walk(&plan(0), &mut r, &mut cancel).await;
        assert_eq!((walked.end, walked.executed), ("stopped", vec![0]));

        let (tx, mut cancel) = tokio::sync::watch::channel(false);
        let mut r = Recorder {
            ran: vec![],
            stop_at: None,
            flip: Some((0, tx)),
        };
        let walked = walk(&plan(0), &mut r, &mut cancel).await;
        assert_eq!((walked.end, walked.executed), ("cancelled", vec![0]));
    }
}
