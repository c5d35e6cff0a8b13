//! The value syntaxes inputs share: booleans, durations and lists, as workflow authors write them.

use std::time::Duration;

/// YAML 1.2 core booleans as the runner passes them (`true`/`false`), plus the common spellings.
pub fn boolean(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Ok(true),
        "false" | "no" | "off" | "0" => Ok(false),
        other => Err(format!("`{other}` is not a boolean; use true or false")),
    }
}

/// `90` (seconds), `30s`, `5m`, `1h 30m`, `500ms`.
pub fn duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    humantime::parse_duration(s).map_err(|_| format!("`{s}` is not a duration; write e.g. 30s, 5m or 1h"))
}

/// Items separated by commas and/or newlines, trimmed, empties dropped.
pub fn list(s: &str) -> Vec<String> {
    s.split([',', '\n'])
        .map(|x| x.trim().to_string())
        .filter(|x| !x.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(duration("1h 30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(duration("500ms").unwrap(), Duration::from_millis(500));
        assert!(duration("soon").is_err());
        assert!(duration("-5s").is_err());
    }

    #[test]
    fn booleans() {
        assert!(boolean("TRUE").unwrap());
        assert!(!boolean(" false ").unwrap());
        assert!(boolean("maybe").is_err());
    }

    #[test]
    fn lists() {
        assert_eq!(list("api, web\n worker\n\n"), vec!["api", "web", "worker"]);
        assert!(list(" , ").is_empty());
    }
}
