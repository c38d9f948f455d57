//! `zonechaos lint PATH...`: load manifests, lint, render, exit code.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use super::crds::crds_error;
use super::{CliError, Status};
use crate::crds;
use crate::errors::LoadError;
use crate::lint::output::{self, Format, RenderOptions};
use crate::lint::schema::CrdSchemas;
use crate::lint::{LintOptions, LintReport, Severity, catalog};
use crate::profile::{BUILTIN_PROFILE, ClusterProfile, DEFAULT_PROFILE, ProfileError};
use crate::topology::load_paths;

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum FormatArg {
    /// Human-readable: file:line:col, severity[ID], message, hint.
    #[default]
    Text,
    /// JSON for scripts (format version 1).
    Json,
    /// SARIF 2.1.0 for GitHub code scanning.
    Sarif,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Text => Format::Text,
            FormatArg::Json => Format::Json,
            FormatArg::Sarif => Format::Sarif,
        }
    }
}

/// `--fail-on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum FailOn {
    /// Exit 1 when an error-level finding exists.
    #[default]
    Error,
    /// Exit 1 when a warning- or error-level finding exists.
    Warning,
}

impl From<FailOn> for Severity {
    fn from(f: FailOn) -> Severity {
        match f {
            FailOn::Error => Severity::Error,
            FailOn::Warning => Severity::Warning,
        }
    }
}

/// `--crds`: where the CRD schemas come from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CrdsArg {
    /// The cache of `zonechaos crds fetch`, when it holds every pin.
    #[default]
    Auto,
    /// No schema conformance.
    None,
    /// Every CRD under this directory (or this one file).
    Dir(PathBuf),
}

fn parse_crds_arg(value: &str) -> Result<CrdsArg, std::convert::Infallible> {
    Ok(match value {
        "auto" => CrdsArg::Auto,
        "none" => CrdsArg::None,
        dir => CrdsArg::Dir(PathBuf::from(dir)),
    })
}

/// Arguments of `zonechaos lint`.
#[derive(Debug, Clone, Args)]
#[command(after_help = "\
Exit codes: 0 no finding at or above --fail-on, 1 findings at or above it, \
2 bad input or usage (unreadable path, invalid YAML, bad profile or CRD directory, unknown rule), \
3 infrastructure (a cached CRD that is not the pinned file: rerun `zonechaos crds fetch`).
Run `zonechaos rules` to list rule IDs and names for --suppress.")]
pub struct LintArgs {
    /// Manifest files or directories (read recursively: *.yaml, *.yml).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Cluster profile [default: clusters/three-zones.yaml, else the one
    /// shipped with zonechaos].
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,
    /// CustomResourceDefinitions to validate Istio and Argo objects
    /// against: `auto` the verified cache of `zonechaos crds fetch` when it
    /// is complete (else no schema check), `none` no schema check, or a
    /// directory of CRD YAML (`./auto` for a directory named auto).
    #[arg(long, value_name = "auto|none|DIR", default_value = "auto", value_parser = parse_crds_arg)]
    pub crds: CrdsArg,
    /// Output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    pub format: FormatArg,
    /// Lowest severity that makes the run fail (exit 1).
    #[arg(long, value_enum, default_value_t = FailOn::Error, value_name = "SEVERITY")]
    pub fail_on: FailOn,
    /// Do not report a rule, by ID (ZC1012) or name
    /// (deprecated-consecutive-errors); repeatable or comma-separated.
    #[arg(long, value_name = "RULE", value_delimiter = ',')]
    pub suppress: Vec<String>,
    /// Write the report to FILE instead of stdout (parent directories are
    /// created).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Accept input without any object (exit 0 on an empty file or
    /// directory instead of 2).
    #[arg(long)]
    pub allow_empty: bool,
}

/// Maps every `--suppress` value to a rule ID; an unknown one is a usage
/// error.
pub fn resolve_suppress(values: &[String]) -> Result<BTreeSet<String>, CliError> {
    let mut ids = BTreeSet::new();
    let mut unknown = Vec::new();
    for value in values.iter().map(|v| v.trim()).filter(|v| !v.is_empty()) {
        match catalog::find(value) {
            Some(rule) => {
                ids.insert(rule.id.to_owned());
            }
            None => unknown.push(format!("'{value}'")),
        }
    }
    if unknown.is_empty() {
        Ok(ids)
    } else {
        Err(CliError::usage(
            format!("unknown rule {} in --suppress", unknown.join(", ")),
            "run `zonechaos rules` to list rule IDs (ZC1012) and names (deprecated-consecutive-errors)",
        ))
    }
}

/// The exit status of a rendered report: 2 when some input was not YAML,
/// 1 when a finding is at or above `fail_on`, else 0.
pub fn exit_status(report: &LintReport, fail_on: Severity) -> Status {
    if report.bad_input {
        Status::BadInput
    } else if report.fails(fail_on) {
        Status::Findings
    } else {
        Status::Clean
    }
}

