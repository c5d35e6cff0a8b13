//! Custom metric gates: any CloudWatch metric, or metric math over several, judged on each bake
//! step like the built-in gates (published minutes only, a minimum sample, the failure limit).
//! A worker tier's own `TaskQueue/Production ErrorRate`, a queue's depth, a business metric.
//!
//! A gate's dimensions may name the slot under test with `${service}` (and `${cluster}`), so
//! the metric the new version publishes is told apart from the stable one's.

use std::fmt;

/// Fail when the value is above, or below, the threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Above,
    Below,
}

/// One metric and its statistic (a GetMetricData `MetricStat`).
#[derive(Debug, Clone, PartialEq)]
pub struct MetricQuery {
    /// The id metric math refers to it by (`m1`).
    pub id: String,
    pub namespace: String,
    pub metric: String,
    pub dimensions: Vec<(String, String)>,
    pub statistic: String,
}

/// What a gate reads: one metric, or a metric math expression over several.
#[derive(Debug, Clone, PartialEq)]
pub enum GateSource {
    Metric(MetricQuery),
    Math {
        expression: String,
        queries: Vec<MetricQuery>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct MetricGate {
    pub name: String,
    pub source: GateSource,
    pub threshold: f64,
    pub direction: Direction,
    /// Fewer published minutes than this in a step is inconclusive (absence of evidence is never a pass).
    pub min_points: usize,
}

impl MetricGate {
    /// The gate with `${service}` and `${cluster}` filled in for the slot under test.
    pub fn for_slot(&self, cluster: &str, service: &str) -> MetricGate {
        let fill = |q: &MetricQuery| MetricQuery {
            dimensions: q
                .dimensions
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.replace("${service}", service).replace("${cluster}", cluster),
                    )
                })
                .collect(),
            ..q.clone()
        };
        MetricGate {
            source: match &self.source {
                GateSource::Metric(q) => GateSource::Metric(fill(q)),
                GateSource::Math { expression, queries } => GateSource::Math {
                    expression: expression.clone(),
                    queries: queries.iter().map(fill).collect(),
                },
            },
            ..self.clone()
        }
    }
}

/// A gate's reading over a step: the mean of its published minutes' values.
#[derive(Debug, Clone, PartialEq)]
pub struct GateReading {
    pub gate: String,
    pub value: Option<f64>,
    pub points: usize,
    pub threshold: f64,
    pub direction: Direction,
    pub min_points: usize,
}

impl GateReading {
    /// From the values of the step's published minutes.
    pub fn of(gate: &MetricGate, minutes: &[f64]) -> GateReading {
        let finite: Vec<f64> = minutes.iter().copied().filter(|v| v.is_finite()).collect();
        GateReading {
            gate: gate.name.clone(),
            value: (!finite.is_empty()).then(|| finite.iter().sum::<f64>() / finite.len() as f64),
            points: finite.len(),
            threshold: gate.threshold,
            direction: gate.direction,
            min_points: gate.min_points,
        }
    }

    /// `Some(reason)` when the reading fails its gate.
    pub fn breach(&self) -> Option<String> {
        let v = self.value?;
        let failed = match self.direction {
            Direction::Above => v > self.threshold,
            Direction::Below => v < self.threshold,
        };
        failed.then(|| format!("{self}"))
    }

    /// Too few published minutes to judge.
    pub fn too_few(&self) -> bool {
        self.points < self.min_points
    }
}

impl fmt::Display for GateReading {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.direction {
            Direction::Above => ">",
            Direction::Below => "<",
        };
        match self.value {
            Some(v) => write!(
                f,
                "{} {} {op} {} over {} published minute(s)",
                self.gate,
                short(v),
                short(self.threshold),
                self.points
            ),
            None => write!(f, "{}: no published minute", self.gate),
        }
    }
}

/// A number as a person reads it: `2`, `2.5`, `0.013`.
fn short(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(direction: Direction) -> MetricGate {
        MetricGate {
            name: "queue-errors".into(),
            source: GateSource::Metric(MetricQuery {
                id: "m1".into(),
                namespace: "TaskQueue/Production".into(),
                metric: "ErrorRate".into(),
                dimensions: vec![
                    ("Service".into(), "${service}".into()),
                    ("Cluster".into(), "${cluster}".into()),
                ],
                statistic: "Average".into(),
            }),
            threshold: 2.0,
            direction,
            min_points: 2,
        }
    }

    #[test]
    fn readings_fail_pass_or_wait_for_evidence() {
        // (direction, minutes, breach, too few)
        let cases: [(Direction, &[f64], Option<&str>, bool); 6] = [
            (Direction::Above, &[1.0, 1.5], None, false),
            (
                Direction::Above,
                &[1.0, 4.0],
                Some("queue-errors 2.5 > 2 over 2 published minute(s)"),
                false,
            ),
            (
                Direction::Above,
                &[9.0],
                Some("queue-errors 9 > 2 over 1 published minute(s)"),
                true,
            ),
            (Direction::Above, &[], None, true),
            (
                Direction::Below,
                &[1.0, 1.2],
                Some("queue-errors 1.1 < 2 over 2 published minute(s)"),
                false,
            ),
            (Direction::Above, &[f64::NAN, 1.0, 1.0], None, false),
        ];
        for (direction, minutes, breach, too_few) in cases {
            let r = GateReading::of(&gate(direction), minutes);
            assert_eq!(r.breach().as_deref(), breach, "{minutes:?}");
            assert_eq!(r.too_few(), too_few, "{minutes:?}");
        }
    }

    #[test]
    fn the_slot_is_filled_into_the_dimensions() {
        let g = gate(Direction::Above).for_slot("shop", "worker-green");
        let GateSource::Metric(q) = g.source else { panic!() };
        assert_eq!(
            q.dimensions,
            vec![
                ("Service".to_string(), "worker-green".to_string()),
                ("Cluster".into(), "shop".into())
            ]
        );
    }
}
