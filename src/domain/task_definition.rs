//! Rendering a new revision from the service's current task definition: which container gets
//! which image, and which record tags go on it. The ECS adapter copies every other field as is.

use std::collections::BTreeMap;

/// `family:revision` from a task-definition ARN.
pub fn short_td(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// Which containers the new image goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageAssignment {
    /// Every container whose image is from the same repository as the new image (so sidecars
    /// such as log routers or agents keep theirs); if none matches, the only container. With
    /// several and none matching, the choice is the user's: an error, never every container.
    SameRepository(String),
    /// Exactly these containers get the image.
    Named { containers: Vec<String>, image: String },
    /// `container=image` pairs from the `containers` input.
    Map(BTreeMap<String, String>),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("task definition {task_definition} has no container named `{container}` (it has: {available}); fix the `containers` input")]
    NoSuchContainer {
        task_definition: String,
        container: String,
        available: String,
    },
    #[error("task definition {task_definition} has no containers")]
    NoContainers { task_definition: String },
    #[error("task definition {task_definition} has several containers ({available}) and none runs an image from {repository}, so which one gets the new image is not clear (putting it in every container would replace sidecars too); name it with the `containers` input, e.g. `containers: {first}`")]
    Ambiguous {
        task_definition: String,
        repository: String,
        available: String,
        first: String,
    },
    #[error("task definition {task_definition} has none of the containers named in `containers` ({wanted}); it has: {available}")]
    NoneMatch {
        task_definition: String,
        wanted: String,
        available: String,
    },
}

/// The repository part of an image reference (no tag, no digest), to compare containers by.
pub fn repository_of(image: &str) -> &str {
    let no_digest = image.split('@').next().unwrap_or(image);
    let last_slash = no_digest.rfind('/').map(|i| i + 1).unwrap_or(0);
    match no_digest[last_slash..].rfind(':') {
        Some(i) => &no_digest[..last_slash + i],
        None => no_digest,
    }
}

