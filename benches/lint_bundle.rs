//! Lint throughput on a generated bundle of 10,000 objects (many namespaces
//! of zone-aware topologies), against the time to only parse the same files
//! with serde-saphyr, measured in one run.
//!
//! `LINT_BUNDLE_OBJECTS=N` sets the size of the first bundle, to measure
//! growth across namespaces.
//!
//! Then the growth inside one namespace: lint of 100 to 100,000 objects
//! (copies of the failover topology with distinct names, all in namespace
//! `team`), which must be linear.
//!
//! `cargo bench --bench lint_bundle` (or `make bench`); `-- 100 1000`
//! measures only those one-namespace sizes. Figures go to BENCHMARKS.md.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use zonechaos::lint::schema::CrdSchemas;
use zonechaos::lint::{LintOptions, lint};
use zonechaos::profile::ClusterProfile;
use zonechaos::topology::{Loaded, load_paths, load_text};

const TARGET_OBJECTS: usize = 10_000;

/// The bundle size: `LINT_BUNDLE_OBJECTS`, else [`TARGET_OBJECTS`].
fn target_objects() -> usize {
    std::env::var("LINT_BUNDLE_OBJECTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(TARGET_OBJECTS)
}
const RUNS: usize = 7;

/// One namespace of a zone-aware topology: per-zone Rollouts with their
/// stable/canary Services, one DestinationRule per Rollout, per-zone PDBs,
/// a VirtualService with zone routes and a catch-all. 17 objects.
fn namespace_bundle(ns: &str) -> String {
    let mut out = format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: test, namespace: {ns}}}\nspec:\n  selector: {{app: test}}\n  ports: [{{name: http, port: 8080, targetPort: 8080}}]\n"
    );
    let mut routes = String::new();
    for z in ["a", "b", "c"] {
        for role in ["stable", "canary"] {
            out.push_str(&format!(
                "---\napiVersion: v1\nkind: Service\nmetadata: {{name: test-{role}-{z}, namespace: {ns}}}\nspec:\n  selector: {{app: test, zone: {z}}}\n  ports: [{{name: http, port: 8080, targetPort: 8080}}]\n"
            ));
        }
        out.push_str(&format!(
            "---\napiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {{name: test-{z}-pdb, namespace: {ns}}}\nspec:\n  minAvailable: 1\n  selector: {{matchLabels: {{app: test, zone: {z}}}}}\n"
        ));
        out.push_str(&format!(
            "---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {{name: test-{z}, namespace: {ns}}}\nspec:\n  host: test\n  trafficPolicy:\n    outlierDetection: {{consecutive5xxErrors: 3, interval: 5s, baseEjectionTime: 30s, maxEjectionPercent: 100}}\n    loadBalancer:\n      localityLbSetting:\n        enabled: true\n        failoverPriority: [topology.kubernetes.io/zone]\n  subsets:\n    - name: stable-{z}\n      labels: {{app: test, zone: {z}}}\n    - name: canary-{z}\n      labels: {{app: test, zone: {z}}}\n"
        ));
        out.push_str(&format!(
            "---\napiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {{name: test-{z}, namespace: {ns}}}\nspec:\n  replicas: 3\n  selector: {{matchLabels: {{app: test, zone: {z}}}}}\n  template:\n    metadata:\n      labels: {{app: test, zone: {z}}}\n    spec:\n      affinity:\n        nodeAffinity:\n          requiredDuringSchedulingIgnoredDuringExecution:\n            nodeSelectorTerms:\n              - matchExpressions:\n                  - {{key: topology.kubernetes.io/zone, operator: In, values: [us-east-1{z}]}}\n      containers:\n        - name: app\n          image: myapp:v1\n          ports: [{{containerPort: 8080}}]\n  strategy:\n    canary:\n      canaryService: test-canary-{z}\n      stableService: test-stable-{z}\n      trafficRouting:\n        istio:\n          virtualService: {{name: test, routes: [zone-{z}-route]}}\n          destinationRule: {{name: test-{z}, canarySubsetName: canary-{z}, stableSubsetName: stable-{z}}}\n      steps:\n        - setWeight: 10\n        - pause: {{duration: 5m}}\n        - setWeight: 50\n        - pause: {{}}\n"
        ));
        routes.push_str(&format!(
            "    - name: zone-{z}-route\n      match: [{{sourceLabels: {{topology.kubernetes.io/zone: us-east-1{z}}}}}]\n      route:\n        - {{destination: {{host: test, subset: stable-{z}}}, weight: 100}}\n        - {{destination: {{host: test, subset: canary-{z}}}, weight: 0}}\n"
        ));
    }
    out.push_str(&format!(
        "---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {{name: test, namespace: {ns}}}\nspec:\n  hosts: [test]\n  http:\n{routes}    - name: default\n      route: [{{destination: {{host: test, subset: stable-a}}}}]\n"
    ));
    out
}

