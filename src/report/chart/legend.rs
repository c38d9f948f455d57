//! The legend below a chart: one swatch and label per layer, in rows that
//! fit the drawing's width.

use std::fmt::Write as _;

use super::canvas::{CHAR_W, LEGEND_ROW, LEGEND_T, PLOT_L, SVG_W, n};
use super::layers::Layer;
use crate::report::markup::escape;

/// Legend items in rows that fit the width: (x, layer) per row.
pub(super) fn rows(layers: &[Layer]) -> Vec<Vec<(f64, &Layer)>> {
    let mut rows: Vec<Vec<(f64, &Layer)>> = Vec::new();
    let mut x = PLOT_L;
    for layer in layers {
        let w = 14.0 + layer.label.chars().count() as f64 * CHAR_W + 18.0;
        if rows.is_empty() || (x + w > SVG_W && x > PLOT_L) {
            rows.push(Vec::new());
            x = PLOT_L;
        }
        if let Some(row) = rows.last_mut() {
            row.push((x, layer));
        }
        x += w;
    }
    rows
}

/// The legend: a swatch and a label per layer.
pub(super) fn draw(out: &mut String, rows: &[Vec<(f64, &Layer)>]) {
    for (r, row) in rows.iter().enumerate() {
        let y = LEGEND_T + LEGEND_ROW * r as f64;
        for (x, layer) in row {
            let _ = writeln!(
                out,
                "<rect x=\"{}\" y=\"{}\" width=\"10\" height=\"10\" fill=\"{}\"/>\
                 <text x=\"{}\" y=\"{}\" fill=\"#1d232b\">{}</text>",
                n(*x),
                n(y),
                layer.color,
                n(x + 14.0),
                n(y + 9.0),
                escape(&layer.label)
            );
        }
    }
}
