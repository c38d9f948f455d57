//! Runs a [`Plan`]: every step logged, long ones with a progress spinner
//! (only when stderr is a terminal), skippable steps skipped, the first
//! failure stops the plan with an error naming the command, its exit code,
//! the tail of its stderr and a hint.
//!
//! Commands go through a [`CommandRunner`]: [`SystemRunner`] runs them with
//! duct from their argument vectors; tests use [`RecordingRunner`] or a
//! `SystemRunner` whose PATH holds fake scripts.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::actions::list_clusters;
use super::error::{ClusterError, CommandFailure};
use super::names::ClusterName;
use super::plan::{Idempotency, Plan, PlannedCommand, Step};
use super::tool::Tool;
use crate::download;

/// Lines of stderr kept in a failure message.
const STDERR_TAIL_LINES: usize = 15;

/// What a finished command produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    /// Exit code; `None` when killed by a signal.
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Output {
    /// Exit code 0 with this stdout.
    pub fn ok(stdout: &str) -> Output {
        Output {
            code: Some(0),
            stdout: stdout.to_owned(),
            stderr: String::new(),
        }
    }

    /// This exit code and stderr.
    pub fn failed(code: i32, stderr: &str) -> Output {
        Output {
            code: Some(code),
            stdout: String::new(),
            stderr: stderr.to_owned(),
        }
    }

    /// Exit code 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
}

/// Runs planned commands (injectable for tests).
pub trait CommandRunner {
    /// True when the program can be started (found on PATH).
    fn has(&self, tool: Tool) -> bool;
    /// Runs the command to completion, capturing stdout and stderr. An
    /// `Err` means it could not be started.
    fn run(&self, command: &PlannedCommand) -> std::io::Result<Output>;
}

/// Runs commands for real through duct, looking programs up on `PATH` (or
/// on the given search path).
#[derive(Debug, Clone, Default)]
pub struct SystemRunner {
    path: Option<OsString>,
}

impl SystemRunner {
    /// Looks programs up on the process's `PATH`.
    pub fn new() -> SystemRunner {
        SystemRunner::default()
    }

    /// Looks programs up on `path` instead (and passes it to them as `PATH`).
    pub fn with_path(path: OsString) -> SystemRunner {
        SystemRunner { path: Some(path) }
    }

    fn search_path(&self) -> Option<OsString> {
        self.path.clone().or_else(|| std::env::var_os("PATH"))
    }

    fn locate(&self, program: &str) -> Option<PathBuf> {
        let path = self.search_path()?;
        std::env::split_paths(&path)
            .map(|dir| dir.join(program))
            .find(|candidate| is_executable(candidate))
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

impl CommandRunner for SystemRunner {
    fn has(&self, tool: Tool) -> bool {
        self.locate(tool.program()).is_some()
    }

    fn run(&self, command: &PlannedCommand) -> std::io::Result<Output> {
        let program = self.locate(command.program.program()).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{} not found on PATH", command.program.program()),
            )
        })?;
        let mut expression = duct::cmd(program, &command.args)
            .stdin_null()
            .stdout_capture()
            .stderr_capture()
            .unchecked();
        if let Some(path) = &self.path {
            expression = expression.env("PATH", path);
        }
        for (key, value) in &command.env {
            expression = expression.env(key, value);
        }
        let output = expression.run()?;
        Ok(Output {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }
}

/// A fake runner: records every command line and answers from a script
/// (the first rule whose prefix the command line starts with; exit 0 with
/// no output otherwise). For tests and for checking plans without tools.
#[derive(Debug, Default)]
pub struct RecordingRunner {
    missing: BTreeSet<Tool>,
    rules: Vec<(String, Output)>,
    calls: RefCell<Vec<String>>,
}

impl RecordingRunner {
    /// Every tool present, every command succeeding silently.
    pub fn new() -> RecordingRunner {
        RecordingRunner::default()
    }

    /// Pretends `tool` is not installed.
    pub fn without(mut self, tool: Tool) -> RecordingRunner {
        self.missing.insert(tool);
        self
    }

    /// Answers commands whose line starts with `prefix` with `output`.
    pub fn answer(mut self, prefix: &str, output: Output) -> RecordingRunner {
        self.rules.push((prefix.to_owned(), output));
        self
    }

