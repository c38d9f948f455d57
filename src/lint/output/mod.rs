//! Renders a [`LintReport`](super::LintReport) as text, JSON or SARIF 2.1.0.
//!
//! Every renderer is a pure function of the report: no I/O, no panics, the
//! same report always renders to the same string.

pub mod json;
pub mod sarif;
pub mod text;

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use super::LintReport;

/// Output format of `zonechaos lint`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Human-readable, one finding per block.
    #[default]
    Text,
    /// JSON for scripts.
    Json,
    /// SARIF 2.1.0 for GitHub code scanning.
    Sarif,
}

impl Format {
    /// Every format, in the order `--help` lists them.
    pub const ALL: [Format; 3] = [Format::Text, Format::Json, Format::Sarif];

    /// The name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Json => "json",
            Format::Sarif => "sarif",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Format, String> {
        Format::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown output format '{s}' (expected text, json or sarif)"))
    }
}

/// How to render, beyond the format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RenderOptions {
    /// Use ANSI colours (text format only; ignored by JSON and SARIF).
    pub color: bool,
}

/// Renders the report without colour.
pub fn render(report: &LintReport, format: Format) -> String {
    render_with(report, format, RenderOptions::default())
}

/// Renders the report.
pub fn render_with(report: &LintReport, format: Format, options: RenderOptions) -> String {
    match format {
        Format::Text => text::render(report, options.color),
        Format::Json => json::render(report),
        Format::Sarif => sarif::render(report),
    }
}

/// Pretty-printed JSON with a final newline. Serializing plain structs of
/// strings and numbers cannot fail; should it, the output is still JSON.
pub(crate) fn to_pretty_json<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_string_pretty(value) {
        Ok(text) => text + "\n",
        Err(err) => format!(
            "{{\"error\": {}}}\n",
            serde_json::Value::String(err.to_string())
        ),
    }
}

/// A path as text, exactly as given (lossy for non-UTF-8 names).
pub(crate) fn path_text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// The message of a finding, prefixed with the object's name unless the
/// message already starts with it (rules write `Kind ns/name: problem`).
pub(crate) fn message_with_object(object: Option<&str>, message: &str) -> String {
    match object {
        Some(object) if !object.is_empty() && !message.starts_with(object) => {
            format!("{object}: {message}")
        }
        _ => message.to_owned(),
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Hand-built reports for the renderers' tests.

    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    use crate::lint::LintReport;
    use crate::lint::catalog;
    use crate::lint::finding::{Finding, Rule};
    use crate::topology::SourceLoc;
    use crate::topology::yaml::Pos;

    pub fn finding(
        rule: &'static Rule,
        file: &str,
        line: u32,
        column: u32,
        object: Option<&str>,
        message: &str,
        hint: &str,
    ) -> Finding {
        Finding {
            loc: SourceLoc {
                file: Arc::from(Path::new(file)),
                pos: Pos { line, column },
            },
            rule,
            object: object.map(str::to_owned),
            message: message.to_owned(),
            hint: hint.to_owned(),
        }
    }

    /// One error, one warning, one info over two files.
    pub fn report() -> LintReport {
        LintReport {
            findings: vec![
                finding(
                    &catalog::DISTRIBUTE_WITH_FAILOVER,
                    "manifests/dr.yaml",
                    42,
                    7,
                    Some("DestinationRule default/test"),
                    "DestinationRule default/test: can not simultaneously specify 'distribute' and 'failover'",
                    "remove failover or distribute",
                ),
                finding(
                    &catalog::DEPRECATED_CONSECUTIVE_ERRORS,
                    "manifests/dr.yaml",
                    50,
                    9,
                    Some("DestinationRule default/test"),
                    "consecutiveErrors is ignored",
                    "use consecutive5xxErrors",
                ),
                finding(
                    &catalog::UNKNOWN_KIND,
                    "manifests/cm.yaml",
                    0,
                    0,
                    None,
                    "ConfigMap default/c: v1 is not a kind zonechaos models; not checked",
                    "nothing to do",
                ),
            ],
            files: vec![
                PathBuf::from("manifests/cm.yaml"),
                PathBuf::from("manifests/dr.yaml"),
            ],
            objects: 3,
            bad_input: false,
        }
    }

    pub fn empty() -> LintReport {
        LintReport {
            findings: Vec::new(),
            files: vec![PathBuf::from("a.yaml")],
            objects: 1,
            bad_input: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names_round_trip() {
        for f in Format::ALL {
            assert_eq!(f.as_str().parse::<Format>(), Ok(f));
        }
        assert_eq!("SARIF".parse::<Format>(), Ok(Format::Sarif));
        assert!("yaml".parse::<Format>().unwrap_err().contains("'yaml'"));
    }

    #[test]
    fn object_prefix_is_not_repeated() {
        assert_eq!(
            message_with_object(Some("Service a/b"), "Service a/b: bad"),
            "Service a/b: bad"
        );
        assert_eq!(
            message_with_object(Some("Service a/b"), "bad"),
            "Service a/b: bad"
        );
        assert_eq!(message_with_object(None, "bad"), "bad");
    }

    #[test]
    fn render_dispatches_on_format() {
        let report = test_support::report();
        assert!(render(&report, Format::Text).contains("error[ZC1001]"));
        assert!(render(&report, Format::Json).contains("\"version\": 1"));
        assert!(render(&report, Format::Sarif).contains("\"version\": \"2.1.0\""));
    }
}
