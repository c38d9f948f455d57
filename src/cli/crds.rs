//! `zonechaos crds fetch|status`: the pinned upstream CRDs in the local
//! cache that `lint --crds auto` validates against (see [`crate::crds`]).

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use super::{CliError, Status};
use crate::crds::{self, CrdsError, FetchOutcome, MIRROR_ENV, Mirror, PinState, Source};
use crate::pins::{CRD_PINS, CrdPin};

/// Arguments of `zonechaos crds`.
#[derive(Debug, Args)]
pub struct CrdsArgs {
    /// What to do with the cache.
    #[command(subcommand)]
    pub action: CrdsAction,
}

/// `fetch` or `status`.
#[derive(Debug, Subcommand)]
pub enum CrdsAction {
    /// Download every pinned CRD into the cache, each checked against its
    /// sha256 (files already there with the right digest are kept).
    #[command(after_help = "\
Exit codes: 0 every file verified in the cache, 2 bad usage (a --mirror that is not a URL), \
3 a download failed or did not match its pinned sha256 (nothing that does not match is kept).")]
    Fetch(FetchArgs),
    /// List every pinned CRD and whether the cache holds it verified.
    #[command(after_help = "\
Exit codes: 0 every file verified, 3 some file missing or not the pinned one \
(run `zonechaos crds fetch`).")]
    Status(CacheDirArg),
}

/// `--dir`.
#[derive(Debug, Args)]
pub struct CacheDirArg {
    /// Cache directory (default $XDG_CACHE_HOME/zonechaos/crds, else
    /// ~/.cache/zonechaos/crds); files go to DIR/<bundle>/<file>.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

impl CacheDirArg {
    fn resolve(&self) -> PathBuf {
        self.dir.clone().unwrap_or_else(crds::default_dir)
    }
}

/// Arguments of `zonechaos crds fetch`.
#[derive(Debug, Args)]
pub struct FetchArgs {
    /// The cache.
    #[command(flatten)]
    pub cache: CacheDirArg,
    /// Download from BASE/<bundle>/<file> instead of the upstream URLs
    /// (air-gapped machines; file:// works). Also ZONECHAOS_CRDS_MIRROR.
    #[arg(long, value_name = "BASE")]
    pub mirror: Option<String>,
}

/// The CLI error for a CRD cache failure (exit 2 for bad usage, else 3).
pub(crate) fn crds_error(err: CrdsError) -> CliError {
    let hint = err.hint();
    if err.is_usage() {
        CliError::usage(err.to_string(), hint)
    } else {
        CliError::infrastructure(err.to_string(), hint)
    }
}

/// `--mirror`, else `ZONECHAOS_CRDS_MIRROR`, else upstream.
fn source(flag: Option<&str>) -> Result<Source, CliError> {
    let value = flag
        .map(str::to_owned)
        .or_else(|| std::env::var(MIRROR_ENV).ok().filter(|v| !v.is_empty()));
    match value {
        Some(value) => value
            .parse::<Mirror>()
            .map(Source::Mirror)
            .map_err(crds_error),
        None => Ok(Source::Upstream),
    }
}

fn print(text: &str) -> Result<(), CliError> {
    super::lint::write_output(None, text)
}

fn fetch(args: &FetchArgs) -> Result<Status, CliError> {
    let source = source(args.mirror.as_deref())?;
    let dir = args.cache.resolve();
    if let Source::Mirror(mirror) = &source {
        tracing::info!("downloading from the mirror {mirror}");
    }
    let mut downloaded = 0;
    for pin in CRD_PINS {
        let outcome = crds::fetch_pin(&dir, pin, &source).map_err(crds_error)?;
        let what = match &outcome {
            FetchOutcome::AlreadyVerified => "kept (already verified)".to_owned(),
            FetchOutcome::Downloaded => format!("downloaded from {}", source.url(pin)),
            FetchOutcome::Replaced { previous } => format!(
                "replaced (the cached file had sha256 {previous}) from {}",
                source.url(pin)
            ),
        };
        if outcome != FetchOutcome::AlreadyVerified {
            downloaded += 1;
        }
        print(&format!("{}: {what}\n", pin.relative_path().display()))?;
    }
    print(&format!(
        "{} CRD files verified in {} ({downloaded} downloaded); `zonechaos lint` uses them (--crds auto)\n",
        CRD_PINS.len(),
        dir.display()
    ))?;
    Ok(Status::Clean)
}

fn state_line(dir: &Path, pin: &CrdPin) -> Result<(bool, String), CliError> {
    let state = crds::pin_state(dir, pin).map_err(crds_error)?;
    let (ok, word) = match &state {
        PinState::Verified => (true, "verified".to_owned()),
        PinState::Missing => (false, "missing".to_owned()),
        PinState::Mismatch { actual } => (false, format!("MISMATCH (sha256 {actual})")),
    };
    let width = CRD_PINS
        .iter()
        .map(|p| p.relative_path().as_os_str().len())
        .max()
        .unwrap_or(0);
    Ok((
        ok,
        format!(
            "{:<width$}  {word}\n  sha256 {}  {}\n",
            pin.relative_path().display().to_string(),
            pin.sha256,
            pin.url
        ),
    ))
}

fn status(args: &CacheDirArg) -> Result<Status, CliError> {
    let dir = args.resolve();
    let mut text = format!("CRD cache: {}\n", dir.display());
    let mut verified = 0;
    for pin in CRD_PINS {
        let (ok, line) = state_line(&dir, pin)?;
        verified += usize::from(ok);
        text.push_str(&line);
    }
    let all = verified == CRD_PINS.len();
    text.push_str(&format!(
        "{verified} of {} verified{}\n",
        CRD_PINS.len(),
        if all {
            "; `zonechaos lint` uses them (--crds auto)"
        } else {
            ""
        }
    ));
    print(&text)?;
    if all {
        return Ok(Status::Clean);
    }
    super::eprint_line(
        "  hint: run `zonechaos crds fetch` (--mirror BASE without access to upstream); \
         until then lint --crds auto skips schema conformance",
    );
    Ok(Status::Infrastructure)
}

/// Runs `zonechaos crds`.
pub fn run(args: &CrdsArgs) -> Result<Status, CliError> {
    match &args.action {
        CrdsAction::Fetch(args) => fetch(args),
        CrdsAction::Status(args) => status(args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_mirror_flag_is_a_usage_error() {
        let err = source(Some("mirror.example")).unwrap_err();
        assert_eq!(err.status, Status::BadInput);
        assert!(err.message.contains("mirror.example"), "{}", err.message);
        assert_eq!(
            source(Some("file:///srv/crds/")).unwrap(),
            Source::Mirror("file:///srv/crds".parse().unwrap())
        );
    }

    #[test]
    fn status_lines_say_missing_and_mismatch() {
        let dir = tempfile::tempdir().unwrap();
        let pin = &CRD_PINS[0];
        let (ok, line) = state_line(dir.path(), pin).unwrap();
        assert!(!ok);
        assert!(line.contains("missing"), "{line}");
        let path = dir.path().join(pin.relative_path());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "x").unwrap();
        let (ok, line) = state_line(dir.path(), pin).unwrap();
        assert!(!ok);
        assert!(line.contains("MISMATCH"), "{line}");
        assert!(line.contains(pin.url), "{line}");
    }
}