    /// The command lines run so far.
    pub fn calls(&self) -> Vec<String> {
        self.calls.borrow().clone()
    }
}

impl CommandRunner for RecordingRunner {
    fn has(&self, tool: Tool) -> bool {
        !self.missing.contains(&tool)
    }

    fn run(&self, command: &PlannedCommand) -> std::io::Result<Output> {
        let line = command.command_line();
        self.calls.borrow_mut().push(line.clone());
        if !self.has(command.program) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "not installed",
            ));
        }
        Ok(self
            .rules
            .iter()
            .find(|(prefix, _)| line.starts_with(prefix.as_str()))
            .map(|(_, output)| output.clone())
            .unwrap_or_else(|| Output::ok("")))
    }
}

/// How to run a plan.
#[derive(Debug, Clone)]
pub struct ExecOptions {
    /// Use an existing cluster of the same name instead of refusing.
    pub reuse: bool,
    /// Show spinners for long steps (default: when stderr is a terminal).
    pub progress: bool,
}

impl Default for ExecOptions {
    fn default() -> Self {
        ExecOptions {
            reuse: false,
            progress: std::io::stderr().is_terminal(),
        }
    }
}

/// What happened to one step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepOutcome {
    /// It ran and succeeded; the stdout of commands that show it.
    Done {
        /// Output to show the user (empty unless the command shows it).
        shown: String,
    },
    /// It was skipped, and why.
    Skipped(String),
}

/// The outcome of a whole plan (every step succeeded or was skipped).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecReport {
    /// Purpose and outcome of each step, in order.
    pub steps: Vec<(String, StepOutcome)>,
}

/// Fails with the list of missing programs, before anything runs.
pub fn check_tools(plan: &Plan, runner: &dyn CommandRunner) -> Result<(), ClusterError> {
    check_programs(plan.tools(), runner)
}

/// Fails with the list of the given programs that are missing.
pub fn check_programs(
    tools: impl IntoIterator<Item = Tool>,
    runner: &dyn CommandRunner,
) -> Result<(), ClusterError> {
    let mut missing: Vec<Tool> = tools.into_iter().filter(|t| !runner.has(*t)).collect();
    missing.sort();
    missing.dedup();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(ClusterError::MissingTools { tools: missing })
    }
}

/// Runs the plan for cluster `name`: tools checked first, then each step.
pub fn execute(
    plan: &Plan,
    runner: &dyn CommandRunner,
    name: &ClusterName,
    options: &ExecOptions,
) -> Result<ExecReport, ClusterError> {
    check_tools(plan, runner)?;
    let mut report = ExecReport::default();
    let total = plan.steps.len();
    for (i, step) in plan.steps.iter().enumerate() {
        let n = i + 1;
        tracing::info!("[{n}/{total}] {}", step.purpose());
        let outcome = match step {
            Step::WriteFile { path, contents, .. } => {
                write_file(path, contents)?;
                StepOutcome::Done {
                    shown: String::new(),
                }
            }
            Step::CopyFile { source, dest, .. } => {
                copy_file(source, dest)?;
                StepOutcome::Done {
                    shown: String::new(),
                }
            }
            Step::VerifySha256 { path, sha256, .. } => {
                download::verify_sha256(path, sha256)?;
                StepOutcome::Done {
                    shown: String::new(),
                }
            }
            Step::ReplaceOnce {
                source,
                dest,
                from,
                to,
                ..
            } => {
                replace_once(source, dest, from, to)?;
                StepOutcome::Done {
                    shown: String::new(),
                }
            }
            Step::Run(command) => match skip_reason(n, command, runner, name, options)? {
                Some(reason) => StepOutcome::Skipped(reason),
                None => StepOutcome::Done {
                    shown: run_step(n, command, runner, options)?,
                },
            },
        };
        if let StepOutcome::Skipped(reason) = &outcome {
            tracing::info!("[{n}/{total}] skipped: {reason}");
        }
        report.steps.push((step.purpose().to_owned(), outcome));
    }
    Ok(report)
}