/// `containers` is (name, current image) in task-definition order. Returns the new image of
/// each container that changes, in the same order.
pub fn assign_images(
    task_definition: &str,
    containers: &[(String, String)],
    assignment: &ImageAssignment,
) -> Result<Vec<(String, String)>, RenderError> {
    if containers.is_empty() {
        return Err(RenderError::NoContainers {
            task_definition: task_definition.to_string(),
        });
    }
    let names = || {
        containers
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let check = |wanted: &str| -> Result<(), RenderError> {
        if containers.iter().any(|(n, _)| n == wanted) {
            Ok(())
        } else {
            Err(RenderError::NoSuchContainer {
                task_definition: task_definition.to_string(),
                container: wanted.to_string(),
                available: names(),
            })
        }
    };
    match assignment {
        ImageAssignment::SameRepository(image) => {
            let repo = repository_of(image);
            let matching: Vec<_> = containers
                .iter()
                .filter(|(_, current)| repository_of(current) == repo)
                .map(|(n, _)| (n.clone(), image.clone()))
                .collect();
            match (matching.is_empty(), containers) {
                (false, _) => Ok(matching),
                (true, [(only, _)]) => Ok(vec![(only.clone(), image.clone())]),
                (true, [(first, _), ..]) => Err(RenderError::Ambiguous {
                    task_definition: task_definition.to_string(),
                    repository: repo.to_string(),
                    available: names(),
                    first: first.clone(),
                }),
                (true, []) => Err(RenderError::NoContainers {
                    task_definition: task_definition.to_string(),
                }),
            }
        }
        ImageAssignment::Named {
            containers: wanted,
            image,
        } => {
            for w in wanted {
                check(w)?;
            }
            Ok(containers
                .iter()
                .filter(|(n, _)| wanted.contains(n))
                .map(|(n, _)| (n.clone(), image.clone()))
                .collect())
        }
        // With several services, each task definition takes the pairs that name its containers
        // (the executor checks that every pair was used by some service).
        ImageAssignment::Map(map) => {
            let assigned: Vec<_> = containers
                .iter()
                .filter_map(|(n, _)| map.get(n).map(|img| (n.clone(), img.clone())))
                .collect();
            if assigned.is_empty() {
                return Err(RenderError::NoneMatch {
                    task_definition: task_definition.to_string(),
                    wanted: map.keys().cloned().collect::<Vec<_>>().join(", "),
                    available: names(),
                });
            }
            Ok(assigned)
        }
    }
}

/// The prefix of every record tag the action writes on a task definition.
pub const RECORD_PREFIX: &str = "ecs-deploy:";

/// Record tags on a new revision registered from `existing`. The team's own tags are kept; the
/// source revision's records are not: they describe its deployment, not this one (a copied
/// `ecs-deploy:result=success` would make a failed release look as if it passed the stage).
pub fn merge_tags(existing: &[(String, String)], ours: &[(String, String)]) -> Vec<(String, String)> {
    let mut merged: Vec<(String, String)> = existing
        .iter()
        .filter(|(k, _)| !k.starts_with(RECORD_PREFIX))
        .cloned()
        .collect();
    merged.extend(ours.iter().map(|(k, v)| (k.clone(), sanitize_tag_value(v))));
    merged
}

/// ECS tag values allow letters, digits, spaces and `_ . : / = + - @`, up to 256 characters.
pub fn sanitize_tag_value(v: &str) -> String {
    v.chars()
        .map(|c| {
            if c.is_alphanumeric() || " _.:/=+-@".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(256)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn containers() -> Vec<(String, String)> {
        vec![
            ("app".into(), "1234.dkr.ecr.r.amazonaws.com/app:v1".into()),
            ("worker".into(), "1234.dkr.ecr.r.amazonaws.com/app@sha256:aa".into()),
            (
                "log-router".into(),
                "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable".into(),
            ),
        ]
    }

    #[test]
    fn same_repository_leaves_sidecars_alone() {
        let got = assign_images(
            "td",
            &containers(),
            &ImageAssignment::SameRepository("1234.dkr.ecr.r.amazonaws.com/app@sha256:bb".into()),
        )
        .unwrap();
        assert_eq!(
            got.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
            vec!["app", "worker"]
        );
    }

    #[test]
    fn an_unrelated_image_goes_to_the_only_container_and_is_refused_among_several() {
        let got = assign_images(
            "td",
            &containers()[..1],
            &ImageAssignment::SameRepository("nginx:1".into()),
        )
        .unwrap();
        assert_eq!(got, vec![("app".to_string(), "nginx:1".to_string())]);
        let err = assign_images(
            "td:4",
            &containers(),
            &ImageAssignment::SameRepository("nginx:1".into()),
        )
        .unwrap_err();
        assert!(matches!(err, RenderError::Ambiguous { .. }), "{err}");
        assert!(err.to_string().contains("`containers: app`"), "{err}");
    }

    #[test]
    fn named_and_map_must_exist() {
        let err = assign_images(
            "td:3",
            &containers(),
            &ImageAssignment::Named {
                containers: vec!["web".into()],
                image: "x:1".into(),
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("no container named `web`"), "{err}");
        assert!(err.to_string().contains("app, worker, log-router"), "{err}");
        let map = BTreeMap::from([("log-router".to_string(), "fb:2".to_string())]);
        assert_eq!(
            assign_images("td", &containers(), &ImageAssignment::Map(map)).unwrap(),
            vec![("log-router".to_string(), "fb:2".to_string())]
        );
    }

    #[test]
    fn repository_of_strips_tag_and_digest_but_not_port() {
        assert_eq!(repository_of("localhost:5000/app:v1"), "localhost:5000/app");
        assert_eq!(repository_of("app@sha256:aa"), "app");
        assert_eq!(repository_of("app"), "app");
    }

    #[test]
    fn tags_merge_and_are_sanitized() {
        let merged = merge_tags(
            &[
                ("team".into(), "pay".into()),
                ("ecs-deploy:version".into(), "old".into()),
            ],
            &[
                ("ecs-deploy:version".into(), "v1.2.3".into()),
                ("ecs-deploy:run-url".into(), "https://x/y?z=1&a".into()),
            ],
        );
        assert_eq!(merged[0], ("team".to_string(), "pay".to_string()));
        assert_eq!(merged[1].1, "v1.2.3");
        assert_eq!(merged[2].1, "https://x/y_z=1_a");
    }

    #[test]
    fn a_new_revision_never_inherits_the_source_revisions_records() {
        let merged = merge_tags(
            &[
                ("team".into(), "pay".into()),
                ("ecs-deploy:result".into(), "success".into()),
                ("ecs-deploy:git-sha".into(), "0ld".into()),
            ],
            &[("ecs-deploy:digest".into(), "sha256:bb".into())],
        );
        assert_eq!(
            merged,
            vec![
                ("team".to_string(), "pay".to_string()),
                ("ecs-deploy:digest".to_string(), "sha256:bb".to_string())
            ]
        );
    }
}
