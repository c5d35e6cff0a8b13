//! `task-definition`: a task-definition JSON file in the repository, in the format the official
//! `amazon-ecs-deploy-task-definition` action takes (RegisterTaskDefinition's input, or
//! `describe-task-definition` output with its read-only fields). The deploy registers it as
//! written, with the release's images substituted by digest per container, instead of copying
//! the running revision: a change of environment, secrets, cpu/memory, ports or logging ships.
//! Read and checked here, before any AWS call.

use super::input_error::{printable, InputError};
use super::inputs::{given, RawInputs};
use super::validate::ContainerImages;
pub use crate::domain::settings::TaskDefinitionFile;

/// ECS's limit on a task definition's size ("Task definition size": 64 KiB).
const MAX_BYTES: usize = 64 * 1024;

fn error(problem: String) -> InputError {
    InputError::new(
        "task-definition",
        problem,
        "give a JSON file in RegisterTaskDefinition's format (e.g. `aws ecs describe-task-definition --query taskDefinition` output), relative to the repository root",
    )
}

/// The file named by `task-definition`, checked against `containers` (every named container
/// must be in it).
pub fn task_definition_file(
    raw: &RawInputs,
    images: Option<&ContainerImages>,
    errors: &mut Vec<InputError>,
) -> Option<TaskDefinitionFile> {
    let path = given(&raw.task_definition)?;
    let shown = printable(path);
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            errors.push(error(format!("cannot read {shown}: {e}")));
            return None;
        }
    };
    match parse(&text, &shown) {
        Ok(file) => {
            if let Some(problem) = unknown_containers(&file, images) {
                errors.push(InputError::new(
                    "containers",
                    problem,
                    "name containers that the task-definition file defines",
                ));
                return None;
            }
            Some(TaskDefinitionFile {
                path: path.to_string(),
                ..file
            })
        }
        Err(problem) => {
            errors.push(error(problem));
            None
        }
    }
}

fn parse(text: &str, shown: &str) -> Result<TaskDefinitionFile, String> {
    if text.len() > MAX_BYTES {
        return Err(format!(
            "{shown} is larger than ECS's 64 KiB limit for a task definition"
        ));
    }
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("{shown} is not valid JSON: {e}"))?;
    let obj = value
        .as_object()
        .ok_or_else(|| format!("{shown} is not a JSON object"))?;
    let family = obj
        .get("family")
        .and_then(|f| f.as_str())
        .filter(|f| !f.is_empty() && f.len() <= 255)
        .ok_or_else(|| format!("{shown} has no `family`"))?;
    let defs = obj
        .get("containerDefinitions")
        .and_then(|c| c.as_array())
        .filter(|c| !c.is_empty())
        .ok_or_else(|| format!("{shown} has no `containerDefinitions`"))?;
    let mut containers = Vec::new();
    for (i, c) in defs.iter().enumerate() {
        let name = c.get("name").and_then(|n| n.as_str()).filter(|n| !n.is_empty());
        let image = c.get("image").and_then(|n| n.as_str()).filter(|n| !n.is_empty());
        let (Some(name), Some(image)) = (name, image) else {
            return Err(format!(
                "{shown}: containerDefinitions[{i}] needs a `name` and an `image`"
            ));
        };
        if containers.iter().any(|(n, _)| n == name) {
            return Err(format!("{shown}: container `{}` is defined twice", printable(name)));
        }
        containers.push((name.to_string(), image.to_string()));
    }
    let tags = obj
        .get("tags")
        .and_then(|t| t.as_array())
        .map(|tags| {
            tags.iter()
                .filter_map(|t| {
                    Some((
                        t.get("key")?.as_str()?.to_string(),
                        t.get("value")?.as_str()?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(TaskDefinitionFile {
        path: String::new(),
        json: text.to_string(),
        family: family.to_string(),
        containers,
        tags,
    })
}

/// A container `containers:` names that the file does not define.
fn unknown_containers(file: &TaskDefinitionFile, images: Option<&ContainerImages>) -> Option<String> {
    let named: Vec<&String> = match images? {
        ContainerImages::Default(_) => return None,
        ContainerImages::Named { containers, .. } => containers.iter().collect(),
        ContainerImages::Map(map) => map.keys().collect(),
    };
    let missing: Vec<&str> = named
        .into_iter()
        .filter(|n| !file.containers.iter().any(|(c, _)| c == *n))
        .map(String::as_str)
        .collect();
    (!missing.is_empty()).then(|| {
        format!(
            "names {} which the task-definition file does not define (it has {})",
            missing.join(", "),
            file.containers
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"{
      "family": "shop-api",
      "taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/shop-api:7",
      "revision": 7,
      "containerDefinitions": [
        {"name": "app", "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/api:v1",
         "environment": [{"name": "LOG_LEVEL", "value": "debug"}]},
        {"name": "log-router", "image": "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable"}
      ],
      "tags": [{"key": "team", "value": "payments"}]
    }"#;

    #[test]
    fn a_file_is_read_with_its_containers_and_tags() {
        let f = parse(FILE, "td.json").unwrap();
        assert_eq!(f.family, "shop-api");
        assert_eq!(f.containers.len(), 2);
        assert_eq!(f.containers[1].0, "log-router");
        assert_eq!(f.tags, vec![("team".to_string(), "payments".to_string())]);
    }

    #[test]
    fn each_mistake_is_one_clear_error() {
        for (text, want) in [
            (
                "{not json",
                "is not valid JSON: key must be a string at line 1 column 2",
            ),
            ("[]", "is not a JSON object"),
            (
                r#"{"containerDefinitions": [{"name": "a", "image": "b"}]}"#,
                "has no `family`",
            ),
            (
                r#"{"family": "f", "containerDefinitions": []}"#,
                "has no `containerDefinitions`",
            ),
            (
                r#"{"family": "f", "containerDefinitions": [{"name": "a"}]}"#,
                "containerDefinitions[0] needs",
            ),
            (
                r#"{"family": "f", "containerDefinitions": [{"name": "a", "image": "b"}, {"name": "a", "image": "c"}]}"#,
                "container `a` is defined twice",
            ),
        ] {
            let err = parse(text, "td.json").unwrap_err();
            assert!(err.contains(want), "{text}: {err}");
        }
        let f = parse(FILE, "td.json").unwrap();
        let image =
            crate::domain::image::ImageRef::parse("123456789012.dkr.ecr.us-east-1.amazonaws.com/api:v2").unwrap();
        let named = ContainerImages::Named {
            containers: vec!["worker".into()],
            image,
        };
        let problem = unknown_containers(&f, Some(&named)).unwrap();
        assert!(
            problem.contains("names worker") && problem.contains("it has app, log-router"),
            "{problem}"
        );
    }
}
