//! The `zonechaos` binary end to end: exit codes, messages, formats.
//!
//! Only input findings (ZC0001 yaml-syntax, ZC0002 field-type, ZC0003
//! not-an-object) are relied on here; thresholds over rule findings are
//! tested on hand-built reports in `src/cli/lint.rs`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[path = "common/output.rs"]
mod output;
use output::{code, s, stderr, stdout};

const CLEAN: &str = "\
apiVersion: v1
kind: Service
metadata:
  name: test
  namespace: shop
spec:
  selector:
    app: test
  ports:
    - name: http
      port: 8080
";

const BROKEN_YAML: &str = "\
apiVersion: v1
kind: Service
metadata:
  name: [test
";

/// Line 3: a document without metadata.name (ZC0003); line 13: a weight
/// that is not a number (ZC0002).
const BAD_OBJECTS: &str = "\
apiVersion: v1
kind: Service
metadata: {}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: v, namespace: shop}
spec:
  http:
    - name: r
      route:
        - destination: {host: h}
          weight: lots
";

/// The binary in `cwd`, without colour or RUST_LOG, and with a CRD cache
/// that does not exist (so `--crds auto` never finds the user's).
fn command(cwd: &Path) -> Command {
    let no_cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-lint-no-cache");
    let mut cmd = output::zonechaos_command();
    cmd.current_dir(cwd).env("XDG_CACHE_HOME", no_cache);
    cmd
}

fn zonechaos(args: &[&str]) -> Output {
    command(Path::new(env!("CARGO_MANIFEST_DIR")))
        .args(args)
        .output()
        .expect("run zonechaos")
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write manifest");
    path
}

#[test]
fn version_and_help() {
    let out = zonechaos(&["--version"]);
    assert_eq!(code(&out), 0);
    assert_eq!(
        stdout(&out).trim(),
        format!("zonechaos {}", env!("CARGO_PKG_VERSION"))
    );

    let out = zonechaos(&["--help"]);
    assert_eq!(code(&out), 0);
    let help = stdout(&out);
    assert!(help.contains("lint") && help.contains("rules"), "{help}");
    for sub in ["run", "whatif", "render", "cluster", "conformance"] {
        assert!(help.contains(sub), "{sub} missing from {help}");
    }
    assert!(!help.contains("Planned, not in this version"), "{help}");
}

#[test]
fn no_subcommand_and_planned_subcommands_are_usage_errors() {
    assert_eq!(code(&zonechaos(&[])), 2);
    let out = zonechaos(&["whatif"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
}

#[test]
fn clean_manifest_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "clean.yaml", CLEAN);
    let out = zonechaos(&["lint", s(&file)]);
    assert_eq!(
        code(&out),
        0,
        "stdout: {}\nstderr: {}",
        stdout(&out),
        stderr(&out)
    );
    assert_eq!(
        stdout(&out),
        "0 errors, 0 warnings, 0 info in 1 file (1 object)\n"
    );
    assert!(!stdout(&out).contains('\x1b'));
}

#[test]
fn directory_is_read_recursively() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    write(dir.path(), "sub/clean.yaml", CLEAN);
    write(dir.path(), "notes.txt", "not yaml: [");
    let out = zonechaos(&["lint", s(dir.path())]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert!(
        stdout(&out).contains("in 1 file (1 object)"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn broken_yaml_exits_two_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "broken.yaml", BROKEN_YAML);
    let out = zonechaos(&["lint", s(&file)]);
    assert_eq!(code(&out), 2, "{}", stdout(&out));
    let text = stdout(&out);
    let prefix = format!("{}:4:", file.display());
    assert!(
        text.contains(&prefix) && text.contains("error[ZC0001]"),
        "{text}"
    );
    let err = stderr(&out);
    assert!(err.starts_with("error: not valid YAML: "), "{err}");
    assert!(
        err.contains(s(&file)) && err.contains("\n  hint: "),
        "{err}"
    );
}

#[test]
fn broken_yaml_still_exits_two_when_suppressed_or_in_json() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "broken.yaml", BROKEN_YAML);
    let out = zonechaos(&["lint", s(&file), "--format", "json"]);
    assert_eq!(code(&out), 2);
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON on stdout");
    assert_eq!(v["findings"][0]["rule"], "ZC0001");
    assert_eq!(v["findings"][0]["line"], 4);
    let out = zonechaos(&["lint", s(&file), "--suppress", "yaml-syntax"]);
    assert_eq!(
        code(&out),
        2,
        "suppressing the finding does not make the input valid"
    );
    assert!(
        stderr(&out).contains("ZC0001 is suppressed"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn object_findings_exit_one_and_point_at_lines() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "bad.yaml", BAD_OBJECTS);
    let out = zonechaos(&["lint", s(&file)]);
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    let text = stdout(&out);
    assert!(
        text.contains(&format!("{}:3:1: error[ZC0003] ", file.display())),
        "{text}"
    );
    assert!(text.contains(&format!("{}:13:", file.display())), "{text}");
    assert!(
        text.contains("error[ZC0002] VirtualService shop/v: "),
        "{text}"
    );
    assert!(text.contains("\n  hint: "), "{text}");
    assert!(
        text.ends_with("2 errors, 0 warnings, 1 info in 1 file (1 object)\n"),
        "{text}"
    );
}

