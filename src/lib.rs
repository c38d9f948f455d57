//! zonechaos: a chaos and conformance harness for zone-aware progressive
//! delivery on Kubernetes (Argo Rollouts per zone, Istio locality routing,
//! PodDisruptionBudgets per zone, Spot capacity that can vanish a zone at a
//! time).
//!
//! Data flows one way: files -> [`topology`] -> [`model`]/[`backend`] ->
//! [`telemetry`] -> [`assert`] -> [`report`]. Static checks live in [`lint`].

pub mod app;
pub mod assert;
pub mod backend;
pub mod cache;
pub mod chaos;
pub mod cli;
pub mod crds;
pub mod download;
pub mod errors;
pub mod fsread;
pub mod fswrite;
#[doc(hidden)]
pub mod fuzzing;
pub mod interrupt;
pub mod limits;
pub mod lint;
pub mod mesh;
pub mod model;
pub mod parallel;
pub mod pins;
pub mod process;
pub mod profile;
pub mod report;
pub mod spec;
pub mod suite;
pub mod telemetry;
pub mod topology;
pub mod whatif;
pub mod zone;
