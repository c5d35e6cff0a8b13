//! Workflow commands (`::error title=…::message`), escaped the way the runner unescapes them, so
//! no value can end a command early or start a new one.

use crate::ports::log::{Log, LogLine};

/// The Log port's sink in the binary: each line on stdout as the runner reads it, untrusted
/// text through `log_line` so it never starts a command.
pub struct WorkflowLog;

impl Log for WorkflowLog {
    fn write(&self, line: LogLine<'_>) {
        let text = match line {
            LogLine::Info(msg) => log_line(msg),
            LogLine::Group(title) => group(title),
            LogLine::EndGroup => endgroup().to_string(),
            LogLine::Warning(title, msg) => warning(title, msg),
            LogLine::Error(title, msg) => error(title, msg),
        };
        println!("{text}");
    }
}

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

/// Untrusted text for the log, defused the way the runner parses commands: it trims leading
/// whitespace before looking for `::` (so a leading space is no defence), and it finds the
/// legacy `##[command]` form anywhere in a line. A zero-width space breaks both markers while
/// the text still reads the same. A lone `\r` ends a line for the runner too.
pub fn log_line(s: &str) -> String {
    let s = s.replace("\r\n", "\n");
    s.strip_suffix('\n')
        .unwrap_or(&s)
        .split(['\r', '\n'])
        .map(|l| {
            let l = l.replace("##[", "#\u{200B}#[");
            let body = l.trim_start();
            if body.starts_with("::") {
                let indent = &l[..l.len() - body.len()];
                format!("{indent}:\u{200B}{}", &body[1..])
            } else {
                l
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
        assert_eq!(
            log_line("ok\n  ::stop-commands::x\nsee ##[error]y\r::warning::z\r\n"),
            "ok\n  :\u{200B}:stop-commands::x\nsee #\u{200B}#[error]y\n:\u{200B}:warning::z"
        );
    }
}