/// issue 10 item 11: invalid values are findings at file:line even with
/// `--crds none` (negative replicas, argo-rollouts validation.go; an
/// unparsable pause duration, rollouts/v1alpha1/types.go DurationSeconds).
#[test]
fn invalid_values_are_found_without_crds() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "rollout.yaml",
        "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: web}\nspec:\n  replicas: -1\n  strategy:\n    canary:\n      steps:\n        - pause: {duration: abc}\n",
    );
    let out = zonechaos(&["lint", "--crds", "none", s(&file)]);
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "{}:5:3: error[ZC4009] Rollout default/web: spec.replicas is -1",
            file.display()
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("{}:9:", file.display()))
            && text.contains("\"abc\", not a duration"),
        "{text}"
    );
}

#[test]
fn relative_paths_are_printed_as_given() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "bad.yaml", BAD_OBJECTS);
    let profile = concat!(env!("CARGO_MANIFEST_DIR"), "/clusters/three-zones.yaml");
    let out = command(dir.path())
        .args(["lint", "bad.yaml", "--profile", profile])
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("bad.yaml:3:1: error[ZC0003]"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn suppress_by_id_and_name_removes_findings() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "bad.yaml", BAD_OBJECTS);
    let out = zonechaos(&[
        "lint",
        s(&file),
        "--suppress",
        "ZC0003",
        "--suppress",
        "field-type",
    ]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    let out = zonechaos(&["lint", s(&file), "--suppress", "zc0003"]);
    assert_eq!(code(&out), 1);
    assert!(!stdout(&out).contains("ZC0003") && stdout(&out).contains("ZC0002"));
}

#[test]
fn missing_path_exits_two_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("does-not-exist.yaml");
    let out = zonechaos(&["lint", s(&missing)]);
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(err.starts_with("error: cannot read "), "{err}");
    assert!(
        err.contains(s(&missing)) && err.contains("\n  hint: "),
        "{err}"
    );
    assert!(stdout(&out).is_empty());
}

#[test]
fn unknown_suppress_exits_two() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "clean.yaml", CLEAN);
    let out = zonechaos(&["lint", s(&file), "--suppress", "NOPE"]);
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(
        err.contains("'NOPE'") && err.contains("zonechaos rules"),
        "{err}"
    );
}

#[test]
fn bad_profile_and_crds_exit_two() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "clean.yaml", CLEAN);
    let out = zonechaos(&["lint", s(&file), "--profile", s(&file)]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).starts_with("error: bad cluster profile "),
        "{}",
        stderr(&out)
    );
    let missing = dir.path().join("no-crds");
    let out = zonechaos(&["lint", s(&file), "--crds", s(&missing)]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains(s(&missing)), "{}", stderr(&out));
}

#[test]
fn bad_format_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "clean.yaml", CLEAN);
    assert_eq!(code(&zonechaos(&["lint", s(&file), "--format", "yaml"])), 2);
    assert_eq!(
        code(&zonechaos(&["lint", s(&file), "--fail-on", "info"])),
        2
    );
}

