//! One self-contained HTML page per run: inline CSS, inline SVG, no
//! scripts, nothing fetched. A verdict banner, the steps, failover latency,
//! one stacked-area traffic chart per client zone (served by zone, errors
//! on top, chaos marks as dashed lines), then the PromQL queries and the
//! evidence of every assertion behind `<details>`.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::model::{RunReport, StepResult, StepStatus, TimelinePoint, Verdict};
use super::{
    fmt_opt_secs, fmt_secs, fmt_step_duration, fmt_wall, status_word, verdict_line, verdict_word,
};
use crate::zone::Zone;

/// `&`, `<`, `>`, `"` and `'` as entities, for text and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Not allowed in HTML text; a NUL would end some readers early.
            c if c.is_control() && !matches!(c, '\n' | '\t') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// `12,345`.
fn group(n: u128) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

const STYLE: &str = r#"
:root { color-scheme: light; --fg: #1d232b; --muted: #5f6b7a; --line: #d6dbe1; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: var(--fg); margin: 24px auto; max-width: 1120px; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 14px; margin: 18px 0 2px; }
code, pre, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 12.5px; }
.meta { color: var(--muted); margin: 0 0 12px; }
.meta div { display: inline-block; margin-right: 14px; white-space: nowrap; }
.meta dt { display: inline; font-weight: 600; }
.meta dd { display: inline; margin: 0 0 0 4px; white-space: normal; }
ol.marks { list-style: none; padding: 0; margin: 0 0 6px; color: var(--muted); }
ol.marks li { display: inline-block; margin-right: 16px; }
ol.marks b { color: var(--fg); }
.banner { padding: 10px 14px; border-radius: 6px; font-size: 16px; color: #fff; }
.banner strong { margin-right: 8px; }
.verdict-passed { background: #237a3b; }
.verdict-failed { background: #b3261e; }
.verdict-error { background: #6a3d9a; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 12px; text-transform: uppercase; letter-spacing: .03em; color: var(--muted); }
td.num, th.num { text-align: right; white-space: nowrap; }
td.kind { white-space: nowrap; }
.line { color: var(--muted); font-size: 12px; white-space: nowrap; }
.tag { white-space: nowrap; font-size: 11px; border: 1px solid var(--line); border-radius: 3px; padding: 0 4px; color: var(--muted); margin-left: 4px; }
.status { display: inline-block; font-size: 12px; font-weight: 600; padding: 1px 7px; border-radius: 10px; white-space: nowrap; }
.s-passed .status { background: #dcf1e1; color: #1d6b33; }
.s-failed .status { background: #b3261e; color: #fff; }
.s-expected-failure .status { background: #fdf0c4; color: #7a5600; }
.s-unexpected-pass .status { background: #fff; color: #b3261e; border: 1.5px solid #b3261e; }
.s-error .status { background: #6a3d9a; color: #fff; }
.s-skipped .status { background: #eceff2; color: var(--muted); }
tr.s-failed, tr.s-unexpected-pass { background: #fdf1f0; }
tr.s-error { background: #f5f0fa; }
tr.s-skipped td { color: var(--muted); }
.reason { color: #7a5600; font-size: 13px; margin-top: 2px; }
.chart { margin: 8px 0 18px; }
.chart .stats { color: var(--muted); margin: 0 0 4px; font-size: 13px; }
.chart svg { display: block; max-width: 100%; height: auto; }
details { margin: 10px 0; border: 1px solid var(--line); border-radius: 6px; padding: 6px 10px; }
summary { cursor: pointer; font-weight: 600; }
pre { background: #f5f7f9; padding: 8px 10px; border-radius: 4px; overflow-x: auto; white-space: pre-wrap; word-break: break-word; margin: 4px 0 10px; }
.empty { color: var(--muted); font-style: italic; }
"#;

/// The run as one self-contained HTML page.
pub fn html(report: &RunReport) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let verdict = verdict_word(report.verdict);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{verdict} {} - zonechaos</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape(&report.suite)
    );
    header(&mut out, report);
    steps(&mut out, &report.steps);
    failover(&mut out, report);
    timelines(&mut out, report);
    details(&mut out, report);
    out.push_str("</body>\n</html>\n");
    out
}

fn verdict_class(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Passed => "verdict-passed",
        Verdict::Failed => "verdict-failed",
        Verdict::Error => "verdict-error",
    }
}

fn status_class(status: StepStatus) -> &'static str {
    match status {
        StepStatus::Passed => "s-passed",
        StepStatus::Failed => "s-failed",
        StepStatus::ExpectedFailure => "s-expected-failure",
        StepStatus::UnexpectedPass => "s-unexpected-pass",
        StepStatus::Error => "s-error",
        StepStatus::Skipped => "s-skipped",
    }
}

fn header(out: &mut String, report: &RunReport) {
    let _ = writeln!(out, "<h1>{}</h1>", escape(&report.suite));
    let topology = if report.topology.is_empty() {
        "-".to_owned()
    } else {
        report.topology.join(", ")
    };
    let fields = [
        ("suite file", report.file.clone()),
        ("backend", report.backend.clone()),
        ("topology", topology),
        ("profile", report.profile.clone()),
        ("seed", report.seed.to_string()),
        (
            "duration",
            format!(
                "{} run clock, {} wall",
                fmt_secs(report.duration_s),
                fmt_wall(report.wall_ms)
            ),
        ),
    ];
    out.push_str("<dl class=\"meta\">");
    for (name, value) in fields {
        let _ = write!(
            out,
            "<div><dt>{name}</dt><dd>{}</dd></div> ",
            escape(&value)
        );
    }
    out.push_str("</dl>\n");
    let line = verdict_line(report);
    let rest = line
        .split_once(": ")
        .map_or(line.as_str(), |(_, rest)| rest);
    let _ = writeln!(
        out,
        "<div class=\"banner {}\"><strong>{}</strong>{}</div>",
        verdict_class(report.verdict),
        verdict_word(report.verdict),
        escape(rest)
    );
}

fn steps(out: &mut String, steps: &[StepResult]) {
    out.push_str("<h2>Steps</h2>\n");
    if steps.is_empty() {
        out.push_str("<p class=\"empty\">No steps ran.</p>\n");
        return;
    }
    out.push_str(
        "<table class=\"steps\">\n<thead><tr><th class=\"num\">#</th><th>kind</th><th>title</th>\
         <th>status</th><th class=\"num\">time</th><th>message</th></tr></thead>\n<tbody>\n",
    );
    for step in steps {
        let mut title = escape(&step.title);
        let _ = write!(title, " <span class=\"line\">line {}</span>", step.line);
        if step.finally {
            title.push_str("<span class=\"tag\">finally</span>");
        }
        if step.is_assertion {
            title.push_str("<span class=\"tag\">assertion</span>");
        }
        let mut message = escape(&step.message);
        if let Some(reason) = &step.expected_failure_reason {
            let label = if step.status == StepStatus::UnexpectedPass {
                "expected to fail"
            } else {
                "expected failure"
            };
            let _ = write!(
                message,
                "<div class=\"reason\">{label}: {}</div>",
                escape(reason)
            );
        }
        let _ = writeln!(
            out,
            "<tr class=\"{class}\"><td class=\"num\">{index}</td><td class=\"kind mono\">{kind}</td>\
             <td>{title}</td><td><span class=\"status\">{status}</span></td>\
             <td class=\"num\">{time}</td><td>{message}</td></tr>",
            class = status_class(step.status),
            index = step.index,
            kind = escape(&step.kind),
            status = status_word(step.status),
            time = fmt_step_duration(step),
        );
    }
    out.push_str("</tbody>\n</table>\n");
}

fn failover(out: &mut String, report: &RunReport) {
    out.push_str("<h2>Failover latency</h2>\n");
    if report.failover.is_empty() {
        out.push_str("<p class=\"empty\">No zone was lost.</p>\n");
        return;
    }
    out.push_str(
        "<table class=\"failover\">\n<thead><tr><th>zone</th><th class=\"num\">predicted</th>\
         <th class=\"num\">measured</th><th class=\"num\">lost requests</th></tr></thead>\n<tbody>\n",
    );
    for f in &report.failover {
        let _ = writeln!(
            out,
            "<tr><td class=\"mono\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td></tr>",
            escape(f.zone.as_str()),
            fmt_opt_secs(f.predicted_s),
            fmt_opt_secs(f.measured_s),
            group(u128::from(f.lost_requests)),
        );
    }
    out.push_str("</tbody>\n</table>\n");
}

fn details(out: &mut String, report: &RunReport) {
    if !report.queries.is_empty() {
        let _ = writeln!(
            out,
            "<details class=\"queries\"><summary>PromQL queries ({})</summary>",
            report.queries.len()
        );
        for query in &report.queries {
            let _ = writeln!(out, "<pre>{}</pre>", escape(query));
        }
        out.push_str("</details>\n");
    }
    let assertions: Vec<&StepResult> = report.assertions().collect();
    if assertions.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "<details class=\"evidence\"><summary>Evidence of {} assertion{}</summary>",
        assertions.len(),
        if assertions.len() == 1 { "" } else { "s" }
    );
    for step in assertions {
        let evidence = serde_json::to_string_pretty(&step.evidence)
            .unwrap_or_else(|e| format!("(evidence not serialisable: {e})"));
        let _ = writeln!(
            out,
            "<h3 class=\"{}\">{}: {} <span class=\"status\">{}</span></h3>\n<pre>{}</pre>",
            status_class(step.status),
            step.index,
            escape(&step.title),
            status_word(step.status),
            escape(&evidence)
        );
    }
    out.push_str("</details>\n");
}

// ---------------------------------------------------------------------------
// Timelines

/// At most this many columns per chart; longer runs are averaged in buckets.
const MAX_BUCKETS: usize = 900;

const SVG_W: f64 = 900.0;
const PLOT_L: f64 = 58.0;
const PLOT_R: f64 = 884.0;
/// Two rows of mark labels above the plot.
const PLOT_T: f64 = 38.0;
const PLOT_B: f64 = 168.0;
const LEGEND_T: f64 = 204.0;
const LEGEND_ROW: f64 = 18.0;
/// Rough width of a character of 11 px sans-serif text.
const CHAR_W: f64 = 6.3;

/// One colour per serving zone, in `timeline.zones` order.
const ZONE_COLORS: [&str; 8] = [
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
const ERROR_COLORS: [&str; 5] = ["#e0302b", "#8e1712", "#f47a6e", "#b8221c", "#5e0d0a"];

/// What every chart shares: the time axis and the colour of each layer.
struct Frame {
    /// Seconds on the x axis, at least 1.
    end_s: f64,
    /// Seconds per bucket, at least 1.
    bucket: usize,
    /// Serving zones, coloured in this order.
    serving: Vec<Zone>,
    /// Error keys, shaded in this order.
    errors: Vec<String>,
    /// Marks with a time on the axis, sorted by time.
    marks: Vec<(f64, String)>,
}

impl Frame {
    fn of(report: &RunReport) -> Frame {
        let timeline = &report.timeline;
        let longest = timeline.series.values().map(Vec::len).max().unwrap_or(0);
        let bucket = longest.div_ceil(MAX_BUCKETS).max(1);

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
        let end_s = (longest as f64).max(last_mark.ceil()).clamp(1.0, 1e9);

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
            serving,
            errors: errors.into_iter().cloned().collect(),
            marks,
        }
    }

    fn x(&self, second: f64) -> f64 {
        PLOT_L + (PLOT_R - PLOT_L) * (second / self.end_s).clamp(0.0, 1.0)
    }
}

/// One stacked band of a chart.
struct Layer {
    label: String,
    color: &'static str,
    /// Average requests per second per bucket.
    values: Vec<f64>,
}

/// Averages `value` over each bucket of `points`.
fn bucketed(
    points: &[TimelinePoint],
    bucket: usize,
    value: impl Fn(&TimelinePoint) -> u64,
) -> Vec<f64> {
    points
        .chunks(bucket)
        .map(|chunk| {
            let sum: f64 = chunk.iter().map(|p| value(p) as f64).sum();
            sum / chunk.len() as f64
        })
        .collect()
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

/// SVG numbers: one decimal is plenty at this size.
fn n(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    if r.fract() == 0.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.1}")
    }
}

/// Client zones in profile order, then any others the series name.
fn client_zones(report: &RunReport) -> Vec<&Zone> {
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

fn timelines(out: &mut String, report: &RunReport) {
    out.push_str("<h2>Traffic by client zone</h2>\n");
    if report.timeline.series.is_empty() {
        out.push_str("<p class=\"empty\">No traffic timeline was recorded.</p>\n");
        return;
    }
    let frame = Frame::of(report);
    if frame.bucket > 1 {
        let _ = writeln!(
            out,
            "<p class=\"meta\">Averaged over {}-second buckets.</p>",
            frame.bucket
        );
    }
    if !frame.marks.is_empty() {
        out.push_str("<ol class=\"marks\">");
        for (k, (second, label)) in frame.marks.iter().enumerate() {
            let _ = write!(
                out,
                "<li><b>{}</b> {} {}</li>",
                k + 1,
                fmt_secs(*second),
                escape(label)
            );
        }
        out.push_str("</ol>\n");
    }
    for zone in client_zones(report) {
        let points = report
            .timeline
            .series
            .get(zone)
            .map_or(&[][..], Vec::as_slice);
        chart(out, &frame, zone, points);
    }
}

fn chart(out: &mut String, frame: &Frame, client: &Zone, points: &[TimelinePoint]) {
    let mut layers: Vec<Layer> = Vec::new();
    for (i, zone) in frame.serving.iter().enumerate() {
        let values = bucketed(points, frame.bucket, |p| {
            p.served.get(zone).copied().unwrap_or(0)
        });
        if values.iter().any(|v| *v > 0.0) {
            layers.push(Layer {
                label: format!("served by {zone}"),
                color: ZONE_COLORS[i % ZONE_COLORS.len()],
                values,
            });
        }
    }
    for (i, key) in frame.errors.iter().enumerate() {
        let values = bucketed(points, frame.bucket, |p| {
            p.errors.get(key).copied().unwrap_or(0)
        });
        if values.iter().any(|v| *v > 0.0) {
            layers.push(Layer {
                label: format!("error {key}"),
                color: ERROR_COLORS[i % ERROR_COLORS.len()],
                values,
            });
        }
    }

    // Totals straight from the data, not from the averages.
    let served: u128 = points
        .iter()
        .flat_map(|p| p.served.values())
        .map(|v| u128::from(*v))
        .sum();
    let errors: u128 = points
        .iter()
        .flat_map(|p| p.errors.values())
        .map(|v| u128::from(*v))
        .sum();
    let total = served + errors;
    let share = if total == 0 {
        String::new()
    } else {
        format!(" ({:.2}%)", errors as f64 * 100.0 / total as f64)
    };

    let _ = writeln!(
        out,
        "<section class=\"chart\">\n<h3>Clients in {}</h3>\n<p class=\"stats\">{} s, {} requests, {} errors{}</p>",
        escape(client.as_str()),
        points.len(),
        group(total),
        group(errors),
        share
    );

    let legend_items = legend_rows(&layers);
    let height = LEGEND_T + LEGEND_ROW * legend_items.len().max(1) as f64;
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" \
         font-family=\"system-ui, sans-serif\" font-size=\"11\" role=\"img\" aria-label=\"requests per second of clients in {zone}\">\n\
         <title>Requests per second of clients in {zone}</title>",
        w = n(SVG_W),
        h = n(height),
        zone = escape(client.as_str()),
    );

    // Stack: bottom of each layer is the top of the one below.
    let buckets = layers.iter().map(|l| l.values.len()).max().unwrap_or(0);
    let mut tops: Vec<Vec<f64>> = Vec::with_capacity(layers.len());
    let mut running = vec![0.0f64; buckets];
    for layer in &layers {
        for (r, v) in running.iter_mut().zip(&layer.values) {
            *r += v;
        }
        tops.push(running.clone());
    }
    let peak = running.iter().copied().fold(0.0f64, f64::max);
    let y_step = nice_step(peak / 4.0);
    let y_max = if peak > 0.0 {
        (peak / y_step).ceil() * y_step
    } else {
        y_step
    };
    let y = |v: f64| PLOT_B - (PLOT_B - PLOT_T) * (v / y_max).clamp(0.0, 1.0);

    y_axis(out, y_step, y_max, &y);
    x_axis(out, frame);

    let bucket_x = |i: usize| frame.x(((i * frame.bucket).min(points.len())) as f64);
    let zero = vec![0.0f64; buckets];
    for (k, layer) in layers.iter().enumerate() {
        let top = &tops[k];
        let bottom = if k == 0 { &zero } else { &tops[k - 1] };
        let d = band_path(top, bottom, &bucket_x, &y);
        let _ = writeln!(
            out,
            "<path d=\"{d}\" fill=\"{}\" stroke=\"none\"><title>{}</title></path>",
            layer.color,
            escape(&layer.label)
        );
    }
    if peak <= 0.0 {
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#5f6b7a\" font-size=\"13\" stroke=\"#fff\" stroke-width=\"4\" paint-order=\"stroke\">no requests recorded</text>",
            n((PLOT_L + PLOT_R) / 2.0),
            n((PLOT_T + PLOT_B) / 2.0)
        );
    }
    marks(out, frame);
    let _ = writeln!(
        out,
        "<line x1=\"{l}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"#1d232b\"/>\
         <line x1=\"{l}\" y1=\"{t}\" x2=\"{l}\" y2=\"{b}\" stroke=\"#1d232b\"/>",
        l = n(PLOT_L),
        r = n(PLOT_R),
        t = n(PLOT_T),
        b = n(PLOT_B),
    );
    legend(out, &legend_items);
    out.push_str("</svg>\n</section>\n");
}

/// A closed step-shaped band between `bottom` and `top`: along the top
/// from left to right, back along the bottom. Vertices only where the
/// value changes.
fn band_path(
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

fn y_axis(out: &mut String, step: f64, max: f64, y: &dyn Fn(f64) -> f64) {
    let mut value = 0.0;
    let mut guard = 0;
    while value <= max * (1.0 + 1e-9) && guard < 20 {
        let py = n(y(value));
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

fn x_axis(out: &mut String, frame: &Frame) {
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
fn marks(out: &mut String, frame: &Frame) {
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

/// Legend items in rows that fit the width: (x, layer) per row.
fn legend_rows(layers: &[Layer]) -> Vec<Vec<(f64, &Layer)>> {
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

fn legend(out: &mut String, rows: &[Vec<(f64, &Layer)>]) {
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::report::testdata;

    fn count(haystack: &str, needle: &str) -> usize {
        haystack.matches(needle).count()
    }

    /// The whole page of the sample run, byte for byte.
    #[test]
    fn page_of_the_sample_run() {
        insta::assert_snapshot!(html(&testdata::sample()));
    }

    /// The whole page of a run with no steps and no timeline.
    #[test]
    fn page_of_an_empty_run() {
        insta::assert_snapshot!(html(&testdata::empty()));
    }

    #[test]
    fn escape_covers_the_five() {
        assert_eq!(
            escape("<a href=\"x\">Tom & Jerry's</a>"),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;"
        );
        assert_eq!(escape("a\u{0}b\nc"), "a\u{fffd}b\nc");
    }

    #[test]
    fn one_chart_per_client_zone_with_marks() {
        let page = html(&testdata::sample());
        assert_eq!(count(&page, "<svg "), 3);
        assert_eq!(count(&page, "</svg>"), 3);
        for zone in [testdata::A, testdata::B, testdata::C] {
            assert!(
                page.contains(&format!("<h3>Clients in {zone}</h3>")),
                "{zone}"
            );
        }
        assert!(page.contains(">spot-loss us-east-1c</text>"));
        assert!(page.contains(">restore</text>"));
        // Every chart draws both marks.
        assert_eq!(count(&page, "<g class=\"mark\">"), 6);
        assert!(page.contains("<title>served by us-east-1a</title>"));
        assert!(page.contains(">error 503 UF</text>"));
        assert!(page.contains(">error 503 UH</text>"));
    }

    #[test]
    fn sample_page_has_the_tables_and_details() {
        let page = html(&testdata::sample());
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(page.contains("<div class=\"banner verdict-failed\"><strong>FAILED</strong>"));
        assert_eq!(count(&page, "<tr class=\"s-"), 10);
        assert!(page.contains("<tr class=\"s-expected-failure\">"));
        assert!(page.contains(
            "<div class=\"reason\">expected failure: the PDB counts pods per region, not per zone (design defect ZC1301)</div>"
        ));
        assert!(page.contains("<td class=\"num\">5.4s</td>"));
        assert!(page.contains("<td class=\"num\">n/a</td>"));
        assert!(page.contains("<summary>PromQL queries (2)</summary>"));
        assert!(page.contains("reporter=&quot;source&quot;"));
        assert!(page.contains("<summary>Evidence of 6 assertions</summary>"));
        assert!(page.contains("&quot;requests&quot;: 3551"));
        assert!(page.contains("<p class=\"stats\">120 s, 12,000 requests, 0 errors (0.00%)</p>"));
        assert!(page.contains("requests, 323 errors ("));
    }

    #[test]
    fn text_from_the_run_is_escaped() {
        let mut report = testdata::sample();
        report.steps[4].message = "<script>alert('x')</script> & more".to_owned();
        report.steps[4].title = "title \"quoted\"".to_owned();
        report.timeline.marks[1].1 = "<b>restore</b>".to_owned();
        report.suite = "<suite>".to_owned();
        let page = html(&report);
        assert!(!page.contains("<script"), "script tag survived");
        assert!(page.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; more"));
        assert!(page.contains("title &quot;quoted&quot;"));
        assert!(page.contains("&lt;b&gt;restore&lt;/b&gt;"));
        assert!(!page.contains("<b>restore"));
        assert!(page.contains("<h1>&lt;suite&gt;</h1>"));
    }

    #[test]
    fn nothing_is_fetched() {
        let page = html(&testdata::sample());
        let rest = page.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
        assert!(!rest.contains("http://"));
        assert!(!rest.contains("https://"));
        for tag in ["<script", "<link", "<img", "<iframe", "@import", "url("] {
            assert!(!rest.contains(tag), "{tag}");
        }
    }

    #[test]
    fn errors_stack_above_served_traffic() {
        let page = html(&testdata::sample());
        let c = page.split("<h3>Clients in us-east-1c</h3>").nth(1).unwrap();
        let c = c.split("</svg>").next().unwrap();
        let order: Vec<usize> = [
            "<title>served by us-east-1a</title>",
            "<title>served by us-east-1b</title>",
            "<title>served by us-east-1c</title>",
            "<title>error 503 UF</title>",
            "<title>error 503 UH</title>",
        ]
        .iter()
        .map(|t| c.find(t).unwrap_or_else(|| panic!("{t} missing")))
        .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
        // Clients in a are only served by a: one band, no errors.
        let a = page.split("<h3>Clients in us-east-1a</h3>").nth(1).unwrap();
        let a = a.split("</svg>").next().unwrap();
        assert_eq!(count(a, "<path "), 1);
        assert!(!a.contains("error 503"));
    }

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
        assert_eq!(group(1_234_567), "1,234,567");
        assert_eq!(group(12), "12");
    }

    #[test]
    fn empty_reports_render() {
        let page = html(&testdata::empty());
        assert_eq!(count(&page, "<svg"), 0);
        assert!(page.contains("No traffic timeline was recorded."));
        assert!(page.contains("No steps ran."));
        assert!(page.contains("No zone was lost."));
        assert!(!page.contains("<details"));
        assert!(page.ends_with("</html>\n"));
    }

    #[test]
    fn zero_length_series_and_odd_marks() {
        let mut report = testdata::empty();
        report.timeline.zones = vec![Zone::from("z1")];
        report.timeline.series.insert(Zone::from("z1"), vec![]);
        report.timeline.marks = vec![
            (f64::NAN, "nan".to_owned()),
            (-3.0, "before".to_owned()),
            (5.0, "five".to_owned()),
        ];
        report.duration_s = f64::NAN;
        let page = html(&report);
        assert_eq!(count(&page, "<svg "), 1);
        // x axis 0..5 s: ticks at each second.
        assert!(page.contains("text-anchor=\"middle\" fill=\"#5f6b7a\">5</text>"));
        assert!(page.contains("no requests recorded"));
        assert!(page.contains(">five</text>"));
        assert!(!page.contains(">nan</text>"));
        assert!(!page.contains(">before</text>"));
        assert!(!page.contains("NaN"));
        assert!(!page.contains("inf"));
    }

    #[test]
    fn a_mark_far_away_does_not_stretch_the_axis_forever() {
        let mut report = testdata::sample();
        report.timeline.marks.push((1e300, "much later".to_owned()));
        let page = html(&report);
        assert!(
            page.contains(">1000000000</text>"),
            "axis should end at 1e9 s"
        );
        assert!(!page.contains("0000000000000"));
    }

    #[test]
    fn zones_outside_the_profile_still_get_charts_and_colours() {
        let mut report = testdata::sample();
        let stray = Zone::from("eu-west-1a");
        let point = TimelinePoint {
            served: BTreeMap::from([(stray.clone(), 7)]),
            errors: BTreeMap::from([("504 UT".to_owned(), 1)]),
        };
        report.timeline.series.insert(stray, vec![point; 30]);
        let page = html(&report);
        assert_eq!(count(&page, "<svg "), 4);
        // Profile zones first, the stray client zone last.
        let pos = |s: &str| page.find(s).unwrap();
        assert!(pos("<h3>Clients in us-east-1c</h3>") < pos("<h3>Clients in eu-west-1a</h3>"));
        // The fourth zone takes the fourth colour.
        assert!(page.contains(&format!(
            "fill=\"{}\"/><text x=\"72\" y=\"213\" fill=\"#1d232b\">served by eu-west-1a</text>",
            ZONE_COLORS[3]
        )));
        assert!(page.contains(">error 504 UT</text>"));
    }

    #[test]
    fn long_runs_are_bucketed() {
        let mut report = testdata::empty();
        report.timeline.zones = vec![Zone::from("a"), Zone::from("b")];
        let series: Vec<TimelinePoint> = (0..10_000u64)
            .map(|t| TimelinePoint {
                served: BTreeMap::from([
                    (Zone::from("a"), 50 + t % 17),
                    (Zone::from("b"), 100 + (t * 13) % 23),
                ]),
                errors: BTreeMap::from([("503 UH".to_owned(), t % 3)]),
            })
            .collect();
        report.timeline.series.insert(Zone::from("a"), series);
        let huge = TimelinePoint {
            served: BTreeMap::from([(Zone::from("b"), u64::MAX)]),
            errors: BTreeMap::from([("503 UH".to_owned(), u64::MAX)]),
        };
        report
            .timeline
            .series
            .insert(Zone::from("b"), vec![huge; 3]);
        let page = html(&report);
        assert!(page.contains("Averaged over 12-second buckets."));
        assert_eq!(count(&page, "<svg "), 2);
        assert!(page.contains("<p class=\"stats\">3 s, 110,680,464,442,257,309,690 requests"));
        let page = page.split("<h3>Clients in b</h3>").next().unwrap_or("");
        // 834 buckets at most, two numbers per change, three bands.
        assert!(page.len() < 200_000, "{} bytes", page.len());
        let paths: Vec<&str> = page
            .split("<path d=\"")
            .skip(1)
            .map(|rest| rest.split('"').next().unwrap_or(""))
            .collect();
        assert_eq!(paths.len(), 3);
        // A change of value is one `H` and one `V` per edge, and there are
        // at most 834 buckets.
        for d in paths {
            let horizontal = d.matches('H').count();
            assert!(horizontal <= 2 * 834 + 2, "{horizontal}");
            assert!(
                horizontal > 100,
                "the noisy band should change often: {horizontal}"
            );
        }
    }

    fn frame_with_marks(marks: &[(f64, &str)]) -> Frame {
        Frame {
            end_s: 120.0,
            bucket: 1,
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
        marks(&mut out, &frame);
        assert_eq!(count(&out, "<line "), 50);
        assert_eq!(count(&out, "<text "), 2);
    }
}
