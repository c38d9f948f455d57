//! Findings: what a rule reports, where, and how to fix it.

use std::fmt;

use crate::topology::yaml::PathSeg;
use crate::topology::{Object, SourceLoc};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Informational; never fails a run.
    Info,
    /// Probably wrong; fails with `--fail-on warning`.
    Warning,
    /// Rejected by the API server or webhook, or broken at runtime.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// A rule: stable ID, short name, default severity, what it checks and the
/// upstream behaviour it rests on.
#[derive(Debug, PartialEq, Eq)]
pub struct Rule {
    /// Stable ID (`ZC1001`); never reused.
    pub id: &'static str,
    /// Kebab-case name (`distribute-with-failover`).
    pub name: &'static str,
    /// Severity of its findings.
    pub severity: Severity,
    /// One sentence: what the rule finds.
    pub summary: &'static str,
    /// Where the behaviour comes from (SEMANTICS.md section, upstream file).
    pub source: &'static str,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    /// Where (first for sorting).
    pub loc: SourceLoc,
    /// The rule.
    pub rule: &'static Rule,
    /// `Kind namespace/name` of the resource concerned.
    pub object: Option<String>,
    /// One line naming the resource and the problem.
    pub message: String,
    /// How to fix it.
    pub hint: String,
}

impl PartialOrd for &'static Rule {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for &'static Rule {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.id.cmp(other.id)
    }
}

impl Finding {
    /// The rule's severity.
    pub fn severity(&self) -> Severity {
        self.rule.severity
    }
}

/// Collects findings; rules push into it.
#[derive(Debug, Default)]
pub struct Findings {
    items: Vec<Finding>,
}

impl Findings {
    /// Reports `message` about a field of `object`.
    pub fn at(
        &mut self,
        rule: &'static Rule,
        object: &Object,
        path: &[PathSeg],
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        self.items.push(Finding {
            loc: object.loc(path),
            rule,
            object: Some(object.display_name()),
            message: message.into(),
            hint: hint.into(),
        });
    }

    /// Reports a finding not tied to a field path.
    pub fn push(&mut self, finding: Finding) {
        self.items.push(finding);
    }

    /// The findings, sorted by file, position and rule, duplicates removed.
    pub fn into_sorted(mut self) -> Vec<Finding> {
        self.items.sort();
        self.items.dedup();
        self.items
    }

    /// Findings so far (tests).
    pub fn as_slice(&self) -> &[Finding] {
        &self.items
    }
}
