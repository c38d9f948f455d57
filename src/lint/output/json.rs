//! JSON output for scripts (format version 1).
//!
//! ```json
//! {
//!   "version": 1,
//!   "files": ["manifests/dr.yaml"],
//!   "objects": 3,
//!   "summary": {"error": 1, "warning": 0, "info": 0},
//!   "findings": [{"rule": "ZC1001", "name": "distribute-with-failover",
//!     "severity": "error", "file": "manifests/dr.yaml", "line": 42,
//!     "column": 7, "object": "DestinationRule default/test",
//!     "message": "...", "hint": "..."}]
//! }
//! ```
//!
//! `line` and `column` are 1-based; 0 means unknown. `object` is null for
//! findings not about one object (e.g. a YAML syntax error).

use serde::Serialize;

use super::{path_text, to_pretty_json};
use crate::lint::LintReport;
use crate::lint::finding::{Finding, Severity};

/// Version of this JSON layout; bumped on incompatible changes.
pub const VERSION: u32 = 1;

/// The whole document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JsonReport {
    /// [`VERSION`].
    pub version: u32,
    /// Files read, as given.
    pub files: Vec<String>,
    /// Objects read.
    pub objects: usize,
    /// Number of findings per severity.
    pub summary: Summary,
    /// The findings, sorted by file and position.
    pub findings: Vec<JsonFinding>,
}

/// Number of findings per severity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Error-level findings.
    pub error: usize,
    /// Warning-level findings.
    pub warning: usize,
    /// Info-level findings.
    pub info: usize,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JsonFinding {
    /// Rule ID (`ZC1001`).
    pub rule: &'static str,
    /// Rule name (`distribute-with-failover`).
    pub name: &'static str,
    /// `error`, `warning` or `info`.
    pub severity: Severity,
    /// The file, as given.
    pub file: String,
    /// 1-based line; 0 when unknown.
    pub line: u32,
    /// 1-based column; 0 when unknown.
    pub column: u32,
    /// `Kind namespace/name`, or null.
    pub object: Option<String>,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: String,
}

impl From<&Finding> for JsonFinding {
    fn from(f: &Finding) -> JsonFinding {
        JsonFinding {
            rule: f.rule.id,
            name: f.rule.name,
            severity: f.severity(),
            file: path_text(&f.loc.file),
            line: f.loc.pos.line,
            column: f.loc.pos.column,
            object: f.object.clone(),
            message: f.message.clone(),
            hint: f.hint.clone(),
        }
    }
}

impl From<&LintReport> for JsonReport {
    fn from(report: &LintReport) -> JsonReport {
        JsonReport {
            version: VERSION,
            files: report.files.iter().map(|p| path_text(p)).collect(),
            objects: report.objects,
            summary: Summary {
                error: report.count(Severity::Error),
                warning: report.count(Severity::Warning),
                info: report.count(Severity::Info),
            },
            findings: report.findings.iter().map(JsonFinding::from).collect(),
        }
    }
}

/// Renders the report as pretty-printed JSON, with a final newline.
pub fn render(report: &LintReport) -> String {
    to_pretty_json(&JsonReport::from(report))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::output::test_support;

    use serde_json::{Value, json};

    #[test]
    fn fields_of_report_and_findings() {
        let text = render(&test_support::report());
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["version"], 1);
        assert_eq!(
            v["files"],
            json!(["manifests/cm.yaml", "manifests/dr.yaml"])
        );
        assert_eq!(v["objects"], 3);
        assert_eq!(v["summary"], json!({"error": 1, "warning": 1, "info": 1}));
        let findings = v["findings"].as_array().unwrap();
        assert_eq!(findings.len(), 3);
        assert_eq!(
            findings[0],
            json!({
                "rule": "ZC1001",
                "name": "distribute-with-failover",
                "severity": "error",
                "file": "manifests/dr.yaml",
                "line": 42,
                "column": 7,
                "object": "DestinationRule default/test",
                "message": "DestinationRule default/test: can not simultaneously specify 'distribute' and 'failover'",
                "hint": "remove failover or distribute",
            })
        );
        assert_eq!(findings[1]["severity"], "warning");
        assert_eq!(findings[2]["severity"], "info");
        assert_eq!(findings[2]["object"], Value::Null);
        assert!(text.ends_with("}\n"));
        assert!(text.starts_with("{\n  \"version\": 1,"), "{text}");
    }

    #[test]
    fn clean_report_has_empty_findings() {
        let v: Value = serde_json::from_str(&render(&test_support::empty())).unwrap();
        assert_eq!(v["findings"], json!([]));
        assert_eq!(v["summary"]["error"], 0);
    }
}
