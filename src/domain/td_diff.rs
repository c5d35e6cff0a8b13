//! The difference between two task definitions, as `command: plan` prints it: one line per
//! changed setting, by path (`containers.app.environment.LOG_LEVEL: "info" → "debug"`).
//! Both sides are summaries keyed by name (containers, variables, secrets), so a reordered
//! list is no change and a changed variable is one line.

use serde_json::Value;

/// Lines for every path where `after` differs from `before` (sorted by path).
pub fn diff(before: &Value, after: &Value) -> Vec<String> {
    let mut lines = Vec::new();
    walk("", before, after, &mut lines);
    lines
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn walk(path: &str, before: &Value, after: &Value, out: &mut Vec<String>) {
    match (before, after) {
        (Value::Object(b), Value::Object(a)) => {
            let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let p = join(path, k);
                match (b.get(k), a.get(k)) {
                    (Some(x), Some(y)) => walk(&p, x, y, out),
                    (None, Some(y)) if !y.is_null() => out.push(format!("+ {p}: {}", short(y))),
                    (Some(x), None) if !x.is_null() => out.push(format!("- {p}: {}", short(x))),
                    _ => {}
                }
            }
        }
        (b, a) if b == a => {}
        (Value::Null, a) => out.push(format!("+ {path}: {}", short(a))),
        (b, Value::Null) => out.push(format!("- {path}: {}", short(b))),
        (b, a) => out.push(format!("~ {path}: {} → {}", short(b), short(a))),
    }
}

/// A value on one line, long ones cut.
fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 200 {
        format!("{}…", s.chars().take(199).collect::<String>())
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn changes_additions_and_removals_by_path() {
        let before = json!({
            "cpu": "256",
            "containers": {"app": {"image": "api@sha256:1", "environment": {"LOG_LEVEL": "info", "OLD": "x"}}}
        });
        let after = json!({
            "cpu": "512",
            "containers": {
                "app": {"image": "api@sha256:2", "environment": {"LOG_LEVEL": "debug", "NEW": "y"}},
                "sidecar": {"image": "envoy"}
            }
        });
        assert_eq!(
            diff(&before, &after),
            [
                "~ containers.app.environment.LOG_LEVEL: \"info\" → \"debug\"",
                "+ containers.app.environment.NEW: \"y\"",
                "- containers.app.environment.OLD: \"x\"",
                "~ containers.app.image: \"api@sha256:1\" → \"api@sha256:2\"",
                "+ containers.sidecar: {\"image\":\"envoy\"}",
                "~ cpu: \"256\" → \"512\"",
            ]
        );
        assert!(diff(&before, &before).is_empty());
    }
}
