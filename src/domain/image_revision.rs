//! Which commit an image was built from, as the image itself says: the
//! `org.opencontainers.image.revision` label in its config (what `docker build --label` and
//! docker/metadata-action write). Reading it is three hops: the manifest (maybe an index of
//! per-platform manifests first), then the config blob it names, then the label.

use serde_json::Value;

use super::image::Digest;

/// The OCI annotation key, also used as a Docker label.
pub const REVISION_LABEL: &str = "org.opencontainers.image.revision";

/// The manifest media types the action asks ECR for (single images and indexes alike).
pub const MANIFEST_TYPES: [&str; 4] = [
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];

/// What a manifest points to next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// A single image: its config blob.
    Config(Digest),
    /// An index: the manifest of the platform the task runs (linux/amd64 unless only others).
    Platform(Digest),
    /// Nothing usable (a schema 1 manifest, an index with no image manifests, bad JSON).
    Nothing(String),
}

/// Reads a manifest or an index.
pub fn next(manifest: &str) -> Next {
    let Ok(v) = serde_json::from_str::<Value>(manifest) else {
        return Next::Nothing("the manifest is not JSON".into());
    };
    if let Some(config) = v.pointer("/config/digest").and_then(Value::as_str) {
        return match Digest::parse(config) {
            Some(d) => Next::Config(d),
            None => Next::Nothing(format!("the config digest {config:?} is not sha256")),
        };
    }
    let Some(entries) = v.get("manifests").and_then(Value::as_array) else {
        return Next::Nothing("neither an image manifest nor an index (schema 1?)".into());
    };
    // Attestations (buildx provenance) are listed with platform unknown/unknown.
    let images: Vec<(&str, &str, &str)> = entries
        .iter()
        .filter_map(|m| {
            Some((
                m.get("digest")?.as_str()?,
                m.pointer("/platform/os").and_then(Value::as_str).unwrap_or("unknown"),
                m.pointer("/platform/architecture")
                    .and_then(Value::as_str)
                    .unwrap_or("unknown"),
            ))
        })
        .filter(|(_, os, _)| *os != "unknown")
        .collect();
    let pick = images
        .iter()
        .find(|(_, os, arch)| *os == "linux" && *arch == "amd64")
        .or_else(|| images.first());
    match pick.and_then(|(d, _, _)| Digest::parse(d)) {
        Some(d) => Next::Platform(d),
        None => Next::Nothing("the index lists no image manifest".into()),
    }
}

/// The revision label of a config blob, when it is a full commit SHA (anything else, such as
/// a short SHA or a tag, cannot name the commit reports go on).
pub fn revision(config: &[u8]) -> Result<Option<String>, String> {
    let v: Value = serde_json::from_slice(config).map_err(|e| format!("the image config is not JSON: {e}"))?;
    let label = v
        .pointer("/config/Labels")
        .and_then(|l| l.get(REVISION_LABEL))
        .and_then(Value::as_str);
    Ok(label
        .map(str::trim)
        .filter(|s| s.len() == 40 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        .map(str::to_string))
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    const C: &str = "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";

    fn d(s: &str) -> Digest {
        Digest::parse(s).unwrap()
    }

    #[test]
    fn an_image_manifest_names_its_config() {
        let m = format!(
            r#"{{"schemaVersion":2,"config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{A}","size":7}},"layers":[]}}"#
        );
        assert_eq!(next(&m), Next::Config(d(A)));
    }

    #[test]
    fn an_index_picks_linux_amd64_and_skips_attestations() {
        let m = format!(
            r#"{{"schemaVersion":2,"manifests":[
              {{"digest":"{C}","platform":{{"os":"unknown","architecture":"unknown"}}}},
              {{"digest":"{A}","platform":{{"os":"linux","architecture":"arm64"}}}},
              {{"digest":"{B}","platform":{{"os":"linux","architecture":"amd64"}}}}]}}"#
        );
        assert_eq!(next(&m), Next::Platform(d(B)));
        let arm_only =
            format!(r#"{{"manifests":[{{"digest":"{A}","platform":{{"os":"linux","architecture":"arm64"}}}}]}}"#);
        assert_eq!(next(&arm_only), Next::Platform(d(A)));
        let only_attestation =
            format!(r#"{{"manifests":[{{"digest":"{C}","platform":{{"os":"unknown","architecture":"unknown"}}}}]}}"#);
        assert!(matches!(next(&only_attestation), Next::Nothing(_)));
    }

    #[test]
    fn schema_1_and_garbage_name_nothing() {
        assert!(matches!(next(r#"{"schemaVersion":1,"fsLayers":[]}"#), Next::Nothing(_)));
        assert!(matches!(next("<html>"), Next::Nothing(_)));
    }

    #[test]
    fn only_a_full_sha_is_a_revision() {
        let sha = "0123456789abcdef0123456789abcdef01234567";
        let config = |label: &str| format!(r#"{{"config":{{"Labels":{{"{REVISION_LABEL}":"{label}"}}}}}}"#);
        assert_eq!(revision(config(sha).as_bytes()).unwrap().as_deref(), Some(sha));
        for not_a_sha in [
            "0123456",
            "main",
            &sha.to_uppercase(),
            "0123456789abcdef0123456789abcdef0123456g",
        ] {
            assert_eq!(revision(config(not_a_sha).as_bytes()).unwrap(), None, "{not_a_sha}");
        }
        assert_eq!(revision(br#"{"config":{}}"#).unwrap(), None);
        assert!(revision(b"\x00").is_err());
    }
}
