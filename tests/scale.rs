//! Hostile sizes through the `zonechaos` binary (issue 10): names far past
//! what Kubernetes allows must not crash `whatif` or `lint`.

use std::path::{Path, PathBuf};

#[path = "common/output.rs"]
mod output;
use output::{run, s, zonechaos_command};

/// Past u16::MAX, where `{:<width$}` stops and panics.
const LONG: usize = 70_000;

/// The failover reference topology with its route named `r` x 70,000 and
/// zone c's PDB named `p` x 70,000.
fn long_names(dir: &Path) -> (PathBuf, String, String) {
    let reference = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("suites/topologies/zone-failover.yaml"),
    )
    .expect("reference topology");
    let (route, pdb) = ("r".repeat(LONG), "p".repeat(LONG));
    let text = reference
        .replace("name: primary", &format!("name: {route}"))
        .replace("name: test-c-pdb", &format!("name: {pdb}"));
    assert!(text.contains(&route) && text.contains(&pdb));
    let path = dir.join("long-names.yaml");
    std::fs::write(&path, text).expect("write topology");
    (path, route, pdb)
}

/// issue 10 item 1: a route and a PDB name longer than 65,535 characters
/// made `whatif` exit 101 ("Formatting argument out of range" in the table
/// widths). Now it exits 0, the tables cut such cells to 200 characters
/// with an ellipsis, and the JSON keeps the full names.
#[test]
fn whatif_with_names_past_u16_max_cuts_cells_and_keeps_json_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, route, pdb) = long_names(dir.path());
    let (code, text, err) =
        run(zonechaos_command().args(["whatif", s(&path), "--lose", "c", "--all-services"]));
    assert_eq!(code, 0, "stderr: {err}");
    let cut = |name: &str| format!("{}…", &name[..200]);
    assert!(text.contains(&cut(&format!("test/{route}"))), "{text}");
    assert!(text.contains(&cut(&pdb)), "{text}");
    let longest = text.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    assert!(longest < 1_000, "a line of {longest} characters");
    insta::assert_snapshot!(
        "whatif_long_names",
        text.replace(&"r".repeat(195), "r{195}")
            .replace(&"p".repeat(200), "p{200}")
    );

    let (code, json, err) =
        run(zonechaos_command().args(["whatif", s(&path), "--lose", "c", "--format", "json"]));
    assert_eq!(code, 0, "stderr: {err}");
    let value: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    let routes: Vec<&str> = value["services"][0]["zones"]
        .as_array()
        .expect("zones")
        .iter()
        .filter_map(|z| z["before"]["route"].as_str())
        .collect();
    assert!(
        routes.iter().all(|r| *r == format!("test/{route}")),
        "{:?}",
        routes.iter().map(|r| r.len()).collect::<Vec<_>>()
    );
    let budgets = value["budgets"].as_array().expect("budgets");
    assert!(budgets.iter().any(|b| b["name"] == pdb.as_str()));
}

/// issue 10 item 1: lint of the same names reports and exits 1 (findings)
/// or 2 (bad input), never a panic (101).
#[test]
fn lint_with_names_past_u16_max_does_not_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, _, _) = long_names(dir.path());
    let (code, _, err) = run(zonechaos_command().args(["lint", "--crds", "none", s(&path)]));
    assert!(matches!(code, 0..=2), "exit {code}: {err}");
}
