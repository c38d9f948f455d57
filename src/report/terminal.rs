//! The end-of-run summary on the terminal: a header, the steps, failover
//! latency and the verdict line.
//!
//! ```text
//! zonechaos run: spot-zone-loss (suites/spot-zone-loss.yaml)
//!   backend   kind
//!   ...
//! +----+------+-------------------+--------+-------+-------------+
//! | #  | kind | title             | status | time  | message     |
//! +----+------+-------------------+--------+-------+-------------+
//! |  1 | wait | wait 30s          | passed | 30.0s | 30s elapsed |
//! ...
//! FAILED: 6 assertions (1 expected failure), 2 failed (1 unexpected pass)
//! ```

use std::fmt::Write as _;

use super::model::{RunReport, StepStatus, Verdict};
use super::{fmt_secs, fmt_step_duration, fmt_wall, status_word, verdict_line};

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const GREEN: &str = "\x1b[32m";
const BOLD_GREEN: &str = "\x1b[1;32m";
const BOLD_RED: &str = "\x1b[1;31m";
const BOLD_MAGENTA: &str = "\x1b[1;35m";
const YELLOW: &str = "\x1b[33m";

/// Longest message shown in the table, in characters.
const MESSAGE_MAX: usize = 100;
/// Longest title shown in the table, in characters.
const TITLE_MAX: usize = 60;

fn status_style(status: StepStatus) -> &'static str {
    match status {
        StepStatus::Passed => GREEN,
        StepStatus::Failed | StepStatus::UnexpectedPass => BOLD_RED,
        StepStatus::ExpectedFailure => YELLOW,
        StepStatus::Error => BOLD_MAGENTA,
        StepStatus::Skipped => DIM,
    }
}

fn verdict_style(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Passed => BOLD_GREEN,
        Verdict::Failed => BOLD_RED,
        Verdict::Error => BOLD_MAGENTA,
        Verdict::Skipped => DIM,
    }
}

/// Wraps `text` in `style` when colour is on.
fn paint(color: bool, style: &str, text: &str) -> String {
    if color && !style.is_empty() {
        format!("{style}{text}{RESET}")
    } else {
        text.to_owned()
    }
}

/// One line of text that cannot move the cursor or change colours:
/// control characters (newlines, tabs, ESC) become spaces.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// At most `max` characters, the last three `...` when cut.
fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(3)).collect();
    cut.push_str("...");
    cut
}

fn width(text: &str) -> usize {
    text.chars().count()
}

/// A table cell: plain text (measured) and the style to paint it with.
struct Cell {
    text: String,
    style: &'static str,
}

impl Cell {
    fn plain(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            style: "",
        }
    }

    fn styled(text: impl Into<String>, style: &'static str) -> Cell {
        Cell {
            text: text.into(),
            style,
        }
    }
}

enum Row {
    /// One cell per column.
    Cells(Vec<Cell>),
    /// One line across the whole table.
    Span(Cell),
}

/// An ASCII table with `+`, `-` and `|`; columns as wide as their widest
/// cell, right-aligned where asked.
struct Table {
    headers: Vec<&'static str>,
    right: Vec<bool>,
    rows: Vec<Row>,
}

