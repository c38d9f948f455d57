//! `zonechaos render TOPOLOGY... --out DIR`: writes the deployable
//! manifests of a topology plus the test application (see
//! [`crate::backend::kube::render`]).

use std::path::PathBuf;

use clap::Args;

use super::lint::load_profile;
use super::{CliError, Status};
use crate::backend::kube::render::{self, RenderError, RenderOptions};

/// Arguments of `zonechaos render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Topology files or directories (`*.yaml`, `*.yml`).
    #[arg(required = true, value_name = "TOPOLOGY")]
    pub paths: Vec<PathBuf>,
    /// Directory the manifests are written to (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Cluster profile (default `clusters/three-zones.yaml`, else the built-in copy).
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,
    /// Harness image the pods run (default `zonechaos:<version>`, what `cluster up` builds).
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
    /// Namespace of the topology and clients.
    #[arg(long, value_name = "NS", default_value = render::HARNESS_NAMESPACE)]
    pub namespace: String,
    /// Requests per second of each load client.
    #[arg(long, value_name = "N", default_value_t = 20.0, value_parser = crate::limits::rps_flag)]
    pub rps: f64,
    /// Where the load clients run: client-nodes (a kind cluster from
    /// `zonechaos cluster up`: each zone's load-client node) or capacity
    /// (any cluster: the zone's nodes of the profile's loadClients capacity).
    #[arg(long, value_enum, default_value = "client-nodes")]
    pub clients: render::ClientPlacement,
}

fn render_error(err: RenderError) -> CliError {
    CliError::usage(err.to_string(), err.hint())
}

/// Renders and writes the files; prints the paths written.
pub fn run(args: &RenderArgs) -> Result<Status, CliError> {
    let profile = load_profile(args.profile.as_deref())?;
    let defaults = RenderOptions::default();
    let options = RenderOptions {
        image: args.image.clone().unwrap_or_else(|| defaults.image.clone()),
        namespace: args.namespace.clone(),
        rps: args.rps,
        clients: args.clients,
        ..defaults
    };
    let manifests = render::render_paths(&args.paths, &profile, &options).map_err(render_error)?;
    std::fs::create_dir_all(&args.out).map_err(|e| {
        CliError::usage(
            format!("cannot create {}: {e}", args.out.display()),
            "pass --out with a writable directory",
        )
    })?;
    let inputs = input_files(args)?;
    for manifest in &manifests {
        crate::fswrite::refuse_input(&args.out.join(&manifest.file_name), &inputs).map_err(
            |e| {
                CliError::usage(
                    e.to_string(),
                    "pass --out a directory apart from the topology files",
                )
            },
        )?;
    }
    let mut listing = String::new();
    for manifest in &manifests {
        let path = args.out.join(&manifest.file_name);
        crate::fswrite::write_atomic(&path, manifest.yaml.as_bytes()).map_err(|e| {
            CliError::usage(
                format!("cannot write {}: {e}", path.display()),
                "pass --out with a writable directory",
            )
        })?;
        listing.push_str(&format!("{}\n", path.display()));
    }
    listing.push_str(&format!(
        "apply in order: kubectl apply --server-side -f {} (Istio and Argo Rollouts must be installed: zonechaos cluster up)\n",
        args.out.display()
    ));
    super::lint::write_output(None, &listing)?;
    Ok(Status::Clean)
}

/// The files render read (topology and profile), which no output may replace.
fn input_files(args: &RenderArgs) -> Result<Vec<PathBuf>, CliError> {
    let mut files = crate::fsread::YamlFiles::new();
    for path in &args.paths {
        files
            .add(path)
            .map_err(|e| CliError::usage(e.to_string(), "pass readable topology files"))?;
    }
    let mut inputs = files.into_files();
    inputs.extend(args.profile.clone());
    Ok(inputs)
}
