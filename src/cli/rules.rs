//! `zonechaos rules`: the rule catalogue as a table.

use std::io::Write;

use super::{CliError, Status};
use crate::lint::catalog;
use crate::lint::finding::Rule;

/// The table: a header, then one line per rule, columns aligned.
pub fn table(rules: &[&Rule]) -> String {
    let header = ["ID", "SEVERITY", "NAME", "SUMMARY"];
    let rows: Vec<[String; 4]> = rules
        .iter()
        .map(|r| {
            [
                r.id.to_owned(),
                r.severity.to_string(),
                r.name.to_owned(),
                r.summary.to_owned(),
            ]
        })
        .collect();
    let width = |i: usize| {
        rows.iter()
            .map(|row| row[i].chars().count())
            .chain([header[i].len()])
            .max()
            .unwrap_or(0)
    };
    let widths = [width(0), width(1), width(2)];
    let line = |cells: [&str; 4]| {
        format!(
            "{:w0$}  {:w1$}  {:w2$}  {}\n",
            cells[0],
            cells[1],
            cells[2],
            cells[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
        )
    };
    let mut out = line(header);
    for row in &rows {
        out.push_str(&line([&row[0], &row[1], &row[2], &row[3]]));
    }
    out
}

/// Prints every rule of the catalogue.
pub fn run() -> Result<Status, CliError> {
    let text = table(catalog::ALL);
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => Err(CliError::infrastructure(
            format!("cannot write to stdout: {err}"),
            "",
        )),
        _ => Ok(Status::Clean),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_aligned_line_per_rule() {
        let text = table(catalog::ALL);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), catalog::ALL.len() + 1);
        assert!(
            lines[0].starts_with("ID      SEVERITY  NAME"),
            "{}",
            lines[0]
        );
        let name_col = lines[0].find("NAME").unwrap();
        let summary_col = lines[0].find("SUMMARY").unwrap();
        for (line, rule) in lines[1..].iter().zip(catalog::ALL) {
            assert!(line.starts_with(rule.id), "{line}");
            assert_eq!(
                &line[name_col..name_col + rule.name.len()],
                rule.name,
                "{line}"
            );
            assert_eq!(&line[summary_col..], rule.summary, "{line}");
        }
        assert!(text.contains("ZC1012  warning   deprecated-consecutive-errors"));
    }
}
