//! [`KindCluster`]: one harness cluster, its name, its own kubeconfig and
//! what to do with it at the end.
//!
//! Dropping a `KindCluster` deletes nothing: deletion is always explicit.
//! A run calls [`KindCluster::finish`] on success, on failure and from its
//! Ctrl-C handler; `finish` runs the `down` plan unless `keep` (`--keep`)
//! or `reuse` (`--reuse`: the cluster is meant to outlive the run) is set.

use std::path::{Path, PathBuf};

use super::actions::{self, PlanInputs};
use super::error::ClusterError;
use super::exec::{self, CommandRunner, ExecOptions, ExecReport, StepOutcome};
use super::kind_config::ClusterSize;
use super::names::{ClusterName, KubeconfigPath};
use super::plan::Plan;
use super::tool::Tool;
use crate::backend::kube::render;
use crate::pins::{self, DownloadPin};
use crate::profile::ClusterProfile;

/// Where the harness image's `zonechaos` binary comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageSource {
    /// This Linux binary (the one running), copied into a small base
    /// image: no Rust toolchain in Docker, seconds instead of minutes.
    HostBinary(PathBuf),
    /// Compiled inside Docker from the checkout's `Dockerfile` (macOS and
    /// other hosts whose binaries cannot run in a Linux container, or
    /// `--image-from-source`).
    Checkout,
}

impl ImageSource {
    /// The running binary on Linux, else the checkout.
    pub fn for_this_host() -> ImageSource {
        match std::env::current_exe() {
            Ok(exe) if cfg!(target_os = "linux") => ImageSource::HostBinary(exe),
            _ => ImageSource::Checkout,
        }
    }
}

/// How to create and treat a cluster.
#[derive(Debug, Clone, Default)]
pub struct ClusterOptions {
    /// Full (every pool node) or Small (one worker per zone).
    pub size: ClusterSize,
    /// Name; default `zonechaos-<profile>` (`-small` for Small).
    pub name: Option<ClusterName>,
    /// Kubeconfig file; default `<cache>/kind-<name>.kubeconfig`.
    pub kubeconfig: Option<KubeconfigPath>,
    /// Cache directory; default [`crate::cache::default_cache_dir`].
    pub cache_dir: Option<PathBuf>,
    /// Checkout with the Dockerfile; default the current directory.
    pub project_dir: Option<PathBuf>,
    /// Where the harness image's binary comes from; default
    /// [`ImageSource::for_this_host`].
    pub image_source: Option<ImageSource>,
    /// Harness image tag; default `zonechaos:<crate version>`.
    pub harness_image: Option<String>,
    /// The Argo Rollouts manifest and its digest; default
    /// [`pins::ARGO_ROLLOUTS_INSTALL`] (tests substitute a file of their own;
    /// the command line has no way to change it).
    pub argo_install: Option<DownloadPin>,
    /// Reuse an existing cluster of the same name (and keep it at the end).
    pub reuse: bool,
    /// Keep the cluster at the end of the run.
    pub keep: bool,
}

/// A kind cluster the harness creates and owns.
#[derive(Debug, Clone)]
pub struct KindCluster {
    profile: ClusterProfile,
    size: ClusterSize,
    name: ClusterName,
    kubeconfig: KubeconfigPath,
    cache_dir: PathBuf,
    work_dir: PathBuf,
    project_dir: PathBuf,
    image_source: ImageSource,
    harness_image: String,
    argo_install: DownloadPin,
    reuse: bool,
    keep: bool,
}

/// What `status` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterStatus {
    /// `kind get clusters` lists it.
    pub exists: bool,
    /// Its kubeconfig file exists.
    pub kubeconfig_exists: bool,
    /// Nodes and infrastructure deployments as kubectl prints them (empty
    /// when the cluster does not exist).
    pub details: String,
}

impl KindCluster {
    /// The cluster for a profile; nothing is run.
    pub fn new(
        profile: &ClusterProfile,
        options: ClusterOptions,
    ) -> Result<KindCluster, ClusterError> {
        let name = match options.name {
            Some(name) => name,
            None => ClusterName::for_profile(&profile.name, options.size == ClusterSize::Small)?,
        };
        let cache_dir = options
            .cache_dir
            .unwrap_or_else(crate::cache::default_cache_dir);
        let kubeconfig = options
            .kubeconfig
            .unwrap_or_else(|| KubeconfigPath::for_cluster(&cache_dir, &name));
        Ok(KindCluster {
            profile: profile.clone(),
            size: options.size,
            work_dir: cache_dir.join(name.as_str()),
            name,
            kubeconfig,
            cache_dir,
            project_dir: options.project_dir.unwrap_or_else(|| PathBuf::from(".")),
            image_source: options
                .image_source
                .unwrap_or_else(ImageSource::for_this_host),
            harness_image: options
                .harness_image
                .unwrap_or_else(|| pins::HARNESS_IMAGE.tag_reference()),
            argo_install: options.argo_install.unwrap_or(pins::ARGO_ROLLOUTS_INSTALL),
            reuse: options.reuse,
            keep: options.keep,
        })
    }

    /// The kind cluster name.
    pub fn name(&self) -> &ClusterName {
        &self.name
    }

    /// The harness's kubeconfig file for this cluster (what kube-rs loads).
    pub fn kubeconfig(&self) -> &KubeconfigPath {
        &self.kubeconfig
    }

