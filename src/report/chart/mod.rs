//! The SVG timeline of the clients in one zone: requests per second as
//! stacked bands (served by each zone, errors on top), the axes, the chaos
//! marks as dashed lines, and a legend. The page (`report::html`) puts one
//! in a section per client zone, with one [`Frame`] for all of them.
//!
//! `frame` holds what the charts share, `canvas` the geometry, `axes` the
//! scales, `layers` the stacked bands, `marks` the chaos marks and
//! `legend` the legend.

mod axes;
mod canvas;
mod frame;
mod layers;
mod legend;
mod marks;

use std::fmt::Write as _;

use self::axes::YScale;
use self::canvas::{LEGEND_ROW, LEGEND_T, PLOT_B, PLOT_L, PLOT_R, PLOT_T, SVG_W, n};
pub(crate) use self::frame::{Frame, client_zones};
use super::markup::escape;
use super::model::TimelinePoint;
use crate::zone::Zone;

/// Writes the `<svg>` element charting `points`, the series of the clients
/// in `client` (one point per second), on `frame`'s time axis.
pub(crate) fn svg(out: &mut String, frame: &Frame, client: &Zone, points: &[TimelinePoint]) {
    let layers = layers::of(frame, points);
    let legend_items = legend::rows(&layers);
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

    let edges = layers::stack(&layers);
    let peak = edges
        .last()
        .map_or(0.0, |top| top.iter().copied().fold(0.0f64, f64::max));
    let scale = YScale::of(peak);

    axes::y_axis(out, &scale);
    axes::x_axis(out, frame);
    layers::bands(out, frame, points.len(), &layers, &edges, &scale);
    if peak <= 0.0 {
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#5f6b7a\" font-size=\"13\" stroke=\"#fff\" stroke-width=\"4\" paint-order=\"stroke\">no requests recorded</text>",
            n((PLOT_L + PLOT_R) / 2.0),
            n((PLOT_T + PLOT_B) / 2.0)
        );
    }
    marks::draw(out, frame);
    axes::axis_lines(out);
    legend::draw(out, &legend_items);
    out.push_str("</svg>\n");
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::layers::ZONE_COLORS;
    use crate::report::html::html;
    use crate::report::model::TimelinePoint;
    use crate::report::testdata::{self, count};
    use crate::zone::Zone;

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

    /// issue 10 item 3: a long run's timeline sums seconds per point; the
    /// page must read exactly as it would from one point per second.
    #[test]
    fn summed_points_draw_the_same_page_as_seconds() {
        let second = |t: u64| TimelinePoint {
            served: BTreeMap::from([(Zone::from("a"), 50 + t % 17)]),
            errors: BTreeMap::from([("503 UH".to_owned(), u64::from(t % 500 < 3))]),
        };
        let per_second: Vec<TimelinePoint> = (0..86_400).map(second).collect();
        let summed: Vec<TimelinePoint> = per_second
            .chunks(24)
            .map(|chunk| {
                let mut p = TimelinePoint::default();
                for s in chunk {
                    for (k, v) in &s.served {
                        *p.served.entry(k.clone()).or_default() += v;
                    }
                    for (k, v) in &s.errors {
                        *p.errors.entry(k.clone()).or_default() += v;
                    }
                }
                p
            })
            .collect();
        let page_of = |series: Vec<TimelinePoint>, seconds_per_point: u64| {
            let mut report = testdata::empty();
            report.timeline.zones = vec![Zone::from("a")];
            report.timeline.series.insert(Zone::from("a"), series);
            report.timeline.seconds_per_point = seconds_per_point;
            report.timeline.marks = vec![(43_200.0, "spot-loss".to_owned())];
            html(&report)
        };
        let reference = page_of(per_second, 1);
        assert!(reference.contains("Averaged over 96-second buckets."));
        assert_eq!(page_of(summed, 24), reference);
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
}
