//! The runner's `GITHUB_*` variables and the event payload they point to.

pub use crate::domain::settings::GithubContext;

impl GithubContext {
    #[allow(clippy::disallowed_methods)] // config/ is where the process environment is read
    pub fn from_env() -> GithubContext {
        Self::from_vars(std::env::vars())
    }

    pub fn from_vars<I: IntoIterator<Item = (String, String)>>(vars: I) -> GithubContext {
        // Every field is optional, so this only fails on non-UTF-8 data; then we run without context.
        let mut context: GithubContext = envy::prefixed("GITHUB_").from_iter(vars).unwrap_or_default();
        context.event = context.event_path.as_deref().and_then(read_event);
        context
    }

    /// The `commit` input: the commit the image was built from, which the records and every
    /// report name instead of `GITHUB_SHA` (a PR's merge ref, or a dispatch's HEAD).
    pub fn with_commit(mut self, raw: &super::RawInputs) -> Result<GithubContext, super::InputError> {
        let repository = super::inputs::given(&raw.commit_repository);
        let Some(commit) = super::inputs::given(&raw.commit) else {
            return match repository {
                Some(_) => Err(super::InputError::new(
                    "commit-repository",
                    "is set without `commit`: a repository alone names no commit to report on".to_string(),
                    "pass the commit too, e.g. `commit: ${{ github.event.client_payload.commit }}`",
                )),
                None => Ok(self),
            };
        };
        if let Some(repo) = repository {
            if !is_repository_name(repo) {
                return Err(super::InputError::new(
                    "commit-repository",
                    format!(
                        "`{}` is not a repository as owner/name",
                        super::input_error::printable(repo)
                    ),
                    "pass the app repository's full name, e.g. `acme/shop` (`${{ github.event.client_payload.repository }}`)",
                ));
            }
            self.commit_repository = Some(repo.to_string());
        }
        if commit.len() != 40 || !commit.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()) {
            return Err(super::InputError::new(
                "commit",
                format!(
                    "`{}` is not a full commit SHA (40 lower-case hex digits)",
                    super::input_error::printable(commit)
                ),
                "pass the commit the image was built from, e.g. `${{ github.event.pull_request.head.sha || github.sha }}`",
            ));
        }
        self.runner_sha = self.sha.take();
        self.sha = Some(commit.to_string());
        Ok(self)
    }
}

/// The event payload, if the runner gave one and it parses; reporting degrades without it.
fn read_event(path: &str) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

/// GitHub's owner/name: an owner of letters, digits and hyphens, a name of letters, digits,
/// `.`, `_` and `-` (it goes into API paths, so nothing else is let through).
fn is_repository_name(s: &str) -> bool {
    let Some((owner, name)) = s.split_once('/') else {
        return false;
    };
    let owner_ok =
        !owner.is_empty() && owner.len() <= 39 && owner.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    let name_ok = !name.is_empty()
        && name.len() <= 100
        && name != "."
        && name != ".."
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    owner_ok && name_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_commit_input_replaces_github_sha_when_it_is_a_full_sha() {
        let ctx = GithubContext {
            sha: Some("9".repeat(40)),
            ..Default::default()
        };
        let raw = |c: &str| super::super::RawInputs {
            commit: Some(c.into()),
            ..Default::default()
        };
        let sha = "0123456789abcdef0123456789abcdef01234567";
        let with = ctx.clone().with_commit(&raw(sha)).unwrap();
        assert_eq!(with.sha.as_deref(), Some(sha));
        assert_eq!(with.runner_sha, ctx.sha, "GITHUB_SHA is kept for the job's deployment");
        assert_eq!(ctx.clone().with_commit(&raw("")).unwrap().sha, ctx.sha);
        for bad in [
            "0123456",
            "main",
            &sha.to_uppercase(),
            "0123456789abcdef0123456789abcdef0123456$",
        ] {
            let e = ctx.clone().with_commit(&raw(bad)).unwrap_err();
            assert_eq!(e.input, "commit", "{bad}");
        }
    }

    #[test]
    fn the_commit_repository_comes_with_a_commit_and_is_owner_slash_name() {
        let ctx = GithubContext {
            repository: Some("acme/infra".into()),
            sha: Some("9".repeat(40)),
            ..Default::default()
        };
        let raw = |c: &str, r: &str| super::super::RawInputs {
            commit: Some(c.into()),
            commit_repository: Some(r.into()),
            ..Default::default()
        };
        let sha = "0123456789abcdef0123456789abcdef01234567";
        let with = ctx.clone().with_commit(&raw(sha, "acme/shop")).unwrap();
        assert_eq!(with.report_repository(), Some("acme/shop"));
        assert_eq!(with.repository.as_deref(), Some("acme/infra"), "environments stay here");
        assert_eq!(ctx.report_repository(), Some("acme/infra"));
        for bad in ["acme", "acme/shop/x", "/shop", "acme/..", "ac me/shop", "acme/shop?x=1"] {
            let e = ctx.clone().with_commit(&raw(sha, bad)).unwrap_err();
            assert_eq!(e.input, "commit-repository", "{bad}");
        }
        let e = ctx.clone().with_commit(&raw("", "acme/shop")).unwrap_err();
        assert_eq!(e.input, "commit-repository");
    }

    #[test]
    fn reads_the_runner_variables() {
        let ctx = GithubContext::from_vars([
            ("GITHUB_REPOSITORY".to_string(), "acme/shop".to_string()),
            ("GITHUB_RUN_ID".to_string(), "42".to_string()),
            ("GITHUB_RUN_ATTEMPT".to_string(), "2".to_string()),
            ("GITHUB_REF".to_string(), "refs/heads/main".to_string()),
            ("HOME".to_string(), "/root".to_string()),
        ]);
        assert_eq!(ctx.git_ref.as_deref(), Some("refs/heads/main"));
        assert_eq!(
            ctx.run_url().as_deref(),
            Some("https://github.com/acme/shop/actions/runs/42/attempts/2")
        );
    }
}
