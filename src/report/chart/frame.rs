//! What every chart of a run shares: the time axis, the buckets, the
//! colour order of the layers and the marks; and which client zones get a
//! chart.

use std::collections::BTreeSet;

use super::canvas::{PLOT_L, PLOT_R};
use crate::report::model::RunReport;
use crate::zone::Zone;

/// At most this many columns per chart; longer runs are averaged in buckets.
const MAX_BUCKETS: usize = 900;

/// What every chart shares: the time axis and the colour of each layer.
pub(crate) struct Frame {
    /// Seconds on the x axis, at least 1.
    pub(super) end_s: f64,
    /// Points per bucket, at least 1.
    pub(crate) bucket: usize,
    /// Seconds each point of the timeline sums, at least 1.
    pub(crate) seconds_per_point: u64,
    /// Serving zones, coloured in this order.
    pub(super) serving: Vec<Zone>,
    /// Error keys, shaded in this order.
    pub(super) errors: Vec<String>,
    /// Marks with a time on the axis, sorted by time.
    pub(crate) marks: Vec<(f64, String)>,
}

impl Frame {
    /// The frame of the charts of `report`.
    pub(crate) fn of(report: &RunReport) -> Frame {
        let timeline = &report.timeline;
        let longest = timeline.series.values().map(Vec::len).max().unwrap_or(0);
        let bucket = longest.div_ceil(MAX_BUCKETS).max(1);
        let seconds_per_point = timeline.seconds_per_point();

        let mut marks: Vec<(f64, String)> = timeline
            .marks
            .iter()
            .filter(|(s, _)| s.is_finite() && *s >= 0.0)
            .cloned()
            .collect();
        marks.sort_by(|a, b| a.0.total_cmp(&b.0));
        let last_mark = marks.last().map_or(0.0, |m| m.0);
        // Marks after the last sample still show; a mark in the far future
        // (bad data) must not make the axis labels absurd.
        let end_s = (longest as f64 * seconds_per_point as f64)
            .max(last_mark.ceil())
            .clamp(1.0, 1e9);

        let mut serving: Vec<Zone> = Vec::new();
        for zone in &timeline.zones {
            if !serving.contains(zone) {
                serving.push(zone.clone());
            }
        }
        let mut others: BTreeSet<&Zone> = BTreeSet::new();
        let mut errors: BTreeSet<&String> = BTreeSet::new();
        for point in timeline.series.values().flatten() {
            others.extend(point.served.keys().filter(|z| !serving.contains(z)));
            errors.extend(point.errors.keys());
        }
        serving.extend(others.into_iter().cloned());
        Frame {
            end_s,
            bucket,
            seconds_per_point,
            serving,
            errors: errors.into_iter().cloned().collect(),
            marks,
        }
    }

    /// Seconds per bucket (what the page says the chart averages over).
    pub(crate) fn bucket_seconds(&self) -> u64 {
        self.bucket as u64 * self.seconds_per_point
    }

    /// The x of `second` on the plot.
    pub(super) fn x(&self, second: f64) -> f64 {
        PLOT_L + (PLOT_R - PLOT_L) * (second / self.end_s).clamp(0.0, 1.0)
    }
}

/// Client zones in profile order, then any others the series name.
pub(crate) fn client_zones(report: &RunReport) -> Vec<&Zone> {
    let series = &report.timeline.series;
    let mut zones: Vec<&Zone> = Vec::new();
    for zone in &report.timeline.zones {
        if series.contains_key(zone) && !zones.contains(&zone) {
            zones.push(zone);
        }
    }
    for zone in series.keys() {
        if !zones.contains(&zone) {
            zones.push(zone);
        }
    }
    zones
}
