//! Parameter Store in memory: every write gets the next version number, `create_only` fails
//! on an existing name, and the newest 100 versions are kept. A test can make another run
//! write right before our next write (`race_next_write`), as two runs racing would.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::error::AwsError;
use crate::ports::{LockStore, Record, Written};

/// Parameter Store keeps the newest 100 versions of a parameter.
const KEPT: usize = 100;

#[derive(Default)]
pub struct FakeLockStore {
    /// name -> (version, value), oldest first.
    versions: Mutex<BTreeMap<String, Vec<(u64, String)>>>,
    /// A value another writer puts just before our next write.
    race: Mutex<Option<String>>,
    writes: Mutex<u64>,
    /// Every write through the port, as "PutParameter name value", with its place in the
    /// order of every fake's calls.
    calls: Mutex<Vec<(u64, String)>>,
}

impl FakeLockStore {
    /// Another run writes `value` (to whatever name we write next) just before we do.
    pub fn race_next_write(&self, value: &str) {
        *self.race.lock().unwrap_or_else(|e| e.into_inner()) = Some(value.to_string());
    }

    /// Another run writes `value` to `name` now.
    pub fn other_writes(&self, name: &str, value: &str) {
        self.put(name, value, false);
    }

    /// Writes made through the port, the raced one excluded.
    pub fn writes(&self) -> u64 {
        *self.writes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every write through the port, in order, with its place among every fake's calls.
    pub fn ordered_calls(&self) -> Vec<(u64, String)> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The newest value of `name`.
    pub fn newest(&self, name: &str) -> Option<String> {
        let all = self.versions.lock().unwrap_or_else(|e| e.into_inner());
        all.get(name).and_then(|v| v.last()).map(|(_, value)| value.clone())
    }

    fn put(&self, name: &str, value: &str, create_only: bool) -> Written {
        let mut all = self.versions.lock().unwrap_or_else(|e| e.into_inner());
        let versions = all.entry(name.to_string()).or_default();
        if create_only && !versions.is_empty() {
            return Written::Exists;
        }
        let version = versions.last().map_or(1, |(v, _)| v + 1);
        versions.push((version, value.to_string()));
        if versions.len() > KEPT {
            versions.remove(0);
        }
        Written::Version(version)
    }
}

#[async_trait]
impl LockStore for FakeLockStore {
    async fn current(&self, names: &[String]) -> Result<Vec<Option<Record>>, AwsError> {
        let all = self.versions.lock().unwrap_or_else(|e| e.into_inner());
        Ok(names
            .iter()
            .map(|n| {
                all.get(n).and_then(|v| v.last()).map(|(version, value)| Record {
                    version: *version,
                    value: value.clone(),
                })
            })
            .collect())
    }

    async fn version(&self, name: &str, version: u64) -> Result<Option<Record>, AwsError> {
        let all = self.versions.lock().unwrap_or_else(|e| e.into_inner());
        Ok(all
            .get(name)
            .and_then(|v| v.iter().find(|(n, _)| *n == version))
            .map(|(version, value)| Record {
                version: *version,
                value: value.clone(),
            }))
    }

    async fn write(&self, name: &str, value: &str, create_only: bool) -> Result<Written, AwsError> {
        if let Some(other) = self.race.lock().unwrap_or_else(|e| e.into_inner()).take() {
            self.put(name, &other, false);
        }
        *self.writes.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.calls
            .lock()
            .unwrap()
            .push((super::next_call(), format!("PutParameter {name} {value}")));
        Ok(self.put(name, value, create_only))
    }
}
