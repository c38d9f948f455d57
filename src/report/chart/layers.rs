//! The stacked bands of a chart: the requests served by each zone, bottom
//! up in the frame's zone order, then each kind of error on top, each
//! band a step-shaped path between its two edges.

use std::fmt::Write as _;

use super::axes::YScale;
use super::canvas::n;
use super::frame::Frame;
use crate::report::markup::escape;
use crate::report::model::TimelinePoint;

/// One colour per serving zone, in `timeline.zones` order.
pub(super) const ZONE_COLORS: [&str; 8] = [
    "#3a78c9", // blue
    "#3f9b4f", // green
    "#f0892a", // orange
    "#8b63c0", // purple
    "#1aa3b3", // teal
    "#c45c9e", // pink
    "#8c6a4f", // brown
    "#7f8a96", // grey
];

/// Shades of red for error kinds, in key order.
pub(super) const ERROR_COLORS: [&str; 5] = ["#e0302b", "#8e1712", "#f47a6e", "#b8221c", "#5e0d0a"];

/// One stacked band of a chart.
pub(super) struct Layer {
    /// `served by <zone>` or `error <key>`, in the legend and the band's title.
    pub(super) label: String,
    /// Fill of the band and its legend swatch.
    pub(super) color: &'static str,
    /// Average requests per second per bucket.
    values: Vec<f64>,
}

/// The bands of `points` that carry any requests: served by each zone of
/// the frame, then each error kind.
pub(super) fn of(frame: &Frame, points: &[TimelinePoint]) -> Vec<Layer> {
    let served = frame.serving.iter().enumerate().map(|(i, zone)| Layer {
        label: format!("served by {zone}"),
        color: ZONE_COLORS[i % ZONE_COLORS.len()],
        values: bucketed(points, frame, |p| p.served.get(zone).copied().unwrap_or(0)),
    });
    let errors = frame.errors.iter().enumerate().map(|(i, key)| Layer {
        label: format!("error {key}"),
        color: ERROR_COLORS[i % ERROR_COLORS.len()],
        values: bucketed(points, frame, |p| p.errors.get(key).copied().unwrap_or(0)),
    });
    served
        .chain(errors)
        .filter(|layer| layer.values.iter().any(|v| *v > 0.0))
        .collect()
}

/// Averages `value` per second over each bucket of `points` (a point sums
/// `frame.seconds_per_point` seconds).
fn bucketed(
    points: &[TimelinePoint],
    frame: &Frame,
    value: impl Fn(&TimelinePoint) -> u64,
) -> Vec<f64> {
    points
        .chunks(frame.bucket)
        .map(|chunk| {
            let sum: f64 = chunk.iter().map(|p| value(p) as f64).sum();
            sum / (chunk.len() as f64 * frame.seconds_per_point as f64)
        })
        .collect()
}

/// The edges of the stack, bottom up: zeros, then the top of each layer
/// (the bottom of each layer is the top of the one below).
pub(super) fn stack(layers: &[Layer]) -> Vec<Vec<f64>> {
    let buckets = layers.iter().map(|l| l.values.len()).max().unwrap_or(0);
    let mut edges: Vec<Vec<f64>> = Vec::with_capacity(layers.len() + 1);
    let mut running = vec![0.0f64; buckets];
    edges.push(running.clone());
    for layer in layers {
        for (r, v) in running.iter_mut().zip(&layer.values) {
            *r += v;
        }
        edges.push(running.clone());
    }
    edges
}

/// One `<path>` per layer between its `edges`; `samples` points of data.
pub(super) fn bands(
    out: &mut String,
    frame: &Frame,
    samples: usize,
    layers: &[Layer],
    edges: &[Vec<f64>],
    scale: &YScale,
) {
    let bucket_x = |i: usize| {
        frame.x(((i * frame.bucket).min(samples)) as f64 * frame.seconds_per_point as f64)
    };
    let y = |v: f64| scale.y(v);
    for (layer, edge) in layers.iter().zip(edges.windows(2)) {
        let d = band_path(&edge[1], &edge[0], &bucket_x, &y);
        let _ = writeln!(
            out,
            "<path d=\"{d}\" fill=\"{}\" stroke=\"none\"><title>{}</title></path>",
            layer.color,
            escape(&layer.label)
        );
    }
}

/// A closed step-shaped band between `bottom` and `top`: along the top
/// from left to right, back along the bottom. Vertices only where the
/// value changes.
pub(super) fn band_path(
    top: &[f64],
    bottom: &[f64],
    bucket_x: &dyn Fn(usize) -> f64,
    y: &dyn Fn(f64) -> f64,
) -> String {
    let buckets = top.len().min(bottom.len());
    if buckets == 0 {
        return String::new();
    }
    let mut d = String::new();
    let mut current = n(y(top[0]));
    let _ = write!(d, "M{} {current}", n(bucket_x(0)));
    for (i, value) in top.iter().enumerate().take(buckets).skip(1) {
        let next = n(y(*value));
        if next != current {
            let _ = write!(d, "H{}V{next}", n(bucket_x(i)));
            current = next;
        }
    }
    let _ = write!(d, "H{}", n(bucket_x(buckets)));
    current = n(y(bottom[buckets - 1]));
    let _ = write!(d, "V{current}");
    for (i, value) in bottom.iter().enumerate().take(buckets - 1).rev() {
        let next = n(y(*value));
        if next != current {
            let _ = write!(d, "H{}V{next}", n(bucket_x(i + 1)));
            current = next;
        }
    }
    let _ = write!(d, "H{}Z", n(bucket_x(0)));
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_band_follows_the_data() {
        // Two seconds at 10 rps then one at 20: a step up at x(2).
        let top = [10.0, 10.0, 20.0];
        let bottom = [0.0; 3];
        let x = |i: usize| i as f64 * 100.0;
        let y = |v: f64| 100.0 - v;
        assert_eq!(band_path(&top, &bottom, &x, &y), "M0 90H200V80H300V100H0Z");
        let lifted = band_path(&[15.0, 25.0], &[5.0, 5.0], &x, &y);
        assert_eq!(lifted, "M0 85H100V75H200V95H0Z");
        assert_eq!(band_path(&[], &[], &x, &y), "");
        // Mismatched lengths draw the common part.
        assert_eq!(band_path(&[10.0, 20.0], &[0.0], &x, &y), "M0 90H100V100H0Z");
    }
}
