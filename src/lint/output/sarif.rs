//! SARIF 2.1.0 output for GitHub code scanning and other SARIF viewers.
//!
//! One run; `tool.driver.rules` lists every rule of the catalogue (so a
//! viewer can show rules with no results), each result points at its rule
//! by `ruleId` and `ruleIndex`. Positions are 1-based; an unknown position
//! (0) is clamped to 1 because GitHub rejects `startLine` 0.

use std::path::{Component, Path};

use serde::Serialize;

use super::to_pretty_json;
use crate::lint::LintReport;
use crate::lint::catalog;
use crate::lint::finding::{Finding, Rule, Severity};

/// The JSON schema SARIF files declare.
pub const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
/// The SARIF version written.
pub const VERSION: &str = "2.1.0";

/// SARIF `level` of a severity.
pub fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// Where the project lives, when Cargo.toml says so (SARIF requires
/// `informationUri` to be a URI, so it is left out otherwise).
fn information_uri() -> Option<&'static str> {
    [env!("CARGO_PKG_HOMEPAGE"), env!("CARGO_PKG_REPOSITORY")]
        .into_iter()
        .find(|u| !u.is_empty())
}

/// The SARIF log (the parts zonechaos writes).
#[derive(Debug, Clone, Serialize)]
pub struct Log {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: Vec<Run>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct Run {
    tool: Tool,
    column_kind: &'static str,
    results: Vec<SarifResult>,
}

#[derive(Debug, Clone, Serialize)]
struct Tool {
    driver: Driver,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver {
    name: &'static str,
    version: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    information_uri: Option<&'static str>,
    rules: Vec<ReportingDescriptor>,
}

#[derive(Debug, Clone, Serialize)]
struct Text {
    text: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct ReportingDescriptor {
    id: &'static str,
    name: &'static str,
    short_description: Text,
    full_description: Text,
    help: Text,
    default_configuration: Configuration,
}

#[derive(Debug, Clone, Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult {
    rule_id: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule_index: Option<usize>,
    level: &'static str,
    message: Text,
    locations: Vec<Location>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    physical_location: PhysicalLocation,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    region: Region,
}

#[derive(Debug, Clone, Serialize)]
struct ArtifactLocation {
    uri: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: u32,
    start_column: u32,
}

fn descriptor(r: &Rule) -> ReportingDescriptor {
    ReportingDescriptor {
        id: r.id,
        name: r.name,
        short_description: Text {
            text: r.summary.to_owned(),
        },
        full_description: Text {
            text: format!("{} Source: {}.", r.summary, r.source),
        },
        help: Text {
            text: format!(
                "{}\nSource: {}.\nSuppress with `zonechaos lint --suppress {}`.",
                r.summary, r.source, r.id
            ),
        },
        default_configuration: Configuration {
            level: level(r.severity),
        },
    }
}

/// Percent-encodes what may not appear in a URI path.
fn encode_uri_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The artifact URI of a file: the path as given, with forward slashes and
/// without leading `./`; absolute paths become `file://` URIs.
pub fn artifact_uri(path: &Path) -> String {
    let parts: Vec<String> = path
        .components()
        .filter_map(|c| match c {
            Component::CurDir | Component::RootDir => None,
            Component::Prefix(p) => Some(p.as_os_str().to_string_lossy().into_owned()),
            Component::ParentDir => Some("..".to_owned()),
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
        })
        .collect();
    let joined = encode_uri_path(&parts.join("/"));
    if path.is_absolute() || path.has_root() {
        format!("file:///{joined}")
    } else if joined.is_empty() {
        ".".to_owned()
    } else {
        joined
    }
}

fn result(f: &Finding) -> SarifResult {
    let text = if f.hint.is_empty() {
        f.message.clone()
    } else {
        format!("{} Hint: {}", f.message, f.hint)
    };
    SarifResult {
        rule_id: f.rule.id,
        rule_index: catalog::ALL.iter().position(|r| r.id == f.rule.id),
        level: level(f.severity()),
        message: Text { text },
        locations: vec![Location {
            physical_location: PhysicalLocation {
                artifact_location: ArtifactLocation {
                    uri: artifact_uri(&f.loc.file),
                },
                region: Region {
                    start_line: f.loc.pos.line.max(1),
                    start_column: f.loc.pos.column.max(1),
                },
            },
        }],
    }
}

impl From<&LintReport> for Log {
    fn from(report: &LintReport) -> Log {
        Log {
            schema: SCHEMA,
            version: VERSION,
            runs: vec![Run {
                tool: Tool {
                    driver: Driver {
                        name: "zonechaos",
                        version: env!("CARGO_PKG_VERSION"),
                        information_uri: information_uri(),
                        rules: catalog::ALL.iter().map(|r| descriptor(r)).collect(),
                    },
                },
                column_kind: "unicodeCodePoints",
                results: report.findings.iter().map(result).collect(),
            }],
        }
    }
}

/// Renders the report as pretty-printed SARIF, with a final newline.
pub fn render(report: &LintReport) -> String {
    to_pretty_json(&Log::from(report))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::output::test_support;
    use serde_json::{Value, json};

    fn parsed() -> Value {
        serde_json::from_str(&render(&test_support::report())).unwrap()
    }

    #[test]
    fn log_structure_and_driver() {
        let text = render(&test_support::report());
        assert!(text.starts_with("{\n  \"$schema\": "), "{text}");
        let v = parsed();
        assert_eq!(v["$schema"], SCHEMA);
        assert_eq!(v["version"], "2.1.0");
        let runs = v["runs"].as_array().unwrap();
        assert_eq!(runs.len(), 1);
        let driver = &runs[0]["tool"]["driver"];
        assert_eq!(driver["name"], "zonechaos");
        assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
        let rules = driver["rules"].as_array().unwrap();
        assert_eq!(rules.len(), catalog::ALL.len());
        for (r, expected) in rules.iter().zip(catalog::ALL) {
            assert_eq!(r["id"], expected.id);
            assert_eq!(r["name"], expected.name);
            assert_eq!(r["shortDescription"]["text"], expected.summary);
            assert!(
                r["fullDescription"]["text"]
                    .as_str()
                    .unwrap()
                    .contains(expected.source)
            );
            assert!(
                r["help"]["text"]
                    .as_str()
                    .unwrap()
                    .contains(expected.source)
            );
            assert_eq!(r["defaultConfiguration"]["level"], level(expected.severity));
        }
        match information_uri() {
            Some(uri) => assert_eq!(driver["informationUri"], uri),
            None => assert!(driver.get("informationUri").is_none()),
        }
    }

    #[test]
    fn results_levels_indexes_and_messages() {
        let v = parsed();
        let rules = v["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap()
            .clone();
        let results = v["runs"][0]["results"].as_array().unwrap();
        assert_eq!(results.len(), 3);
        let levels: Vec<_> = results
            .iter()
            .map(|r| r["level"].as_str().unwrap())
            .collect();
        assert_eq!(levels, ["error", "warning", "note"]);
        for r in results {
            let index = usize::try_from(r["ruleIndex"].as_u64().unwrap()).unwrap();
            assert_eq!(rules[index]["id"], r["ruleId"]);
        }
        assert_eq!(results[0]["ruleId"], "ZC1001");
        assert_eq!(
            results[0]["message"]["text"],
            "DestinationRule default/test: can not simultaneously specify 'distribute' and 'failover' Hint: remove failover or distribute"
        );
        let loc = &results[0]["locations"][0]["physicalLocation"];
        assert_eq!(loc["artifactLocation"]["uri"], "manifests/dr.yaml");
        assert_eq!(loc["region"], json!({"startLine": 42, "startColumn": 7}));
    }

    #[test]
    fn unknown_positions_are_clamped_to_one() {
        let v = parsed();
        let region = &v["runs"][0]["results"][2]["locations"][0]["physicalLocation"]["region"];
        assert_eq!(region["startLine"], 1);
        assert_eq!(region["startColumn"], 1);
    }

    #[test]
    fn level_mapping() {
        assert_eq!(level(Severity::Error), "error");
        assert_eq!(level(Severity::Warning), "warning");
        assert_eq!(level(Severity::Info), "note");
    }

    #[test]
    fn artifact_uris() {
        assert_eq!(artifact_uri(Path::new("a/b.yaml")), "a/b.yaml");
        assert_eq!(artifact_uri(Path::new("./a/b.yaml")), "a/b.yaml");
        assert_eq!(artifact_uri(Path::new("../x y.yaml")), "../x%20y.yaml");
        assert_eq!(
            artifact_uri(Path::new("/tmp/a#1.yaml")),
            "file:///tmp/a%231.yaml"
        );
    }

    #[test]
    fn clean_report_has_rules_and_no_results() {
        let v: Value = serde_json::from_str(&render(&test_support::empty())).unwrap();
        assert_eq!(v["runs"][0]["results"], json!([]));
        assert_eq!(
            v["runs"][0]["tool"]["driver"]["rules"]
                .as_array()
                .unwrap()
                .len(),
            catalog::ALL.len()
        );
    }
}
