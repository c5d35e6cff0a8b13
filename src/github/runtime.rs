//! The Actions runtime's files: step outputs (`GITHUB_OUTPUT`) and the job summary
//! (`GITHUB_STEP_SUMMARY`). Without them (a local run) outputs go to the log.

use std::io::Write;
use std::path::PathBuf;

/// GitHub rejects job summaries over 1 MiB; we stay under with room to spare.
pub const SUMMARY_LIMIT: usize = 1024 * 1024 - 1024;

pub struct Runtime {
    output_file: Option<PathBuf>,
    summary_file: Option<PathBuf>,
}

impl Runtime {
    pub fn new(output_file: Option<String>, summary_file: Option<String>) -> Self {
        Runtime {
            output_file: output_file.filter(|s| !s.is_empty()).map(PathBuf::from),
            summary_file: summary_file.filter(|s| !s.is_empty()).map(PathBuf::from),
        }
    }

    /// Sets step outputs. Values may be multi-line: each is written as a heredoc whose
    /// delimiter is random and checked not to occur in the value.
    pub fn set_outputs(&self, outputs: &[(&str, String)]) -> std::io::Result<()> {
        let mut text = String::new();
        for (name, value) in outputs {
            text.push_str(&output_entry(name, value));
        }
        match &self.output_file {
            Some(path) => append(path, &text),
            None => {
                for (name, value) in outputs {
                    println!("output {name}={}", super::commands::log_line(value));
                }
                Ok(())
            }
        }
    }

    /// Appends Markdown to the job summary, cut to stay within GitHub's limit.
    pub fn append_summary(&self, markdown: &str) -> std::io::Result<()> {
        let Some(path) = &self.summary_file else {
            return Ok(());
        };
        let existing = std::fs::metadata(path).map(|m| m.len() as usize).unwrap_or(0);
        let room = SUMMARY_LIMIT.saturating_sub(existing);
        append(
            path,
            &truncate(markdown, room, "\n\n_(summary truncated: GitHub's 1 MiB limit)_\n"),
        )
    }
}

fn append(path: &PathBuf, text: &str) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    f.write_all(text.as_bytes())
}

/// `name=value` for one line; a heredoc with a delimiter that does not occur in the value for
/// several lines (the runner's own multi-line syntax).
pub fn output_entry(name: &str, value: &str) -> String {
    if !value.contains(['\n', '\r']) {
        return format!("{name}={value}\n");
    }
    // The std hasher's keys are random per process and step per use: an unguessable start.
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    let mut n: u64 = h.finish();
    loop {
        let delimiter = format!("ghadelimiter_{n:016x}");
        if !value.contains(&delimiter) {
            return format!("{name}<<{delimiter}\n{value}\n{delimiter}\n");
        }
        n = n.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    }
}

/// Cuts `s` to at most `max` bytes on a char boundary, ending with `note` when cut.
pub fn truncate(s: &str, max: usize, note: &str) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max.saturating_sub(note.len());
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{}", &s[..end], note)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multiline_outputs_use_a_heredoc() {
        let e = output_entry("arns", "a\nb");
        let mut lines = e.lines();
        let first = lines.next().unwrap();
        let delim = first.strip_prefix("arns<<").unwrap();
        assert_eq!(lines.collect::<Vec<_>>(), vec!["a", "b", delim]);
    }

    #[test]
    fn summary_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("summary.md");
        let rt = Runtime::new(None, Some(path.to_string_lossy().into_owned()));
        rt.append_summary(&"x".repeat(2 * 1024 * 1024)).unwrap();
        let len = std::fs::metadata(&path).unwrap().len() as usize;
        assert!(len <= SUMMARY_LIMIT, "{len}");
        assert!(std::fs::read_to_string(&path).unwrap().ends_with("limit)_\n"));
    }

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate("ééé", 3, ""), "é");
    }
}