#[test]
fn sarif_output_is_sarif_2_1_0() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "bad.yaml", BAD_OBJECTS);
    let out = zonechaos(&[
        "lint",
        s(&file),
        "--format",
        "sarif",
        "--suppress",
        "schema-skipped",
    ]);
    assert_eq!(code(&out), 1);
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("SARIF is JSON");
    assert_eq!(v["version"], "2.1.0");
    assert_eq!(
        v["$schema"],
        "https://json.schemastore.org/sarif-2.1.0.json"
    );
    let results = v["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["ruleId"], "ZC0003");
    let region = &results[0]["locations"][0]["physicalLocation"]["region"];
    assert_eq!(region["startLine"], 3);
    assert!(results.iter().all(|r| r["level"] == "error"));
}

#[test]
fn json_output_parses() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "bad.yaml", BAD_OBJECTS);
    let out = zonechaos(&["lint", s(&file), "--format", "json", "--suppress", "ZC4000"]);
    assert_eq!(code(&out), 1);
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(v["version"], 1);
    assert_eq!(v["objects"], 1);
    assert_eq!(v["summary"]["error"], 2);
    assert_eq!(v["files"][0], s(&file));
    assert_eq!(v["findings"][1]["object"], "VirtualService shop/v");
}

#[test]
fn output_file_gets_the_report_and_stdout_stays_empty() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "bad.yaml", BAD_OBJECTS);
    let report = dir.path().join("out/nested/report.json");
    let out = zonechaos(&["lint", s(&file), "--format", "json", "--output", s(&report)]);
    assert_eq!(code(&out), 1);
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    let text = std::fs::read_to_string(&report).expect("report written");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["summary"]["error"], 2);
}

#[test]
fn verbose_reports_unknown_kinds_as_info() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
    );
    let quiet = zonechaos(&["lint", s(&file)]);
    assert_eq!(code(&quiet), 0);
    assert!(!stdout(&quiet).contains("ZC0004"));
    let verbose = zonechaos(&["lint", "-v", s(&file)]);
    assert_eq!(code(&verbose), 0, "info never fails a run");
    assert!(
        stdout(&verbose).contains("info[ZC0004]"),
        "{}",
        stdout(&verbose)
    );
    assert!(
        stderr(&verbose).contains("INFO"),
        "-v logs at info: {}",
        stderr(&verbose)
    );
    let verbose_warning = zonechaos(&["lint", "-v", s(&file), "--fail-on", "warning"]);
    assert_eq!(code(&verbose_warning), 0, "info is below warning");
}

#[test]
fn rules_lists_the_catalogue() {
    let out = zonechaos(&["rules"]);
    assert_eq!(code(&out), 0);
    let text = stdout(&out);
    assert!(text.starts_with("ID "), "{text}");
    assert_eq!(
        text.lines().count(),
        zonechaos::lint::catalog::ALL.len() + 1
    );
    for rule in zonechaos::lint::catalog::ALL {
        assert!(
            text.contains(rule.id) && text.contains(rule.name),
            "{}",
            rule.id
        );
    }
}

#[test]
fn default_profile_falls_back_outside_a_checkout() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "clean.yaml", CLEAN);
    let out = command(dir.path())
        .args(["lint", "clean.yaml"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

/// issue 10 item 8: an empty file or a directory without manifests (a wrong
/// path in CI) is not a green lint: exit 2 unless `--allow-empty`.
#[test]
fn empty_input_exits_two_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let empty = write(dir.path(), "empty.yaml", "# nothing here\n---\n");
    let no_manifests = dir.path().join("docs");
    std::fs::create_dir(&no_manifests).unwrap();
    write(&no_manifests, "README.md", "not a manifest\n");
    for path in [&empty, &no_manifests] {
        let out = zonechaos(&["lint", s(path), "--crds", "none"]);
        assert_eq!(code(&out), 2, "{}", stderr(&out));
        assert!(
            stderr(&out).contains("no objects found"),
            "{}",
            stderr(&out)
        );
        assert!(stderr(&out).contains("--allow-empty"), "{}", stderr(&out));
        let out = zonechaos(&["lint", s(path), "--crds", "none", "--allow-empty"]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
    }
    // A file whose only content is a syntax error is still reported as such.
    let broken = write(dir.path(), "broken.yaml", BROKEN_YAML);
    let out = zonechaos(&["lint", s(&broken), "--crds", "none"]);
    assert_eq!(code(&out), 2);
    assert!(stdout(&out).contains("ZC0001"), "{}", stdout(&out));
}
