//! Prometheus text exposition (format 0.0.4), written by hand.
//!
//! Only what `echo` and `loadgen` need: counter families and histogram
//! families with arbitrary label sets. The families are plain data; callers
//! share them behind a `Mutex` so that one scrape sees one consistent
//! snapshot (a histogram's `_count` always equals its `+Inf` bucket, and a
//! loadgen's request counters agree with its histogram).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The `Content-Type` of a text exposition.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Upper bounds (seconds) of the request duration histogram; `+Inf` is
/// implicit.
pub const DURATION_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A label set: names (fixed by the code) and values (from input), in
/// exposition order.
pub type Labels = Vec<(&'static str, String)>;

/// Escapes a label value: backslash, double quote and newline.
pub fn escape_label_value(value: &str) -> Cow<'_, str> {
    if !value.contains(['\\', '"', '\n']) {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Escapes `# HELP` text: backslash and newline (quotes stay as they are).
pub fn escape_help(text: &str) -> Cow<'_, str> {
    if !text.contains(['\\', '\n']) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(text.replace('\\', "\\\\").replace('\n', "\\n"))
}

/// A sample value: `+Inf`, `-Inf`, `NaN`, or the shortest decimal that
/// reads back as the same number (`1`, `0.005`, `2.5`).
pub fn format_value(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_owned()
    } else if value == f64::INFINITY {
        "+Inf".to_owned()
    } else if value == f64::NEG_INFINITY {
        "-Inf".to_owned()
    } else {
        format!("{value}")
    }
}