fn profile_error(err: ProfileError) -> CliError {
    let file = err.loc.file.display();
    let at = match (err.loc.pos.line, err.loc.pos.column) {
        (0, _) => format!("{file}"),
        (line, 0) => format!("{file}:{line}"),
        (line, column) => format!("{file}:{line}:{column}"),
    };
    CliError::usage(
        format!("bad cluster profile {at}: {}", err.message),
        err.hint,
    )
}

/// Loads `--profile`, else `clusters/three-zones.yaml` in the current
/// directory, else the profile shipped with the sources.
pub fn load_profile(explicit: Option<&Path>) -> Result<ClusterProfile, CliError> {
    let path = match explicit {
        Some(path) => path.to_owned(),
        None if Path::new(DEFAULT_PROFILE).is_file() => PathBuf::from(DEFAULT_PROFILE),
        None => {
            tracing::info!(
                "{DEFAULT_PROFILE} not found here; using the built-in three-zones profile"
            );
            return ClusterProfile::parse(
                BUILTIN_PROFILE,
                Path::new("<built-in clusters/three-zones.yaml>"),
            )
            .map_err(profile_error);
        }
    };
    tracing::info!("cluster profile: {}", path.display());
    ClusterProfile::load(&path).map_err(profile_error)
}

fn load_crds(dir: &Path) -> Result<CrdSchemas, CliError> {
    if let Err(err) = std::fs::metadata(dir) {
        return Err(CliError::usage(
            format!("cannot read CRDs from {}: {err}", dir.display()),
            "pass --crds with a directory of CustomResourceDefinition YAML files",
        ));
    }
    CrdSchemas::load(dir).map_err(|err| {
        CliError::usage(
            err.to_string(),
            "pass --crds with a directory of CustomResourceDefinition YAML files",
        )
    })
}

/// The schemas `--crds` names: `auto` the verified cache (every file's
/// digest checked) or nothing when it is incomplete.
fn resolve_crds(arg: &CrdsArg) -> Result<Option<CrdSchemas>, CliError> {
    match arg {
        CrdsArg::Auto => crds::load_verified(&crds::default_dir()).map_err(crds_error),
        CrdsArg::None => Ok(None),
        CrdsArg::Dir(dir) => load_crds(dir).map(Some),
    }
}

fn load_error(err: LoadError) -> CliError {
    match err {
        LoadError::Read { path, source } => CliError::usage(
            format!("cannot read {}: {source}", path.display()),
            "check the path; lint takes YAML files and directories of them",
        ),
        LoadError::Input(err) => CliError::usage(
            err.to_string(),
            "lint takes regular YAML files and directories of them",
        ),
    }
}

/// Writes the rendering to `--output` (creating parent directories;
/// atomically, replacing a symlink rather than following it, except into
/// a device such as /dev/stdout) or stdout.
/// A closed stdout (`| head`) is not an error.
pub(crate) fn write_output(output: Option<&Path>, text: &str) -> Result<(), CliError> {
    match output {
        Some(path) => {
            let write = || -> std::io::Result<()> {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent)?;
                }
                crate::fswrite::write_named(path, text.as_bytes())
            };
            write().map_err(|err| {
                CliError::usage(
                    format!("cannot write {}: {err}", path.display()),
                    "pass --output with a writable file path",
                )
            })
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            match stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
            {
                Ok(()) => Ok(()),
                Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                Err(err) => Err(CliError::infrastructure(
                    format!("cannot write to stdout: {err}"),
                    "use --output FILE",
                )),
            }
        }
    }
}

/// The error for a report with input that is not YAML, naming the files
/// (unless their ZC0001 findings were suppressed).
fn bad_yaml_error(report: &LintReport) -> CliError {
    let files: BTreeSet<String> = report
        .findings
        .iter()
        .filter(|f| f.rule.id == catalog::YAML_SYNTAX.id)
        .map(|f| f.loc.file.display().to_string())
        .collect();
    let id = catalog::YAML_SYNTAX.id;
    if files.is_empty() {
        CliError::usage(
            format!(
                "some input is not valid YAML ({id} is suppressed); its objects were not checked"
            ),
            format!("run again without --suppress {id} to see where"),
        )
    } else {
        CliError::usage(
            format!(
                "not valid YAML: {}; none of its objects were checked",
                files.into_iter().collect::<Vec<_>>().join(", ")
            ),
            format!("fix the {id} findings above and run lint again"),
        )
    }
}

