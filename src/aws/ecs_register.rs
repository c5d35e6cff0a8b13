//! Registering a revision from a task definition (the running one, or a task-definition file
//! read by the SDK's own parser), and the summary `command: plan` diffs.

use aws_sdk_ecs::types::{Tag, TaskDefinition};
use aws_smithy_runtime_api::client::http::{http_client_fn, HttpConnector, HttpConnectorFuture, SharedHttpConnector};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::http::{Response, StatusCode};
use aws_smithy_types::body::SdkBody;
use serde_json::{json, Map, Value};
use sha2::{Digest as _, Sha256};

use super::classify;
use crate::error::{AwsError, AwsErrorKind};

/// Registers `td` again with `images` per container and `tags`: every registrable field is
/// copied as it is.
pub async fn register(
    ecs: &aws_sdk_ecs::Client,
    td: &TaskDefinition,
    images: &[(String, String)],
    tags: &[(String, String)],
) -> Result<String, AwsError> {
    // Copy every registrable field; only images and tags change.
    let containers = td
        .container_definitions()
        .iter()
        .map(|c| {
            let mut c = c.clone();
            if let Some((_, image)) = images.iter().find(|(n, _)| Some(n.as_str()) == c.name()) {
                c.image = Some(image.clone());
            }
            c
        })
        .collect::<Vec<_>>();
    let resp = ecs
        .register_task_definition()
        .family(td.family().unwrap_or_default())
        .set_task_role_arn(td.task_role_arn().map(str::to_string))
        .set_execution_role_arn(td.execution_role_arn().map(str::to_string))
        .set_network_mode(td.network_mode().cloned())
        .set_container_definitions(Some(containers))
        .set_volumes(Some(td.volumes().to_vec()))
        .set_placement_constraints(Some(td.placement_constraints().to_vec()))
        .set_requires_compatibilities(Some(td.requires_compatibilities().to_vec()))
        .set_cpu(td.cpu().map(str::to_string))
        .set_memory(td.memory().map(str::to_string))
        .set_pid_mode(td.pid_mode().cloned())
        .set_ipc_mode(td.ipc_mode().cloned())
        .set_proxy_configuration(td.proxy_configuration().cloned())
        .set_ephemeral_storage(td.ephemeral_storage().cloned())
        .set_runtime_platform(td.runtime_platform().cloned())
        .set_tags(
            Some(
                tags.iter()
                    .map(|(k, v)| Tag::builder().key(k).value(v).build())
                    .collect(),
            )
            .filter(|v: &Vec<Tag>| !v.is_empty()),
        )
        .send()
        .await
        .map_err(|e| {
            classify(
                "ecs:RegisterTaskDefinition",
                &format!("family {}", td.family().unwrap_or_default()),
                e,
            )
        })?;
    resp.task_definition()
        .and_then(|t| t.task_definition_arn())
        .map(str::to_string)
        .ok_or_else(|| AwsError {
            operation: "ecs:RegisterTaskDefinition",
            resource: format!("family {}", td.family().unwrap_or_default()),
            message: "the response carried no task definition ARN".into(),
            kind: AwsErrorKind::Other,
        })
}

