//! The suite format as typed values, parsed once at the edge: durations are
//! [`SimDuration`](crate::model::clock::SimDuration)s, shares [`Fraction`]s,
//! modes and phases enums, zones [`Zone`](crate::zone::Zone)s. Defaults sit
//! next to the fields they belong to. Cross-references (does this zone,
//! Rollout or PDB exist?) are the loader's job (`suite::load`); everything
//! after it reads these types and never re-parses a string.
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

pub mod fraction;
pub mod step;
pub mod suite;

pub use fraction::Fraction;
pub use step::{
    Action, CanarySpec, CrossZoneSpec, DrainSpec, ErrorBudgetSpec, Expectation, FailoverSpec,
    IsolationSpec, PdbSpec, RecoverySpec, RolloutArg, RolloutStateSpec, SpotLossMode, SpotLossSpec,
    StepCommon, WaitSpec, WaitUntil, ZoneArg,
};
pub use suite::{LoadSpec, SuiteFile, TimingSpec};

/// The longest piece of user input an error message repeats.
pub const QUOTE_LIMIT: usize = 200;

/// `text` as an error message may quote it: at most [`QUOTE_LIMIT`]
/// characters (a 5 MB line is not echoed back), marked when cut.
pub fn quote(text: &str) -> String {
    match text.char_indices().nth(QUOTE_LIMIT) {
        None => text.to_owned(),
        Some((cut, _)) => format!("{}…", &text[..cut]),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn quotes_are_cut_at_the_limit() {
        assert_eq!(super::quote("30s"), "30s");
        let long = "é".repeat(5000);
        let q = super::quote(&long);
        assert_eq!(q.chars().count(), super::QUOTE_LIMIT + 1);
        assert!(q.ends_with('…'));
    }
}
