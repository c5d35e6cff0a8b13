//! The run's log, one line per event. The executor and the adapters write through this port;
//! the binary installs the sink once at start (`github::commands::WorkflowLog`: GitHub's
//! workflow-command syntax on stdout, untrusted text defused). Without a sink (unit tests)
//! lines are dropped, so nothing unescaped can ever reach the runner.

use std::sync::OnceLock;

/// One event of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLine<'a> {
    Info(&'a str),
    /// A foldable group of the lines until `EndGroup` (one per step).
    Group(&'a str),
    EndGroup,
    /// An annotation on the run: a title and its text.
    Warning(&'a str, &'a str),
    Error(&'a str, &'a str),
}

/// Where log lines go.
pub trait Log: Send + Sync {
    fn write(&self, line: LogLine<'_>);
}

static SINK: OnceLock<Box<dyn Log>> = OnceLock::new();

/// Installs the process's sink; the first one wins (false if one was already installed).
pub fn install(sink: Box<dyn Log>) -> bool {
    SINK.set(sink).is_ok()
}

fn emit(line: LogLine<'_>) {
    if let Some(sink) = SINK.get() {
        sink.write(line);
    }
}

pub fn info(msg: &str) {
    emit(LogLine::Info(msg));
}

pub fn group(title: &str) {
    emit(LogLine::Group(title));
}

pub fn endgroup() {
    emit(LogLine::EndGroup);
}

pub fn warning(title: &str, msg: &str) {
    emit(LogLine::Warning(title, msg));
}

pub fn error(title: &str, msg: &str) {
    emit(LogLine::Error(title, msg));
}
