//! CloudWatch's clock. An ALB publishes its metrics in minute buckets, each stamped at the
//! minute's start and readable only 1–3 minutes after it ends; the newest published minute
//! may still grow. So a step is judged on the minutes it covers, and it is over only when all
//! of them are published (or a deadline passed: then it is inconclusive, never a pass).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::analysis::TargetGroupMetrics;

/// One published minute of one target group.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MinuteMetrics {
    /// The minute's start, as CloudWatch stamps it.
    pub start: SystemTime,
    pub requests: f64,
    pub errors_5xx: f64,
    pub p99_ms: Option<f64>,
    /// `TargetConnectionErrorCount`: requests the ALB failed to hand to a target (502s).
    pub connection_errors: f64,
    /// Requests the target never answered (the ALB's 504s and 502s on a closed connection).
    pub unanswered: f64,
    /// `UnHealthyHostCount` (Maximum) in the minute.
    pub unhealthy_hosts: f64,
    /// Answered requests slower than `max-p99-latency` (None when there is no latency gate).
    pub slow: Option<f64>,
}

/// How long CloudWatch's minute is on the run's clock, and the longest it takes to publish one.
/// On AWS 60 s and a few minutes; against the local simulator both shrink by its time scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricsClock {
    pub minute: Duration,
    pub max_delay: Duration,
}

impl MetricsClock {
    pub fn aws(max_delay: Duration) -> MetricsClock {
        MetricsClock {
            minute: Duration::from_secs(60),
            max_delay,
        }
    }

    /// The start of the minute `t` falls in.
    pub fn floor(&self, t: SystemTime) -> SystemTime {
        let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
        let m = self.minute.as_nanos().max(1);
        UNIX_EPOCH + Duration::from_nanos((since.as_nanos() / m * m) as u64)
    }

    /// The minutes that cover [from, to): from the one `from` falls in to the one just before `to`.
    pub fn minutes(&self, from: SystemTime, to: SystemTime) -> Vec<SystemTime> {
        let mut out = Vec::new();
        let last = self.floor(to.checked_sub(Duration::from_nanos(1)).unwrap_or(to));
        let mut m = self.floor(from);
        while m <= last && out.len() < 100_000 {
            out.push(m);
            m += self.minute;
        }
        out
    }

    /// `10:41`, or `10:41:07` when minutes are shorter than a real one (the simulator).
    pub fn label(&self, t: SystemTime) -> String {
        let s = t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        let (h, m, sec) = ((s / 3600) % 24, (s / 60) % 60, s % 60);
        if self.minute >= Duration::from_secs(60) {
            format!("{h:02}:{m:02}")
        } else {
            format!("{h:02}:{m:02}:{sec:02}")
        }
    }

    /// `10:41–10:45` for the minutes starting at `first` through `last`.
    pub fn span(&self, first: SystemTime, last: SystemTime) -> String {
        if first == last {
            self.label(first)
        } else {
            format!("{}–{}", self.label(first), self.label(last))
        }
    }
}

/// The sum of some minutes (p99: the worst minute's, a percentile cannot be summed).
pub fn total<'a>(minutes: impl IntoIterator<Item = &'a MinuteMetrics>) -> TargetGroupMetrics {
    minutes
        .into_iter()
        .fold(TargetGroupMetrics::default(), |acc, m| TargetGroupMetrics {
            requests: acc.requests + m.requests,
            errors_5xx: acc.errors_5xx + m.errors_5xx,
            p99_ms: match (acc.p99_ms, m.p99_ms) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            },
            connection_errors: acc.connection_errors + m.connection_errors,
            unanswered: acc.unanswered + m.unanswered,
            unhealthy_hosts: acc.unhealthy_hosts.max(m.unhealthy_hosts),
        })
}

/// Which of a step's minutes are published so far.
#[derive(Debug, Clone, PartialEq)]
pub struct Coverage {
    /// The minutes the step covers.
    pub expected: Vec<SystemTime>,
    /// Those of them with published data.
    pub published: Vec<SystemTime>,
    pub requests: f64,
}

impl Coverage {
    pub fn of(expected: Vec<SystemTime>, data: &[MinuteMetrics]) -> Coverage {
        let published: Vec<SystemTime> = expected
            .iter()
            .copied()
            .filter(|m| data.iter().any(|d| d.start == *m))
            .collect();
        let requests = data
            .iter()
            .filter(|d| expected.contains(&d.start))
            .map(|d| d.requests)
            .sum();
        Coverage {
            expected,
            published,
            requests,
        }
    }

    /// Every minute of the step has data.
    pub fn complete(&self) -> bool {
        !self.expected.is_empty() && self.published.len() == self.expected.len()
    }

    /// "minutes 10:41–10:45, 1,480 requests", or with some not yet published
    /// "minutes 10:41–10:45 (4 of 5 published; 10:45 not yet), 1,180 requests": the step's
    /// range once, and only the minutes that are missing named.
    pub fn describe(&self, clock: &MetricsClock) -> String {
        let range = match (self.expected.first(), self.expected.last()) {
            (Some(a), Some(b)) => clock.span(*a, *b),
            _ => return "no whole minute yet".into(),
        };
        let requests = super::analysis::thousands(self.requests);
        if self.complete() {
            return format!("minutes {range}, {requests} requests");
        }
        if self.published.is_empty() {
            return format!("minutes {range} (none published yet)");
        }
        let missing: Vec<String> = self
            .expected
            .iter()
            .filter(|m| !self.published.contains(m))
            .map(|m| clock.label(*m))
            .collect();
        format!(
            "minutes {range} ({} of {} published; {} not yet), {requests} requests",
            self.published.len(),
            self.expected.len(),
            missing.join(", ")
        )
    }
}

