//! Workflow commands (`::error title=…::message`), escaped the way the runner unescapes them, so
//! no value can end a command early or start a new one.

/// Escapes a command's message part.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// Escapes a property value (`title=…`), where `:` and `,` are separators too.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

pub fn error(title: &str, message: &str) -> String {
    format!("::error title={}::{}", escape_property(title), escape_data(message))
}

pub fn warning(title: &str, message: &str) -> String {
    format!("::warning title={}::{}", escape_property(title), escape_data(message))
}

pub fn notice(title: &str, message: &str) -> String {
    format!("::notice title={}::{}", escape_property(title), escape_data(message))
}

/// Tells the runner to mask `secret` in every later log line. Multi-line secrets are masked
/// line by line, as the runner requires.
pub fn add_mask(secret: &str) -> Vec<String> {
    secret
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| format!("::add-mask::{}", escape_data(l)))
        .collect()
}

pub fn group(title: &str) -> String {
    format!("::group::{}", escape_data(title))
}

pub fn endgroup() -> &'static str {
    "::endgroup::"
}

/// A line of untrusted text for the log: a line that would start a workflow command is
/// defused by a leading space (the runner only reads commands at the start of a line).
pub fn log_line(s: &str) -> String {
    s.lines()
        .map(|l| {
            if l.trim_start().starts_with("::") {
                format!(" {l}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_escapes_a_command() {
        let e = error("bad: input, x", "line1\nline2 ::set-env name=A::b 100%");
        assert_eq!(
            e,
            "::error title=bad%3A input%2C x::line1%0Aline2 ::set-env name=A::b 100%25"
        );
        assert_eq!(e.lines().count(), 1);
    }

    #[test]
    fn masks_each_line() {
        assert_eq!(add_mask("a\nb\n"), vec!["::add-mask::a", "::add-mask::b"]);
    }

    #[test]
    fn log_lines_cannot_start_commands() {
        assert_eq!(log_line("ok\n::stop-commands::x"), "ok\n ::stop-commands::x");
    }
}
