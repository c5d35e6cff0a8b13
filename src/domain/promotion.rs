//! The promotion chain's rules: versions (semver, conventional commits), what may enter a
//! stage (provenance, pre-releases, downgrades), and which stage comes next. Pure.

use semver::Version;

/// How much a set of commits moves the version (Conventional Commits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Bump {
    Patch,
    Minor,
    Major,
}

/// `feat!:`/`fix(x)!:` or a `BREAKING CHANGE:` footer → major; `feat` → minor; anything else → patch.
pub fn bump_of(messages: &[String]) -> Bump {
    let mut bump = Bump::Patch;
    for m in messages {
        let header = m.lines().next().unwrap_or("");
        let (kind, _) = header.split_once(':').unwrap_or(("", ""));
        let breaking = kind.ends_with('!')
            || m.lines()
                .any(|l| l.starts_with("BREAKING CHANGE:") || l.starts_with("BREAKING-CHANGE:"));
        let kind = kind.trim_end_matches('!');
        let kind = kind.split('(').next().unwrap_or("").trim();
        let this = if breaking {
            Bump::Major
        } else if kind == "feat" {
            Bump::Minor
        } else {
            Bump::Patch
        };
        bump = bump.max(this);
    }
    bump
}

/// Release tags (`vX.Y.Z`, no pre-release) among `tags`.
pub fn releases<'a>(tags: impl IntoIterator<Item = &'a str>) -> Vec<Version> {
    let mut v: Vec<Version> = tags
        .into_iter()
        .filter_map(|t| t.strip_prefix('v'))
        .filter_map(|t| Version::parse(t).ok())
        .filter(|v| v.pre.is_empty() && v.build.is_empty())
        .collect();
    v.sort();
    v
}

/// The next version after the highest release, bumped by the commits. With no release yet
/// the first one is 0.1.0 (or 1.0.0 for a breaking change).
pub fn next_version(existing: &[Version], bump: Bump) -> Version {
    match existing.iter().max() {
        None => match bump {
            Bump::Major => Version::new(1, 0, 0),
            _ => Version::new(0, 1, 0),
        },
        Some(v) => match bump {
            Bump::Major => Version::new(v.major + 1, 0, 0),
            Bump::Minor => Version::new(v.major, v.minor + 1, 0),
            Bump::Patch => Version::new(v.major, v.minor, v.patch + 1),
        },
    }
}

/// Why a digest may not enter a stage.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("{version} is a pre-release; pre-releases never reach {stage}. Promote a release version (vX.Y.Z)")]
    PreRelease { version: String, stage: String },
    #[error(
        "{version} is lower than {current}, which {stage} runs; going back is a rollback: use `command: rollback`"
    )]
    Downgrade {
        version: String,
        current: String,
        stage: String,
    },
    #[error("digest {digest} has not passed {previous}: no deployment of it there is recorded as judged good, and {previous} {now}. Promote a release {previous} recorded good (its run ended in success), or set `allow-unverified: true` to override (logged)")]
    NotPassed {
        digest: String,
        previous: String,
        /// What the previous stage is doing now, in words.
        now: String,
    },
    #[error("what {previous} runs could not be read, so the release's provenance cannot be checked; this is never waived. Fix the reason above and re-run")]
    PreviousUnknown { previous: String },
}

/// Whether `version` may enter `stage`, given what the stage runs now.
pub fn check_version(
    stage: &str,
    version: &Version,
    current: Option<&Version>,
    is_last_stage: bool,
    rollback: bool,
) -> Result<(), Refusal> {
    if is_last_stage && !version.pre.is_empty() {
        return Err(Refusal::PreRelease {
            version: format!("v{version}"),
            stage: stage.to_string(),
        });
    }
    if let Some(current) = current {
        if version < current && !rollback {
            return Err(Refusal::Downgrade {
                version: format!("v{version}"),
                current: format!("v{current}"),
                stage: stage.to_string(),
            });
        }
    }
    Ok(())
}

/// What the previous stage's traffic is on now, as its records say: only for the words of a
/// refusal, never for the verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreviousNow {
    /// Nothing this action recorded serves its traffic.
    Unrecorded,
    /// One revision serves all of its traffic: its digest, and how the deployment of it
    /// ended (`None`: no end recorded, so a run is still going or was stopped before its
    /// judgement ended).
    Whole { digest: String, result: Option<String> },
    /// Its traffic is split between revisions (digest, weight in percent): a canary in
    /// progress, or one an interrupted run left.
    Split(Vec<(String, u8)>),
}