/// Runs `zonechaos lint`; `verbose` also reports unknown kinds.
pub fn run(args: &LintArgs, verbose: bool) -> Result<Status, CliError> {
    let suppress = resolve_suppress(&args.suppress)?;
    let loaded = load_paths(&args.paths).map_err(load_error)?;
    if let Some(output) = &args.output {
        let mut inputs = loaded.files.clone();
        inputs.extend(args.profile.clone());
        crate::fswrite::refuse_input(output, &inputs).map_err(|e| {
            CliError::usage(
                e.to_string(),
                "pass --output a new file, outside the manifests being linted",
            )
        })?;
    }
    // A wrong path must not make a green CI job (issue 10 item 8).
    if loaded.objects.is_empty() && loaded.issues.is_empty() && !args.allow_empty {
        let paths: Vec<String> = args.paths.iter().map(|p| p.display().to_string()).collect();
        return Err(CliError::usage(
            format!(
                "no objects found in {} ({} YAML file(s) read)",
                paths.join(", "),
                loaded.files.len()
            ),
            "check the paths (directories are read for *.yaml and *.yml); pass --allow-empty if empty input is fine",
        ));
    }
    let profile = load_profile(args.profile.as_deref())?;
    let schemas = resolve_crds(&args.crds)?;
    tracing::info!(
        "lint input: {} file(s), {} object(s)",
        loaded.files.len(),
        loaded.objects.len()
    );
    let report = crate::lint::lint(
        loaded,
        &profile,
        schemas.as_ref(),
        &LintOptions { suppress, verbose },
    );
    let options = RenderOptions {
        color: args.output.is_none() && super::stdout_color(),
    };
    let text = output::render_with(&report, args.format.into(), options);
    write_output(args.output.as_deref(), &text)?;
    if let Some(path) = &args.output {
        tracing::info!("report written to {}", path.display());
    }
    let status = exit_status(&report, args.fail_on.into());
    if status == Status::BadInput {
        return Err(bad_yaml_error(&report));
    }
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::output::test_support;

    #[test]
    fn suppress_accepts_ids_and_names() {
        let ids = resolve_suppress(&["zc1001".into(), "route-shared".into(), " ".into()]).unwrap();
        assert_eq!(
            ids,
            BTreeSet::from(["ZC1001".to_owned(), "ZC2003".to_owned()])
        );
    }

    #[test]
    fn unknown_suppress_is_a_usage_error_naming_it() {
        let err = resolve_suppress(&["ZC1001".into(), "NOPE".into()]).unwrap_err();
        assert_eq!(err.status, Status::BadInput);
        assert!(err.message.contains("'NOPE'"), "{}", err.message);
        assert!(err.hint.contains("zonechaos rules"), "{}", err.hint);
    }

    #[test]
    fn threshold_error_ignores_warnings() {
        let mut report = test_support::report();
        report.findings.retain(|f| f.severity() != Severity::Error);
        assert_eq!(exit_status(&report, Severity::Error), Status::Clean);
        assert_eq!(exit_status(&report, Severity::Warning), Status::Findings);
    }

    #[test]
    fn threshold_with_errors_and_info() {
        let report = test_support::report();
        assert_eq!(exit_status(&report, Severity::Error), Status::Findings);
        let mut info_only = test_support::report();
        info_only
            .findings
            .retain(|f| f.severity() == Severity::Info);
        assert_eq!(exit_status(&info_only, Severity::Warning), Status::Clean);
        assert_eq!(
            exit_status(&test_support::empty(), Severity::Warning),
            Status::Clean
        );
    }

    #[test]
    fn bad_input_wins_over_findings() {
        let mut report = test_support::report();
        report.bad_input = true;
        assert_eq!(exit_status(&report, Severity::Error), Status::BadInput);
    }

    #[test]
    fn bad_yaml_error_names_files_or_the_suppression() {
        let mut report = test_support::report();
        report.bad_input = true;
        report.findings.push(test_support::finding(
            &catalog::YAML_SYNTAX,
            "b.yaml",
            2,
            1,
            None,
            "invalid YAML",
            "fix it",
        ));
        let err = bad_yaml_error(&report);
        assert_eq!(err.status, Status::BadInput);
        assert!(
            err.message.starts_with("not valid YAML: b.yaml;"),
            "{}",
            err.message
        );
        report.findings.pop();
        let err = bad_yaml_error(&report);
        assert!(
            err.message.contains("ZC0001 is suppressed"),
            "{}",
            err.message
        );
    }

    #[test]
    fn missing_profile_is_a_usage_error() {
        let err = load_profile(Some(Path::new("/nonexistent/profile.yaml"))).unwrap_err();
        assert_eq!(err.status, Status::BadInput);
        assert!(
            err.message.contains("/nonexistent/profile.yaml"),
            "{}",
            err.message
        );
    }

    #[test]
    fn shipped_profile_loads() {
        let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/clusters/three-zones.yaml");
        let profile = load_profile(Some(Path::new(shipped))).unwrap();
        assert!(!profile.zones.is_empty());
    }

    #[test]
    fn crds_arg_is_auto_none_or_a_directory() {
        let parse = |v: &str| parse_crds_arg(v).unwrap();
        assert_eq!(parse("auto"), CrdsArg::Auto);
        assert_eq!(parse("none"), CrdsArg::None);
        assert_eq!(parse("./auto"), CrdsArg::Dir(PathBuf::from("./auto")));
        use clap::Parser as _;
        let cli = super::super::Cli::try_parse_from(["zonechaos", "lint", "x.yaml"]).unwrap();
        let super::super::Command::Lint(args) = cli.command else {
            panic!("not lint");
        };
        assert_eq!(args.crds, CrdsArg::Auto);
        assert!(resolve_crds(&CrdsArg::None).unwrap().is_none());
    }

    #[test]
    fn output_file_creates_parent_directories() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/report.sarif");
        write_output(Some(&path), "x").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "x");
    }
}
