//! What a command plan is made of: typed steps, every command an argument
//! vector (never a shell string), each with its purpose, its idempotency
//! rule and a hint for when it fails. [`super::actions`] builds the plans
//! of `up`, `down` and `status`; [`super::exec`] runs them, and
//! [`Plan::display`] prints them (`--plan`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use super::names::KubeconfigPath;
use super::tool::Tool;

/// When a step may be skipped, so that running a plan twice is harmless.
#[derive(Debug, Clone, PartialEq)]
pub enum Idempotency {
    /// Running it again changes nothing (apply, wait, load, version checks).
    Rerunnable,
    /// `kind create cluster`: skipped when `kind get clusters` lists the
    /// name and `--reuse` is set; refused when it is listed without `--reuse`.
    CreatesCluster,
    /// `kind delete cluster`: skipped when the name is not listed.
    DeletesCluster,
    /// Skipped when this probe exits 0 (`docker image inspect`, `kubectl get`).
    SkipIfSucceeds(Box<PlannedCommand>),
    /// Skipped when the file exists (downloads; the digest check follows).
    SkipIfFileExists(PathBuf),
}

/// What the output of a command must contain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expect {
    /// Text stdout must contain.
    pub stdout_contains: String,
    /// Fail the step when it does not (else only warn).
    pub fatal: bool,
}

/// Attempts of a command that may fail while something is still starting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Attempts in all (1 = no retry).
    pub attempts: u32,
    /// Pause between attempts.
    pub delay: Duration,
}

impl Retry {
    /// One attempt.
    pub const ONCE: Retry = Retry {
        attempts: 1,
        delay: Duration::ZERO,
    };
}

/// One external command.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedCommand {
    /// The program.
    pub program: Tool,
    /// Its arguments, one element each.
    pub args: Vec<String>,
    /// Environment added to the inherited one.
    pub env: BTreeMap<String, String>,
    /// What it is for (logged, and named when it fails).
    pub purpose: String,
    /// When it may be skipped.
    pub idempotency: Idempotency,
    /// Retries.
    pub retry: Retry,
    /// Output check.
    pub expect: Option<Expect>,
    /// Takes long: show a progress spinner.
    pub long: bool,
    /// Print its stdout to the user (`status`).
    pub show_output: bool,
    /// What to try when it fails.
    pub hint: String,
}

impl PlannedCommand {
    /// `program args...` for `purpose`: rerunnable, run once, nothing shown.
    pub fn new(program: Tool, args: &[&str], purpose: impl Into<String>) -> PlannedCommand {
        PlannedCommand {
            program,
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            env: BTreeMap::new(),
            purpose: purpose.into(),
            idempotency: Idempotency::Rerunnable,
            retry: Retry::ONCE,
            expect: None,
            long: false,
            show_output: false,
            hint: String::new(),
        }
    }

    pub(super) fn kubeconfig(mut self, kubeconfig: &KubeconfigPath) -> PlannedCommand {
        // Flag and environment both: a tool that ignores one still never
        // falls back to ~/.kube/config.
        self.args.push("--kubeconfig".into());
        self.args.push(kubeconfig.to_string());
        self.env.insert("KUBECONFIG".into(), kubeconfig.to_string());
        self
    }

    pub(super) fn idempotency(mut self, idempotency: Idempotency) -> PlannedCommand {
        self.idempotency = idempotency;
        self
    }

    /// What to try when it fails.
    pub fn hint(mut self, hint: impl Into<String>) -> PlannedCommand {
        self.hint = hint.into();
        self
    }

    pub(super) fn long(mut self) -> PlannedCommand {
        self.long = true;
        self
    }

    pub(super) fn retry(mut self, attempts: u32, delay_secs: u64) -> PlannedCommand {
        self.retry = Retry {
            attempts,
            delay: Duration::from_secs(delay_secs),
        };
        self
    }

    pub(super) fn expect(mut self, stdout_contains: &str, fatal: bool) -> PlannedCommand {
        self.expect = Some(Expect {
            stdout_contains: stdout_contains.to_owned(),
            fatal,
        });
        self
    }

    pub(super) fn shown(mut self) -> PlannedCommand {
        self.show_output = true;
        self
    }

