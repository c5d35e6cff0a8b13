//! ecs-deploy-action: take a container image from a merge to production on AWS ECS, safely.
//!
//! `config` reads and validates; `domain` decides (pure); `executor` acts through `ports`,
//! which `aws` implements; `github` and `report` tell people what happened.

pub mod app;
pub mod aws;
pub mod config;
pub mod domain;
pub mod error;
pub mod executor;
#[cfg(any(test, feature = "fakes"))]
pub mod fakes;
pub mod github;
pub mod http;
pub mod ports;
pub mod webhooks;

#[cfg(test)]
mod test_fixtures;
