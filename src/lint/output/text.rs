//! Text output: one block per finding, then a summary line.
//!
//! ```text
//! manifests/dr.yaml:42:7: error[ZC1001] DestinationRule default/test: can not ...
//!   hint: remove failover or distribute
//!   rule: distribute-with-failover
//!
//! 1 error, 0 warnings, 0 info in 1 file (3 objects)
//! ```

use std::fmt::Write as _;

use super::{message_with_object, path_text};
use crate::lint::LintReport;
use crate::lint::finding::{Finding, Severity};
use crate::topology::SourceLoc;

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";

fn severity_style(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "\x1b[1;31m",
        Severity::Warning => "\x1b[1;33m",
        Severity::Info => "\x1b[1;36m",
    }
}

/// Paints `text` when colour is on.
fn paint(out: &mut String, color: bool, style: &str, text: &str) {
    if color {
        out.push_str(style);
        out.push_str(text);
        out.push_str(RESET);
    } else {
        out.push_str(text);
    }
}

/// `file:line:col`, or less when the position is unknown (0).
pub fn location(loc: &SourceLoc) -> String {
    let file = path_text(&loc.file);
    match (loc.pos.line, loc.pos.column) {
        (0, _) => file,
        (line, 0) => format!("{file}:{line}"),
        (line, column) => format!("{file}:{line}:{column}"),
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The summary line (without newline).
pub fn summary(report: &LintReport) -> String {
    format!(
        "{}, {}, {} info in {} ({})",
        plural(report.count(Severity::Error), "error", "errors"),
        plural(report.count(Severity::Warning), "warning", "warnings"),
        report.count(Severity::Info),
        plural(report.files.len(), "file", "files"),
        plural(report.objects, "object", "objects"),
    )
}

fn render_finding(out: &mut String, finding: &Finding, color: bool) {
    let severity = finding.severity();
    paint(out, color, BOLD, &location(&finding.loc));
    out.push_str(": ");
    paint(
        out,
        color,
        severity_style(severity),
        &format!("{severity}[{}]", finding.rule.id),
    );
    out.push(' ');
    out.push_str(&message_with_object(
        finding.object.as_deref(),
        &finding.message,
    ));
    out.push('\n');
    if !finding.hint.is_empty() {
        out.push_str("  ");
        paint(out, color, BOLD, "hint:");
        let _ = writeln!(out, " {}", finding.hint);
    }
    out.push_str("  ");
    paint(out, color, DIM, &format!("rule: {}", finding.rule.name));
    out.push('\n');
}

/// Renders the report as text; `color` adds ANSI escapes.
pub fn render(report: &LintReport, color: bool) -> String {
    let mut out = String::new();
    for finding in &report.findings {
        render_finding(&mut out, finding, color);
        out.push('\n');
    }
    out.push_str(&summary(report));
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::output::test_support;

    #[test]
    fn layout_of_findings_and_summary() {
        let text = render(&test_support::report(), false);
        let expected = "\
manifests/dr.yaml:42:7: error[ZC1001] DestinationRule default/test: can not simultaneously specify 'distribute' and 'failover'
  hint: remove failover or distribute
  rule: distribute-with-failover

manifests/dr.yaml:50:9: warning[ZC1012] DestinationRule default/test: consecutiveErrors is ignored
  hint: use consecutive5xxErrors
  rule: deprecated-consecutive-errors

manifests/cm.yaml: info[ZC0004] ConfigMap default/c: v1 is not a kind zonechaos models; not checked
  hint: nothing to do
  rule: unknown-kind

1 error, 1 warning, 1 info in 2 files (3 objects)
";
        assert_eq!(text, expected);
    }

    #[test]
    fn no_escape_codes_without_colour_and_some_with() {
        let report = test_support::report();
        assert!(!render(&report, false).contains('\x1b'));
        let colored = render(&report, true);
        assert!(
            colored.contains("\x1b[1;31merror[ZC1001]\x1b[0m"),
            "{colored}"
        );
        assert!(colored.contains("\x1b[1;33mwarning[ZC1012]"), "{colored}");
    }

    #[test]
    fn clean_report_is_only_the_summary() {
        assert_eq!(
            render(&test_support::empty(), false),
            "0 errors, 0 warnings, 0 info in 1 file (1 object)\n"
        );
    }

    #[test]
    fn location_drops_unknown_parts() {
        let mut f = test_support::finding(
            &crate::lint::catalog::YAML_SYNTAX,
            "x/y.yaml",
            3,
            0,
            None,
            "m",
            "h",
        );
        assert_eq!(location(&f.loc), "x/y.yaml:3");
        f.loc.pos.column = 4;
        assert_eq!(location(&f.loc), "x/y.yaml:3:4");
    }
}
