//! The kind cluster's lifecycle: a kind config generated from the cluster
//! profile ([`kind_config`]), the installs pinned in [`crate::pins`], typed command
//! plans ([`plan`]), the plans of `up`, `down` and `status` ([`actions`])
//! and their execution through duct ([`exec`]), behind the [`KindCluster`]
//! object ([`lifecycle`]), with typed names ([`names`]) and errors
//! ([`error`]).
//!
//! ```text
//! let cluster = KindCluster::new(&profile, ClusterOptions::default())?;
//! cluster.up(&SystemRunner::new())?;           // idempotent; --reuse to keep an existing one
//! let kubeconfig = cluster.kubeconfig();        // the harness's own file
//! ...                                           // run the suite through kube-rs
//! cluster.finish(&SystemRunner::new())?;        // deletes it unless keep
//! ```

pub mod actions;
pub mod doctor;
pub mod error;
pub mod exec;
pub mod kind_config;
pub mod lifecycle;
pub mod names;
pub mod plan;
pub mod tool;

pub use error::ClusterError;
pub use exec::{
    CommandRunner, ExecOptions, ExecReport, Output, RecordingRunner, StepOutcome, SystemRunner,
};
pub use kind_config::{ClusterSize, KindClusterConfig};
pub use lifecycle::{ClusterOptions, ClusterStatus, ImageSource, KindCluster};
pub use names::{ClusterName, KubeconfigPath};
pub use plan::{Plan, PlannedCommand, Step};
pub use tool::Tool;
