//! The pure core: no I/O, no clocks, no SDK types. Everything here is a value computed
//! from other values, so it is unit-tested with tables.

pub mod analysis;
pub mod autoscaling;
mod aws_enum;
mod binomial;
pub mod codedeploy;
pub mod components;
pub mod console;
pub mod controller;
pub mod diagnostics;
pub mod evidence;
pub mod image;
pub mod image_revision;
pub mod interrupted;
pub mod latency;
pub mod metric_gate;
pub mod minutes;
pub mod native;
mod noise;
pub mod notification;
pub mod one_off_task;
pub mod outcome;
pub mod plan;
pub mod poll;
pub mod production;
pub mod promotion;
pub mod published;
pub mod release;
pub mod report;
pub mod rollout;
#[cfg(any(test, feature = "fakes"))]
pub mod seeded;
pub mod sequential;
pub mod service;
pub mod service_deployment;
pub mod settings;
pub mod slower;
pub mod step_analysis;
pub mod strategy;
pub mod task_definition;
pub mod td_diff;
pub mod traffic;
