//! Where the deploy lock lives: a store of small versioned values (SSM Parameter Store on AWS)
//! whose every write gets the next version number from the store itself. That number is the
//! lock's compare-and-swap (executor/lock): a write counts only if it is the version right
//! after the one its writer read.

use async_trait::async_trait;

use crate::error::AwsError;

/// One version of a lock's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub version: u64,
    pub value: String,
}

/// What a write became.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// The version the store gave the new value.
    Version(u64),
    /// `create_only` and the value already exists: nothing was written.
    Exists,
}

#[async_trait]
pub trait LockStore: Send + Sync {
    /// The newest version of each name, in the order asked (`None`: no such value). Reads may
    /// lag behind other callers' writes; the lock never relies on them being fresh.
    async fn current(&self, names: &[String]) -> Result<Vec<Option<Record>>, AwsError>;
    /// One earlier version of `name` (`None`: no longer kept, or not readable yet).
    async fn version(&self, name: &str, version: u64) -> Result<Option<Record>, AwsError>;
    /// Writes a new version of `name`; with `create_only`, only if `name` does not exist yet.
    async fn write(&self, name: &str, value: &str, create_only: bool) -> Result<Written, AwsError>;
}
