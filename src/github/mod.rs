//! Everything that talks to GitHub: the Actions runtime (files and workflow commands on stdout)
//! and, through octocrab, the REST API.

pub mod commands;
pub mod environments;
pub mod markdown;
pub mod runtime;
