//! `zonechaos whatif TOPOLOGY... --lose ZONE [--mode spot|drain]`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::lint::load_profile;
use super::{CliError, Status};
use crate::topology::{Topology, load_paths};
use crate::whatif::{LossMode, render, whatif};
use crate::zone::Zone;

/// `--mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// Spot reclaim: abrupt, PDBs ignored.
    Spot,
    /// Cordon and drain through PDBs.
    Drain,
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WhatIfFormat {
    /// Tables.
    Text,
    /// JSON.
    Json,
}

/// Arguments of `zonechaos whatif`.
#[derive(Debug, Args)]
pub struct WhatIfArgs {
    /// Manifest files or directories.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Zone to lose (full name or alias); repeat for several.
    #[arg(long = "lose", required = true, value_name = "ZONE")]
    pub lose: Vec<String>,
    /// How the zone is lost.
    #[arg(long, value_enum, default_value = "spot")]
    pub mode: ModeArg,
    /// Cluster profile [default: clusters/three-zones.yaml, else the built-in one].
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,
    /// Target Service as namespace/name [default: the first VirtualService host].
    #[arg(long, value_name = "NS/NAME")]
    pub service: Option<String>,
    /// Predict for clients of every Service (default: the first VirtualService host).
    #[arg(long, conflicts_with = "service")]
    pub all_services: bool,
    /// Requests per second per client zone (for the failover latency).
    #[arg(long, default_value_t = 50.0, value_parser = crate::limits::rps_flag)]
    pub rps: f64,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: WhatIfFormat,
}

/// The topology of manifest files or directories, for the model: every
/// object valid, within the model's size limits.
pub fn load_model_topology(paths: &[PathBuf]) -> Result<Topology, CliError> {
    let loaded = load_paths(paths).map_err(|e| {
        CliError::usage(e.to_string(), "pass existing manifest files or directories")
    })?;
    loaded
        .require_valid()
        .map_err(|e| CliError::usage(e.to_string(), e.hint()))?;
    let topology = Topology::new(loaded.objects);
    crate::limits::check_topology(&topology, crate::limits::MAX_PODS)?;
    Ok(topology)
}

/// Runs `whatif`.
pub fn run(args: &WhatIfArgs) -> Result<Status, CliError> {
    let profile = load_profile(args.profile.as_deref())?;
    let topology = load_model_topology(&args.paths)?;
    let lost: Vec<Zone> = args
        .lose
        .iter()
        .map(|z| {
            profile
                .resolve_zone(z)
                .map_err(|e| CliError::usage(e.to_string(), e.hint()))
        })
        .collect::<Result<_, _>>()?;
    let service = match &args.service {
        None => None,
        Some(s) => Some(s.split_once('/').ok_or_else(|| {
            CliError::usage(
                format!("--service '{s}' is not namespace/name"),
                "write e.g. --service default/test",
            )
        })?),
    };
    let mode = match args.mode {
        ModeArg::Spot => LossMode::Spot,
        ModeArg::Drain => LossMode::Drain,
    };
    let targets = match (service, args.all_services) {
        (Some((ns, name)), _) => crate::whatif::Targets::One(ns, name),
        (None, true) => crate::whatif::Targets::All,
        (None, false) => crate::whatif::Targets::Default,
    };
    let w = whatif(&topology, &profile, targets, &lost, mode, args.rps).map_err(|e| {
        CliError::usage(
            e,
            "pass --service namespace/name of a Service in the topology",
        )
    })?;
    let text = match args.format {
        WhatIfFormat::Text => render(&w),
        WhatIfFormat::Json => {
            serde_json::to_string_pretty(&w)
                .map_err(|e| CliError::infrastructure(e.to_string(), ""))?
                + "\n"
        }
    };
    super::lint::write_output(None, &text)?;
    Ok(Status::Clean)
}
