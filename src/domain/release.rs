//! Whether a release enters a stage: one pure decision from what the chain observed (what the
//! previous stage runs and has passed, what this stage runs now), so the rules are table-tested
//! and the executor only reads and acts. Provenance never fails open: a previous stage that
//! could not be observed refuses.

use semver::Version;

use super::promotion::{check_provenance, check_version, PreviousNow, Refusal};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Deploy,
    Rollback,
    Plan,
}

/// What a stage's records say it runs now.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Running {
    pub digest: Option<String>,
    pub version: Option<Version>,
    /// The revision is recorded as a successful deployment.
    pub succeeded: bool,
}

/// The stage before this one, as observed for provenance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Previous {
    pub name: String,
    /// What its traffic is on now (for the refusal's words).
    pub now: PreviousNow,
    /// Digests recorded as having passed it (a deployment there that ended in success).
    pub passed: Vec<String>,
}

/// Everything the decision needs, observed by the executor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageView {
    pub stage: String,
    pub is_last: bool,
    /// The stage has a previous one in the chain (provenance applies to a deploy).
    pub has_previous: bool,
    /// `None` with `has_previous`: the previous stage could not be observed.
    pub previous: Option<Previous>,
    pub running: Option<Running>,
}

/// What to do with the release at this stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StageDecision {
    Deploy {
        /// Provenance failed but `allow-unverified` let it through: log it loudly.
        overridden: Option<Refusal>,
    },
    /// The stage already runs this digest, recorded as a success: nothing to do.
    AlreadyThere,
    Refuse(Refusal),
}

