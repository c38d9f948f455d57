//! One report for many runs (`zonechaos conformance`, nightly jobs): a
//! JUnit file with a `testsuite` per run, a JSON array of the runs, and an
//! HTML index linking each run's own page.

use std::io;
use std::path::{Path, PathBuf};

use super::markup::escape;
use super::{RunReport, Verdict, file_stem, fmt_secs, verdict_word};
use crate::fswrite::write_atomic;

/// Where [`write_combined`] put its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CombinedPaths {
    /// `<dir>/<name>.junit.xml`.
    pub junit: PathBuf,
    /// `<dir>/<name>.json`.
    pub json: PathBuf,
    /// `<dir>/<name>.html`.
    pub html: PathBuf,
}

/// The overall verdict: an error anywhere wins, then a failure; runs that
/// were skipped count for nothing, so all of them skipped is
/// [`Verdict::Skipped`], never a pass.
pub fn overall(reports: &[RunReport]) -> Verdict {
    if reports.iter().any(|r| r.verdict == Verdict::Error) {
        Verdict::Error
    } else if reports.iter().any(|r| r.verdict == Verdict::Failed) || reports.is_empty() {
        Verdict::Failed
    } else if reports.iter().all(|r| r.verdict == Verdict::Skipped) {
        Verdict::Skipped
    } else {
        Verdict::Passed
    }
}

/// The index page: one row per run (suite, backend, verdict, assertions,
/// duration) linking `<stem>.html` beside it (`stems` in the order of
/// `reports`, from [`super::unique_stems`]).
pub fn index_html(name: &str, reports: &[RunReport], stems: &[String]) -> String {
    let rows: String = reports
        .iter()
        .zip(stems)
        .map(|(r, stem)| {
            let failed = r.steps.iter().filter(|s| s.status.is_failure()).count();
            format!(
                "<tr class=\"{cls}\"><td><a href=\"{href}.html\">{suite}</a></td><td>{backend}</td><td>{verdict}</td><td>{failed}</td><td>{dur}</td></tr>\n",
                cls = verdict_word(r.verdict).to_ascii_lowercase(),
                href = escape(stem),
                suite = escape(&r.suite),
                backend = escape(&r.backend),
                verdict = verdict_word(r.verdict),
                dur = fmt_secs(r.duration_s),
            )
        })
        .collect();
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}: {verdict}</title>\n<style>body{{font-family:system-ui,sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{padding:.3em .8em;border-bottom:1px solid #ddd;text-align:left}}.failed td,.error td{{background:#fde8e8}}.passed td{{background:#eaf7ea}}</style></head>\n<body><h1>{title}: {verdict}</h1>\n<p>{n} runs</p>\n<table><thead><tr><th>suite</th><th>backend</th><th>verdict</th><th>failed steps</th><th>duration</th></tr></thead><tbody>\n{rows}</tbody></table></body></html>\n",
        title = escape(name),
        verdict = verdict_word(overall(reports)),
        n = reports.len(),
    )
}

/// Writes `<name>.junit.xml`, `<name>.json` and `<name>.html` into `dir`,
/// atomically; the runs' own files are written by [`super::write_all_as`]
/// under `stems` (from [`super::unique_stems`] with `name` reserved, so
/// that no run's file is one of these).
pub fn write_combined(
    name: &str,
    reports: &[RunReport],
    stems: &[String],
    dir: &Path,
) -> io::Result<CombinedPaths> {
    std::fs::create_dir_all(dir)?;
    let stem = file_stem(name);
    let paths = CombinedPaths {
        junit: dir.join(format!("{stem}.junit.xml")),
        json: dir.join(format!("{stem}.json")),
        html: dir.join(format!("{stem}.html")),
    };
    let xml = super::junit::combined_junit_xml(reports).map_err(io::Error::other)?;
    write_atomic(&paths.junit, xml.as_bytes())?;
    let runs: Vec<serde_json::Value> = reports
        .iter()
        .map(|r| serde_json::from_str(&super::json(r)).unwrap_or(serde_json::Value::Null))
        .collect();
    let doc =
        serde_json::json!({"name": name, "verdict": verdict_word(overall(reports)), "runs": runs});
    write_atomic(
        &paths.json,
        serde_json::to_string_pretty(&doc)
            .map_err(io::Error::other)?
            .as_bytes(),
    )?;
    write_atomic(&paths.html, index_html(name, reports, stems).as_bytes())?;
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testdata;

    #[test]
    fn overall_verdict_is_the_worst() {
        let mut pass = testdata::sample();
        pass.verdict = Verdict::Passed;
        let mut fail = pass.clone();
        fail.verdict = Verdict::Failed;
        let mut error = pass.clone();
        error.verdict = Verdict::Error;
        assert_eq!(overall(std::slice::from_ref(&pass)), Verdict::Passed);
        assert_eq!(overall(&[pass.clone(), fail.clone()]), Verdict::Failed);
        assert_eq!(
            overall(&[fail.clone(), error, pass.clone()]),
            Verdict::Error
        );
        assert_eq!(overall(&[]), Verdict::Failed, "no runs proves nothing");
        let mut skipped = testdata::sample();
        skipped.verdict = Verdict::Skipped;
        assert_eq!(overall(std::slice::from_ref(&skipped)), Verdict::Skipped);
        assert_eq!(overall(&[skipped.clone(), pass.clone()]), Verdict::Passed);
        assert_eq!(overall(&[skipped, fail.clone()]), Verdict::Failed);
    }

    #[test]
    fn writes_one_junit_with_a_testsuite_per_run_and_an_index() {
        let a = testdata::sample();
        let mut b = a.clone();
        b.suite = "second <suite>".into();
        b.verdict = Verdict::Failed;
        let dir = tempfile::tempdir().unwrap();
        let stems =
            super::super::unique_stems([a.suite.as_str(), b.suite.as_str()], Some("conformance"));
        let p = write_combined("conformance", &[a.clone(), b], &stems, dir.path()).unwrap();
        let xml = std::fs::read_to_string(&p.junit).unwrap();
        assert_eq!(xml.matches("<testsuite ").count(), 2, "{xml}");
        assert!(xml.contains(&format!("name=\"{}\"", a.suite)));
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&p.json).unwrap()).unwrap();
        assert_eq!(json["verdict"], "FAILED");
        assert_eq!(json["runs"].as_array().map(Vec::len), Some(2));
        let html = std::fs::read_to_string(&p.html).unwrap();
        assert!(html.contains("second &lt;suite&gt;"), "escaped");
        assert!(html.contains(&format!("href=\"{}.html\"", file_stem(&a.suite))));
        assert!(html.contains("<title>conformance: FAILED</title>"));
    }
}
