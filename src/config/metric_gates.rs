//! `metrics:` in the chain config file (top level for every stage, or per stage): custom
//! CloudWatch gates judged on each bake step of a two-slot deploy.
//!
//! ```yaml
//! metrics:
//!   - name: queue-errors
//!     namespace: TaskQueue/Production
//!     metric: ErrorRate
//!     dimensions: { Service: "${service}" }
//!     statistic: Average
//!     threshold: 2
//!     fail-when: above
//!   - name: failed-share
//!     expression: "100 * failed / processed"
//!     queries:
//!       failed: { namespace: TaskQueue/Production, metric: Failed, dimensions: { Service: "${service}" }, statistic: Sum }
//!       processed: { namespace: TaskQueue/Production, metric: Processed, dimensions: { Service: "${service}" }, statistic: Sum }
//!     threshold: 5
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;

use super::input_error::{printable, InputError};
use crate::domain::metric_gate::{Direction, GateSource, MetricGate, MetricQuery};

/// CloudWatch's limit of dimensions per metric.
const MAX_DIMENSIONS: usize = 30;

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct GateFile {
    pub name: String,
    pub namespace: Option<String>,
    pub metric: Option<String>,
    #[serde(default)]
    pub dimensions: BTreeMap<String, String>,
    pub statistic: Option<String>,
    /// Metric math over `queries` (CloudWatch computes it).
    pub expression: Option<String>,
    #[serde(default)]
    pub queries: BTreeMap<String, QueryFile>,
    pub threshold: f64,
    /// `above` (the default) or `below`.
    pub fail_when: Option<String>,
    /// Published minutes a step needs before the gate judges it (default 2).
    pub min_points: Option<usize>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct QueryFile {
    pub namespace: String,
    pub metric: String,
    #[serde(default)]
    pub dimensions: BTreeMap<String, String>,
    pub statistic: String,
}

/// The gates of a stage: the file's, with a stage's gate of the same name replacing it.
pub fn gates(file_level: &[GateFile], stage: &[GateFile], stage_name: &str) -> Result<Vec<MetricGate>, InputError> {
    let mut merged: Vec<&GateFile> = file_level
        .iter()
        .filter(|g| !stage.iter().any(|s| s.name == g.name))
        .collect();
    merged.extend(stage);
    let mut out: Vec<MetricGate> = Vec::new();
    for g in merged {
        let gate = gate(g).map_err(|(problem, fix)| {
            InputError::new(
                "config",
                format!(
                    "stage `{}`, metric gate `{}`: {problem}",
                    printable(stage_name),
                    printable(&g.name)
                ),
                fix,
            )
        })?;
        if out.iter().any(|o| o.name == gate.name) {
            return Err(InputError::new(
                "config",
                format!(
                    "stage `{}` has two metric gates named `{}`",
                    printable(stage_name),
                    printable(&gate.name)
                ),
                "give each gate its own name",
            ));
        }
        out.push(gate);
    }
    Ok(out)
}

type Problem = (String, &'static str);

fn gate(g: &GateFile) -> Result<MetricGate, Problem> {
    if g.name.trim().is_empty() || g.name.len() > 64 {
        return Err((
            "needs a name of 1 to 64 characters".into(),
            "name the gate, e.g. `queue-errors`",
        ));
    }
    if !g.threshold.is_finite() {
        return Err((
            "`threshold` is not a number".into(),
            "give the value that fails the step, e.g. `threshold: 2`",
        ));
    }
    let direction = match g.fail_when.as_deref().unwrap_or("above") {
        "above" => Direction::Above,
        "below" => Direction::Below,
        other => {
            return Err((
                format!(
                    "fail-when: {}",
                    super::choices::not_one_of(other, super::choices::words("fail-when").unwrap_or(&[]))
                ),
                "write `fail-when: above` (the default) or `fail-when: below`",
            ))
        }
    };
    let min_points = g.min_points.unwrap_or(2);
    if !(1..=60).contains(&min_points) {
        return Err((
            "`min-points` must be from 1 to 60".into(),
            "give how many published minutes a step needs, e.g. 2",
        ));
    }
    let source = match (&g.metric, &g.expression) {
        (Some(metric), None) => {
            if !g.queries.is_empty() {
                return Err((
                    "`queries` need an `expression`".into(),
                    "use `metric` or `expression` with `queries`",
                ));
            }
            let file = QueryFile {
                namespace: g.namespace.clone().unwrap_or_default(),
                metric: metric.clone(),
                dimensions: g.dimensions.clone(),
                statistic: g.statistic.clone().unwrap_or_default(),
            };
            GateSource::Metric(query("m1", &file)?)
        }
        (None, Some(expression)) => {
            if g.namespace.is_some() || g.statistic.is_some() || !g.dimensions.is_empty() {
                return Err((
                    "`namespace`, `statistic` and `dimensions` belong to each query of an expression".into(),
                    "move them under `queries`",
                ));
            }
            if g.queries.is_empty() {
                return Err((
                    "an `expression` needs `queries`".into(),
                    "name the metrics it uses under `queries`",
                ));
            }
            if expression.trim().is_empty() || expression.len() > 1024 {
                return Err((
                    "`expression` must be 1 to 1024 characters".into(),
                    "write the metric math, e.g. `100 * failed / processed`",
                ));
            }
            let queries = g
                .queries
                .iter()
                .map(|(id, q)| query(id, q))
                .collect::<Result<Vec<_>, _>>()?;
            if let Some(unused) = queries.iter().find(|q| !mentions(expression, &q.id)) {
                return Err((
                    format!("query `{}` is not used by the expression", printable(&unused.id)),
                    "use every query in the expression, or remove it",
                ));
            }
            GateSource::Math {
                expression: expression.clone(),
                queries,
            }
        }
        _ => {
            return Err((
                "needs either `metric` (with `namespace` and `statistic`) or `expression` (with `queries`)".into(),
                "see README \"Custom metric gates\"",
            ))
        }
    };
    Ok(MetricGate {
        name: g.name.clone(),
        source,
        threshold: g.threshold,
        direction,
        min_points,
    })
}

fn query(id: &str, q: &QueryFile) -> Result<MetricQuery, Problem> {
    let id_ok = id.starts_with(|c: char| c.is_ascii_lowercase())
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && id.len() <= 255;
    if !id_ok {
        return Err((
            format!("`{}` is not a query id", printable(id)),
            "start ids with a lower-case letter, then letters, digits or _ (CloudWatch's rule)",
        ));
    }
    if q.namespace.trim().is_empty() || q.metric.trim().is_empty() {
        return Err((
            "needs `namespace` and `metric`".into(),
            "e.g. `namespace: TaskQueue/Production`, `metric: ErrorRate`",
        ));
    }
    if !statistic(&q.statistic) {
        return Err((
            format!("`{}` is not a statistic", printable(&q.statistic)),
            "use SampleCount, Average, Sum, Minimum, Maximum or a percentile such as p99",
        ));
    }
    if q.dimensions.len() > MAX_DIMENSIONS {
        return Err((
            format!("has more than {MAX_DIMENSIONS} dimensions"),
            "CloudWatch takes at most 30",
        ));
    }
    Ok(MetricQuery {
        id: id.to_string(),
        namespace: q.namespace.clone(),
        metric: q.metric.clone(),
        dimensions: q.dimensions.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        statistic: q.statistic.clone(),
    })
}

fn statistic(s: &str) -> bool {
    matches!(s, "SampleCount" | "Average" | "Sum" | "Minimum" | "Maximum")
        || s.strip_prefix('p')
            .and_then(|p| p.parse::<f64>().ok())
            .is_some_and(|p| p > 0.0 && p < 100.0)
}

/// Whether `id` appears in the expression as a word of its own.
fn mentions(expression: &str, id: &str) -> bool {
    expression
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .any(|w| w == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<Vec<MetricGate>, String> {
        let files: Vec<GateFile> = serde_yaml_ng::from_str(yaml).map_err(|e| e.to_string())?;
        gates(&files, &[], "prod").map_err(|e| e.to_string())
    }

    #[test]
    fn a_metric_and_an_expression_are_read() {
        let g = parse(
            r#"
- name: queue-errors
  namespace: TaskQueue/Production
  metric: ErrorRate
  dimensions: { Service: "${service}" }
  statistic: Average
  threshold: 2
- name: failed-share
  expression: "100 * failed / processed"
  queries:
    failed: { namespace: TaskQueue/Production, metric: Failed, statistic: Sum }
    processed: { namespace: TaskQueue/Production, metric: Processed, statistic: Sum }
  threshold: 5
  fail-when: above
  min-points: 3
"#,
        )
        .unwrap();
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].direction, Direction::Above);
        assert_eq!(g[0].min_points, 2);
        assert!(matches!(&g[1].source, GateSource::Math { queries, .. } if queries.len() == 2));
        assert_eq!(g[1].min_points, 3);
    }

    #[test]
    fn each_mistake_names_the_gate_and_the_fix() {
        let cases = [
            ("- {name: a, namespace: N, metric: M, statistic: Avg, threshold: 1}", "`Avg` is not a statistic"),
            ("- {name: a, namespace: N, metric: M, statistic: p100, threshold: 1}", "`p100` is not a statistic"),
            ("- {name: a, threshold: 1}", "needs either `metric`"),
            ("- {name: a, namespace: N, metric: M, statistic: Sum, threshold: 1, fail-when: over}", "is not one of ['above', 'below']"),
            ("- {name: a, expression: x, threshold: 1}", "an `expression` needs `queries`"),
            (
                "- {name: a, expression: x, queries: {X1: {namespace: N, metric: M, statistic: Sum}}, threshold: 1}",
                "`X1` is not a query id",
            ),
            (
                "- {name: a, expression: 'm1 * 2', queries: {m1: {namespace: N, metric: M, statistic: Sum}, m2: {namespace: N, metric: M, statistic: Sum}}, threshold: 1}",
                "query `m2` is not used",
            ),
            ("- {name: a, namespace: N, metric: M, statistic: Sum, threshold: 1, min-points: 0}", "`min-points`"),
            ("- {name: a, namespace: N, metric: M, statistic: Sum, threshold: 1, colour: red}", "unknown field"),
            (
                "- {name: a, namespace: N, metric: M, statistic: Sum, threshold: 1}\n- {name: a, namespace: N, metric: M, statistic: Sum, threshold: 2}",
                "two metric gates named `a`",
            ),
        ];
        for (yaml, want) in cases {
            let err = parse(yaml).unwrap_err();
            assert!(err.contains(want), "{yaml}: {err}");
        }
    }

    #[test]
    fn a_stage_gate_replaces_the_files_of_the_same_name() {
        let file: Vec<GateFile> = serde_yaml_ng::from_str(
            "- {name: a, namespace: N, metric: M, statistic: Sum, threshold: 1}\n- {name: b, namespace: N, metric: M, statistic: Sum, threshold: 1}",
        )
        .unwrap();
        let stage: Vec<GateFile> =
            serde_yaml_ng::from_str("- {name: a, namespace: N, metric: M, statistic: Sum, threshold: 9}").unwrap();
        let g = gates(&file, &stage, "prod").unwrap();
        let a = g.iter().find(|g| g.name == "a").unwrap();
        assert_eq!((g.len(), a.threshold), (2, 9.0));
    }
}