impl Table {
    fn new(columns: &[(&'static str, bool)]) -> Table {
        Table {
            headers: columns.iter().map(|(h, _)| *h).collect(),
            right: columns.iter().map(|(_, r)| *r).collect(),
            rows: Vec::new(),
        }
    }

    fn render(&self, out: &mut String, color: bool) {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| width(h)).collect();
        for row in &self.rows {
            if let Row::Cells(cells) = row {
                for (w, cell) in widths.iter_mut().zip(cells) {
                    *w = (*w).max(width(&cell.text));
                }
            }
        }
        // A span longer than the table widens the last column.
        let inner = |widths: &[usize]| widths.iter().sum::<usize>() + 3 * (widths.len() - 1);
        for row in &self.rows {
            if let Row::Span(cell) = row {
                let need = width(&cell.text);
                let have = inner(&widths);
                if need > have
                    && let Some(last) = widths.last_mut()
                {
                    *last += need - have;
                }
            }
        }

        let rule: String = {
            let mut r = String::from("+");
            for w in &widths {
                r.push_str(&"-".repeat(w + 2));
                r.push('+');
            }
            r
        };
        let header: Vec<Cell> = self.headers.iter().map(|h| Cell::plain(*h)).collect();

        let _ = writeln!(out, "{rule}");
        self.cells_line(out, &header, &widths, color);
        let _ = writeln!(out, "{rule}");
        for row in &self.rows {
            match row {
                Row::Cells(cells) => self.cells_line(out, cells, &widths, color),
                Row::Span(cell) => {
                    let pad = inner(&widths) - width(&cell.text);
                    let _ = writeln!(
                        out,
                        "| {}{} |",
                        paint(color, cell.style, &cell.text),
                        " ".repeat(pad)
                    );
                }
            }
        }
        let _ = writeln!(out, "{rule}");
    }

    fn cells_line(&self, out: &mut String, cells: &[Cell], widths: &[usize], color: bool) {
        out.push('|');
        for (i, w) in widths.iter().enumerate() {
            let (text, style) = cells
                .get(i)
                .map_or(("", ""), |c| (c.text.as_str(), c.style));
            let pad = " ".repeat(w - width(text));
            let painted = paint(color, style, text);
            if self.right.get(i).copied().unwrap_or(false) {
                let _ = write!(out, " {pad}{painted} |");
            } else {
                let _ = write!(out, " {painted}{pad} |");
            }
        }
        out.push('\n');
    }
}

/// The end-of-run summary; ANSI colours only when `color` is true.
pub fn summary(report: &RunReport, color: bool) -> String {
    let mut out = String::new();
    header(&mut out, report, color);
    out.push('\n');
    steps(&mut out, report, color);
    out.push('\n');
    failover(&mut out, report, color);
    out.push('\n');
    let _ = writeln!(
        out,
        "{}",
        paint(
            color,
            verdict_style(report.verdict),
            &one_line(&verdict_line(report))
        )
    );
    out
}

fn header(out: &mut String, report: &RunReport, color: bool) {
    let _ = writeln!(
        out,
        "zonechaos run: {} ({})",
        paint(color, BOLD, &one_line(&report.suite)),
        one_line(&report.file)
    );
    let topology = if report.topology.is_empty() {
        "-".to_owned()
    } else {
        one_line(&report.topology.join(", "))
    };
    let verdict = super::verdict_word(report.verdict);
    let fields = [
        ("backend", one_line(&report.backend)),
        ("topology", topology),
        ("profile", one_line(&report.profile)),
        ("seed", report.seed.to_string()),
        (
            "verdict",
            paint(color, verdict_style(report.verdict), verdict),
        ),
        (
            "duration",
            format!(
                "{} run clock, {} wall",
                fmt_secs(report.duration_s),
                fmt_wall(report.wall_ms)
            ),
        ),
    ];
    for (name, value) in fields {
        let _ = writeln!(out, "  {name:<9} {value}");
    }
}

fn steps(out: &mut String, report: &RunReport, color: bool) {
    let _ = writeln!(out, "{}", paint(color, BOLD, "Steps"));
    if report.steps.is_empty() {
        let _ = writeln!(out, "  (no steps)");
        return;
    }
    let mut table = Table::new(&[
        ("#", true),
        ("kind", false),
        ("title", false),
        ("status", false),
        ("time", true),
        ("message", false),
    ]);
    for step in &report.steps {
        // Every free-text cell is cut: one 70,000-character name must not
        // widen the whole table (issue 10 item 1).
        let kind = truncate(&one_line(&step.kind), TITLE_MAX);
        let kind = if step.finally {
            format!("{kind} (finally)")
        } else {
            kind
        };
        table.rows.push(Row::Cells(vec![
            Cell::plain(step.index.to_string()),
            Cell::plain(kind),
            Cell::plain(truncate(&one_line(&step.title), TITLE_MAX)),
            Cell::styled(status_word(step.status), status_style(step.status)),
            Cell::plain(fmt_step_duration(step)),
            Cell::plain(truncate(&one_line(&step.message), MESSAGE_MAX)),
        ]));
        if let Some(reason) = &step.expected_failure_reason {
            let label = match step.status {
                StepStatus::UnexpectedPass => "expected to fail",
                _ => "expected failure",
            };
            table.rows.push(Row::Span(Cell::styled(
                format!("     {label}: {}", truncate(&one_line(reason), MESSAGE_MAX)),
                DIM,
            )));
        }
    }
    table.render(out, color);
}

fn failover(out: &mut String, report: &RunReport, color: bool) {
    let _ = writeln!(out, "{}", paint(color, BOLD, "Failover latency"));
    if report.failover.is_empty() {
        let _ = writeln!(out, "  (no zone lost)");
        return;
    }
    let columns: Vec<(&str, bool)> = crate::report::FAILOVER_COLUMNS
        .iter()
        .enumerate()
        .map(|(i, c)| (*c, i > 0))
        .collect();
    let mut table = Table::new(&columns);
    for f in &report.failover {
        let [zone, rest @ ..] = crate::report::failover_cells(f);
        let mut cells = vec![Cell::plain(truncate(&one_line(&zone), TITLE_MAX))];
        cells.extend(rest.into_iter().map(Cell::plain));
        table.rows.push(Row::Cells(cells));
    }
    table.render(out, color);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testdata;

    #[test]
    fn summary_of_the_sample_run() {
        insta::assert_snapshot!(summary(&testdata::sample(), false));
    }

    #[test]
    fn summary_of_an_empty_run() {
        insta::assert_snapshot!(summary(&testdata::empty(), false));
    }

    #[test]
    fn colour_only_when_asked() {
        let report = testdata::sample();
        let plain = summary(&report, false);
        let colored = summary(&report, true);
        assert!(!plain.contains('\x1b'), "{plain}");
        assert!(colored.contains("\x1b[1;31mFAILED\x1b[0m"), "{colored}");
        assert!(colored.contains("\x1b[32mpassed\x1b[0m"), "{colored}");
    }

    #[test]
    fn columns_line_up() {
        let text = summary(&testdata::sample(), false);
        let table: Vec<&str> = text
            .lines()
            .skip_while(|l| !l.starts_with('+'))
            .take_while(|l| l.starts_with('+') || l.starts_with('|'))
            .collect();
        assert!(table.len() > 10, "{text}");
        let first = width(table[0]);
        for line in &table {
            assert_eq!(width(line), first, "{line:?} in\n{text}");
        }
    }

    #[test]
    fn long_messages_are_cut_and_control_characters_removed() {
        let mut report = testdata::sample();
        report.steps[0].message = format!("first line\nsecond\x1b[31m {}", "x".repeat(300));
        let text = summary(&report, false);
        let row = text.lines().find(|l| l.contains("first line")).unwrap();
        let message = row.split('|').nth(6).unwrap().trim();
        assert!(message.starts_with("first line second [31m xxx"), "{row}");
        assert!(message.ends_with("..."), "{row}");
        assert_eq!(width(message), MESSAGE_MAX, "{row}");
        assert!(!text.contains('\x1b'));
    }

    #[test]
    fn expected_failure_reason_is_on_the_next_line() {
        let text = summary(&testdata::sample(), false);
        let lines: Vec<&str> = text.lines().collect();
        let at = lines
            .iter()
            .position(|l| l.contains("PDB keeps 2 pods"))
            .unwrap();
        assert!(
            lines[at + 1].starts_with("|      expected failure: the PDB counts pods per region"),
            "{}",
            lines[at + 1]
        );
    }

    /// issue 10 item 1: cells of 70,000 characters (past u16::MAX, where
    /// `{:width$}` panics) are cut, so no line of the summary is longer
    /// than the cut columns.
    #[test]
    fn names_past_u16_max_are_cut_in_every_cell() {
        let long = "n".repeat(70_000);
        let mut report = testdata::sample();
        report.steps[0].kind = long.clone();
        report.steps[0].title = long.clone();
        report.steps[0].message = long.clone();
        report.failover[0].zone = crate::zone::Zone::from(long.as_str());
        let text = summary(&report, true);
        for line in text.lines().filter(|l| l.starts_with('|')) {
            assert!(width(line) < 400, "{} characters: {line:.300}", width(line));
        }
        assert!(text.contains(&format!("{}...", "n".repeat(TITLE_MAX - 3))));
    }

    #[test]
    fn odd_numbers_do_not_panic() {
        let mut report = testdata::sample();
        report.duration_s = f64::NAN;
        report.steps[0].ended_s = f64::NAN;
        report.steps[1].started_s = f64::INFINITY;
        report.steps[2].ended_s = -5.0;
        report.failover[0].predicted_s = Some(f64::NAN);
        report.failover[0].measured_s = Some(f64::NEG_INFINITY);
        let text = summary(&report, true);
        assert!(text.contains("duration  - run clock"), "{text}");
    }
}
