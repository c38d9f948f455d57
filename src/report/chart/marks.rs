//! The chaos marks of a chart: a dashed line at each mark's second and
//! its label in one of two rows above the plot (numbered when crowded,
//! as in the list above the charts).

use std::fmt::Write as _;

use super::canvas::{CHAR_W, PLOT_B, PLOT_T, SVG_W, n};
use super::frame::Frame;
use crate::report::fmt_secs;
use crate::report::markup::escape;

/// Where a mark's label goes.
#[derive(Debug, Clone, PartialEq)]
struct MarkLabel {
    /// The line's x.
    x: f64,
    /// Label row (0 top), `None` when not even the number fits.
    row: Option<usize>,
    /// The label, cut to 40 characters, or the mark's number when crowded.
    text: String,
    /// Right of the line (`start`) or left of it near the right edge (`end`).
    anchor: &'static str,
}

/// Baselines of the label rows above the plot.
const MARK_ROWS: [f64; 2] = [13.0, 27.0];

/// Lays out mark labels in two rows above the plot: each label takes the
/// first row where it does not run into the previous one (and goes left of
/// its line near the right edge). When some label finds no room, every
/// label of the chart becomes the mark's number, as in the list above the
/// charts; a number without room is left out (the line stays).
fn layout_marks(frame: &Frame) -> Vec<MarkLabel> {
    const MAX_CHARS: usize = 40;
    let full: Vec<String> = frame
        .marks
        .iter()
        .map(|(_, label)| {
            if label.chars().count() > MAX_CHARS {
                let mut s: String = label.chars().take(MAX_CHARS - 1).collect();
                s.push('\u{2026}');
                s
            } else {
                label.clone()
            }
        })
        .collect();
    let labels = place_marks(frame, full);
    if labels.iter().all(|l| l.row.is_some()) {
        return labels;
    }
    place_marks(
        frame,
        (1..=frame.marks.len()).map(|k| k.to_string()).collect(),
    )
}

/// Greedy placement of `texts` (one per mark) in the label rows.
fn place_marks(frame: &Frame, texts: Vec<String>) -> Vec<MarkLabel> {
    const GAP: f64 = 6.0;
    let mut row_end = [f64::NEG_INFINITY; MARK_ROWS.len()];
    frame
        .marks
        .iter()
        .zip(texts)
        .map(|((second, _), text)| {
            let x = frame.x(*second);
            let w = 4.0 + text.chars().count() as f64 * CHAR_W;
            let (start, end, anchor) = if x + w <= SVG_W - 2.0 {
                (x, x + w, "start")
            } else {
                (x - w, x, "end")
            };
            let row = row_end.iter().position(|taken| *taken + GAP <= start);
            if let Some(r) = row {
                row_end[r] = end;
            }
            MarkLabel {
                x,
                row,
                text,
                anchor,
            }
        })
        .collect()
}

/// Dashed lines at the chaos marks, with their labels.
pub(super) fn draw(out: &mut String, frame: &Frame) {
    for ((second, label), placed) in frame.marks.iter().zip(layout_marks(frame)) {
        let px = n(placed.x);
        let _ = write!(
            out,
            "<g class=\"mark\"><title>{at}: {full}</title>",
            at = fmt_secs(*second),
            full = escape(label),
        );
        let top = placed.row.map_or(PLOT_T, |r| MARK_ROWS[r] - 9.0);
        let _ = write!(
            out,
            "<line x1=\"{px}\" y1=\"{y1}\" x2=\"{px}\" y2=\"{b}\" stroke=\"#1d232b\" \
             stroke-width=\"1.2\" stroke-dasharray=\"5 3\"/>",
            y1 = n(top),
            b = n(PLOT_B),
        );
        if let Some(row) = placed.row {
            let tx = if placed.anchor == "start" {
                placed.x + 4.0
            } else {
                placed.x - 4.0
            };
            let _ = write!(
                out,
                "<text x=\"{tx}\" y=\"{ty}\" text-anchor=\"{anchor}\" fill=\"#1d232b\" stroke=\"#fff\" \
                 stroke-width=\"3\" paint-order=\"stroke\">{text}</text>",
                tx = n(tx),
                ty = n(MARK_ROWS[row]),
                anchor = placed.anchor,
                text = escape(&placed.text),
            );
        }
        out.push_str("</g>\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::html::html;
    use crate::report::testdata::{self, count};

    fn frame_with_marks(marks: &[(f64, &str)]) -> Frame {
        Frame {
            end_s: 120.0,
            bucket: 1,
            seconds_per_point: 1,
            serving: vec![],
            errors: vec![],
            marks: marks.iter().map(|(s, l)| (*s, (*l).to_owned())).collect(),
        }
    }

    fn rows_and_texts(labels: &[MarkLabel]) -> Vec<(Option<usize>, &str, &str)> {
        labels
            .iter()
            .map(|l| (l.row, l.text.as_str(), l.anchor))
            .collect()
    }

    #[test]
    fn mark_labels_take_turns_in_two_rows() {
        let frame = frame_with_marks(&[
            (40.0, "spot-loss us-east-1c"),
            (42.0, "rollout step 2"),
            (100.0, "restore"),
            (119.0, "at the end of the run"),
        ]);
        assert_eq!(
            rows_and_texts(&layout_marks(&frame)),
            vec![
                (Some(0), "spot-loss us-east-1c", "start"),
                (Some(1), "rollout step 2", "start"),
                (Some(0), "restore", "start"),
                // Near the right edge: left of the line, in the row that is free there.
                (Some(1), "at the end of the run", "end"),
            ]
        );
    }

    #[test]
    fn crowded_marks_are_numbered() {
        let frame = frame_with_marks(&[
            (40.0, "spot-loss us-east-1c"),
            (42.0, "rollout step 2"),
            (44.0, "pdb check"),
            (100.0, "restore"),
        ]);
        assert_eq!(
            rows_and_texts(&layout_marks(&frame)),
            vec![
                (Some(0), "1", "start"),
                (Some(1), "2", "start"),
                (Some(0), "3", "start"),
                (Some(0), "4", "start"),
            ]
        );
        let page = {
            let mut report = testdata::sample();
            report.timeline.marks = frame.marks.clone();
            html(&report)
        };
        assert!(page.contains("<li><b>3</b> 44.0s pdb check</li>"));
        assert!(page.contains("paint-order=\"stroke\">3</text>"));
    }

    #[test]
    fn marks_on_top_of_each_other_keep_their_lines() {
        let many: Vec<(f64, &str)> = (0..50).map(|_| (60.0, "same second")).collect();
        let frame = frame_with_marks(&many);
        let labels = layout_marks(&frame);
        assert_eq!(labels.len(), 50);
        assert_eq!(labels.iter().filter(|l| l.row.is_some()).count(), 2);
        let mut out = String::new();
        draw(&mut out, &frame);
        assert_eq!(count(&out, "<line "), 50);
        assert_eq!(count(&out, "<text "), 2);
    }
}
