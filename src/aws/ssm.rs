//! The deploy lock's store: SSM Parameter Store, one String parameter per service.
//!
//! PutParameter returns the version it created (versions are numbered by Parameter Store, one
//! per write); with `Overwrite: false` it creates the parameter or fails with
//! ParameterAlreadyExists. GetParameters reads ten names a call, current versions by name and
//! older ones with a `name:version` selector; Parameter Store keeps the newest 100 versions.

use async_trait::async_trait;
use aws_sdk_ssm::types::{ParameterTier, ParameterType};

use super::classify;
use crate::error::AwsError;
use crate::ports::{LockStore, Record, Written};

/// GetParameters takes at most ten names a call.
const GET_BATCH: usize = 10;

pub struct ParameterStore {
    client: aws_sdk_ssm::Client,
}

impl ParameterStore {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        ParameterStore {
            client: aws_sdk_ssm::Client::new(config),
        }
    }

    /// (name or selector, record) of each name Parameter Store returned.
    async fn get(&self, names: &[String]) -> Result<Vec<(String, Record)>, AwsError> {
        let mut out = Vec::new();
        for batch in names.chunks(GET_BATCH) {
            let answer = self
                .client
                .get_parameters()
                .set_names(Some(batch.to_vec()))
                .send()
                .await
                .map_err(|e| classify("ssm:GetParameters", &batch.join(", "), e))?;
            for p in answer.parameters() {
                let name = p.name().unwrap_or_default().to_string();
                let version = u64::try_from(p.version()).unwrap_or(0);
                out.push((
                    name,
                    Record {
                        version,
                        value: p.value().unwrap_or_default().to_string(),
                    },
                ));
            }
        }
        Ok(out)
    }
}

#[async_trait]
impl LockStore for ParameterStore {
    async fn current(&self, names: &[String]) -> Result<Vec<Option<Record>>, AwsError> {
        let found = self.get(names).await?;
        Ok(names
            .iter()
            .map(|n| {
                // One version per name was asked for; the newest answer wins all the same.
                found
                    .iter()
                    .filter(|(name, _)| name == n)
                    .map(|(_, r)| r.clone())
                    .max_by_key(|r| r.version)
            })
            .collect())
    }

    async fn version(&self, name: &str, version: u64) -> Result<Option<Record>, AwsError> {
        let found = self.get(&[format!("{name}:{version}")]).await?;
        Ok(found.into_iter().map(|(_, r)| r).find(|r| r.version == version))
    }

    async fn write(&self, name: &str, value: &str, create_only: bool) -> Result<Written, AwsError> {
        let put = self
            .client
            .put_parameter()
            .name(name)
            .value(value)
            .r#type(ParameterType::String)
            .tier(ParameterTier::Standard)
            .overwrite(!create_only)
            .send()
            .await;
        match put {
            Ok(out) => Ok(Written::Version(u64::try_from(out.version()).unwrap_or(0))),
            Err(e) if create_only && e.as_service_error().is_some_and(|s| s.is_parameter_already_exists()) => {
                Ok(Written::Exists)
            }
            Err(e) => Err(classify("ssm:PutParameter", name, e)),
        }
    }
}
