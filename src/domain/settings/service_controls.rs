//! `desired-count`, `force-new-deployment`, `keep-revisions` and `suspend-auto-scaling`.

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceControls {
    /// The new revision's task count (None: the service's own).
    pub desired_count: Option<i32>,
    /// Deploy even when the stage already runs this digest, recorded good.
    pub force_new_deployment: bool,
    /// After a success, deregister the family's revisions beyond the newest N (never one a
    /// service of the run uses, never the previous one).
    pub keep_revisions: Option<u32>,
    /// Suspend Application Auto Scaling of the services for the deploy (default on).
    pub suspend_auto_scaling: bool,
}
