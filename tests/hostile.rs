//! A generated hostile corpus (issue 10, "how to keep it so"): several
//! hundred bad inputs built from the real reference files by replacing one
//! value with a hostile one (wrong types, huge and negative numbers, empty
//! strings, 70,000-character names, undefined aliases, unclosed brackets),
//! plus garbage bytes, alias bombs, bad profiles and bad flags.
//!
//! Each case runs the real binary and holds it to the same four rules:
//! - no panic (exit 101) and no signal;
//! - no hang: a 10 s guard kills the process and fails the case;
//! - bad input exits 2 with `error:`, a `hint:` and, for a file, its
//!   `file:line:col`;
//! - never exit 0 with an object silently dropped: `whatif` and `render`
//!   succeed only where `lint` reports no input error (ZC0001-ZC0003) and
//!   counts every document.

#[path = "common/output.rs"]
mod output;

use std::path::{Path, PathBuf};
use std::time::Duration;

use output::{run_bounded, s, zonechaos_command};

const TOPOLOGY: &str = include_str!("../suites/topologies/zone-failover.yaml");
const PROFILE: &str = include_str!("../clusters/three-zones.yaml");
/// Documents in [`TOPOLOGY`].
const DOCUMENTS: u64 = 9;
const GUARD: Duration = Duration::from_secs(10);

/// Values that replace one scalar of a real file.
fn hostile_values() -> Vec<String> {
    let mut values: Vec<String> = [
        "\"three\"",
        "-1",
        "0",
        "2147483647",
        "4294967295",
        "99999999999999999999",
        "1e308",
        "-.inf",
        ".nan",
        "[]",
        "{}",
        "null",
        "''",
        "true",
        "*undefined",
        "[[[[[[[[",
        "{a: {b: ",
        "\"\\u0000\\u0007\"",
        "!!binary AAAA",
        "0x7fffffff",
    ]
    .map(str::to_owned)
    .to_vec();
    values.push("x".repeat(70_000));
    values
}

/// `text` with the value of the `nth` line whose key is `key` replaced.
fn replace_value(text: &str, key: &str, nth: usize, value: &str) -> String {
    let mut seen = 0;
    let mut out = String::with_capacity(text.len() + value.len());
    for line in text.lines() {
        let trimmed = line.trim_start().trim_start_matches("- ");
        if let Some(rest) = trimmed.strip_prefix(key)
            && rest.starts_with(": ")
        {
            if seen == nth {
                let indent = &line[..line.len() - trimmed.len()];
                out.push_str(&format!("{indent}{key}: {value}\n"));
                seen += 1;
                continue;
            }
            seen += 1;
        }
        out.push_str(line);
        out.push('\n');
    }
    assert!(seen > nth, "no line {nth} with key {key}");
    out
}

/// What lint says about a file: (exit code, has an input error, objects + not-objects).
fn lint_verdict(file: &Path, case: &str) -> (i32, bool, Option<u64>) {
    let (code, stdout, stderr) = run_bounded(
        zonechaos_command().args(["lint", s(file), "--format", "json", "--crds", "none"]),
        GUARD,
        case,
    );
    assert_no_crash(code, &stderr, case);
    assert!(matches!(code, 0..=2), "{case}: lint exit {code}: {stderr}");
    let Ok(report) = serde_json::from_str::<serde_json::Value>(&stdout) else {
        assert_eq!(code, 2, "{case}: lint printed no JSON: {stdout}{stderr}");
        return (code, true, None);
    };
    let findings = report["findings"].as_array().cloned().unwrap_or_default();
    let rule = |r: &str| findings.iter().filter(|f| f["rule"] == r).count() as u64;
    let input_error = rule("ZC0001") + rule("ZC0002") + rule("ZC0003") > 0;
    let counted =
        (rule("ZC0001") == 0).then(|| report["objects"].as_u64().unwrap_or(0) + rule("ZC0003"));
    (code, input_error || code == 2, counted)
}

fn assert_no_crash(code: i32, stderr: &str, case: &str) {
    assert_ne!(code, 101, "{case}: panicked: {stderr}");
    assert!(!stderr.contains("panicked"), "{case}: {stderr}");
}

/// Exit 2 that says what and how, at `file:line:col` of `file_name`.
fn assert_refused_at(code: i32, stderr: &str, file_name: &str, case: &str) {
    assert_eq!(code, 2, "{case}: expected exit 2: {stderr}");
    assert!(
        stderr.contains("error:") && stderr.contains("hint:"),
        "{case}: {stderr}"
    );
    let positioned = stderr.match_indices(file_name).any(|(at, _)| {
        let rest = &stderr[at + file_name.len()..];
        let mut parts = rest.splitn(3, ':');
        parts.next() == Some("")
            && parts
                .next()
                .is_some_and(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_digit()))
    });
    assert!(positioned, "{case}: no {file_name}:line:col in: {stderr}");
}

