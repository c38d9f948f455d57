//! The axes of a chart: the y scale (requests per second, in steps of 1,
//! 2 or 5 times a power of ten), the x axis in seconds since the start,
//! their tick labels and the two axis lines.

use std::fmt::Write as _;

use super::canvas::{PLOT_B, PLOT_L, PLOT_R, PLOT_T, n};
use super::frame::Frame;

/// The y axis of one chart: from 0 to `max` in ticks of `step`.
pub(super) struct YScale {
    /// Requests per second between ticks.
    pub(super) step: f64,
    /// Requests per second at the top of the plot.
    pub(super) max: f64,
}

impl YScale {
    /// A scale about four ticks high that holds `peak`.
    pub(super) fn of(peak: f64) -> YScale {
        let step = nice_step(peak / 4.0);
        let max = if peak > 0.0 {
            (peak / step).ceil() * step
        } else {
            step
        };
        YScale { step, max }
    }

    /// The y of `value` on the plot.
    pub(super) fn y(&self, value: f64) -> f64 {
        PLOT_B - (PLOT_B - PLOT_T) * (value / self.max).clamp(0.0, 1.0)
    }
}

/// A step of 1, 2 or 5 times a power of ten, near `raw`.
fn nice_step(raw: f64) -> f64 {
    if !raw.is_finite() || raw <= 0.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(raw.log10().floor());
    let norm = raw / magnitude;
    let factor = if norm <= 1.0 {
        1.0
    } else if norm <= 2.0 {
        2.0
    } else if norm <= 5.0 {
        5.0
    } else {
        10.0
    };
    factor * magnitude
}

/// `0`, `50`, `2.5`, `12k`, `3M`.
fn tick_label(value: f64) -> String {
    for (scale, suffix) in [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")] {
        if value >= 10.0 * scale && (value / scale).fract() == 0.0 {
            return format!("{}{suffix}", value / scale);
        }
    }
    if value.fract() == 0.0 || value >= 1e15 {
        format!("{value:.0}")
    } else {
        let text = format!("{value:.2}");
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

/// Grid lines and labels of the y axis, and its title.
pub(super) fn y_axis(out: &mut String, scale: &YScale) {
    let (step, max) = (scale.step, scale.max);
    let mut value = 0.0;
    let mut guard = 0;
    while value <= max * (1.0 + 1e-9) && guard < 20 {
        let py = n(scale.y(value));
        let _ = writeln!(
            out,
            "<line x1=\"{l}\" y1=\"{py}\" x2=\"{r}\" y2=\"{py}\" stroke=\"#e3e7eb\"/>\
             <text x=\"{tx}\" y=\"{py}\" dy=\"3.5\" text-anchor=\"end\" fill=\"#5f6b7a\">{label}</text>",
            l = n(PLOT_L),
            r = n(PLOT_R),
            tx = n(PLOT_L - 6.0),
            label = tick_label(value),
        );
        value += step;
        guard += 1;
    }
    let _ = writeln!(
        out,
        "<text transform=\"translate(14 {}) rotate(-90)\" text-anchor=\"middle\" fill=\"#5f6b7a\">requests/s</text>",
        n((PLOT_T + PLOT_B) / 2.0)
    );
}

/// Ticks and labels of the x axis, in seconds, and its title.
pub(super) fn x_axis(out: &mut String, frame: &Frame) {
    let step = nice_step(frame.end_s / 10.0).max(1.0);
    let mut second = 0.0;
    let mut guard = 0;
    while second <= frame.end_s * (1.0 + 1e-9) && guard < 30 {
        let px = n(frame.x(second));
        let _ = writeln!(
            out,
            "<line x1=\"{px}\" y1=\"{b}\" x2=\"{px}\" y2=\"{b2}\" stroke=\"#1d232b\"/>\
             <text x=\"{px}\" y=\"{ty}\" text-anchor=\"middle\" fill=\"#5f6b7a\">{second:.0}</text>",
            b = n(PLOT_B),
            b2 = n(PLOT_B + 4.0),
            ty = n(PLOT_B + 16.0),
        );
        second += step;
        guard += 1;
    }
    let _ = writeln!(
        out,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"#5f6b7a\">seconds since start</text>",
        n(PLOT_R),
        n(PLOT_B + 30.0)
    );
}

/// The x and y axis lines, drawn over the bands.
pub(super) fn axis_lines(out: &mut String) {
    let _ = writeln!(
        out,
        "<line x1=\"{l}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"#1d232b\"/>\
         <line x1=\"{l}\" y1=\"{t}\" x2=\"{l}\" y2=\"{b}\" stroke=\"#1d232b\"/>",
        l = n(PLOT_L),
        r = n(PLOT_R),
        t = n(PLOT_T),
        b = n(PLOT_B),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_steps_and_labels() {
        assert_eq!(nice_step(25.0), 50.0);
        assert_eq!(nice_step(12.0), 20.0);
        assert_eq!(nice_step(0.3), 0.5);
        assert_eq!(nice_step(0.0), 1.0);
        assert_eq!(nice_step(f64::NAN), 1.0);
        assert_eq!(tick_label(0.0), "0");
        assert_eq!(tick_label(2.5), "2.5");
        assert_eq!(tick_label(20_000.0), "20k");
        assert_eq!(tick_label(5_000.0), "5000");
        assert_eq!(tick_label(50_000_000.0), "50M");
        assert_eq!(tick_label(2e19), "20000000T");
    }
}
