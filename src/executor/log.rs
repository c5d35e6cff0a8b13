//! The run's log on stdout, where the runner reads workflow commands. Untrusted text goes
//! through `commands::log_line`, so it can never start a command.

use crate::github::commands;

pub fn info(msg: &str) {
    println!("{}", commands::log_line(msg));
}

pub fn group(title: &str) {
    println!("{}", commands::group(title));
}

pub fn endgroup() {
    println!("{}", commands::endgroup());
}

pub fn warning(title: &str, msg: &str) {
    println!("{}", commands::warning(title, msg));
}

pub fn error(title: &str, msg: &str) {
    println!("{}", commands::error(title, msg));
}
