//! A chart's geometry (the drawing, the plot inside it, the label rows
//! above it and the legend below) and how its numbers are written.

/// Width of the drawing.
pub(super) const SVG_W: f64 = 900.0;
/// Left edge of the plot: room for the y labels.
pub(super) const PLOT_L: f64 = 58.0;
/// Right edge of the plot.
pub(super) const PLOT_R: f64 = 884.0;
/// Two rows of mark labels above the plot.
pub(super) const PLOT_T: f64 = 38.0;
/// Bottom of the plot: the x axis.
pub(super) const PLOT_B: f64 = 168.0;
/// Top of the first legend row, below the x labels.
pub(super) const LEGEND_T: f64 = 204.0;
/// Height of a legend row.
pub(super) const LEGEND_ROW: f64 = 18.0;
/// Rough width of a character of 11 px sans-serif text.
pub(super) const CHAR_W: f64 = 6.3;

/// SVG numbers: one decimal is plenty at this size.
pub(super) fn n(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    if r.fract() == 0.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.1}")
    }
}