    /// The command line for display (arguments quoted where needed). Only
    /// for humans: commands are always run from the argument vector.
    pub fn command_line(&self) -> String {
        std::iter::once(self.program.program().to_owned())
            .chain(self.args.iter().map(|a| quote(a)))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@,+%".contains(&b));
    if plain {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Run a command.
    Run(PlannedCommand),
    /// Write a generated file (parent directories created).
    WriteFile {
        /// Where.
        path: PathBuf,
        /// What.
        contents: String,
        /// Why.
        purpose: String,
    },
    /// Copy a file (parent directories created), e.g. the running binary
    /// into the image's build context.
    CopyFile {
        /// The file read.
        source: PathBuf,
        /// The copy written.
        dest: PathBuf,
        /// Why.
        purpose: String,
    },
    /// Check a downloaded file's sha256.
    VerifySha256 {
        /// The file.
        path: PathBuf,
        /// The hex digest it must have.
        sha256: &'static str,
        /// Why.
        purpose: String,
    },
    /// Write a copy of a (verified) file with one text replaced; the text
    /// must occur exactly once, so a changed upstream file fails loudly
    /// instead of being applied half-edited.
    ReplaceOnce {
        /// The file read.
        source: PathBuf,
        /// The copy written.
        dest: PathBuf,
        /// The text that must occur exactly once.
        from: &'static str,
        /// What replaces it.
        to: String,
        /// Why.
        purpose: String,
    },
}

impl Step {
    /// What the step is for.
    pub fn purpose(&self) -> &str {
        match self {
            Step::Run(cmd) => &cmd.purpose,
            Step::WriteFile { purpose, .. }
            | Step::CopyFile { purpose, .. }
            | Step::VerifySha256 { purpose, .. }
            | Step::ReplaceOnce { purpose, .. } => purpose,
        }
    }
}

/// An ordered list of steps.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// The steps, run in order; the first failure stops the plan.
    pub steps: Vec<Step>,
}

impl Plan {
    /// Every program the plan (and its probes) calls.
    pub fn tools(&self) -> BTreeSet<Tool> {
        let mut tools = BTreeSet::new();
        for step in &self.steps {
            if let Step::Run(cmd) = step {
                tools.insert(cmd.program);
                if let Idempotency::SkipIfSucceeds(probe) = &cmd.idempotency {
                    tools.insert(probe.program);
                }
                if matches!(
                    cmd.idempotency,
                    Idempotency::CreatesCluster | Idempotency::DeletesCluster
                ) {
                    tools.insert(Tool::Kind);
                }
            }
        }
        tools
    }

    /// The plan as text: one numbered block per step with its purpose, the
    /// command line, its environment and when it is skipped.
    pub fn display(&self) -> String {
        let mut out = String::new();
        for (i, step) in self.steps.iter().enumerate() {
            let n = i + 1;
            let _ = writeln!(out, "{n:>2}. {}", step.purpose());
            match step {
                Step::Run(cmd) => {
                    let _ = writeln!(out, "    $ {}", cmd.command_line());
                    for (k, v) in &cmd.env {
                        let _ = writeln!(out, "      env {k}={v}");
                    }
                    match &cmd.idempotency {
                        Idempotency::Rerunnable => {}
                        Idempotency::CreatesCluster => {
                            let _ = writeln!(
                                out,
                                "      skip: when `kind get clusters` lists it and --reuse is set (refused without --reuse)"
                            );
                        }
                        Idempotency::DeletesCluster => {
                            let _ = writeln!(
                                out,
                                "      skip: when `kind get clusters` does not list it"
                            );
                        }
                        Idempotency::SkipIfSucceeds(probe) => {
                            let _ = writeln!(
                                out,
                                "      skip: when `{}` succeeds",
                                probe.command_line()
                            );
                        }
                        Idempotency::SkipIfFileExists(path) => {
                            let _ = writeln!(out, "      skip: when {} exists", path.display());
                        }
                    }
                    if cmd.retry.attempts > 1 {
                        let _ = writeln!(
                            out,
                            "      retry: {} attempts, {}s apart",
                            cmd.retry.attempts,
                            cmd.retry.delay.as_secs()
                        );
                    }
                    if let Some(expect) = &cmd.expect {
                        let _ = writeln!(
                            out,
                            "      expect: stdout contains {:?}{}",
                            expect.stdout_contains,
                            if expect.fatal { "" } else { " (warning only)" }
                        );
                    }
                }
                Step::WriteFile { path, contents, .. } => {
                    let _ = writeln!(
                        out,
                        "    write {} ({} lines)",
                        path.display(),
                        contents.lines().count()
                    );
                }
                Step::CopyFile { source, dest, .. } => {
                    let _ = writeln!(out, "    copy {} -> {}", source.display(), dest.display());
                }
                Step::VerifySha256 { path, sha256, .. } => {
                    let _ = writeln!(out, "    sha256 {} == {sha256}", path.display());
                }
                Step::ReplaceOnce {
                    source,
                    dest,
                    from,
                    to,
                    ..
                } => {
                    let _ = writeln!(
                        out,
                        "    write {} from {}: {from} -> {to}",
                        dest.display(),
                        source.display()
                    );
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_is_for_display_only() {
        assert_eq!(quote("--wait"), "--wait");
        assert_eq!(quote("{{.ServerVersion}}"), "'{{.ServerVersion}}'");
        assert_eq!(quote("a'b"), r"'a'\''b'");
        assert_eq!(quote(""), "''");
    }
}
