//! Steps: waits, chaos actions and assertions, each with typed fields and
//! its defaults beside them.

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use crate::model::clock::SimDuration;
use crate::model::rollout::RolloutPhase;
use crate::spec::Fraction;
use crate::zone::Zone;

/// Fields every step may carry.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StepCommon {
    /// A name for reports.
    #[serde(default)]
    pub name: Option<String>,
    /// Give up after this long (assertions: how long to keep trying).
    #[serde(default)]
    pub timeout: Option<SimDuration>,
    /// `fail`: the assertion documents a known design defect.
    #[serde(default)]
    pub expect: Option<Expectation>,
    /// Why the failure is expected (required with `expect: fail`).
    #[serde(default)]
    pub reason: Option<String>,
}

/// Keys every step may have besides its action.
pub const COMMON_KEYS: &[&str] = &["name", "timeout", "expect", "reason"];

/// `expect:` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Expectation {
    /// The assertion must hold (the default).
    Pass,
    /// The assertion must fail; a pass fails the suite.
    Fail,
}

/// What `wait: {until: ...}` waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WaitUntil {
    /// Every client zone at >= 99% success for 5 s.
    Steady,
}

impl WaitUntil {
    /// The word in the suite file.
    pub fn as_str(self) -> &'static str {
        match self {
            WaitUntil::Steady => "steady",
        }
    }
}

/// `wait:` a duration (`wait: 30s`), or until a condition holds
/// (`wait: {until: steady}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitSpec {
    /// Let this much time pass.
    For(SimDuration),
    /// Until the condition holds (bounded by the step's timeout).
    Until(WaitUntil),
}

impl<'de> Deserialize<'de> for WaitSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<WaitSpec, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = WaitSpec;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a duration such as 30s, or {until: steady}")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<WaitSpec, E> {
                crate::limits::duration_field(v)
                    .map(WaitSpec::For)
                    .map_err(E::custom)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<WaitSpec, A::Error> {
                let mut until = None;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "until" if until.is_none() => until = Some(map.next_value::<WaitUntil>()?),
                        "until" => return Err(de::Error::duplicate_field("until")),
                        other => return Err(de::Error::unknown_field(other, &["until"])),
                    }
                }
                until
                    .map(WaitSpec::Until)
                    .ok_or_else(|| de::Error::missing_field("until"))
            }
        }
        d.deserialize_any(V)
    }
}

/// A zone argument.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ZoneArg {
    /// The zone (full name or alias; the loader resolves it).
    pub zone: Zone,
}

/// How a lost Spot instance fails its clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SpotLossMode {
    /// The pods are killed: connections are refused at once.
    #[default]
    Refuse,
    /// The addresses stop answering: connects hang until a timeout.
    Blackhole,
}

impl SpotLossMode {
    /// The word in the suite file.
    pub fn as_str(self) -> &'static str {
        match self {
            SpotLossMode::Refuse => "refuse",
            SpotLossMode::Blackhole => "blackhole",
        }
    }
}

/// `spot-loss:`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SpotLossSpec {
    /// Zone whose Spot nodes vanish.
    pub zone: Zone,
    /// Interruption notice during which a drain runs (AWS gives 2m; default none).
    #[serde(default)]
    pub notice: Option<SimDuration>,
    /// How the instances fail, as written (unset: [`SpotLossMode::Refuse`]).
    #[serde(default)]
    pub mode: Option<SpotLossMode>,
}

impl SpotLossSpec {
    /// The mode in effect.
    pub fn mode(&self) -> SpotLossMode {
        self.mode.unwrap_or_default()
    }
}

/// Default drain timeout (kubectl drain has none; suites should bound it).
pub const DEFAULT_DRAIN_TIMEOUT: SimDuration = SimDuration::secs(120);

fn default_drain_timeout() -> SimDuration {
    DEFAULT_DRAIN_TIMEOUT
}

