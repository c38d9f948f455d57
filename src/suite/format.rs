//! The suite file format: what to deploy, the load, and ordered steps of
//! waits, chaos actions and assertions, with `finally` steps that always run.
//!
//! ```yaml
//! name: zone-c-spot-loss
//! topology: [topologies/zone-failover.yaml]   # relative to the suite file
//! load: {service: test, namespace: default, rps: 50}
//! steps:
//!   - wait: 30s
//!   - spot-loss: {zone: us-east-1c}
//!   - assert-failover: {zone: us-east-1c, to: [us-east-1a, us-east-1b], within: 30s}
//! finally:
//!   - restore: {zone: us-east-1c}
//! ```

use serde::Deserialize;

/// A whole suite file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SuiteFile {
    /// Suite name (reports and test names).
    pub name: String,
    /// What the suite shows, for readers.
    #[serde(default)]
    pub description: Option<String>,
    /// Manifest files or directories, relative to the suite file.
    pub topology: Vec<String>,
    /// Cluster profile, relative to the suite file (default: the built-in three-zones profile).
    #[serde(default)]
    pub profile: Option<String>,
    /// Seed of the model's random choices.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// The load.
    pub load: LoadSpec,
    /// Cluster timing overrides.
    #[serde(default)]
    pub timing: TimingSpec,
    /// Steps in order.
    pub steps: Vec<serde_json::Value>,
    /// Steps that always run at the end, even after a failure.
    #[serde(default)]
    pub finally: Vec<serde_json::Value>,
}

fn default_seed() -> u64 {
    1
}

/// Zone-aware load: one load client per zone on an on-demand node.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoadSpec {
    /// Target Service.
    pub service: String,
    /// Its namespace.
    #[serde(default = "default_namespace")]
    pub namespace: String,
    /// Requests per second per client zone.
    pub rps: f64,
    /// Client zones (default: every zone of the profile).
    #[serde(default)]
    pub zones: Vec<String>,
}

fn default_namespace() -> String {
    "default".into()
}

/// Optional overrides of Kubernetes timing.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TimingSpec {
    /// Node-monitor grace period (default 50s).
    pub node_monitor_grace: Option<String>,
    /// Pod start-up until ready (default 5s).
    pub pod_startup: Option<String>,
    /// Taint toleration of NotReady nodes (default 300s).
    pub not_ready_toleration: Option<String>,
}

/// Fields every step may carry.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepCommon {
    /// A name for reports.
    #[serde(default)]
    pub name: Option<String>,
    /// Give up after this long (assertions: how long to keep trying).
    #[serde(default)]
    pub timeout: Option<String>,
    /// `fail`: the assertion documents a known design defect.
    #[serde(default)]
    pub expect: Option<Expectation>,
    /// Why the failure is expected (required with `expect: fail`).
    #[serde(default)]
    pub reason: Option<String>,
}

/// `expect:` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Expectation {
    /// The assertion must hold (the default).
    Pass,
    /// The assertion must fail; a pass fails the suite.
    Fail,
}

/// `wait:` a duration, or until the mesh is steady.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum WaitSpec {
    /// `wait: 30s`.
    For(String),
    /// `wait: {until: steady}`.
    Until {
        /// Only `steady` (every client zone >= 99% success for 5 s).
        until: String,
    },
}

/// A zone argument.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ZoneArg {
    /// The zone (full name or alias).
    pub zone: String,
}

/// `spot-loss:`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SpotLossSpec {
    /// Zone whose Spot nodes vanish.
    pub zone: String,
    /// Interruption notice during which a drain runs (AWS gives 2m; default none).
    #[serde(default)]
    pub notice: Option<String>,
    /// `refuse` (connections refused at once) or `blackhole` (connects time out).
    #[serde(default)]
    pub mode: Option<String>,
}

/// `drain:`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DrainSpec {
    /// Zone to cordon and drain.
    pub zone: String,
    /// How long to keep retrying refused evictions (default 2m).
    #[serde(default)]
    pub timeout: Option<String>,
}

/// `canary:`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CanarySpec {
    /// Rollout name.
    pub rollout: String,
    /// New image.
    pub image: String,
}

/// `promote:` / `abort:`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RolloutArg {
    /// Rollout name.
    pub rollout: String,
}

/// `assert-failover:`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FailoverSpec {
    /// The lost zone whose clients are watched.
    pub zone: String,
    /// Zones that must serve them.
    pub to: Vec<String>,
    /// Minimum success share (default 99%).
    #[serde(default)]
    pub success: Option<String>,
    /// Deadline after the chaos step (default 60s).
    #[serde(default)]
    pub within: Option<String>,
    /// Evidence window (default 10s).
    #[serde(default)]
    pub window: Option<String>,
}

/// `assert-no-cross-zone:`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CrossZoneSpec {
    /// Client zones checked (default all).
    #[serde(default)]
    pub zones: Vec<String>,
    /// Window looked back over (default 30s).
    #[serde(default)]
    pub window: Option<String>,
    /// Allowed cross-zone share (default 0%).
    #[serde(default)]
    pub max_share: Option<String>,
    /// Evidence: requests needed per zone (default 100).
    #[serde(default)]
    pub min_requests: Option<u64>,
}