/// True when `kind get clusters` lists `name`.
pub fn cluster_exists(
    runner: &dyn CommandRunner,
    name: &ClusterName,
) -> Result<bool, ClusterError> {
    let probe = list_clusters();
    let output = run_once(0, &probe, runner)?;
    if !output.success() {
        return Err(failure(0, &probe, &output));
    }
    // kind prints "No kind clusters found." on stderr when there are none.
    Ok(output.stdout.lines().any(|l| l.trim() == name.as_str()))
}

/// Runs one command outside a plan (chaos steps on kind nodes): its
/// trimmed stdout, or the error a failed plan step would give.
pub fn run_command(
    command: &PlannedCommand,
    runner: &dyn CommandRunner,
) -> Result<String, ClusterError> {
    let output = run_once(0, command, runner)?;
    if !output.success() {
        return Err(failure(0, command, &output));
    }
    Ok(output.stdout.trim().to_owned())
}

fn skip_reason(
    n: usize,
    command: &PlannedCommand,
    runner: &dyn CommandRunner,
    name: &ClusterName,
    options: &ExecOptions,
) -> Result<Option<String>, ClusterError> {
    Ok(match &command.idempotency {
        Idempotency::Rerunnable => None,
        Idempotency::CreatesCluster => {
            if cluster_exists(runner, name)? {
                if !options.reuse {
                    return Err(ClusterError::ClusterExists {
                        name: name.to_string(),
                    });
                }
                Some(format!("kind cluster {name} exists and --reuse is set"))
            } else {
                None
            }
        }
        Idempotency::DeletesCluster => {
            if cluster_exists(runner, name)? {
                None
            } else {
                Some(format!("kind cluster {name} does not exist"))
            }
        }
        Idempotency::SkipIfSucceeds(probe) => {
            let output = run_once(n, probe, runner)?;
            output
                .success()
                .then(|| format!("`{}` succeeded", probe.command_line()))
        }
        Idempotency::SkipIfFileExists(path) => {
            path.is_file().then(|| format!("{} exists", path.display()))
        }
    })
}

fn run_once(
    n: usize,
    command: &PlannedCommand,
    runner: &dyn CommandRunner,
) -> Result<Output, ClusterError> {
    tracing::debug!("$ {}", command.command_line());
    runner.run(command).map_err(|err| {
        if err.kind() == std::io::ErrorKind::NotFound {
            ClusterError::MissingTools {
                tools: vec![command.program],
            }
        } else {
            ClusterError::CommandFailed(Box::new(CommandFailure {
                step: n,
                purpose: command.purpose.clone(),
                command: command.command_line(),
                outcome: format!("could not start: {err}"),
                stderr: String::new(),
                hint: command.hint.clone(),
            }))
        }
    })
}

fn run_step(
    n: usize,
    command: &PlannedCommand,
    runner: &dyn CommandRunner,
    options: &ExecOptions,
) -> Result<String, ClusterError> {
    let spinner = (options.progress && command.long).then(|| spinner(&command.purpose));
    let started = Instant::now();
    let mut attempt = 1;
    let result = loop {
        let output = run_once(n, command, runner)?;
        if output.success() || attempt >= command.retry.attempts {
            break output;
        }
        tracing::debug!(
            "attempt {attempt}/{} of `{}` failed; retrying",
            command.retry.attempts,
            command.command_line()
        );
        attempt += 1;
        std::thread::sleep(command.retry.delay);
    };
    if let Some(spinner) = spinner {
        spinner.finish_and_clear();
    }
    if !result.success() {
        return Err(failure(n, command, &result));
    }
    if let Some(expect) = &command.expect
        && !result.stdout.contains(&expect.stdout_contains)
    {
        let message = format!(
            "`{}` does not report {:?}: {}",
            command.command_line(),
            expect.stdout_contains,
            result.stdout.trim()
        );
        if expect.fatal {
            return Err(ClusterError::CommandFailed(Box::new(CommandFailure {
                step: n,
                purpose: command.purpose.clone(),
                command: command.command_line(),
                outcome: format!("does not report version {}", expect.stdout_contains),
                stderr: result.stdout.clone(),
                hint: command.hint.clone(),
            })));
        }
        tracing::warn!("{message} (continuing; the pins were written for it)");
    }
    tracing::info!("done in {:.1}s", started.elapsed().as_secs_f64());
    Ok(if command.show_output {
        result.stdout
    } else {
        String::new()
    })
}