fn generate(dir: &Path) -> (Vec<PathBuf>, usize) {
    let per_ns = 17;
    let namespaces = target_objects().div_ceil(per_ns);
    let mut files = Vec::new();
    for i in 0..namespaces {
        let path = dir.join(format!("ns-{i:04}.yaml"));
        std::fs::write(&path, namespace_bundle(&format!("team-{i:04}"))).expect("write bundle");
        files.push(path);
    }
    (files, namespaces * per_ns)
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn time<F: FnMut()>(f: F) -> Duration {
    time_n(RUNS, f).0
}

/// Median wall time and median CPU time of `runs` runs after a warm-up.
fn time_n<F: FnMut()>(runs: usize, mut f: F) -> (Duration, Duration) {
    f(); // warm-up: page cache, allocator
    let (wall, cpu): (Vec<Duration>, Vec<Duration>) = (0..runs)
        .map(|_| {
            let (t, c) = (Instant::now(), common::cpu_time());
            f();
            (t.elapsed(), common::cpu_time().saturating_sub(c))
        })
        .unzip();
    (median(wall), median(cpu))
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (files, objects) = generate(dir.path());
    let profile = ClusterProfile::builtin();
    let crds = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/crds");
    let crd_load = Instant::now();
    let schemas = CrdSchemas::load(&crds).ok();
    let crd_load = crd_load.elapsed();

    let parse_only = time(|| {
        for f in &files {
            let text = std::fs::read_to_string(f).expect("read");
            let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(&text).expect("parse");
            std::hint::black_box(docs);
        }
    });
    let mut findings = 0;
    let lint_no_schema = time(|| {
        let loaded = load_paths(&files).expect("load");
        let report = lint(loaded, &profile, None, &LintOptions::default());
        findings = report.findings.len();
        std::hint::black_box(report);
    });
    let lint_with_schema = time(|| {
        let loaded = load_paths(&files).expect("load");
        std::hint::black_box(lint(
            loaded,
            &profile,
            schemas.as_ref(),
            &LintOptions::default(),
        ));
    });
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "lint_bundle: {objects} objects in {} files, median of {RUNS} runs",
        files.len()
    );
    println!(
        "  parse only (serde-saphyr -> serde_json::Value): {:8.1} ms",
        ms(parse_only)
    );
    println!(
        "  lint, no CRD schemas:                         {:8.1} ms  ({:.2}x parse)",
        ms(lint_no_schema),
        ms(lint_no_schema) / ms(parse_only)
    );
    println!(
        "  lint, with CRD schemas{}:                {:8.1} ms  ({:.2}x parse)",
        if schemas.is_some() {
            "    "
        } else {
            " (absent)"
        },
        ms(lint_with_schema),
        ms(lint_with_schema) / ms(parse_only)
    );
    println!(
        "  CRD schema load (once per run, ../shared/crds): {:6.1} ms",
        ms(crd_load)
    );
    println!("  findings on the bundle: {findings}");
    one_namespace(&profile);
}

/// Lint of growing numbers of objects in one namespace: parse alone, and
/// parse + lint, so the lint's own share and its cost per object show.
fn one_namespace(profile: &ClusterProfile) {
    println!("lint_bundle: one namespace, copies of the failover topology, no CRD schemas");
    println!(
        "  objects  parse ms (cpu)  parse+lint ms (cpu)  lint cpu ms  lint cpu us/object  findings  runs"
    );
    for objects in common::sizes(&[100, 1_000, 10_000, 100_000]) {
        let text = common::one_namespace(objects);
        let runs = if objects >= 10_000 { 3 } else { RUNS };
        let load = || {
            let mut loaded = Loaded::default();
            load_text(
                Arc::from(Path::new("one-namespace.yaml")),
                &text,
                &mut loaded,
            );
            loaded
        };
        let mut count = 0;
        let parse = time_n(runs, || {
            let loaded = load();
            count = loaded.objects.len();
            std::hint::black_box(loaded);
        });
        let mut findings = 0;
        let both = time_n(runs, || {
            let report = lint(load(), profile, None, &LintOptions::default());
            findings = report.findings.len();
            std::hint::black_box(report);
        });
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let lint_cpu = ms(both.1.saturating_sub(parse.1));
        println!(
            "  {count:>7}  {:>7.1} ({:>7.1})  {:>9.1} ({:>7.1})  {lint_cpu:>11.1}  {:>18.2}  {findings:>8}  {runs:>4}",
            ms(parse.0),
            ms(parse.1),
            ms(both.0),
            ms(both.1),
            lint_cpu * 1000.0 / count as f64,
        );
    }
}
