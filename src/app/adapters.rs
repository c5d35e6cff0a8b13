//! The AWS adapters of a run: one set on the job's own credentials, and one per stage role
//! (`role-to-assume`) for the stages in other accounts. ECR, the release's registry, is always
//! the job's: a stage's role reaches its cluster, load balancer, metrics and scaling only.

use std::collections::BTreeMap;

use crate::aws::autoscaling::AutoScalingAdapter;
use crate::aws::ssm::ParameterStore;
use crate::aws::{
    assumed, cloudwatch::CloudWatchMetrics, ecr::EcrRegistry, ecs::EcsAdapter, elbv2::ElbRouter, sdk_config,
};
use crate::domain::settings::ReleaseRun;
use crate::executor::Ports;
use crate::http::HttpSmokeCheck;
use crate::ports::{Reporter, SystemClock};

/// The adapters of one set of credentials, sharing one SDK configuration.
pub struct Adapters {
    ecs: EcsAdapter,
    pub registry: EcrRegistry,
    router: ElbRouter,
    metrics: CloudWatchMetrics,
    autoscaling: AutoScalingAdapter,
    locks: ParameterStore,
}

impl Adapters {
    /// On the job's credentials, or on `role`'s (assumed with the session name).
    pub async fn new(region: &str, role: Option<(&str, &str)>) -> Self {
        let base = sdk_config(region).await;
        let sdk = match role {
            Some((role, session)) => assumed(&base, role, session).await,
            None => base,
        };
        Adapters {
            ecs: EcsAdapter::new(&sdk),
            registry: EcrRegistry::new(&sdk),
            router: ElbRouter::new(&sdk),
            metrics: CloudWatchMetrics::new(&sdk),
            autoscaling: AutoScalingAdapter::new(&sdk),
            locks: ParameterStore::new(&sdk),
        }
    }

    /// The ports of a stage; `registry` is the job's.
    pub fn ports<'a>(&'a self, reporter: &'a dyn Reporter, stage: &str, registry: &'a EcrRegistry) -> Ports<'a> {
        Ports {
            ecs: &self.ecs,
            registry,
            clock: &SystemClock,
            router: &self.router,
            metrics: &self.metrics,
            smoke: &HttpSmokeCheck,
            autoscaling: &self.autoscaling,
            locks: &self.locks,
            reporter,
            stage: stage.to_string(),
        }
    }
}

/// The adapters of every stage role the run may use: the roles of the file's stages (a
/// promotion reads the previous stage with its role), or of the one stage of a run without a
/// file. Building them calls nothing: a role is assumed at its first call.
pub struct StageRoles {
    by_role: BTreeMap<String, Adapters>,
}

impl StageRoles {
    /// Adapters for each role of the stages the run touches or reads (provenance's included).
    pub async fn new(run: &ReleaseRun) -> Self {
        let wanted: BTreeMap<String, String> = run
            .stages
            .iter()
            .chain(run.previous.iter())
            .filter_map(|p| Some((p.cfg.role_to_assume.clone()?, p.cfg.region.clone())))
            .collect();
        let session = session_name(run.stages[0].cfg.context.run_id.as_deref());
        let mut by_role = BTreeMap::new();
        for (role, region) in wanted {
            let adapters = Adapters::new(&region, Some((&role, &session))).await;
            by_role.insert(role, adapters);
        }
        StageRoles { by_role }
    }

    pub fn ports<'a>(
        &'a self,
        reporter: &'a dyn Reporter,
        stage: &str,
        registry: &'a EcrRegistry,
    ) -> BTreeMap<String, Ports<'a>> {
        self.by_role
            .iter()
            .map(|(role, a)| (role.clone(), a.ports(reporter, stage, registry)))
            .collect()
    }
}

/// `ecs-deploy-<run id>`: what CloudTrail shows for the stage's calls (2-64 characters of
/// `[\w+=,.@-]`).
fn session_name(run_id: Option<&str>) -> String {
    let id: String = run_id
        .unwrap_or("local")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "+=,.@-_".contains(*c))
        .take(48)
        .collect();
    format!("ecs-deploy-{id}")
}
