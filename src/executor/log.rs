//! The executor's log: the Log port's facade (`ports::log`), so every module logs as `log::info`.

pub use crate::ports::log::{endgroup, error, group, info, warning};