/// Writes `{a="x",b="y"}` (nothing for an empty set), with an optional
/// extra label last (`le` of histogram buckets).
fn write_labels(out: &mut String, labels: &[(&'static str, String)], extra: Option<(&str, &str)>) {
    if labels.is_empty() && extra.is_none() {
        return;
    }
    out.push('{');
    let mut first = true;
    let pairs = labels.iter().map(|(k, v)| (*k, v.as_str())).chain(extra);
    for (name, value) in pairs {
        if !first {
            out.push(',');
        }
        first = false;
        let _ = write!(out, "{name}=\"{}\"", escape_label_value(value));
    }
    out.push('}');
}

fn write_header(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {}", escape_help(help));
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// A counter family: one monotonically increasing count per label set.
#[derive(Debug, Clone)]
pub struct CounterFamily {
    name: &'static str,
    help: &'static str,
    series: BTreeMap<Labels, u64>,
}

impl CounterFamily {
    /// An empty family; `name` should end in `_total`.
    pub fn new(name: &'static str, help: &'static str) -> CounterFamily {
        CounterFamily {
            name,
            help,
            series: BTreeMap::new(),
        }
    }

    /// Adds one to the series with these labels.
    pub fn inc(&mut self, labels: Labels) {
        self.add(labels, 1);
    }

    /// Adds `n` to the series with these labels (creating it at 0).
    pub fn add(&mut self, labels: Labels, n: u64) {
        *self.series.entry(labels).or_insert(0) += n;
    }

    /// The count of one series (0 when absent).
    pub fn get(&self, labels: &Labels) -> u64 {
        self.series.get(labels).copied().unwrap_or(0)
    }

    /// The sum over every series.
    pub fn total(&self) -> u64 {
        self.series.values().sum()
    }

    /// The series, in exposition order.
    pub fn series(&self) -> impl Iterator<Item = (&Labels, u64)> {
        self.series.iter().map(|(k, v)| (k, *v))
    }

    /// Appends `# HELP`, `# TYPE` and one line per series.
    pub fn render(&self, out: &mut String) {
        write_header(out, self.name, self.help, "counter");
        for (labels, value) in &self.series {
            out.push_str(self.name);
            write_labels(out, labels, None);
            let _ = writeln!(out, " {value}");
        }
    }
}

/// One histogram series: per-bucket (non-cumulative) counts, sum, count.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    bounds: &'static [f64],
    /// `counts[i]` observations fell in `(bounds[i-1], bounds[i]]`; the
    /// last slot (index `bounds.len()`) holds those above every bound.
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    /// An empty histogram with these (ascending) upper bounds.
    pub fn new(bounds: &'static [f64]) -> Histogram {
        Histogram {
            bounds,
            counts: vec![0; bounds.len() + 1],
            sum: 0.0,
            count: 0,
        }
    }

    /// Records one observation; a bucket's bound is inclusive (`le`).
    pub fn observe(&mut self, value: f64) {
        let slot = self
            .bounds
            .iter()
            .position(|bound| value <= *bound)
            .unwrap_or(self.bounds.len());
        self.counts[slot] += 1;
        self.sum += value;
        self.count += 1;
    }

    /// Number of observations.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Sum of the observations.
    pub fn sum(&self) -> f64 {
        self.sum
    }

    /// Cumulative counts per upper bound, `+Inf` last.
    pub fn cumulative(&self) -> Vec<(f64, u64)> {
        let mut running = 0;
        self.bounds
            .iter()
            .copied()
            .chain(std::iter::once(f64::INFINITY))
            .zip(&self.counts)
            .map(|(bound, n)| {
                running += n;
                (bound, running)
            })
            .collect()
    }
}

/// A histogram family: one [`Histogram`] per label set, same buckets.
#[derive(Debug, Clone)]
pub struct HistogramFamily {
    name: &'static str,
    help: &'static str,
    bounds: &'static [f64],
    series: BTreeMap<Labels, Histogram>,
}

impl HistogramFamily {
    /// An empty family with these upper bounds (ascending, `+Inf`
    /// implicit).
    pub fn new(name: &'static str, help: &'static str, bounds: &'static [f64]) -> HistogramFamily {
        HistogramFamily {
            name,
            help,
            bounds,
            series: BTreeMap::new(),
        }
    }

    /// Records one observation in the series with these labels.
    pub fn observe(&mut self, labels: Labels, value: f64) {
        self.series
            .entry(labels)
            .or_insert_with(|| Histogram::new(self.bounds))
            .observe(value);
    }

    /// Creates the series with these labels (empty) if it does not exist,
    /// so that it is exported before the first observation.
    pub fn touch(&mut self, labels: Labels) {
        self.series
            .entry(labels)
            .or_insert_with(|| Histogram::new(self.bounds));
    }

    /// One series, when it exists.
    pub fn get(&self, labels: &Labels) -> Option<&Histogram> {
        self.series.get(labels)
    }

    /// Appends `# HELP`, `# TYPE`, then per series the cumulative
    /// `_bucket` lines (`le` last, `+Inf` included), `_sum` and `_count`.
    pub fn render(&self, out: &mut String) {
        write_header(out, self.name, self.help, "histogram");
        for (labels, histogram) in &self.series {
            for (bound, cumulative) in histogram.cumulative() {
                let le = format_value(bound);
                let _ = write!(out, "{}_bucket", self.name);
                write_labels(out, labels, Some(("le", &le)));
                let _ = writeln!(out, " {cumulative}");
            }
            let _ = write!(out, "{}_sum", self.name);
            write_labels(out, labels, None);
            let _ = writeln!(out, " {}", format_value(histogram.sum));
            let _ = write!(out, "{}_count", self.name);
            write_labels(out, labels, None);
            let _ = writeln!(out, " {}", histogram.count);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&'static str, &str)]) -> Labels {
        pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
    }

    #[test]
    fn label_values_escape_backslash_quote_newline() {
        assert_eq!(escape_label_value("us-east-1a"), "us-east-1a");
        assert!(matches!(escape_label_value("plain"), Cow::Borrowed(_)));
        assert_eq!(escape_label_value(r#"a\b"#), r#"a\\b"#);
        assert_eq!(escape_label_value(r#"say "hi""#), r#"say \"hi\""#);
        assert_eq!(escape_label_value("two\nlines"), r"two\nlines");
        assert_eq!(escape_label_value("\\\"\n"), r#"\\\"\n"#);
        // Other characters, tabs and non-ASCII included, pass through.
        assert_eq!(escape_label_value("tab\tzone-é"), "tab\tzone-é");
    }

    #[test]
    fn help_escapes_backslash_and_newline_but_not_quotes() {
        assert_eq!(escape_help(r#"a "b" \ c"#), r#"a "b" \\ c"#);
        assert_eq!(escape_help("x\ny"), r"x\ny");
    }

    #[test]
    fn values_format_like_prometheus() {
        assert_eq!(format_value(1.0), "1");
        assert_eq!(format_value(0.005), "0.005");
        assert_eq!(format_value(2.5), "2.5");
        assert_eq!(format_value(f64::INFINITY), "+Inf");
        assert_eq!(format_value(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_value(f64::NAN), "NaN");
    }

    #[test]
    fn counter_family_renders_sorted_escaped_series() {
        let mut family =
            CounterFamily::new("x_requests_total", "Requests \\ by code.\nSecond line.");
        family.inc(labels(&[("zone", "b"), ("code", "200")]));
        family.add(labels(&[("zone", "a\"q"), ("code", "503")]), 3);
        family.inc(labels(&[("zone", "b"), ("code", "200")]));
        let mut out = String::new();
        family.render(&mut out);
        assert_eq!(
            out,
            "# HELP x_requests_total Requests \\\\ by code.\\nSecond line.\n\
             # TYPE x_requests_total counter\n\
             x_requests_total{zone=\"a\\\"q\",code=\"503\"} 3\n\
             x_requests_total{zone=\"b\",code=\"200\"} 2\n"
        );
        assert_eq!(family.get(&labels(&[("zone", "b"), ("code", "200")])), 2);
        assert_eq!(family.get(&labels(&[("zone", "c"), ("code", "200")])), 0);
        assert_eq!(family.total(), 5);
    }

    #[test]
    fn counter_without_labels_has_no_braces() {
        let mut family = CounterFamily::new("x_total", "X.");
        family.add(Vec::new(), 7);
        let mut out = String::new();
        family.render(&mut out);
        assert!(out.ends_with("\nx_total 7\n"), "{out}");
    }

    #[test]
    fn histogram_buckets_are_cumulative_and_inclusive() {
        static BOUNDS: [f64; 3] = [0.1, 0.5, 1.0];
        let mut h = Histogram::new(&BOUNDS);
        for v in [0.05, 0.1, 0.3, 0.5, 0.7, 3.0] {
            h.observe(v);
        }
        assert_eq!(
            h.cumulative(),
            vec![(0.1, 2), (0.5, 4), (1.0, 5), (f64::INFINITY, 6)]
        );
        assert_eq!(h.count(), 6);
        assert!((h.sum() - 4.65).abs() < 1e-9, "{}", h.sum());
    }

    #[test]
    fn histogram_family_renders_buckets_sum_count() {
        static BOUNDS: [f64; 2] = [0.25, 1.0];
        let mut family = HistogramFamily::new("x_seconds", "Durations.", &BOUNDS);
        let zone = labels(&[("client_zone", "us-east-1a")]);
        family.observe(zone.clone(), 0.25);
        family.observe(zone.clone(), 0.5);
        family.observe(zone.clone(), 4.0);
        family.touch(labels(&[("client_zone", "b\nz")]));
        let mut out = String::new();
        family.render(&mut out);
        let expected = "\
# HELP x_seconds Durations.
# TYPE x_seconds histogram
x_seconds_bucket{client_zone=\"b\\nz\",le=\"0.25\"} 0
x_seconds_bucket{client_zone=\"b\\nz\",le=\"1\"} 0
x_seconds_bucket{client_zone=\"b\\nz\",le=\"+Inf\"} 0
x_seconds_sum{client_zone=\"b\\nz\"} 0
x_seconds_count{client_zone=\"b\\nz\"} 0
x_seconds_bucket{client_zone=\"us-east-1a\",le=\"0.25\"} 1
x_seconds_bucket{client_zone=\"us-east-1a\",le=\"1\"} 2
x_seconds_bucket{client_zone=\"us-east-1a\",le=\"+Inf\"} 3
x_seconds_sum{client_zone=\"us-east-1a\"} 4.75
x_seconds_count{client_zone=\"us-east-1a\"} 3
";
        assert_eq!(out, expected);
        assert_eq!(family.get(&zone).map(Histogram::count), Some(3));
    }

    #[test]
    fn duration_buckets_are_ascending() {
        assert!(DURATION_BUCKETS.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(DURATION_BUCKETS.len(), 11);
    }
}
