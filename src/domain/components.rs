//! A release of several images (an `api` and a `web` built together): one digest per
//! component, promoted, recorded and rolled back as one. The chain keys a release by one
//! digest everywhere (provenance, versions, rollback targets); a multi-image release's key is
//! the digest of its components, so all of that works unchanged, and each component's own
//! digest is recorded beside it on the revision (`ecs-deploy:image:<component>`).

use std::collections::BTreeMap;

use super::image::Digest;

/// Component (container) name → its image's digest.
pub type Components = BTreeMap<String, Digest>;

/// Tag key prefix of a component's digest on a revision.
pub const IMAGE_TAG_PREFIX: &str = "ecs-deploy:image:";

/// The release's key: sha256 over `name=digest` lines in name order. The same components give
/// the same key in every stage and every later run.
pub fn release_id(components: &Components) -> Digest {
    let lines: String = components
        .iter()
        .map(|(name, digest)| format!("{name}={digest}\n"))
        .collect();
    Digest::of_bytes(lines.as_bytes())
}

/// The per-component record tags of a release.
pub fn tags(components: &Components) -> Vec<(String, String)> {
    components
        .iter()
        .map(|(name, d)| (format!("{IMAGE_TAG_PREFIX}{name}"), d.to_string()))
        .collect()
}

/// The components a revision records (empty for a single-image release).
pub fn from_tags(tags: &[(String, String)]) -> Components {
    tags.iter()
        .filter_map(|(k, v)| Some((k.strip_prefix(IMAGE_TAG_PREFIX)?.to_string(), Digest::parse(v)?)))
        .collect()
}

/// `api@sha256:1234…, web@sha256:abcd…` for reports.
pub fn describe(components: &Components) -> String {
    components
        .iter()
        .map(|(n, d)| format!("{n}@sha256:{}", d.short()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(c: char) -> Digest {
        Digest::parse(&format!("sha256:{}", c.to_string().repeat(64))).unwrap()
    }

    #[test]
    fn a_release_key_depends_on_every_component_and_reads_back_from_its_tags() {
        let a: Components = [("api".to_string(), d('1')), ("web".to_string(), d('2'))].into();
        let b: Components = [("api".to_string(), d('1')), ("web".to_string(), d('3'))].into();
        assert_eq!(release_id(&a), release_id(&a.clone()));
        assert_ne!(release_id(&a), release_id(&b));
        assert_eq!(from_tags(&tags(&a)), a);
        let mut with_others = tags(&a);
        with_others.push(("ecs-deploy:stage".into(), "dev".into()));
        assert_eq!(from_tags(&with_others), a);
        assert_eq!(describe(&a), "api@sha256:111111111111, web@sha256:222222222222");
    }
}