/// `assert-error-budget:`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ErrorBudgetSpec {
    /// Client zones checked (default all).
    #[serde(default)]
    pub zones: Vec<String>,
    /// Allowed non-2xx share (default 1%).
    #[serde(default)]
    pub max_errors: Option<String>,
    /// Window looked back over (default 30s).
    #[serde(default)]
    pub window: Option<String>,
    /// Evidence: requests needed per zone (default 100).
    #[serde(default)]
    pub min_requests: Option<u64>,
}

/// `assert-pdb:`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PdbSpec {
    /// The zone whose drain is checked (the latest drain of it).
    pub drain_of: String,
    /// The budget that must have refused evictions.
    pub blocked_by: String,
    /// Pods that must remain on the zone's nodes.
    #[serde(default)]
    pub pods_left: Option<i32>,
    /// Other budgets' disruptionsAllowed unchanged since the drain started (default true).
    #[serde(default)]
    pub others_unchanged: Option<bool>,
}

/// `assert-rollout:`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RolloutStateSpec {
    /// Rollout name.
    pub rollout: String,
    /// Expected `.status.phase`.
    #[serde(default)]
    pub phase: Option<String>,
    /// Expected `.status.currentStepIndex`.
    #[serde(default)]
    pub step: Option<usize>,
    /// Expected canary weight.
    #[serde(default)]
    pub canary_weight: Option<i32>,
    /// Keep checking this long (default: check once).
    #[serde(default)]
    pub within: Option<String>,
}

/// `assert-route-isolation:`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IsolationSpec {
    /// The Rollout whose canary ran: only its routes may have changed since its `canary` step.
    pub rollout: String,
}

/// `assert-recovery:`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecoverySpec {
    /// Zone whose clients must be served locally again.
    pub zone: String,
    /// Deadline after the step starts (default 120s).
    #[serde(default)]
    pub within: Option<String>,
    /// Required local share (default 99%).
    #[serde(default)]
    pub local_share: Option<String>,
    /// Evidence window (default 10s).
    #[serde(default)]
    pub window: Option<String>,
}

/// Every step action, by its key in the suite file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Let time pass.
    Wait(WaitSpec),
    /// Abrupt loss of a zone's Spot nodes.
    SpotLoss(SpotLossSpec),
    /// Cordon + evict through PDBs.
    Drain(DrainSpec),
    /// Cordon only.
    Cordon(ZoneArg),
    /// Bring a zone's nodes back.
    Restore(ZoneArg),
    /// New image for one Rollout.
    Canary(CanarySpec),
    /// Promote a paused Rollout.
    Promote(RolloutArg),
    /// Abort a Rollout.
    Abort(RolloutArg),
    /// Failover target reached.
    AssertFailover(FailoverSpec),
    /// No successful request served outside the client's zone.
    AssertNoCrossZone(CrossZoneSpec),
    /// Non-2xx share per client zone.
    AssertErrorBudget(ErrorBudgetSpec),
    /// Drain blocked by a PDB.
    AssertPdb(PdbSpec),
    /// Rollout status fields.
    AssertRollout(RolloutStateSpec),
    /// A canary changed only its own zone's route.
    AssertRouteIsolation(IsolationSpec),
    /// Served locally again after restore.
    AssertRecovery(RecoverySpec),
}

/// Keys an action may have, for "unknown step" hints.
pub const ACTION_KEYS: &[&str] = &[
    "wait",
    "spot-loss",
    "drain",
    "cordon",
    "restore",
    "canary",
    "promote",
    "abort",
    "assert-failover",
    "assert-no-cross-zone",
    "assert-error-budget",
    "assert-pdb",
    "assert-rollout",
    "assert-route-isolation",
    "assert-recovery",
];

/// Keys every step may have besides its action.
pub const COMMON_KEYS: &[&str] = &["name", "timeout", "expect", "reason"];

impl Action {
    /// True for assertions.
    pub fn is_assertion(&self) -> bool {
        matches!(
            self,
            Action::AssertFailover(_)
                | Action::AssertNoCrossZone(_)
                | Action::AssertErrorBudget(_)
                | Action::AssertPdb(_)
                | Action::AssertRollout(_)
                | Action::AssertRouteIsolation(_)
                | Action::AssertRecovery(_)
        )
    }

    /// The step's key in the file.
    pub fn key(&self) -> &'static str {
        match self {
            Action::Wait(_) => "wait",
            Action::SpotLoss(_) => "spot-loss",
            Action::Drain(_) => "drain",
            Action::Cordon(_) => "cordon",
            Action::Restore(_) => "restore",
            Action::Canary(_) => "canary",
            Action::Promote(_) => "promote",
            Action::Abort(_) => "abort",
            Action::AssertFailover(_) => "assert-failover",
            Action::AssertNoCrossZone(_) => "assert-no-cross-zone",
            Action::AssertErrorBudget(_) => "assert-error-budget",
            Action::AssertPdb(_) => "assert-pdb",
            Action::AssertRollout(_) => "assert-rollout",
            Action::AssertRouteIsolation(_) => "assert-route-isolation",
            Action::AssertRecovery(_) => "assert-recovery",
        }
    }
}