/// `drain:`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DrainSpec {
    /// Zone to cordon and drain.
    pub zone: Zone,
    /// How long to keep retrying refused evictions.
    #[serde(default = "default_drain_timeout")]
    pub timeout: SimDuration,
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

/// A success or local share the assertions require unless told otherwise.
fn ninety_nine_percent() -> Fraction {
    Fraction::percent(99.0)
}

fn no_share() -> Fraction {
    Fraction::ZERO
}

fn one_percent() -> Fraction {
    Fraction::percent(1.0)
}

fn secs_10() -> SimDuration {
    SimDuration::secs(10)
}

fn secs_30() -> SimDuration {
    SimDuration::secs(30)
}

fn secs_60() -> SimDuration {
    SimDuration::secs(60)
}

fn secs_120() -> SimDuration {
    SimDuration::secs(120)
}

/// Requests a window needs per zone before a traffic assertion may judge it.
fn hundred_requests() -> u64 {
    100
}

fn yes() -> bool {
    true
}

/// `assert-failover:`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FailoverSpec {
    /// The lost zone whose clients are watched.
    pub zone: Zone,
    /// Zones that must serve them.
    pub to: Vec<Zone>,
    /// Minimum success share.
    #[serde(default = "ninety_nine_percent")]
    pub success: Fraction,
    /// Deadline after the chaos step.
    #[serde(default = "secs_60")]
    pub within: SimDuration,
    /// Evidence window.
    #[serde(default = "secs_10")]
    pub window: SimDuration,
}

/// `assert-no-cross-zone:`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CrossZoneSpec {
    /// Client zones checked (empty: every client zone).
    #[serde(default)]
    pub zones: Vec<Zone>,
    /// Window looked back over.
    #[serde(default = "secs_30")]
    pub window: SimDuration,
    /// Allowed cross-zone share.
    #[serde(default = "no_share")]
    pub max_share: Fraction,
    /// Evidence: requests needed per zone.
    #[serde(default = "hundred_requests")]
    pub min_requests: u64,
}

/// `assert-error-budget:`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ErrorBudgetSpec {
    /// Client zones checked (empty: every client zone).
    #[serde(default)]
    pub zones: Vec<Zone>,
    /// Allowed non-2xx share.
    #[serde(default = "one_percent")]
    pub max_errors: Fraction,
    /// Window looked back over.
    #[serde(default = "secs_30")]
    pub window: SimDuration,
    /// Evidence: requests needed per zone.
    #[serde(default = "hundred_requests")]
    pub min_requests: u64,
}

/// `assert-pdb:`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PdbSpec {
    /// The zone whose drain is checked (the latest drain of it).
    pub drain_of: Zone,
    /// The budget that must have refused evictions.
    pub blocked_by: String,
    /// Pods that must remain on the zone's nodes.
    #[serde(default)]
    pub pods_left: Option<usize>,
    /// Other budgets' disruptionsAllowed unchanged since the drain started.
    #[serde(default = "yes")]
    pub others_unchanged: bool,
}

/// `assert-rollout:`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RolloutStateSpec {
    /// Rollout name.
    pub rollout: String,
    /// Expected `.status.phase`.
    #[serde(default)]
    pub phase: Option<RolloutPhase>,
    /// Expected `.status.currentStepIndex`.
    #[serde(default)]
    pub step: Option<usize>,
    /// Expected canary weight.
    #[serde(default)]
    pub canary_weight: Option<i32>,
    /// Keep checking this long (unset: check once).
    #[serde(default)]
    pub within: Option<SimDuration>,
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
    pub zone: Zone,
    /// Deadline after the step starts.
    #[serde(default = "secs_120")]
    pub within: SimDuration,
    /// Required local share.
    #[serde(default = "ninety_nine_percent")]
    pub local_share: Fraction,
    /// Evidence window.
    #[serde(default = "secs_10")]
    pub window: SimDuration,
}