struct Workdir {
    dir: tempfile::TempDir,
}

impl Workdir {
    fn new() -> Workdir {
        Workdir {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn write(&self, name: &str, text: impl AsRef<[u8]>) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write case");
        path
    }
}

/// The topology sites one test covers: (key, occurrence).
fn topology_cases(sites: &[(&str, usize)], render: bool) {
    let work = Workdir::new();
    let mut cases = 0;
    for &(key, nth) in sites {
        for (v, value) in hostile_values().iter().enumerate() {
            let case = format!(
                "topology {key}#{nth} = value {v} ({})",
                &value[..value.len().min(20)]
            );
            let file = work.write("case.yaml", replace_value(TOPOLOGY, key, nth, value));
            let (_, input_error, counted) = lint_verdict(&file, &case);
            if let Some(counted) = counted {
                assert_eq!(counted, DOCUMENTS, "{case}: lint lost a document");
            }
            let mut commands = vec![vec!["whatif", s(&file), "--lose", "a"]];
            let out = work.dir.path().join("rendered");
            if render {
                commands.push(vec!["render", s(&file), "--out", s(&out)]);
            }
            for args in commands {
                let (code, _, stderr) = run_bounded(zonechaos_command().args(&args), GUARD, &case);
                assert_no_crash(code, &stderr, &case);
                if input_error {
                    assert_refused_at(code, &stderr, "case.yaml", &format!("{case}: {}", args[0]));
                } else {
                    assert!(
                        matches!(code, 0 | 2),
                        "{case}: {} exit {code}: {stderr}",
                        args[0]
                    );
                    if code == 2 {
                        assert!(stderr.contains("hint:"), "{case}: {stderr}");
                    }
                }
            }
            cases += 1;
        }
    }
    assert_eq!(cases, sites.len() * hostile_values().len());
}

/// Names, labels and selectors (issue 10 items 1 and 2).
#[test]
fn hostile_topology_names_and_labels() {
    topology_cases(
        &[
            ("name", 0),
            ("name", 3),
            ("app", 0),
            ("zone", 4),
            ("host", 0),
            ("name", 5),
        ],
        false,
    );
}

/// Counts and numbers (issue 10 items 2, 4 and 5).
#[test]
fn hostile_topology_numbers() {
    topology_cases(
        &[
            ("replicas", 0),
            ("minAvailable", 0),
            ("port", 0),
            ("consecutive5xxErrors", 0),
            ("maxEjectionPercent", 0),
            ("setWeight", 0),
        ],
        true,
    );
}

/// Durations, enums, booleans and images.
#[test]
fn hostile_topology_durations_and_enums() {
    topology_cases(
        &[
            ("interval", 0),
            ("baseEjectionTime", 0),
            ("enabled", 0),
            ("operator", 0),
            ("image", 0),
            ("apiVersion", 8),
            ("kind", 7),
        ],
        false,
    );
}

const SUITE: &str = "\
name: hostile
topology: [topology.yaml]
load: {service: test, namespace: default, rps: 50}
seed: 7
steps:
  - wait: 2s
  - spot-loss: {zone: c, mode: refuse}
  - assert-failover: {zone: c, to: [a, b], within: 30s, window: 5s}
  - assert-error-budget: {zones: [a, b], maxErrors: 1%, window: 5s}
finally:
  - restore: {zone: c}
";

/// Suite fields (issue 10 items 4, 8 and 12): every case runs on sim.
#[test]
fn hostile_suites() {
    let work = Workdir::new();
    work.write("topology.yaml", TOPOLOGY);
    let reports = work.dir.path().join("reports");
    let mut values = hostile_values();
    values.extend(
        [
            "30",
            "18446744073709552",
            "1000001h",
            "-5s",
            "1e-300",
            "0.0001",
            "{until: steady, x: 1}",
            "[c, c, c]",
            "{zone: c, x: 1}",
            "nowhere",
        ]
        .map(str::to_owned),
    );
    let lines: Vec<(&str, &str)> = vec![
        ("name", "name: {}"),
        ("topology", "topology: {}"),
        (
            "load",
            "load: {{service: test, namespace: default, rps: {}}}",
        ),
        ("load", "load: {{service: {}, namespace: default, rps: 50}}"),
        (
            "load",
            "load: {{service: test, namespace: default, rps: 50, zones: {}}}",
        ),
        ("seed", "seed: {}"),
        ("  - wait", "  - wait: {}"),
        ("  - spot-loss", "  - spot-loss: {{zone: c, mode: {}}}"),
        (
            "  - assert-failover",
            "  - assert-failover: {{zone: c, to: {}, within: 30s, window: 5s}}",
        ),
        (
            "  - assert-error-budget",
            "  - assert-error-budget: {{zones: [a, b], maxErrors: {}, window: 5s}}",
        ),
        ("  - restore", "  - restore: {}"),
    ];
    let mut cases = 0;
    for (prefix, template) in &lines {
        for (v, value) in values.iter().enumerate() {
            let replaced = template
                .replacen("{}", value, 1)
                .replace("{{", "{")
                .replace("}}", "}");
            let text: String = SUITE
                .lines()
                .map(|l| {
                    if l.starts_with(prefix) {
                        replaced.clone()
                    } else {
                        l.to_owned()
                    }
                })
                .map(|l| l + "\n")
                .collect();
            let case = format!(
                "suite {prefix} = value {v} ({})",
                &value[..value.len().min(20)]
            );
            let file = work.write("suite.yaml", &text);
            let (code, _, stderr) = run_bounded(
                zonechaos_command().args([
                    "run",
                    s(&file),
                    "--backend",
                    "sim",
                    "--report-dir",
                    s(&reports),
                ]),
                GUARD,
                &case,
            );
            assert_no_crash(code, &stderr, &case);
            assert!(matches!(code, 0..=2), "{case}: exit {code}: {stderr}");
            if code == 2 {
                assert_refused_at(code, &stderr, "suite.yaml", &case);
            }
            cases += 1;
        }
    }
    assert_eq!(cases, lines.len() * values.len());
}

/// Cluster profiles (issue 10 item 5): node counts that wrapped a sum or
/// planned a 1.8-million-line kind config.
#[test]
fn hostile_profiles() {
    let work = Workdir::new();
    let topology = work.write("topology.yaml", TOPOLOGY);
    let whatif_with = |profile_text: &str, case: &str| {
        let profile = work.write("profile.yaml", profile_text);
        let args = [
            "whatif",
            s(&topology),
            "--lose",
            "a",
            "--profile",
            s(&profile),
        ];
        let (code, _, stderr) = run_bounded(zonechaos_command().args(args), GUARD, case);
        (code, stderr)
    };
    let mut values = hostile_values();
    values.extend(["51", "100000", "4294967296"].map(str::to_owned));
    let mut cases = 0;
    for (key, nth) in [
        ("nodes", 0),
        ("nodes", 3),
        ("name", 0),
        ("short", 1),
        ("capacityType", 0),
        ("region", 0),
    ] {
        for (v, value) in values.iter().enumerate() {
            let case = format!(
                "profile {key}#{nth} = value {v} ({})",
                &value[..value.len().min(20)]
            );
            let (code, stderr) = whatif_with(&replace_value(PROFILE, key, nth, value), &case);
            assert_no_crash(code, &stderr, &case);
            assert!(matches!(code, 0 | 2), "{case}: exit {code}: {stderr}");
            if code == 2 {
                assert_refused_at(code, &stderr, "profile.yaml", &case);
            }
            cases += 1;
        }
    }
    // Beyond the node limits the profile is refused, never planned.
    for nodes in ["51", "100000", "4294967295"] {
        let (code, stderr) = whatif_with(&replace_value(PROFILE, "nodes", 0, nodes), nodes);
        assert_refused_at(code, &stderr, "profile.yaml", nodes);
        assert!(stderr.contains("nodes"), "{stderr}");
    }
    assert!(cases > 100, "{cases}");
}

/// A tiny deterministic generator for garbage bytes (no extra crate).
fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// Garbage bytes, alias bombs and deep nesting through lint and whatif.
#[test]
fn hostile_bytes() {
    let work = Workdir::new();
    let mut inputs: Vec<(String, Vec<u8>)> = Vec::new();
    let mut state = 0x9e37_79b9_7f4a_7c15;
    for i in 0..24 {
        let len = 1 + (xorshift(&mut state) % 4096) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| xorshift(&mut state) as u8).collect();
        inputs.push((format!("random {i}"), bytes));
    }
    let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x]\n");
    for level in 1..12 {
        let prev = if level == 1 {
            "a".to_owned()
        } else {
            format!("a{}", level - 1)
        };
        bomb.push_str(&format!("a{level}: &a{level} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
    }
    inputs.push(("alias bomb".into(), bomb.into_bytes()));
    inputs.push(("deep nesting".into(), "[".repeat(100_000).into_bytes()));
    inputs.push((
        "deep maps".into(),
        format!("a:\n  {}", "{a: ".repeat(50_000)).into_bytes(),
    ));
    inputs.push(("NUL bytes".into(), vec![0; 10_000]));
    inputs.push(("invalid UTF-8 in a real file".into(), {
        let mut b = TOPOLOGY.as_bytes().to_vec();
        b.splice(200..200, [0xff, 0xfe, 0xc3]);
        b
    }));
    inputs.push((
        "truncated real file".into(),
        TOPOLOGY.as_bytes()[..TOPOLOGY.len() / 3].to_vec(),
    ));
    inputs.push((
        "tabs for indentation".into(),
        TOPOLOGY.replace("  ", "\t").into_bytes(),
    ));
    for (case, bytes) in &inputs {
        let file = work.write("case.yaml", bytes);
        let (_, input_error, _) = lint_verdict(&file, case);
        let (code, _, stderr) = run_bounded(
            zonechaos_command().args(["whatif", s(&file), "--lose", "a"]),
            GUARD,
            case,
        );
        assert_no_crash(code, &stderr, case);
        assert_eq!(code, 2, "{case}: garbage is never a topology: {stderr}");
        if input_error {
            assert!(stderr.contains("case.yaml"), "{case}: {stderr}");
        }
    }
}

/// Bad flags (issue 10 items 8 and 12): refused by the parser with exit 2.
#[test]
fn hostile_flags() {
    let topology = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/suites/topologies/zone-failover.yaml"
    );
    let long = "z".repeat(100_000);
    let cases: Vec<Vec<&str>> = vec![
        vec!["whatif", topology, "--lose", "a", "--rps", "1e308"],
        vec!["whatif", topology, "--lose", "a", "--rps", "NaN"],
        vec!["whatif", topology, "--lose", "a", "--rps", "0.0001"],
        vec!["whatif", topology, "--lose", "nowhere"],
        vec!["whatif", topology, "--lose", &long],
        vec!["whatif", topology, "--lose", "a", "--service", "noslash"],
        vec!["whatif", topology, "--lose", "a", "--mode", "gentle"],
        vec![
            "render",
            topology,
            "--out",
            "/tmp/zonechaos-hostile-render",
            "--rps",
            "1e308",
        ],
        vec![
            "render",
            topology,
            "--out",
            "/tmp/zonechaos-hostile-render",
            "--rps",
            "-1",
        ],
        vec![
            "render",
            topology,
            "--out",
            "/tmp/zonechaos-hostile-render",
            "--namespace",
            "",
        ],
        vec![
            "loadgen",
            "--zone",
            "a",
            "--target",
            "http://127.0.0.1:1/",
            "--rps",
            "1e308",
        ],
        vec![
            "loadgen",
            "--zone",
            "a",
            "--target",
            "http://127.0.0.1:1/",
            "--rps",
            "0.0001",
        ],
        vec!["lint", topology, "--fail-on", "never"],
        vec!["lint", topology, "--crds", "/nonexistent"],
        vec!["lint", topology, "--suppress", "ZC9999"],
        vec!["lint", "/nonexistent.yaml"],
        vec!["run", "/nonexistent.yaml", "--backend", "sim"],
        vec!["run", topology, "--backend", "warp"],
        vec!["run", &long, "--backend", "sim"],
    ];
    for args in &cases {
        let case = args
            .iter()
            .map(|a| &a[..a.len().min(30)])
            .collect::<Vec<_>>()
            .join(" ");
        let (code, _, stderr) = run_bounded(zonechaos_command().args(args), GUARD, &case);
        assert_no_crash(code, &stderr, &case);
        assert_eq!(code, 2, "{case}: {stderr}");
        assert!(stderr.contains("error"), "{case}: {stderr}");
        assert!(
            stderr.len() < 4_000,
            "{case}: the error echoes its input: {} bytes",
            stderr.len()
        );
    }
}