fn failure(n: usize, command: &PlannedCommand, output: &Output) -> ClusterError {
    let tail = crate::process::last_lines(&output.stderr, STDERR_TAIL_LINES);
    ClusterError::CommandFailed(Box::new(CommandFailure {
        step: n,
        purpose: command.purpose.clone(),
        command: command.command_line(),
        outcome: match output.code {
            Some(code) => format!("exited with code {code}"),
            None => "was killed by a signal".to_owned(),
        },
        stderr: tail,
        hint: command.hint.clone(),
    }))
}

fn spinner(message: &str) -> indicatif::ProgressBar {
    let bar =
        indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
    bar.set_style(indicatif::ProgressStyle::default_spinner());
    bar.set_message(message.to_owned());
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

fn copy_file(source: &Path, dest: &Path) -> Result<(), ClusterError> {
    if let Some(parent) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| ClusterError::Io {
            action: "create directory",
            path: parent.to_owned(),
            source,
        })?;
    }
    std::fs::copy(source, dest)
        .map(|_| ())
        .map_err(|e| ClusterError::Io {
            action: "copy",
            path: source.to_owned(),
            source: e,
        })
}

fn write_file(path: &Path, contents: &str) -> Result<(), ClusterError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| ClusterError::Io {
            action: "create directory",
            path: parent.to_owned(),
            source,
        })?;
    }
    std::fs::write(path, contents).map_err(|source| ClusterError::Io {
        action: "write",
        path: path.to_owned(),
        source,
    })
}

/// Writes `dest` as `source` with `from` (which must occur exactly once)
/// replaced by `to`.
fn replace_once(source: &Path, dest: &Path, from: &str, to: &str) -> Result<(), ClusterError> {
    let text = std::fs::read_to_string(source).map_err(|source_err| ClusterError::Io {
        action: "read",
        path: source.to_owned(),
        source: source_err,
    })?;
    let found = text.matches(from).count();
    if found != 1 {
        return Err(ClusterError::UnexpectedContent {
            path: source.to_owned(),
            text: from.to_owned(),
            found,
        });
    }
    write_file(dest, &text.replacen(from, to, 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, "abc").unwrap();
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        let check = |path: &Path, hex: &str| -> Result<(), ClusterError> {
            Ok(download::verify_sha256(path, hex)?)
        };
        assert!(check(&file, abc).is_ok());
        let err = check(&file, &abc[..10]).unwrap_err();
        assert!(matches!(err, ClusterError::DigestMismatch { .. }), "{err}");
        assert!(err.hint().contains("delete "), "{}", err.hint());
        let err = check(&dir.path().join("absent"), abc).unwrap_err();
        assert!(
            matches!(err, ClusterError::Io { action: "read", .. }),
            "{err}"
        );
    }

    #[test]
    fn a_rewrite_needs_exactly_one_occurrence() {
        let dir = tempfile::tempdir().unwrap();
        let (source, dest) = (dir.path().join("in.yaml"), dir.path().join("out/in.yaml"));
        std::fs::write(&source, "image: a:latest\npolicy: Always\n").unwrap();
        replace_once(&source, &dest, "a:latest", "a:v1").unwrap();
        assert_eq!(
            std::fs::read_to_string(&dest).unwrap(),
            "image: a:v1\npolicy: Always\n"
        );
        for (text, found) in ["image: b:latest\n", "a:latest a:latest\n"]
            .iter()
            .zip([0, 2])
        {
            std::fs::write(&source, text).unwrap();
            let err = replace_once(&source, &dest, "a:latest", "a:v1").unwrap_err();
            assert!(
                matches!(err, ClusterError::UnexpectedContent { found: f, .. } if f == found),
                "{err}"
            );
        }
    }

    #[test]
    fn system_runner_captures_exit_code_and_stderr() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("kind");
        std::fs::write(
            &script,
            "#!/bin/sh\necho \"out $1\"\necho oops >&2\nexit 7\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let runner = SystemRunner::with_path(dir.path().as_os_str().to_owned());
        assert!(runner.has(Tool::Kind));
        assert!(!runner.has(Tool::Docker));
        let output = runner.run(&list_clusters()).unwrap();
        assert_eq!(output.code, Some(7));
        assert_eq!(output.stdout, "out get\n");
        assert_eq!(output.stderr, "oops\n");
    }
}
