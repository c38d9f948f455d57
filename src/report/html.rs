//! One self-contained HTML page per run: inline CSS, inline SVG, no
//! scripts, nothing fetched. A verdict banner, the steps, failover latency,
//! one stacked-area traffic chart per client zone (served by zone, errors
//! on top, chaos marks as dashed lines), then the PromQL queries and the
//! evidence of every assertion behind `<details>`.

use std::fmt::Write as _;

use super::chart::{self, Frame};
// Kept here, where it has always been public.
pub use super::markup::escape;
use super::model::{RunReport, StepResult, StepStatus, TimelinePoint, Verdict};
use super::{fmt_secs, fmt_step_duration, fmt_wall, status_word, verdict_line, verdict_word};
use crate::zone::Zone;

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
.verdict-skipped { background: #6b6b6b; }
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
    fidelity(&mut out, report);
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
        Verdict::Skipped => "verdict-skipped",
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
    if let Some(dir) = &report.diagnostics {
        let _ = writeln!(
            out,
            "<p>Cluster diagnostics (nodes, events, pods, Rollouts, logs, each load \
             client's real endpoints, Prometheus targets): \
             <a href=\"{0}/index.txt\">{0}/</a></p>",
            escape(dir)
        );
    }
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
    out.push_str("<table class=\"failover\">\n<thead><tr>");
    for (i, c) in crate::report::FAILOVER_COLUMNS.iter().enumerate() {
        let class = if i > 0 { " class=\"num\"" } else { "" };
        let _ = write!(out, "<th{class}>{}</th>", escape(c));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for f in &report.failover {
        let [zone, rest @ ..] = crate::report::failover_cells(f);
        let _ = write!(out, "<tr><td class=\"mono\">{}</td>", escape(&zone));
        for c in rest {
            let _ = write!(out, "<td class=\"num\">{}</td>", escape(&c));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

/// The model against the real proxies (kind and existing runs only).
fn fidelity(out: &mut String, report: &RunReport) {
    let Some(results) = &report.fidelity else {
        return;
    };
    out.push_str("<h2>Fidelity: the model against the real proxies</h2>\n");
    out.push_str(
        "<table class=\"fidelity\">\n<thead><tr><th>client zone</th><th>load client</th>\
         <th>result</th></tr></thead>\n<tbody>\n",
    );
    for r in results {
        let result = match &r.error {
            Some(e) => format!("not compared: {}", escape(e)),
            None if r.differences.is_empty() => "agrees with the model".to_owned(),
            None => r
                .differences
                .iter()
                .map(|d| escape(&d.to_string()))
                .collect::<Vec<_>>()
                .join("<br>"),
        };
        let _ = writeln!(
            out,
            "<tr><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td>{result}</td></tr>",
            escape(r.client_zone.as_str()),
            escape(&r.workload),
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
// Timelines (the charts are `super::chart`)

/// The traffic section: the bucket size when averaged, the numbered
/// marks, then one section per client zone.
fn timelines(out: &mut String, report: &RunReport) {
    out.push_str("<h2>Traffic by client zone</h2>\n");
    if report.timeline.series.is_empty() {
        out.push_str("<p class=\"empty\">No traffic timeline was recorded.</p>\n");
        return;
    }
    let frame = Frame::of(report);
    if frame.bucket_seconds() > 1 {
        let _ = writeln!(
            out,
            "<p class=\"meta\">Averaged over {}-second buckets.</p>",
            frame.bucket_seconds()
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
    for zone in chart::client_zones(report) {
        let points = report
            .timeline
            .series
            .get(zone)
            .map_or(&[][..], Vec::as_slice);
        section(out, &frame, zone, points);
    }
}

/// One client zone's section: its heading, its totals and its chart.
fn section(out: &mut String, frame: &Frame, client: &Zone, points: &[TimelinePoint]) {
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
        points.len() as u64 * frame.seconds_per_point,
        group(total),
        group(errors),
        share
    );
    chart::svg(out, frame, client, points);
    out.push_str("</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testdata::{self, count};

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
    fn sample_page_has_the_tables_and_details() {
        let page = html(&testdata::sample());
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(page.contains("<div class=\"banner verdict-failed\"><strong>FAILED</strong>"));
        assert_eq!(count(&page, "<tr class=\"s-"), 10);
        assert!(page.contains("<tr class=\"s-expected-failure\">"));
        assert!(page.contains(
            "<div class=\"reason\">expected failure: the PDB counts pods per region, not per zone (design defect ZC1301)</div>"
        ));
        assert!(page.contains("<td class=\"num\">5.400s</td>"));
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
    fn a_failed_cluster_run_links_its_diagnostics() {
        let mut report = testdata::sample();
        assert!(!html(&report).contains("diagnostics"));
        report.diagnostics = Some("zone-c_drain/diagnostics".into());
        let page = html(&report);
        assert!(
            page.contains(
                "<a href=\"zone-c_drain/diagnostics/index.txt\">zone-c_drain/diagnostics/</a>"
            ),
            "{page}"
        );
        let json = crate::report::json(&report);
        assert!(
            json.contains("\"diagnostics\": \"zone-c_drain/diagnostics\""),
            "{json}"
        );
    }

    #[test]
    fn a_cluster_run_shows_each_proxy_against_the_model() {
        use crate::mesh::proxy_config::{Difference, ProxyFidelity};
        let mut report = testdata::sample();
        assert!(!html(&report).contains("Fidelity"));
        let agrees = ProxyFidelity {
            client_zone: "us-east-1a".into(),
            workload: "loadgen-test-a".into(),
            differences: Vec::new(),
            error: None,
        };
        let differs = ProxyFidelity {
            client_zone: "us-east-1c".into(),
            workload: "loadgen-test-c".into(),
            differences: vec![Difference {
                cluster: "outbound|8080||test.ns.svc.cluster.local".into(),
                what: "r/us-east-1b/ priority 2: endpoints".into(),
                model: "0".into(),
                real: "3".into(),
            }],
            error: None,
        };
        report.fidelity = Some(vec![agrees, differs]);
        let page = html(&report);
        assert!(page.contains("<td>agrees with the model</td>"), "{page}");
        assert!(
            page.contains("outbound|8080||test.ns.svc.cluster.local r/us-east-1b/ priority 2: endpoints: model 0, real 3"),
            "{page}"
        );
        let json = crate::report::json(&report);
        assert!(json.contains("\"fidelity\": ["), "{json}");
        assert!(json.contains("\"real\": \"3\""), "{json}");
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
    fn group_puts_commas_between_thousands() {
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
}