/// A task-definition file read as ECS itself would describe it: the SDK's own deserializer
/// parses it (every field ECS knows, read-only ones ignored on registration), through a client
/// whose only "connection" answers DescribeTaskDefinition with the file. No network call.
pub async fn parse_file(json: &str, path: &str) -> Result<TaskDefinition, AwsError> {
    let body = format!("{{\"taskDefinition\": {json}}}");
    let http = http_client_fn(move |_, _| SharedHttpConnector::new(Canned(body.clone())));
    let config = aws_sdk_ecs::Config::builder()
        .behavior_version(aws_sdk_ecs::config::BehaviorVersion::latest())
        .region(aws_sdk_ecs::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_ecs::config::Credentials::new(
            "file",
            "file",
            None,
            None,
            "task-definition file",
        ))
        .endpoint_url("http://task-definition.file.invalid")
        .http_client(http)
        .retry_config(aws_sdk_ecs::config::retry::RetryConfig::disabled())
        .build();
    let invalid = |message: String| AwsError {
        operation: "ecs:RegisterTaskDefinition",
        resource: format!("task-definition file {path}"),
        message,
        kind: AwsErrorKind::Invalid,
    };
    aws_sdk_ecs::Client::from_conf(config)
        .describe_task_definition()
        .task_definition("file")
        .send()
        .await
        .map_err(|e| invalid(format!("{}", aws_sdk_ecs::error::DisplayErrorContext(e))))?
        .task_definition()
        .cloned()
        .ok_or_else(|| invalid("the file has no task definition".into()))
}

#[derive(Debug)]
struct Canned(String);

impl HttpConnector for Canned {
    fn call(&self, _request: HttpRequest) -> HttpConnectorFuture {
        let mut response = Response::new(StatusCode::from(http::StatusCode::OK), SdkBody::from(self.0.clone()));
        response
            .headers_mut()
            .insert("content-type", "application/x-amz-json-1.1");
        HttpConnectorFuture::ready(Ok(response))
    }
}

/// What a person changes in a task definition, keyed by name, for `command: plan`'s diff.
/// Environment values are fingerprints (`sha256:…`), never in clear: a plan is printed to logs.
pub fn summary(td: &TaskDefinition) -> Value {
    let mut containers = Map::new();
    for c in td.container_definitions() {
        let env: Map<String, Value> = c
            .environment()
            .iter()
            .filter_map(|kv| {
                Some((
                    kv.name()?.to_string(),
                    json!(fingerprint(kv.value().unwrap_or_default())),
                ))
            })
            .collect();
        let secrets: Map<String, Value> = c
            .secrets()
            .iter()
            .map(|s| (s.name().to_string(), json!(s.value_from())))
            .collect();
        let ports: Vec<String> = c
            .port_mappings()
            .iter()
            .map(|p| {
                format!(
                    "{}/{}",
                    p.container_port().unwrap_or_default(),
                    p.protocol().map(|p| p.as_str()).unwrap_or("tcp")
                )
            })
            .collect();
        let logs = c
            .log_configuration()
            .map(|l| json!({"driver": l.log_driver().as_str(), "options": l.options().cloned().unwrap_or_default()}));
        containers.insert(
            c.name().unwrap_or_default().to_string(),
            json!({
                "image": c.image(),
                "cpu": c.cpu(),
                "memory": c.memory(),
                "memoryReservation": c.memory_reservation(),
                "essential": c.essential(),
                "command": c.command(),
                "entryPoint": c.entry_point(),
                "environment": env,
                "secrets": secrets,
                "portMappings": ports,
                "logConfiguration": logs,
                "healthCheck": c.health_check().map(|h| h.command()),
                "workingDirectory": c.working_directory(),
                "user": c.user(),
                "stopTimeout": c.stop_timeout(),
            }),
        );
    }
    json!({
        "family": td.family(),
        "taskRoleArn": td.task_role_arn(),
        "executionRoleArn": td.execution_role_arn(),
        "networkMode": td.network_mode().map(|m| m.as_str()),
        "cpu": td.cpu(),
        "memory": td.memory(),
        "requiresCompatibilities": td.requires_compatibilities().iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        "ephemeralStorage": td.ephemeral_storage().map(|e| e.size_in_gib()),
        "volumes": td.volumes().iter().filter_map(|v| v.name()).collect::<Vec<_>>(),
        "containers": containers,
    })
}

fn fingerprint(value: &str) -> String {
    let d = Sha256::digest(value.as_bytes());
    format!(
        "sha256:{}",
        d.iter().take(4).map(|b| format!("{b:02x}")).collect::<String>()
    )
}