/// Declares the actions once: the enum, each one's key in the suite file,
/// and the list of keys for hints.
macro_rules! actions {
    ($($(#[$doc:meta])* $variant:ident($spec:ty) = $key:literal,)+) => {
        /// Every step action, by its key in the suite file.
        #[derive(Debug, Clone, PartialEq, Deserialize)]
        pub enum Action {
            $($(#[$doc])* #[serde(rename = $key)] $variant($spec),)+
        }

        /// Keys an action may have, in the order suites/README.md lists them.
        pub const ACTION_KEYS: &[&str] = &[$($key),+];

        impl Action {
            /// The step's key in the file.
            pub fn key(&self) -> &'static str {
                match self {
                    $(Action::$variant(_) => $key,)+
                }
            }
        }
    };
}

actions! {
    /// Let time pass.
    Wait(WaitSpec) = "wait",
    /// Abrupt loss of a zone's Spot nodes.
    SpotLoss(SpotLossSpec) = "spot-loss",
    /// Cordon + evict through PDBs.
    Drain(DrainSpec) = "drain",
    /// Cordon only.
    Cordon(ZoneArg) = "cordon",
    /// Bring a zone's nodes back.
    Restore(ZoneArg) = "restore",
    /// New image for one Rollout.
    Canary(CanarySpec) = "canary",
    /// Promote a paused Rollout.
    Promote(RolloutArg) = "promote",
    /// Abort a Rollout.
    Abort(RolloutArg) = "abort",
    /// Failover target reached.
    AssertFailover(FailoverSpec) = "assert-failover",
    /// No successful request served outside the client's zone.
    AssertNoCrossZone(CrossZoneSpec) = "assert-no-cross-zone",
    /// Non-2xx share per client zone.
    AssertErrorBudget(ErrorBudgetSpec) = "assert-error-budget",
    /// Drain blocked by a PDB.
    AssertPdb(PdbSpec) = "assert-pdb",
    /// Rollout status fields.
    AssertRollout(RolloutStateSpec) = "assert-rollout",
    /// A canary changed only its own zone's route.
    AssertRouteIsolation(IsolationSpec) = "assert-route-isolation",
    /// Served locally again after restore.
    AssertRecovery(RecoverySpec) = "assert-recovery",
}

impl Action {
    /// The evidence window of a traffic assertion.
    pub fn evidence_window(&self) -> Option<SimDuration> {
        match self {
            Action::AssertFailover(a) => Some(a.window),
            Action::AssertNoCrossZone(a) => Some(a.window),
            Action::AssertErrorBudget(a) => Some(a.window),
            Action::AssertRecovery(a) => Some(a.window),
            _ => None,
        }
    }

    /// True for assertions (every `assert-*` key).
    pub fn is_assertion(&self) -> bool {
        self.key().starts_with("assert-")
    }

    /// Every zone the action names, for the loader to resolve in place.
    pub fn zones_mut(&mut self) -> Vec<(&'static str, Option<usize>, &mut Zone)> {
        fn list<'a>(
            field: &'static str,
            zones: &'a mut [Zone],
        ) -> impl Iterator<Item = (&'static str, Option<usize>, &'a mut Zone)> {
            zones
                .iter_mut()
                .enumerate()
                .map(move |(i, z)| (field, Some(i), z))
        }
        match self {
            Action::SpotLoss(s) => vec![("zone", None, &mut s.zone)],
            Action::Drain(d) => vec![("zone", None, &mut d.zone)],
            Action::Cordon(z) | Action::Restore(z) => vec![("zone", None, &mut z.zone)],
            Action::AssertFailover(a) => std::iter::once(("zone", None, &mut a.zone))
                .chain(list("to", &mut a.to))
                .collect(),
            Action::AssertNoCrossZone(a) => list("zones", &mut a.zones).collect(),
            Action::AssertErrorBudget(a) => list("zones", &mut a.zones).collect(),
            Action::AssertPdb(a) => vec![("drainOf", None, &mut a.drain_of)],
            Action::AssertRecovery(a) => vec![("zone", None, &mut a.zone)],
            Action::Wait(_)
            | Action::Canary(_)
            | Action::Promote(_)
            | Action::Abort(_)
            | Action::AssertRollout(_)
            | Action::AssertRouteIsolation(_) => Vec::new(),
        }
    }

    /// The Rollout the action names, if any, for the loader to check.
    pub fn rollout(&self) -> Option<&str> {
        match self {
            Action::Canary(c) => Some(&c.rollout),
            Action::Promote(r) | Action::Abort(r) => Some(&r.rollout),
            Action::AssertRollout(a) => Some(&a.rollout),
            Action::AssertRouteIsolation(a) => Some(&a.rollout),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(json: serde_json::Value) -> Result<Action, String> {
        serde_json::from_value(json).map_err(|e| e.to_string())
    }

    #[test]
    fn every_key_round_trips_through_the_enum() {
        assert_eq!(ACTION_KEYS.len(), 15);
        let a = action(serde_json::json!({"spot-loss": {"zone": "c"}})).unwrap();
        assert_eq!(a.key(), "spot-loss");
        assert!(!a.is_assertion());
        let a =
            action(serde_json::json!({"assert-pdb": {"drainOf": "c", "blockedBy": "p"}})).unwrap();
        assert!(a.is_assertion());
    }

    #[test]
    fn defaults_sit_with_their_fields() {
        let Action::AssertFailover(f) =
            action(serde_json::json!({"assert-failover": {"zone": "c", "to": ["a"]}})).unwrap()
        else {
            panic!("not a failover")
        };
        assert_eq!(f.success, Fraction::percent(99.0));
        assert_eq!(f.within, SimDuration::secs(60));
        assert_eq!(f.window, SimDuration::secs(10));
        let Action::AssertPdb(p) =
            action(serde_json::json!({"assert-pdb": {"drainOf": "c", "blockedBy": "p"}})).unwrap()
        else {
            panic!("not a pdb")
        };
        assert!(p.others_unchanged);
        let Action::Drain(d) = action(serde_json::json!({"drain": {"zone": "c"}})).unwrap() else {
            panic!("not a drain")
        };
        assert_eq!(d.timeout, DEFAULT_DRAIN_TIMEOUT);
    }

    #[test]
    fn wait_takes_a_duration_or_a_condition_and_nothing_else() {
        assert_eq!(
            action(serde_json::json!({"wait": "30s"})).unwrap(),
            Action::Wait(WaitSpec::For(SimDuration::secs(30)))
        );
        assert_eq!(
            action(serde_json::json!({"wait": {"until": "steady"}})).unwrap(),
            Action::Wait(WaitSpec::Until(WaitUntil::Steady))
        );
        for (bad, says) in [
            (serde_json::json!(30), "a duration such as 30s"),
            (serde_json::json!("soon"), "'soon' is not a duration"),
            (
                serde_json::json!({"until": "calm"}),
                "unknown variant `calm`",
            ),
            (
                serde_json::json!({"until": "steady", "x": 1}),
                "unknown field `x`",
            ),
            (serde_json::json!({}), "missing field `until`"),
        ] {
            let e = action(serde_json::json!({ "wait": bad })).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn typed_fields_refuse_what_they_cannot_hold() {
        for (bad, says) in [
            (
                serde_json::json!({"spot-loss": {"zone": "c", "mode": "drop"}}),
                "unknown variant `drop`",
            ),
            (
                serde_json::json!({"assert-rollout": {"rollout": "r", "phase": "Done"}}),
                "unknown variant `Done`",
            ),
            (
                serde_json::json!({"assert-pdb": {"drainOf": "c", "blockedBy": "p", "podsLeft": -1}}),
                "invalid value: integer `-1`",
            ),
            (
                serde_json::json!({"assert-failover": {"zone": "c", "to": [], "success": "120%"}}),
                "'120%' is not a share",
            ),
            (
                serde_json::json!({"drain": {"zone": "c", "timeout": "forever"}}),
                "'forever' is not a duration",
            ),
        ] {
            let e = action(bad.clone()).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }
}
