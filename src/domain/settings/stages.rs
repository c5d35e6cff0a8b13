//! The chain's stages and the whole run as validated settings: `config` builds them from the
//! inputs and the config file before any AWS call, so a bad setting in a later stage stops the
//! run before the first stage starts, and the executor never sees raw inputs.

use std::collections::BTreeMap;

use super::DeployConfig;
use crate::domain::image::{EcrLocation, ImageRef};
use crate::domain::release::Command;

/// A validated stage, ready to run once its image is known.
#[derive(Debug, Clone)]
pub struct StagePlan {
    pub name: String,
    pub environment: String,
    pub version_auto: bool,
    pub cfg: DeployConfig,
    /// Its position in the config file (0 for a run from flat inputs).
    pub index: usize,
    /// The file's last stage (prod): nothing is promoted from it.
    pub is_last: bool,
    /// The stage's `url:` (its environment's URL on GitHub).
    pub url: Option<String>,
    /// The stage's `aws-role:`: a run stops before a stage whose role its job does not have.
    pub aws_role: Option<String>,
}

impl StagePlan {
    /// One stage made of flat inputs (no config file).
    pub fn single(cfg: DeployConfig) -> StagePlan {
        let name = cfg.stage.clone().unwrap_or_else(|| "deploy".to_string());
        StagePlan {
            environment: name.clone(),
            name,
            version_auto: false,
            cfg,
            index: 0,
            is_last: true,
            url: None,
            aws_role: None,
        }
    }
}

/// One run of the chain, validated: the command, every stage it may touch, and what provenance
/// and the release's choice read.
#[derive(Debug, Clone)]
pub struct ReleaseRun {
    pub command: Command,
    /// The stages this run may deploy, in order (one, or `stage` through `until`).
    pub stages: Vec<StagePlan>,
    /// The stage before the first one, for a deploy: provenance reads what it runs and passed.
    pub previous: Option<StagePlan>,
    /// The `image` input, when given.
    pub image: Option<String>,
    /// The `containers` input as `component=image` pairs (a multi-image release), when given.
    pub component_images: Vec<(String, String)>,
    /// `to`: what `command: rollback` goes back to (`previous`, a version or a digest).
    pub rollback_to: String,
    /// `allow-unverified`: deploy even when provenance cannot be shown (warned).
    pub allow_unverified: bool,
    /// The repository the chain's versions live in (the image's, `repository:`, or the
    /// first component's); None when the file names none and no ECR image was given.
    pub repository: Option<(ImageRef, EcrLocation)>,
    /// `images:` of the config file: component → repository (empty for a single image).
    pub components: BTreeMap<String, String>,
    /// `resume-workflow:`: the workflow a stopped run points to.
    pub resume_workflow: String,
}

impl ReleaseRun {
    /// A run of one stage made of flat inputs: a deploy, no promotion records read.
    pub fn single(stage: StagePlan) -> ReleaseRun {
        ReleaseRun {
            command: Command::Deploy,
            stages: vec![stage],
            previous: None,
            image: None,
            component_images: Vec::new(),
            rollback_to: "previous".into(),
            allow_unverified: false,
            repository: None,
            components: BTreeMap::new(),
            resume_workflow: "promote.yml".into(),
        }
    }

    /// Every stage the run validated, the one provenance reads included.
    pub fn all_stages_mut(&mut self) -> impl Iterator<Item = &mut StagePlan> {
        self.stages.iter_mut().chain(self.previous.iter_mut())
    }

    pub fn multi_image(&self) -> bool {
        !self.components.is_empty()
    }

    /// The stage before `plan` (a deploy reads what it runs and passed): the run's previous
    /// stage before the first one, else the stage before it in this run.
    pub fn before(&self, plan: &StagePlan) -> Option<&StagePlan> {
        match self.stages.iter().position(|p| p.name == plan.name) {
            Some(0) | None => self.previous.as_ref(),
            Some(i) => self.stages.get(i - 1),
        }
    }
}