/// The last `n` published minutes of `data` within the step: the window that sees a
/// regression starting late in a step undiluted by the healthy minutes before it.
pub fn recent(
    data: &[MinuteMetrics],
    expected: &[SystemTime],
    n: usize,
) -> Option<(TargetGroupMetrics, SystemTime, SystemTime)> {
    let mut mine: Vec<&MinuteMetrics> = data.iter().filter(|d| expected.contains(&d.start)).collect();
    mine.sort_by_key(|d| d.start);
    let tail: Vec<&MinuteMetrics> = mine.iter().rev().take(n).rev().copied().collect();
    let (first, last) = (tail.first()?.start, tail.last()?.start);
    Some((total(tail), first, last))
}

/// The minutes both sides published, as the sequential test counts them (by start, in seconds
/// since the epoch): a minute one side has no datapoint for carries no evidence on the split
/// of the errors (no requests there, or not yet published).
pub fn paired(canary: &[MinuteMetrics], stable: &[MinuteMetrics]) -> Vec<(u64, super::sequential::MinuteCounts)> {
    let secs = |t: SystemTime| t.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    canary
        .iter()
        .filter_map(|c| {
            let s = stable.iter().find(|s| s.start == c.start)?;
            Some((
                secs(c.start),
                super::sequential::MinuteCounts {
                    canary_requests: c.requests,
                    canary_errors: c.errors_5xx + c.connection_errors + c.unanswered,
                    stable_requests: s.requests,
                    stable_errors: s.errors_5xx + s.connection_errors + s.unanswered,
                    canary_connection_errors: c.connection_errors,
                    canary_unanswered: c.unanswered,
                },
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(s)
    }

    fn m(start: u64, requests: f64, errors: f64) -> MinuteMetrics {
        MinuteMetrics {
            start: at(start),
            requests,
            errors_5xx: errors,
            p99_ms: Some(50.0),
            connection_errors: 0.0,
            unanswered: 0.0,
            unhealthy_hosts: 0.0,
            slow: None,
        }
    }

    const CLOCK: MetricsClock = MetricsClock {
        minute: Duration::from_secs(60),
        max_delay: Duration::from_secs(180),
    };

    #[test]
    fn a_step_covers_the_minutes_it_touches() {
        // 10:40:30 to 10:45:30: the minutes starting 10:40 through 10:45.
        let from = at(38_430);
        let mins = CLOCK.minutes(from, from + Duration::from_secs(300));
        assert_eq!(mins.len(), 6);
        assert_eq!(CLOCK.label(mins[0]), "10:40");
        assert_eq!(CLOCK.label(mins[5]), "10:45");
        // A step that ends on the minute does not cover the next one.
        assert_eq!(CLOCK.minutes(at(38_400), at(38_460)).len(), 1);
    }

    #[test]
    fn coverage_says_what_is_published() {
        let expected = CLOCK.minutes(at(38_460), at(38_760)); // 10:41–10:45
        let data = [
            m(38_460, 300.0, 1.0),
            m(38_520, 300.0, 0.0),
            m(38_580, 300.0, 2.0),
            m(38_640, 280.0, 0.0),
        ];
        let c = Coverage::of(expected.clone(), &data);
        assert!(!c.complete());
        assert_eq!(
            c.describe(&CLOCK),
            "minutes 10:41–10:45 (4 of 5 published; 10:45 not yet), 1,180 requests"
        );
        let mut all = data.to_vec();
        all.push(m(38_700, 300.0, 0.0));
        let c = Coverage::of(expected, &all);
        assert!(c.complete());
        assert_eq!(c.describe(&CLOCK), "minutes 10:41–10:45, 1,480 requests");
    }

    #[test]
    fn the_recent_window_is_the_last_published_minutes() {
        let expected = CLOCK.minutes(at(38_460), at(38_760));
        let data = [
            m(38_460, 300.0, 0.0),
            m(38_520, 300.0, 0.0),
            m(38_580, 300.0, 30.0),
            m(38_640, 300.0, 30.0),
        ];
        let (w, first, last) = recent(&data, &expected, 2).unwrap();
        assert_eq!((w.requests, w.errors_5xx), (600.0, 60.0));
        assert_eq!(CLOCK.span(first, last), "10:43–10:44");
        assert_eq!(total(&data).error_rate(), Some(0.05));
        assert!(recent(&[], &expected, 2).is_none());
    }

    #[test]
    fn short_minutes_are_labelled_with_seconds() {
        let sim = MetricsClock {
            minute: Duration::from_secs(1),
            max_delay: Duration::from_secs(3),
        };
        assert_eq!(sim.label(at(38_461)), "10:41:01");
        assert_eq!(sim.minutes(at(38_461), at(38_463)).len(), 2);
    }

    #[test]
    fn a_compared_reason_names_the_albs_own_failures_among_the_canarys() {
        use crate::domain::sequential::{Evidence, Settings};
        let mut canary = m(60, 55.0, 0.0);
        canary.connection_errors = 4.0;
        canary.unanswered = 1.0;
        let pairs = paired(&[canary], &[m(60, 1_153.0, 0.0)]);
        assert_eq!(
            pairs[0].1.canary_errors, 5.0,
            "the ALB's failures count as the canary's 5xx"
        );
        let mut e = Evidence::default();
        // The newest minute counts once a second read gives it unchanged.
        e.observe_read(&pairs);
        e.observe_read(&pairs);
        let text = e
            .read(&Settings {
                null_ratio: 1.1,
                alpha: 0.05,
                promotion_alpha: 0.05,
            })
            .describe();
        assert!(
            text.starts_with(
                "5xx 5 of 55 (with 4 connection errors, 1 never answered: the ALB's 504s) against 0 of 1,153"
            ),
            "{text}"
        );
    }
}
