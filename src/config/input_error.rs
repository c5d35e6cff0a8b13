//! One bad input, said so that it can be fixed: which input, what is wrong, how to fix it,
//! each on one line of printable text (errors quote untrusted values).

use std::fmt;
use std::time::Duration;

use super::inputs::given;
use super::parse;

/// One bad input: which, what is wrong, how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    pub input: String,
    pub problem: String,
    pub fix: String,
}

impl InputError {
    /// Each part is kept to one line of printable text: problems quote untrusted values (a
    /// stage name, a YAML parser's message), and an error is always one `::error` line.
    pub fn new(input: &str, problem: impl Into<String>, fix: impl Into<String>) -> Self {
        InputError {
            input: one_line(input),
            problem: one_line(&problem.into()),
            fix: one_line(&fix.into()),
        }
    }
}

/// Control characters (newlines included) shown escaped; everything else kept as is, so text
/// that `printable` already escaped is not escaped twice.
fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    out
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "input `{}`: {}. Fix: {}", self.input, self.problem, self.fix)
    }
}

impl std::error::Error for InputError {}

/// A duration input within [min, max]; the default when not given; an error naming it otherwise.
pub fn duration_input(
    v: &Option<String>,
    input: &str,
    default: Duration,
    min: Duration,
    max: Duration,
    errors: &mut Vec<InputError>,
) -> Duration {
    let Some(s) = given(v) else { return default };
    match parse::duration(s) {
        Ok(d) if d < min || d > max => {
            errors.push(InputError::new(
                input,
                format!("{} is out of range", humantime::format_duration(d)),
                format!(
                    "use between {} and {}",
                    humantime::format_duration(min),
                    humantime::format_duration(max)
                ),
            ));
            default
        }
        Ok(d) => d,
        Err(e) => {
            errors.push(InputError::new(input, printable(&e), "write e.g. 30s, 5m or 1h"));
            default
        }
    }
}

/// Untrusted text in an error message: control characters shown escaped, length bounded, so an
/// input can never smuggle a newline (and with it a workflow command) into the log.
pub fn printable(s: &str) -> String {
    let mut out: String = s.chars().take(120).flat_map(char::escape_debug).collect();
    if s.chars().count() > 120 {
        out.push('…');
    }
    out
}
