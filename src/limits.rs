//! The sizes zonechaos accepts, in one place. Beyond them a run would not
//! fail, it would exhaust the machine: the model keeps every pod, `local`
//! starts one process per pod, and kind one container per node. Each limit
//! is refused up front with exit 2 and a hint (issue 10 item 5); README
//! "Limits" lists them.

use std::fmt;

use crate::model::clock::SimDuration;
use crate::topology::{SourceLoc, Topology, yaml::PathSeg};

/// Most replicas of one Rollout or Deployment (the model keeps every pod).
pub const MAX_REPLICAS_PER_WORKLOAD: i32 = 1_000;
/// Most pods of a whole topology on `sim` and in `whatif`.
pub const MAX_PODS: u64 = 20_000;
/// Most pods on `local`: each is a process (plus one Envoy per client zone).
pub const MAX_LOCAL_PODS: u64 = 48;
/// Most nodes in one pool of a cluster profile (kind runs a container each).
pub const MAX_NODES_PER_POOL: u32 = 50;
/// Most nodes of a whole cluster profile.
pub const MAX_NODES: u64 = 200;
/// Longest duration a suite may write (a wait, a timeout, a window).
pub const MAX_DURATION: SimDuration = SimDuration::secs(1_000 * 3_600);
/// Slowest request rate per client zone: below it a 5 s steady window sees
/// too few requests to judge.
pub const MIN_RPS: f64 = 1.0;
/// Fastest request rate per client zone.
pub const MAX_RPS: f64 = 10_000.0;

/// A limit exceeded by an input, with where and what to do.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct LimitError {
    /// Where the offending value is, when it comes from a file.
    pub loc: Option<SourceLoc>,
    /// What is too big (or too small).
    pub message: String,
    /// How to stay inside the limit.
    pub hint: String,
}

impl LimitError {
    /// The message with its `file:line:col` in front when it has one.
    pub fn located(&self) -> String {
        match &self.loc {
            Some(loc) => format!("{loc}: {}", self.message),
            None => self.message.clone(),
        }
    }
}

impl From<LimitError> for crate::cli::CliError {
    /// A limit is bad input (exit 2), with its position and hint.
    fn from(e: LimitError) -> crate::cli::CliError {
        crate::cli::CliError::usage(e.located(), e.hint)
    }
}

/// Requests per second of one client zone, within [`MIN_RPS`]..=[`MAX_RPS`].
/// Every command and suite field that takes a rate parses it here.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Rps(f64);

impl Rps {
    /// The rate if it is within the limits.
    pub fn new(rate: f64) -> Result<Rps, LimitError> {
        if (MIN_RPS..=MAX_RPS).contains(&rate) {
            Ok(Rps(rate))
        } else {
            Err(LimitError {
                loc: None,
                message: format!("rps {} is out of range", shown(rate)),
                hint: format!("use {MIN_RPS} to {MAX_RPS} requests per second per zone"),
            })
        }
    }

    /// Parses a flag value such as `50` or `12.5`.
    pub fn parse(text: &str) -> Result<Rps, LimitError> {
        let rate = text.trim().parse::<f64>().map_err(|_| LimitError {
            loc: None,
            message: format!(
                "'{}' is not a number of requests per second",
                crate::spec::quote(text)
            ),
            hint: format!("use {MIN_RPS} to {MAX_RPS}, e.g. 50"),
        })?;
        Rps::new(rate)
    }

    /// Requests per second.
    pub fn get(self) -> f64 {
        self.0
    }
}

impl fmt::Display for Rps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A number as an error message shows it: `1e308`, not 309 digits.
fn shown(value: f64) -> String {
    if value.abs() >= 1e6 || (value != 0.0 && value.abs() < 1e-6) {
        format!("{value:e}")
    } else {
        value.to_string()
    }
}

/// A `--rps` flag value: clap's `value_parser` for every command that takes
/// a rate (whatif, render, loadgen), so they all accept the same range.
pub fn rps_flag(text: &str) -> Result<f64, String> {
    Rps::parse(text)
        .map(Rps::get)
        .map_err(|e| format!("{}; {}", e.message, e.hint))
}

/// `duration` if it is at most [`MAX_DURATION`].
pub fn check_duration(duration: SimDuration) -> Result<SimDuration, LimitError> {
    if duration <= MAX_DURATION {
        Ok(duration)
    } else {
        Err(LimitError {
            loc: None,
            message: format!("{duration} is longer than the longest duration zonechaos accepts"),
            hint: format!("write at most {MAX_DURATION}"),
        })
    }
}

/// A duration field of a suite or profile, as serde sees it: parsed, then
/// held to [`MAX_DURATION`].
pub fn duration_field(text: &str) -> Result<SimDuration, String> {
    let duration = crate::model::clock::parse_duration(text).map_err(|e| e.to_string())?;
    check_duration(duration).map_err(|e| format!("{}; {}", e.message, e.hint))
}

