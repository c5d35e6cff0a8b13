//! Several services' tags in one read: DescribeServices with `include: TAGS`, ten services a
//! call (DescribeServices' limit), instead of a ListTagsForResource per service.

use aws_sdk_ecs::types::ServiceField;

use super::classify;
use super::ecs::DESCRIBE_BATCH as BATCH;
use crate::error::{AwsError, AwsErrorKind};

/// The tags of `services` ((name, ARN) pairs of `cluster`), in their order. A service ECS does
/// not return is an error: its lock or records cannot be read.
pub async fn services_tags(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    services: &[(String, String)],
) -> Result<Vec<Vec<(String, String)>>, AwsError> {
    let mut out = Vec::with_capacity(services.len());
    for batch in services.chunks(BATCH) {
        let arns: Vec<String> = batch.iter().map(|(_, arn)| arn.clone()).collect();
        let resp = ecs
            .describe_services()
            .cluster(cluster)
            .set_services(Some(arns))
            .include(ServiceField::Tags)
            .send()
            .await
            .map_err(|e| classify("ecs:DescribeServices", &format!("cluster {cluster}"), e))?;
        for (name, arn) in batch {
            let found = resp
                .services()
                .iter()
                .find(|s| s.service_arn() == Some(arn.as_str()))
                .ok_or_else(|| AwsError {
                    operation: "ecs:DescribeServices",
                    resource: arn.clone(),
                    message: format!("{name} is not in cluster {cluster} any more; check `services` and `cluster`"),
                    kind: AwsErrorKind::NotFound,
                })?;
            out.push(
                found
                    .tags()
                    .iter()
                    .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string())))
                    .collect(),
            );
        }
    }
    Ok(out)
}