    /// The harness image loaded into the nodes (what `render` puts in pods).
    pub fn harness_image(&self) -> &str {
        &self.harness_image
    }

    /// The canary image loaded beside it (`<harness image>-canary`).
    pub fn canary_image(&self) -> String {
        actions::canary_image(&self.harness_image)
    }

    /// Where generated files of this cluster are written.
    pub fn work_dir(&self) -> &Path {
        &self.work_dir
    }

    /// Full or Small.
    pub fn size(&self) -> ClusterSize {
        self.size
    }

    /// The profile the cluster is created from.
    pub fn profile(&self) -> &ClusterProfile {
        &self.profile
    }

    /// Checks this machine for this cluster before anything is created
    /// ([`super::doctor`]).
    pub fn doctor(
        &self,
        runner: &dyn CommandRunner,
        host: &dyn super::doctor::HostProbe,
    ) -> super::doctor::DoctorReport {
        super::doctor::diagnose(
            super::doctor::Needs::of(&self.profile, self.size),
            &self.cache_dir,
            self.argo_install,
            runner,
            host,
        )
    }

    /// True when `finish` leaves the cluster running.
    pub fn keeps(&self) -> bool {
        self.keep || self.reuse
    }

    fn inputs(&self) -> PlanInputs<'_> {
        PlanInputs {
            profile: &self.profile,
            size: self.size,
            name: &self.name,
            kubeconfig: &self.kubeconfig,
            work_dir: &self.work_dir,
            cache_dir: &self.cache_dir,
            project_dir: &self.project_dir,
            image_source: &self.image_source,
            harness_image: &self.harness_image,
            argo_install: self.argo_install,
        }
    }

    /// The plan of `up` (for `--plan`, or to run).
    pub fn up_plan(&self) -> Result<Plan, ClusterError> {
        let prometheus = render::prometheus_manifest().map_err(|e| ClusterError::Yaml {
            what: "the Prometheus manifests".into(),
            message: e.to_string(),
        })?;
        actions::up_plan(&self.inputs(), &prometheus.yaml)
    }

    /// The plan of `down`.
    pub fn down_plan(&self) -> Plan {
        actions::down_plan(&self.inputs())
    }

    /// The plan of `status`.
    pub fn status_plan(&self) -> Plan {
        actions::status_plan(&self.inputs())
    }

    fn exec_options(&self) -> ExecOptions {
        ExecOptions {
            reuse: self.reuse,
            ..ExecOptions::default()
        }
    }

    /// Creates (or, with `reuse`, reuses) the cluster and installs Istio,
    /// Argo Rollouts, Prometheus and the harness image. When a step fails
    /// after this call created the cluster, the cluster is deleted again
    /// unless `keep` is set (to look at it).
    pub fn up(&self, runner: &dyn CommandRunner) -> Result<ExecReport, ClusterError> {
        let plan = self.up_plan()?;
        exec::check_tools(&plan, runner)?;
        let existed = exec::cluster_exists(runner, &self.name)?;
        if existed && !self.reuse {
            // Refused before anything runs (the create step would refuse too).
            return Err(ClusterError::ClusterExists {
                name: self.name.to_string(),
            });
        }
        let result = exec::execute(&plan, runner, &self.name, &self.exec_options());
        if let Err(err) = &result
            && !existed
            && !self.keep
            && !matches!(err, ClusterError::ClusterExists { .. })
        {
            tracing::warn!(
                "cluster up failed; deleting kind cluster {} (pass --keep to look at it)",
                self.name
            );
            if let Err(down) = self.down(runner) {
                tracing::warn!("could not delete kind cluster {}: {down}", self.name);
            }
        }
        result
    }

    /// Deletes the cluster (nothing to do when it does not exist).
    pub fn down(&self, runner: &dyn CommandRunner) -> Result<ExecReport, ClusterError> {
        exec::execute(&self.down_plan(), runner, &self.name, &self.exec_options())
    }

    /// Whether the cluster exists and, when it does, its nodes and
    /// infrastructure deployments.
    pub fn status(&self, runner: &dyn CommandRunner) -> Result<ClusterStatus, ClusterError> {
        let plan = self.status_plan();
        // `kind get clusters` comes first, outside the plan.
        exec::check_programs(plan.tools().into_iter().chain([Tool::Kind]), runner)?;
        let exists = exec::cluster_exists(runner, &self.name)?;
        let kubeconfig_exists = self.kubeconfig.path().is_file();
        let mut details = String::new();
        if exists {
            let report = exec::execute(&plan, runner, &self.name, &self.exec_options())?;
            for (purpose, outcome) in report.steps {
                if let StepOutcome::Done { shown } = outcome {
                    details.push_str(&format!("# {purpose}\n{shown}"));
                    if !shown.ends_with('\n') {
                        details.push('\n');
                    }
                }
            }
        }
        Ok(ClusterStatus {
            exists,
            kubeconfig_exists,
            details,
        })
    }

    /// End of a run: deletes the cluster unless `keep` or `reuse` is set.
    /// Returns true when it was deleted.
    pub fn finish(&self, runner: &dyn CommandRunner) -> Result<bool, ClusterError> {
        if self.keeps() {
            tracing::info!(
                "keeping kind cluster {} (kubeconfig {}); delete it with `zonechaos cluster down --name {}`",
                self.name,
                self.kubeconfig,
                self.name
            );
            return Ok(false);
        }
        self.down(runner)?;
        Ok(true)
    }
}
