//! The whole run as JSON, for tools: `{"version": 1, "suite": ..., ...}`.
//!
//! `version` changes when a field changes meaning or goes away; new fields
//! may appear without it. Numbers that are not finite (NaN) are `null`.

use serde::Serialize;

use super::model::RunReport;

/// The version of the JSON report format.
pub const JSON_VERSION: u32 = 1;

#[derive(Serialize)]
struct Versioned<'a> {
    version: u32,
    #[serde(flatten)]
    report: &'a RunReport,
}

/// The run as pretty-printed JSON with a final newline.
pub fn json(report: &RunReport) -> String {
    let versioned = Versioned {
        version: JSON_VERSION,
        report,
    };
    match serde_json::to_string_pretty(&versioned) {
        Ok(mut text) => {
            text.push('\n');
            text
        }
        // Plain structs with string map keys do not fail; should that ever
        // change, the report still says what happened.
        Err(e) => {
            let fallback = serde_json::json!({
                "version": JSON_VERSION,
                "suite": report.suite,
                "error": format!("report not serialisable: {e}"),
            });
            format!("{fallback:#}\n")
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::report::testdata;

    #[test]
    fn the_sample_run_round_trips_with_a_version() {
        let text = json(&testdata::sample());
        assert!(text.starts_with("{\n  \"version\": 1,\n  \"suite\": \"spot-zone-loss\""));
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["version"], 1);
        assert_eq!(v["backend"], "kind");
        assert_eq!(v["seed"], 42);
        assert_eq!(v["verdict"], "failed");
        assert_eq!(v["wall_ms"], 131_834);
        assert_eq!(v["topology"][1], "topologies/mesh.yaml");

        let steps = v["steps"].as_array().unwrap();
        assert_eq!(steps.len(), 10);
        assert_eq!(steps[5]["status"], "expected-failure");
        assert_eq!(steps[6]["status"], "unexpected-pass");
        assert_eq!(
            steps[5]["expected_failure_reason"],
            "the PDB counts pods per region, not per zone (design defect ZC1301)"
        );
        assert_eq!(steps[4]["evidence"]["errors"]["503 UH"], 215);
        assert_eq!(steps[9]["finally"], true);

        let timeline = &v["timeline"];
        assert_eq!(timeline["zones"][2], "us-east-1c");
        let c = timeline["series"]["us-east-1c"].as_array().unwrap();
        assert_eq!(c.len(), 120);
        assert_eq!(c[40]["errors"]["503 UF"], 40);
        assert_eq!(c[50]["served"]["us-east-1a"], 52);
        assert_eq!(timeline["marks"][0][0], 40.0);
        assert_eq!(timeline["marks"][0][1], "spot-loss us-east-1c");

        assert_eq!(v["failover"][0]["measured_s"], 5.4);
        assert!(v["failover"][1]["measured_s"].is_null());
        assert_eq!(v["queries"].as_array().unwrap().len(), 2);
        assert_eq!(v["events"][0]["kind"], "NodeDeleted");
    }

    #[test]
    fn not_a_number_is_null_and_empty_is_fine() {
        let mut report = testdata::empty();
        report.duration_s = f64::NAN;
        report
            .timeline
            .marks
            .push((f64::INFINITY, "later".to_owned()));
        let v: Value = serde_json::from_str(&json(&report)).unwrap();
        assert!(v["duration_s"].is_null());
        assert!(v["timeline"]["marks"][0][0].is_null());
        assert_eq!(v["steps"].as_array().unwrap().len(), 0);
        assert_eq!(v["version"], 1);
    }
}