/// The topology's pod counts within what `sim` and `whatif` model
/// (`max_pods`: [`MAX_PODS`], or [`MAX_LOCAL_PODS`] on `local`). Negative
/// replicas (the API server refuses them) are out of range too.
pub fn check_topology(topology: &Topology, max_pods: u64) -> Result<(), LimitError> {
    let mut total: u64 = 0;
    for workload in topology.workloads() {
        let object = workload.object;
        let at = || Some(object.loc(&[PathSeg::from("spec"), PathSeg::from("replicas")]));
        if !(0..=MAX_REPLICAS_PER_WORKLOAD).contains(&workload.replicas) {
            return Err(LimitError {
                loc: at(),
                message: format!(
                    "{}: replicas {} is outside 0..={MAX_REPLICAS_PER_WORKLOAD}",
                    object.display_name(),
                    workload.replicas
                ),
                hint: format!(
                    "zonechaos models every pod: use at most {MAX_REPLICAS_PER_WORKLOAD} replicas per workload (a few per zone show the same behaviour)"
                ),
            });
        }
        total += u64::from(workload.replicas.unsigned_abs());
        if total > max_pods {
            return Err(LimitError {
                loc: at(),
                message: format!(
                    "the topology has more than {max_pods} pods (reached at {})",
                    object.display_name()
                ),
                hint: format!(
                    "use fewer replicas: this backend runs at most {max_pods} pods (README, Limits)"
                ),
            });
        }
    }
    Ok(())
}

/// A profile's node counts within [`MAX_NODES_PER_POOL`] and [`MAX_NODES`].
/// `pools` lists (pool label, node count); a pool over its limit comes back
/// with its position in that list, a total over the limit with `None`.
pub fn check_nodes(
    pools: impl IntoIterator<Item = (String, u32)>,
) -> Result<(), (Option<usize>, LimitError)> {
    let mut total: u64 = 0;
    for (index, (pool, nodes)) in pools.into_iter().enumerate() {
        if nodes > MAX_NODES_PER_POOL {
            return Err((
                Some(index),
                LimitError {
                    loc: None,
                    message: format!(
                        "pool {pool} has {nodes} nodes, more than {MAX_NODES_PER_POOL}"
                    ),
                    hint: format!(
                        "use at most {MAX_NODES_PER_POOL} nodes per pool (kind runs a container per node)"
                    ),
                },
            ));
        }
        total += u64::from(nodes);
    }
    if total > MAX_NODES {
        return Err((
            None,
            LimitError {
                loc: None,
                message: format!("the profile has {total} nodes, more than {MAX_NODES}"),
                hint: format!("use at most {MAX_NODES} nodes in all"),
            },
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::loader::tests::load;

    fn topology(replicas: &str, copies: usize) -> Topology {
        let text: String = (0..copies)
            .map(|i| {
                format!(
                    "---\napiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {{name: r{i}}}\nspec:\n  replicas: {replicas}\n"
                )
            })
            .collect();
        let loaded = load(&text);
        assert!(loaded.issues.is_empty(), "{:?}", loaded.issues);
        Topology::new(loaded.objects)
    }

    /// issue 10 item 5: `replicas: 2147483647` aborted on memory.
    #[test]
    fn replicas_beyond_the_limit_are_refused_at_their_line() {
        let err = check_topology(&topology("2147483647", 1), MAX_PODS).unwrap_err();
        assert!(err.message.contains("replicas 2147483647"), "{err}");
        assert_eq!(err.loc.unwrap().pos.line, 6);
        let err = check_topology(&topology("-1", 1), MAX_PODS).unwrap_err();
        assert!(err.message.contains("replicas -1"), "{err}");
        assert!(check_topology(&topology("1000", 1), MAX_PODS).is_ok());
        assert!(check_topology(&topology("0", 1), MAX_PODS).is_ok());
    }

    /// issue 10 item 5: `local` would start one process per pod.
    #[test]
    fn the_pod_total_is_capped_per_backend() {
        let t = topology("16", 4);
        assert!(check_topology(&t, MAX_PODS).is_ok());
        let err = check_topology(&t, MAX_LOCAL_PODS).unwrap_err();
        assert!(err.message.contains("more than 48 pods"), "{err}");
    }

    /// issue 10 item 5: `nodes: 4294967295` wrapped a u32 sum.
    #[test]
    fn node_counts_are_capped_without_overflow() {
        let pool = |n| ("us-east-1a/spot".to_owned(), n);
        assert!(check_nodes([pool(50), pool(50)]).is_ok());
        assert_eq!(check_nodes([pool(1), pool(51)]).unwrap_err().0, Some(1));
        let many: Vec<_> = (0..5).map(|_| pool(50)).collect();
        let (at, err) = check_nodes(many).unwrap_err();
        assert_eq!(at, None);
        assert!(err.message.contains("250 nodes"), "{err}");
        assert!(check_nodes([pool(u32::MAX)]).is_err());
    }

    /// issue 10 item 8: `rps: 0.0001` ran into the steady timeout.
    #[test]
    fn rates_are_parsed_once_with_their_range() {
        assert_eq!(Rps::parse("50").unwrap().get(), 50.0);
        for bad in [
            "0.0001", "0", "-5", "1e308", "NaN", "inf", "fast", "10000.5",
        ] {
            assert!(Rps::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Rps::parse("1e308").unwrap_err().message,
            "rps 1e308 is out of range"
        );
        assert!(Rps::new(MIN_RPS).is_ok() && Rps::new(MAX_RPS).is_ok());
    }

    /// issue 10 item 3: durations above the cap are refused.
    #[test]
    fn durations_are_capped() {
        assert!(check_duration(MAX_DURATION).is_ok());
        assert!(check_duration(SimDuration(MAX_DURATION.0 + 1)).is_err());
        assert!(duration_field("1000h").is_ok());
        let err = duration_field("1000000h").unwrap_err();
        assert!(err.contains("at most") && err.contains("1000h"), "{err}");
        assert!(duration_field("18446744073709552").is_err());
    }
}
