//! The `containers` input: container names that get `image`, or `name=image` pairs.

use std::collections::BTreeMap;

use super::input_error::{printable, InputError};
use super::parse;
use super::validate::{is_ecs_name, ContainerImages};
use crate::domain::image::ImageRef;

/// `containers:` is either names (`app, worker`: they get `image`) or `name=image` pairs.
pub fn parse_containers(
    spec: &str,
    image: Option<ImageRef>,
    image_given: bool,
    errors: &mut Vec<InputError>,
) -> Option<ContainerImages> {
    let items = parse::list(spec);
    let pairs = items.iter().filter(|i| i.contains('=')).count();
    if pairs > 0 && pairs < items.len() {
        errors.push(InputError::new(
            "containers",
            "mixes plain names and name=image pairs",
            "either list container names (they get `image`), or give every container as name=image",
        ));
        return None;
    }
    if pairs == 0 {
        for n in &items {
            if !is_ecs_name(n) {
                errors.push(InputError::new(
                    "containers",
                    format!("`{}` is not a container name", printable(n)),
                    "use the container names of the task definition",
                ));
            }
        }
        return match image {
            Some(image) => Some(ContainerImages::Named {
                containers: items,
                image,
            }),
            None => {
                if !image_given {
                    errors.push(InputError::new(
                        "image",
                        "is required when `containers` lists names",
                        "set `image:`, or write containers as name=image pairs",
                    ));
                }
                None
            }
        };
    }
    let mut map = BTreeMap::new();
    for item in &items {
        let (name, img) = item.split_once('=').unwrap_or((item, ""));
        let (name, img) = (name.trim(), img.trim());
        if !is_ecs_name(name) {
            errors.push(InputError::new(
                "containers",
                format!("`{}` has no valid container name before `=`", printable(item)),
                "write name=image, e.g. app=123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1",
            ));
            continue;
        }
        match ImageRef::parse(img) {
            Ok(r) => {
                if map.insert(name.to_string(), r).is_some() {
                    errors.push(InputError::new(
                        "containers",
                        format!("container `{name}` is given twice"),
                        "give each container once",
                    ));
                }
            }
            Err(e) => errors.push(InputError::new(
                "containers",
                format!("image for `{name}`: {}", printable(&e.to_string())),
                "write name=registry/repository:tag",
            )),
        }
    }
    if image_given {
        errors.push(InputError::new(
            "image",
            "is given together with name=image pairs in `containers`",
            "remove `image:` or write `containers` as plain names",
        ));
        return None;
    }
    Some(ContainerImages::Map(map))
}
