//! What both benchmarks share: copies of the failover reference topology
//! (`suites/topologies/zone-failover.yaml`) with distinct names in one
//! namespace, and the object counts to measure.

#![allow(dead_code)] // each bench uses a part

use std::path::Path;
use std::sync::Arc;

use zonechaos::topology::{Loaded, load_text};

/// Objects in one copy: three PDBs, a Service, a VirtualService, a
/// DestinationRule and three zone-pinned Rollouts.
pub const OBJECTS_PER_COPY: usize = 9;

/// The namespace every copy shares.
pub const NAMESPACE: &str = "team";

/// Object counts to measure: the numbers among the command-line arguments
/// (`cargo bench --bench lint_bundle -- 100 1000`), else `default`.
pub fn sizes(default: &[usize]) -> Vec<usize> {
    let given: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.replace(['_', ','], "").parse().ok())
        .collect();
    if given.is_empty() {
        default.to_vec()
    } else {
        given
    }
}

/// Copy `i` of the failover topology: Service `s{i}` selecting `app: s{i}`,
/// Rollouts `s{i}-{a,b,c}` pinned to their zone, one PDB per zone.
pub fn failover_copy(i: usize) -> String {
    let ns = NAMESPACE;
    let mut out = format!(
        "---\napiVersion: v1\nkind: Service\nmetadata: {{name: s{i}, namespace: {ns}}}\nspec:\n  selector: {{app: s{i}}}\n  ports: [{{name: http, port: 8080, targetPort: 8080}}]\n---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {{name: s{i}, namespace: {ns}}}\nspec:\n  hosts: [s{i}, s{i}.{ns}.svc.cluster.local]\n  http: [{{name: primary, route: [{{destination: {{host: s{i}}}}}]}}]\n---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {{name: s{i}, namespace: {ns}}}\nspec:\n  host: s{i}\n  trafficPolicy:\n    outlierDetection: {{consecutive5xxErrors: 3, interval: 5s, baseEjectionTime: 30s, maxEjectionPercent: 100}}\n    loadBalancer: {{localityLbSetting: {{enabled: true, failoverPriority: [topology.kubernetes.io/zone]}}}}\n"
    );
    for z in ["a", "b", "c"] {
        out.push_str(&format!(
            "---\napiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {{name: s{i}-{z}-pdb, namespace: {ns}}}\nspec: {{minAvailable: 1, selector: {{matchLabels: {{app: s{i}, zone: {z}}}}}}}\n---\napiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {{name: s{i}-{z}, namespace: {ns}}}\nspec:\n  replicas: 3\n  selector: {{matchLabels: {{app: s{i}, zone: {z}}}}}\n  template:\n    metadata: {{labels: {{app: s{i}, zone: {z}}}}}\n    spec:\n      affinity:\n        nodeAffinity:\n          requiredDuringSchedulingIgnoredDuringExecution:\n            nodeSelectorTerms:\n              - matchExpressions:\n                  - {{key: topology.kubernetes.io/zone, operator: In, values: [us-east-1{z}]}}\n      containers: [{{name: app, image: 'myapp:v1', ports: [{{containerPort: 8080}}]}}]\n  strategy: {{canary: {{steps: [{{setWeight: 10}}, {{pause: {{duration: 5m}}}}, {{setWeight: 50}}]}}}}\n"
        ));
    }
    out
}

/// Enough copies for `objects` objects (rounded up to whole copies), as
/// one YAML text.
pub fn one_namespace(objects: usize) -> String {
    (0..objects.div_ceil(OBJECTS_PER_COPY))
        .map(failover_copy)
        .collect()
}

/// [`one_namespace`] loaded as if read from `one-namespace.yaml`.
pub fn load_one_namespace(objects: usize) -> Loaded {
    let mut loaded = Loaded::default();
    load_text(
        Arc::from(Path::new("one-namespace.yaml")),
        &one_namespace(objects),
        &mut loaded,
    );
    assert!(loaded.issues.is_empty(), "{:?}", loaded.issues.first());
    loaded
}

/// CPU time (user + system) of this process so far: on a machine shared
/// with other builds, wall time varies with their load, CPU time far less.
pub fn cpu_time() -> std::time::Duration {
    // SAFETY: getrusage only writes the struct it is given.
    #[allow(unsafe_code)]
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| {
        std::time::Duration::from_secs(t.tv_sec as u64)
            + std::time::Duration::from_micros(t.tv_usec as u64)
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// The allocator the `zonechaos` binary uses (`src/main.rs`), so the figures
/// are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
