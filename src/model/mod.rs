//! The executable model of the cluster's control plane (SEMANTICS.md §1,
//! §4): what `sim` runs alone and `local` uses as its control plane, and
//! the status queries backends and `whatif` report from it.

pub mod clock;
pub mod controller;
pub mod drain;
pub mod eviction;
pub mod mesh_config;
pub mod node;
pub mod node_controller;
pub mod pod;
pub mod quiet;
pub mod reconciled;
pub mod replica_set;
pub mod rollout;
pub mod scheduler;
pub mod status;
pub mod world;

pub use clock::{SimDuration, SimTime, parse_duration};
pub use world::{ClusterTiming, World};
