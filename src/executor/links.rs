//! The AWS console links a run's report carries: each service it deployed, the target groups
//! of its slots, the alarms it watched, and the image by digest.

use crate::domain::console;
use crate::domain::image::ImageRef;
use crate::domain::settings::DeployConfig;

pub fn for_run(cfg: &DeployConfig, services: &[&str], target_groups: &[&str], image: &str) -> Vec<(String, String)> {
    let region = cfg.region.as_str();
    let mut links: Vec<(String, String)> = services
        .iter()
        .map(|s| (s.to_string(), console::service(region, &cfg.cluster, s)))
        .collect();
    links.extend(target_groups.iter().map(|tg| {
        (
            format!("target group {}", console::target_group_name(tg)),
            console::target_group(region, tg),
        )
    }));
    if let Some(pc) = &cfg.progressive {
        links.extend(
            pc.alarms
                .iter()
                .map(|a| (format!("alarm {a}"), console::alarm(region, a))),
        );
    }
    if let Ok(r) = ImageRef::parse(image) {
        if let (Some(loc), Some(digest)) = (r.ecr(), &r.digest) {
            links.push((
                "image".into(),
                console::image(region, &loc.registry_id, &loc.repository, digest.as_str()),
            ));
        }
    }
    links
}
