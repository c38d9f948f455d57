//! `zonechaos run --backend kind|existing` and `zonechaos conformance` up
//! to the cluster boundary: plans, the existing-cluster guard, usage
//! errors, and the combined report (on sim, which needs no cluster).

#[path = "common/output.rs"]
mod output;

fn zonechaos(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let home = tempfile::tempdir().expect("temp home");
    let mut cmd = output::zonechaos_command();
    cmd.args(args)
        // No allow-list file of the machine's user leaks in.
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path())
        .env_remove("ZONECHAOS_ALLOWED_CONTEXTS");
    for (k, v) in env {
        cmd.env(k, v);
    }
    output::run(&mut cmd)
}

#[test]
fn existing_refuses_a_context_that_is_not_allow_listed() {
    let (code, _, err) = zonechaos(
        &[
            "run",
            "suites/zone-c-spot-loss.yaml",
            "--backend",
            "existing",
            "--context",
            "prod-eks",
            "--plan",
        ],
        &[],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("context \"prod-eks\" is not allowed"), "{err}");
    assert!(err.contains("--allow-context prod-eks"), "{err}");
}

#[test]
fn existing_needs_a_context() {
    let (code, _, err) = zonechaos(
        &[
            "run",
            "suites/zone-c-spot-loss.yaml",
            "--backend",
            "existing",
            "--plan",
        ],
        &[],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--context"), "{err}");
}

#[test]
fn existing_plan_for_an_allowed_context_says_the_loss_is_emulated() {
    let (code, out, err) = zonechaos(
        &[
            "run",
            "suites/zone-c-spot-loss.yaml",
            "--backend",
            "existing",
            "--context",
            "staging",
            "--plan",
        ],
        &[("ZONECHAOS_ALLOWED_CONTEXTS", "dev,staging")],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("existing cluster: context staging"), "{out}");
    assert!(out.contains("emulated: cordon the spot nodes"), "{out}");
    assert!(!out.contains("kind create"), "no cluster is created: {out}");
}

#[test]
fn a_foreign_namespace_is_refused() {
    let (code, _, err) = zonechaos(
        &[
            "run",
            "suites/zone-c-drain.yaml",
            "--backend",
            "kind",
            "--namespace",
            "default",
            "--plan",
        ],
        &[],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("namespace \"default\" is not the harness's"),
        "{err}"
    );
}

#[test]
fn kind_plan_covers_cluster_suite_steps_and_deletion() {
    let (code, out, err) = zonechaos(
        &[
            "run",
            "suites/zone-c-drain.yaml",
            "suites/canary-zone-isolation.yaml",
            "--backend",
            "kind",
            "--plan",
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("kind create cluster --name zonechaos-three-zones"),
        "{out}"
    );
    assert!(out.contains("# suite zone-c-drain"), "{out}");
    assert!(out.contains("# suite canary-zone-isolation"), "{out}");
    assert!(
        out.contains("POST pods/<pod>/eviction (policy/v1)"),
        "{out}"
    );
    assert!(
        out.contains("PATCH rollouts/test-c/status {\"status\":{\"abort\":true}}"),
        "{out}"
    );
    assert!(
        out.trim_end()
            .ends_with("kind delete cluster --name zonechaos-three-zones"),
        "{out}"
    );
}

#[test]
fn plan_is_refused_where_nothing_leaves_the_machine() {
    let (code, _, err) = zonechaos(&["run", "suites/zone-c-drain.yaml", "--plan"], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--plan is for the kind and existing backends"),
        "{err}"
    );
}

#[test]
fn conformance_writes_one_combined_report_of_every_suite() {
    let dir = tempfile::tempdir().unwrap();
    let report_dir = dir.path().to_str().unwrap();
    let (code, _, err) = zonechaos(
        &[
            "conformance",
            "suites",
            "--backend",
            "sim",
            "--report-dir",
            report_dir,
            "-q",
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    let suites = std::fs::read_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("suites"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "yaml")
        })
        .count();
    let xml = std::fs::read_to_string(dir.path().join("conformance.junit.xml")).unwrap();
    assert_eq!(xml.matches("<testsuite ").count(), suites, "{xml}");
    let html = std::fs::read_to_string(dir.path().join("conformance.html")).unwrap();
    assert!(html.contains("conformance: PASSED"), "{html}");
    assert!(dir.path().join("zone-c-drain.html").is_file());
}

#[test]
fn an_empty_suite_directory_is_a_usage_error() {
    let empty = tempfile::tempdir().unwrap();
    let (code, _, err) = zonechaos(&["conformance", empty.path().to_str().unwrap()], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no suite files"), "{err}");
}
