//! Container image references, and what "pinned by digest" means for them.

use std::fmt;

/// A `sha256:<64 hex>` content digest: the unit that moves through the promotion chain.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Digest(String);

impl Digest {
    pub fn parse(s: &str) -> Option<Digest> {
        let hex = s.strip_prefix("sha256:")?;
        (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then(|| Digest(s.to_ascii_lowercase()))
    }
    /// The sha256 digest of `bytes` (what a content-addressed key of them is).
    pub fn of_bytes(bytes: &[u8]) -> Digest {
        use sha2::Digest as _;
        let hex: String = sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
        Digest(format!("sha256:{hex}"))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The 12 hex characters people recognise in logs and tables.
    pub fn short(&self) -> &str {
        &self.0[7..19]
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where an image lives when it is in Amazon ECR: only those can be resolved and promoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcrLocation {
    pub registry_id: String,
    pub region: String,
    pub repository: String,
}

/// `registry/repository[:tag][@digest]`, split the way the Docker CLI splits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// Everything before the tag/digest: `registry/path/name` (or `name` on Docker Hub).
    pub name: String,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageRefError {
    #[error("is empty; give an image such as 123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1")]
    Empty,
    #[error("`{0}` contains whitespace or control characters")]
    BadCharacters(String),
    #[error("`{0}` has a malformed digest; a digest is sha256: followed by 64 hex characters")]
    BadDigest(String),
    #[error("`{0}` has an invalid tag; a tag is 1-128 of [A-Za-z0-9_.-] and does not start with . or -")]
    BadTag(String),
    #[error("`{0}` names no tag and no digest; add :<tag> or @sha256:<digest> (\"latest\" is never implied)")]
    Unqualified(String),
}

impl ImageRef {
    pub fn parse(s: &str) -> Result<ImageRef, ImageRefError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(ImageRefError::Empty);
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ImageRefError::BadCharacters(s.to_string()));
        }
        let (rest, digest) = match s.split_once('@') {
            Some((rest, d)) => (
                rest,
                Some(Digest::parse(d).ok_or_else(|| ImageRefError::BadDigest(s.to_string()))?),
            ),
            None => (s, None),
        };
        // A colon after the last slash is a tag; one before it is a registry port.
        let last_slash = rest.rfind('/').map(|i| i + 1).unwrap_or(0);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => {
                let at = last_slash + i;
                (&rest[..at], Some(rest[at + 1..].to_string()))
            }
            None => (rest, None),
        };
        if let Some(tag) = &tag {
            let ok = !tag.is_empty()
                && tag.len() <= 128
                && !tag.starts_with(['.', '-'])
                && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
            if !ok {
                return Err(ImageRefError::BadTag(s.to_string()));
            }
        }
        if name.is_empty() || name.ends_with('/') {
            return Err(ImageRefError::BadCharacters(s.to_string()));
        }
        if tag.is_none() && digest.is_none() {
            return Err(ImageRefError::Unqualified(s.to_string()));
        }
        Ok(ImageRef {
            name: name.to_string(),
            tag,
            digest,
        })
    }

    /// `<account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>`.
    pub fn ecr(&self) -> Option<EcrLocation> {
        let (host, repository) = self.name.split_once('/')?;
        let mut parts = host.split('.');
        let registry_id = parts.next()?;
        let (dkr, ecr, region) = (parts.next()?, parts.next()?, parts.next()?);
        let valid = registry_id.len() == 12
            && registry_id.bytes().all(|b| b.is_ascii_digit())
            && dkr == "dkr"
            && ecr.starts_with("ecr")
            && host.contains(".amazonaws.com");
        valid.then(|| EcrLocation {
            registry_id: registry_id.to_string(),
            region: region.to_string(),
            repository: repository.to_string(),
        })
    }

    /// The reference a task definition should carry: `name@sha256:…`, never a moving tag.
    pub fn pinned(&self, digest: &Digest) -> String {
        format!("{}@{}", self.name, digest)
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn parses_the_usual_shapes() {
        let r = ImageRef::parse("123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app:v1.2.3").unwrap();
        assert_eq!(r.name, "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app");
        assert_eq!(r.tag.as_deref(), Some("v1.2.3"));
        let ecr = r.ecr().unwrap();
        assert_eq!(
            (ecr.registry_id.as_str(), ecr.region.as_str(), ecr.repository.as_str()),
            ("123456789012", "eu-west-1", "team/app")
        );

        let r = ImageRef::parse(&format!("localhost:5000/app@{D}")).unwrap();
        assert_eq!(r.name, "localhost:5000/app");
        assert_eq!(r.tag, None);
        assert_eq!(r.digest.as_ref().unwrap().as_str(), D);
        assert!(r.ecr().is_none());

        let r = ImageRef::parse(&format!("nginx:1.27@{D}")).unwrap();
        assert_eq!(r.to_string(), format!("nginx:1.27@{D}"));
        assert_eq!(r.pinned(r.digest.as_ref().unwrap()), format!("nginx@{D}"));
    }

    #[test]
    fn rejects_what_would_deploy_something_unintended() {
        for bad in [
            "",
            "  ",
            "nginx",
            "app:",
            "app:-x",
            "app@sha256:abc",
            "a b:1",
            "repo/:v1",
            "app:v1\n::set-output",
        ] {
            assert!(ImageRef::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn short_digest_is_twelve_hex() {
        assert_eq!(Digest::parse(D).unwrap().short(), "0123456789ab");
        assert!(Digest::parse("sha256:XYZ").is_none());
    }
}
