//! Everything that talks to GitHub: the Actions runtime (files and workflow commands on stdout)
//! and, through octocrab (only here), the REST API: check runs, the sticky PR comment and
//! deployments, behind the `Reporter` port.

pub mod channel;
pub mod chart;
pub mod checks;
pub mod client;
pub mod commands;
pub mod comment;
mod comment_table;
pub mod deployments;
pub mod environments;
pub mod event;
pub mod markdown;
pub mod reporter;
pub mod runtime;
pub mod summary;
pub mod timeline;
pub mod transport;

pub use reporter::GitHubReporter;