pub fn decide_stage(
    command: Command,
    digest: &str,
    version: Option<&Version>,
    view: &StageView,
    allow_unverified: bool,
) -> StageDecision {
    let mut overridden = None;
    if command == Command::Deploy && view.has_previous {
        let verdict = match &view.previous {
            None => Err(Refusal::PreviousUnknown {
                previous: "the previous stage".into(),
            }),
            Some(p) => check_provenance(digest, &p.name, &p.now, &p.passed),
        };
        if let Err(refusal) = verdict {
            if allow_unverified && !matches!(refusal, Refusal::PreviousUnknown { .. }) {
                overridden = Some(refusal);
            } else {
                return StageDecision::Refuse(refusal);
            }
        }
    }
    if let Some(v) = version {
        let current = view.running.as_ref().and_then(|r| r.version.as_ref());
        if let Err(r) = check_version(&view.stage, v, current, view.is_last, command == Command::Rollback) {
            return StageDecision::Refuse(r);
        }
    }
    let already = view
        .running
        .as_ref()
        .is_some_and(|r| r.succeeded && r.digest.as_deref() == Some(digest));
    // A rollback to what already runs, recorded good, has nothing to undo either.
    if already && matches!(command, Command::Deploy | Command::Rollback) {
        return StageDecision::AlreadyThere;
    }
    StageDecision::Deploy { overridden }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "sha256:aaaa";
    const B: &str = "sha256:bbbb";

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    fn view(previous: Option<Previous>, running: Option<Running>) -> StageView {
        StageView {
            stage: "prod".into(),
            is_last: true,
            has_previous: true,
            previous,
            running,
        }
    }

    fn staging(runs: Option<&str>, passed: &[&str]) -> Option<Previous> {
        let now = match runs {
            Some(d) => PreviousNow::Whole {
                digest: d.into(),
                result: passed.contains(&d).then(|| "success".into()),
            },
            None => PreviousNow::Unrecorded,
        };
        staging_now(now, passed)
    }

    fn staging_now(now: PreviousNow, passed: &[&str]) -> Option<Previous> {
        Some(Previous {
            name: "staging".into(),
            now,
            passed: passed.iter().map(|s| s.to_string()).collect(),
        })
    }

    fn kind(d: &StageDecision) -> String {
        match d {
            StageDecision::Deploy { overridden: None } => "deploy".into(),
            StageDecision::Deploy { overridden: Some(_) } => "deploy (overridden)".into(),
            StageDecision::AlreadyThere => "already there".into(),
            StageDecision::Refuse(r) => format!("refuse: {r}"),
        }
    }

    #[test]
    fn decision_table() {
        let prod_on = |d: &str, ver: &str| {
            Some(Running {
                digest: Some(d.into()),
                version: Some(v(ver)),
                succeeded: true,
            })
        };
        /// (story, command, digest, version, view, allow-unverified, expected decision prefix)
        type Case<'a> = (&'a str, Command, &'a str, Option<&'a str>, StageView, bool, &'a str);
        let cases: Vec<Case> = vec![
            (
                "staging runs it, recorded good",
                Command::Deploy,
                A,
                None,
                view(staging(Some(A), &[A]), None),
                false,
                "deploy",
            ),
            (
                "staging runs it whole, but the run was killed in its bake: nothing judged it",
                Command::Deploy,
                A,
                None,
                view(staging(Some(A), &[]), None),
                false,
                "refuse: digest sha256:aaaa has not passed staging: no deployment of it there is recorded as judged good, and staging serves sha256:aaaa on all its traffic with no end recorded",
            ),
            (
                "staging's canary of it is at 50%",
                Command::Deploy,
                A,
                None,
                view(staging_now(PreviousNow::Split(vec![(B.into(), 50), (A.into(), 50)]), &[B]), None),
                false,
                "refuse: digest sha256:aaaa has not passed staging: no deployment of it there is recorded as judged good, and staging is splitting its traffic: sha256:bbbb at 50%, sha256:aaaa at 50%",
            ),
            (
                "a failed rolling deploy of it left in place",
                Command::Deploy,
                A,
                None,
                view(
                    staging_now(
                        PreviousNow::Whole {
                            digest: A.into(),
                            result: Some("failure".into()),
                        },
                        &[B],
                    ),
                    None,
                ),
                false,
                "refuse: digest sha256:aaaa has not passed staging: no deployment of it there is recorded as judged good, and staging serves sha256:aaaa, whose deployment ended in failure and was left in place",
            ),
            (
                "staging passed it earlier",
                Command::Deploy,
                A,
                None,
                view(staging(Some(B), &[A]), None),
                false,
                "deploy",
            ),
            (
                "staging never had it",
                Command::Deploy,
                A,
                None,
                view(staging(Some(B), &[B]), None),
                false,
                "refuse: digest sha256:aaaa has not passed staging",
            ),
            (
                "overridden, loudly",
                Command::Deploy,
                A,
                None,
                view(staging(Some(B), &[]), None),
                true,
                "deploy (overridden)",
            ),
            (
                "staging unreadable: never fail-open",
                Command::Deploy,
                A,
                None,
                view(None, None),
                false,
                "refuse: what the previous stage runs could not be read",
            ),
            (
                "unreadable is not overridable",
                Command::Deploy,
                A,
                None,
                view(None, None),
                true,
                "refuse: what the previous stage runs could not be read",
            ),
            (
                "a rollback checks no provenance",
                Command::Rollback,
                A,
                Some("1.2.0"),
                view(None, prod_on(B, "1.3.0")),
                false,
                "deploy",
            ),
            (
                "a rollback to what already runs is a no-op",
                Command::Rollback,
                A,
                Some("1.2.0"),
                view(None, prod_on(A, "1.2.0")),
                false,
                "already there",
            ),
            (
                "a downgrade needs rollback",
                Command::Deploy,
                A,
                Some("1.2.0"),
                view(staging(Some(A), &[A]), prod_on(B, "1.3.0")),
                false,
                "refuse: v1.2.0 is lower than v1.3.0",
            ),
            (
                "no pre-release in the last stage",
                Command::Deploy,
                A,
                Some("1.4.0-rc.1"),
                view(staging(Some(A), &[A]), None),
                false,
                "refuse: v1.4.0-rc.1 is a pre-release",
            ),
            (
                "a re-run is a no-op",
                Command::Deploy,
                A,
                Some("1.3.0"),
                view(staging(Some(A), &[A]), prod_on(A, "1.3.0")),
                false,
                "already there",
            ),
            (
                "a failed record is deployed again",
                Command::Deploy,
                A,
                None,
                view(
                    staging(Some(A), &[A]),
                    Some(Running {
                        digest: Some(A.into()),
                        version: None,
                        succeeded: false,
                    }),
                ),
                false,
                "deploy",
            ),
        ];
        for (name, command, digest, version, view, allow, want) in cases {
            let got = kind(&decide_stage(command, digest, version.map(v).as_ref(), &view, allow));
            assert!(got.starts_with(want), "{name}: got {got}, want {want}…");
        }
    }

    #[test]
    fn the_first_stage_has_no_provenance() {
        let first = StageView {
            stage: "dev".into(),
            is_last: false,
            has_previous: false,
            previous: None,
            running: None,
        };
        assert_eq!(
            decide_stage(Command::Deploy, A, None, &first, false),
            StageDecision::Deploy { overridden: None }
        );
    }
}