impl std::fmt::Display for PreviousNow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PreviousNow::Unrecorded => write!(f, "serves nothing this action recorded"),
            PreviousNow::Whole { digest, result: None } => write!(
                f,
                "serves {digest} on all its traffic with no end recorded (its run is still going, or was stopped before its judgement ended)"
            ),
            PreviousNow::Whole {
                digest,
                result: Some(r),
            } if r == "success" => write!(f, "serves {digest}, recorded good"),
            PreviousNow::Whole {
                digest,
                result: Some(r),
            } => write!(f, "serves {digest}, whose deployment ended in {r} and was left in place"),
            PreviousNow::Split(parts) => {
                let parts: Vec<String> = parts.iter().map(|(d, w)| format!("{d} at {w}%")).collect();
                write!(f, "is splitting its traffic: {}", parts.join(", "))
            }
        }
    }
}

/// Provenance: a digest enters a stage only if a deployment of it to the previous stage is
/// recorded as judged good (`ecs-deploy:result=success`). Running there is not enough: a
/// canary still at 50%, a run killed in its bake, and a failed deploy left in place all run
/// a digest nobody judged good.
pub fn check_provenance(digest: &str, previous: &str, now: &PreviousNow, passed: &[String]) -> Result<(), Refusal> {
    if passed.iter().any(|d| d == digest) {
        return Ok(());
    }
    Err(Refusal::NotPassed {
        digest: digest.to_string(),
        previous: previous.to_string(),
        now: now.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msgs(m: &[&str]) -> Vec<String> {
        m.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn conventional_commits() {
        assert_eq!(bump_of(&msgs(&["fix: typo", "chore: deps"])), Bump::Patch);
        assert_eq!(bump_of(&msgs(&["fix: typo", "feat(cart): coupons"])), Bump::Minor);
        assert_eq!(bump_of(&msgs(&["feat!: new API"])), Bump::Major);
        assert_eq!(
            bump_of(&msgs(&["refactor: x\n\nBREAKING CHANGE: removes /v1"])),
            Bump::Major
        );
        assert_eq!(bump_of(&msgs(&["Merge pull request #12 from x/y"])), Bump::Patch);
    }

    #[test]
    fn next_versions() {
        let existing = releases(["v1.2.0", "v1.2.9", "v1.3.0-rc.1", "latest", "v0.9.0", "dev-abc"]);
        assert_eq!(existing.last().unwrap(), &Version::new(1, 2, 9));
        assert_eq!(next_version(&existing, Bump::Minor), Version::new(1, 3, 0));
        assert_eq!(next_version(&existing, Bump::Patch), Version::new(1, 2, 10));
        assert_eq!(next_version(&existing, Bump::Major), Version::new(2, 0, 0));
        assert_eq!(next_version(&[], Bump::Patch), Version::new(0, 1, 0));
    }

    #[test]
    fn gates_on_versions() {
        let v = |s: &str| Version::parse(s).unwrap();
        assert!(matches!(
            check_version("prod", &v("1.3.0-rc.1"), None, true, false),
            Err(Refusal::PreRelease { .. })
        ));
        assert!(check_version("staging", &v("1.3.0-rc.1"), None, false, false).is_ok());
        assert!(matches!(
            check_version("prod", &v("1.2.0"), Some(&v("1.3.0")), true, false),
            Err(Refusal::Downgrade { .. })
        ));
        assert!(
            check_version("prod", &v("1.2.0"), Some(&v("1.3.0")), true, true).is_ok(),
            "a rollback may go down"
        );
    }

    #[test]
    fn provenance_needs_a_record_of_success_not_just_running_there() {
        let runs_a = PreviousNow::Whole {
            digest: "sha256:a".into(),
            result: None,
        };
        assert!(check_provenance("sha256:a", "staging", &runs_a, &["sha256:a".into()]).is_ok());
        let e = check_provenance("sha256:a", "staging", &runs_a, &[]).unwrap_err();
        assert!(e.to_string().contains("has not passed staging"), "{e}");
        assert!(e.to_string().contains("no end recorded"), "{e}");
        let e = check_provenance("sha256:x", "staging", &PreviousNow::Unrecorded, &["sha256:a".into()]).unwrap_err();
        assert!(e.to_string().contains("serves nothing this action recorded"), "{e}");
    }
}
