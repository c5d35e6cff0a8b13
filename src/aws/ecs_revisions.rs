//! A task-definition family's ACTIVE revisions, newest first, and deregistering one (for the
//! release history and `keep-revisions`).

use super::classify;
use crate::error::AwsError;

/// ARNs of the family's ACTIVE revisions, newest first. Collected (bounded), then ordered by
/// revision here: not every endpoint honours `sort`, and a record must never be missed
/// because a page was cut.
pub async fn active(ecs: &aws_sdk_ecs::Client, family: &str) -> Result<Vec<String>, AwsError> {
    let mut arns: Vec<String> = Vec::new();
    let mut pages = ecs
        .list_task_definitions()
        .family_prefix(family)
        .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
        .sort(aws_sdk_ecs::types::SortOrder::Desc)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| classify("ecs:ListTaskDefinitions", &format!("family {family}"), e))?;
        arns.extend(page.task_definition_arns().iter().cloned());
        if arns.len() >= 1000 {
            break;
        }
    }
    let revision = |arn: &str| arn.rsplit(':').next().and_then(|r| r.parse::<i32>().ok()).unwrap_or(0);
    // `familyPrefix` also matches longer family names ("web" lists "web-worker").
    arns.retain(|a| a.rsplit_once(':').and_then(|(l, _)| l.rsplit('/').next()) == Some(family));
    arns.sort_by_key(|a| std::cmp::Reverse(revision(a)));
    Ok(arns)
}

pub async fn deregister(ecs: &aws_sdk_ecs::Client, arn: &str) -> Result<(), AwsError> {
    ecs.deregister_task_definition()
        .task_definition(arn)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| classify("ecs:DeregisterTaskDefinition", arn, e))
}