/// issue 10 item 5: `local` starts a process per pod; beyond the limit the
/// run is refused before anything starts (no Envoy or Prometheus needed).
#[test]
fn local_refuses_more_pods_than_it_can_run() {
    let work = Workdir::new();
    work.write(
        "topology.yaml",
        TOPOLOGY.replace("replicas: 3", "replicas: 20"),
    );
    let suite = work.write(
        "suite.yaml",
        "name: big\ntopology: [topology.yaml]\nload: {service: test, namespace: default, rps: 5}\nsteps:\n  - wait: 1s\n",
    );
    let reports = work.dir.path().join("reports");
    let (code, _, stderr) = run_bounded(
        zonechaos_command().args([
            "run",
            s(&suite),
            "--backend",
            "local",
            "--report-dir",
            s(&reports),
        ]),
        GUARD,
        "local with 60 pods",
    );
    assert_refused_at(code, &stderr, "topology.yaml", "local with 60 pods");
    assert!(stderr.contains("more than 48 pods"), "{stderr}");
    assert!(!stderr.contains("local mesh ready"), "{stderr}");
    // The same suite is fine on sim.
    let (code, _, stderr) = run_bounded(
        zonechaos_command().args([
            "run",
            s(&suite),
            "--backend",
            "sim",
            "--report-dir",
            s(&reports),
        ]),
        GUARD,
        "sim with 60 pods",
    );
    assert_eq!(code, 0, "{stderr}");
}
