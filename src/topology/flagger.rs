//! Flagger `Canary` (`flagger.app/v1beta1`): recognised so that users see it
//! was read; zonechaos does not model Flagger.

use serde::Deserialize;

/// `Canary.spec`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct FlaggerCanarySpec {
    /// The Deployment the canary drives.
    pub target_ref: Option<serde_json::Value>,
    /// Generated Service / VirtualService settings.
    pub service: Option<serde_json::Value>,
    /// Analysis settings.
    pub analysis: Option<serde_json::Value>,
}
