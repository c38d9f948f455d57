//! `local`: the model's control plane driving one real Envoy per client
//! zone, configured the way istiod would configure that zone's sidecar
//! through file-based xDS.

pub mod backend;
pub mod envoy;
pub mod netns;
pub mod process;
pub mod rundir;

pub use backend::{Binaries, LocalBackend};
pub use process::find_envoy;
