//! The kind backend up to the cluster boundary: the command plans of
//! `cluster up`/`down` (snapshots), the generated kind configs (committed
//! copies in sync, nodes and labels exact), the rendered manifests (lint
//! clean, valid against the Istio and Argo Rollouts CRDs, snapshots), and
//! the exec layer's errors (missing tool, existing cluster, failing step),
//! all without docker, kind, kubectl or istioctl.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[path = "common/output.rs"]
mod output;

use zonechaos::backend::kube::cluster::kind_config::{
    ALSO_CAPACITY_TYPE_LABEL, KIND_API_VERSION, LOAD_CLIENT_POOL, LOAD_CLIENT_TAINT, NodeRole,
    POOL_LABEL, committed_file_name,
};
use zonechaos::backend::kube::cluster::{
    ClusterError, ClusterName, ClusterOptions, ClusterSize, ImageSource, KindCluster,
    KindClusterConfig, Output, RecordingRunner, StepOutcome, SystemRunner, Tool,
};
use zonechaos::backend::kube::render::{RenderOptions, RenderedManifest, render_paths};
use zonechaos::lint::schema::CrdSchemas;
use zonechaos::lint::{LintOptions, Severity, lint};
use zonechaos::pins::{self, DownloadPin};
use zonechaos::profile::ClusterProfile;
use zonechaos::topology::{Loaded, load_text};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Options whose paths do not depend on the machine.
fn options(size: ClusterSize, cache: &Path, reuse: bool, keep: bool) -> ClusterOptions {
    // A stand-in for the host binary, under the cache so plans name the same
    // path on every machine; where the cache is real (runs) it exists, so the
    // copy step has something to copy.
    let host_binary = cache.join("host/zonechaos");
    if cache.is_dir() {
        std::fs::create_dir_all(cache.join("host")).unwrap();
        std::fs::write(&host_binary, "stand-in binary").unwrap();
    }
    ClusterOptions {
        size,
        cache_dir: Some(cache.to_owned()),
        project_dir: Some(PathBuf::from("/project")),
        harness_image: Some("zonechaos:test".into()),
        image_source: Some(ImageSource::HostBinary(host_binary)),
        reuse,
        keep,
        ..ClusterOptions::default()
    }
}

/// A cluster whose paths do not depend on the machine.
fn cluster(size: ClusterSize, cache: &Path, reuse: bool, keep: bool) -> KindCluster {
    KindCluster::new(
        &ClusterProfile::builtin(),
        options(size, cache, reuse, keep),
    )
    .expect("cluster")
}

/// Stands in for Argo Rollouts' install.yaml in runs: the one line the
/// plan rewrites, under a pin of its own digest.
const FAKE_ARGO: &str = "kind: Deployment\nimage: quay.io/argoproj/argo-rollouts:latest\n";
const FAKE_ARGO_SHA256: &str = "f162c9aad6222b8ff9d8ceffa2bed7098ca60e3ce5327c08fec75be3ea7d9dfb";

fn fake_argo_pin() -> DownloadPin {
    DownloadPin {
        sha256: FAKE_ARGO_SHA256,
        ..pins::ARGO_ROLLOUTS_INSTALL
    }
}

/// [`cluster`] with the fake Argo manifest already downloaded into `cache`.
fn runnable(size: ClusterSize, cache: &Path, reuse: bool, keep: bool) -> KindCluster {
    std::fs::write(cache.join(pins::ARGO_ROLLOUTS_INSTALL.file_name), FAKE_ARGO).unwrap();
    let options = ClusterOptions {
        argo_install: Some(fake_argo_pin()),
        ..options(size, cache, reuse, keep)
    };
    KindCluster::new(&ClusterProfile::builtin(), options).expect("cluster")
}

#[test]
fn up_plan_of_the_default_profile() {
    let c = cluster(ClusterSize::Full, Path::new("/cache"), false, false);
    assert_eq!(c.name().as_str(), "zonechaos-three-zones");
    assert_eq!(
        c.kubeconfig().path(),
        Path::new("/cache/kind-zonechaos-three-zones.kubeconfig")
    );
    let plan = c.up_plan().unwrap();
    let text = plan.display();
    // Never the user's kubeconfig: every kubectl/istioctl/kind create names ours.
    assert!(!text.contains(".kube/config"));
    for line in text.lines().filter(|l| {
        (l.contains("$ kubectl") && !l.contains("kubectl version"))
            || l.contains("$ istioctl install")
    }) {
        assert!(
            line.contains("--kubeconfig /cache/kind-zonechaos-three-zones.kubeconfig"),
            "{line}"
        );
    }
    insta::assert_snapshot!("up_plan_full", text);
}

/// The harness image comes from this host's binary (copied into a small
/// base image, no Rust build in Docker) or, with `--image-from-source`,
/// from the checkout's Dockerfile; both tag and load the same two tags.
#[test]
fn harness_image_from_the_host_binary_or_from_the_checkout() {
    let cache = Path::new("/cache");
    let host = cluster(ClusterSize::Full, cache, false, false)
        .up_plan()
        .unwrap()
        .display();
    assert!(
        host.contains("copy /cache/host/zonechaos -> /cache/zonechaos-three-zones/image/zonechaos")
    );
    assert!(host.contains("$ docker build -t zonechaos:test /cache/zonechaos-three-zones/image"));
    assert!(host.contains("$ docker run --rm zonechaos:test --version"));
    assert!(!host.contains("/project/Dockerfile"));

    let mut opts = options(ClusterSize::Full, cache, false, false);
    opts.image_source = Some(ImageSource::Checkout);
    let checkout = KindCluster::new(&ClusterProfile::builtin(), opts)
        .unwrap()
        .up_plan()
        .unwrap()
        .display();
    assert!(checkout.contains("$ docker build -t zonechaos:test -f /project/Dockerfile /project"));
    assert!(!checkout.contains("copy /cache/host/zonechaos"));
    assert!(!checkout.contains("docker run --rm"));
    for text in [&host, &checkout] {
        assert!(text.contains("$ docker tag zonechaos:test zonechaos:test-canary"));
        assert!(text.contains("load the harness images into the nodes"));
    }
}

#[test]
fn down_plan_and_small_up_plan() {
    let c = cluster(ClusterSize::Full, Path::new("/cache"), false, false);
    insta::assert_snapshot!("down_plan", c.down_plan().display());
    let small = cluster(ClusterSize::Small, Path::new("/cache"), false, false);
    assert_eq!(small.name().as_str(), "zonechaos-three-zones-small");
    let text = small.up_plan().unwrap().display();
    assert!(
        text.contains("kind create cluster --name zonechaos-three-zones-small"),
        "{text}"
    );
}

fn generated(size: ClusterSize) -> String {
    let profile = ClusterProfile::builtin();
    KindClusterConfig::from_profile(&profile, size)
        .to_yaml(&profile.name, size)
        .unwrap()
}

#[test]
fn kind_configs_are_in_sync() {
    let update = std::env::var_os("ZONECHAOS_UPDATE_KIND_CONFIGS").is_some();
    for size in [ClusterSize::Full, ClusterSize::Small] {
        let path = repo()
            .join("clusters")
            .join(committed_file_name("three-zones", size));
        let want = generated(size);
        if update {
            std::fs::write(&path, &want).unwrap();
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(
            have,
            want,
            "{} differs from the generator: rerun with ZONECHAOS_UPDATE_KIND_CONFIGS=1",
            path.display()
        );
    }
}

fn committed(size: ClusterSize) -> KindClusterConfig {
    let path = repo()
        .join("clusters")
        .join(committed_file_name("three-zones", size));
    KindClusterConfig::parse(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn committed_full_config_has_every_node_with_exact_labels() {
    let config = committed(ClusterSize::Full);
    assert_eq!(config.api_version, KIND_API_VERSION);
    assert_eq!(config.kind, "Cluster");
    // 1 control plane, 3 workers per zone, 1 load-client node per zone.
    assert_eq!(config.nodes.len(), 13);
    assert_eq!(config.nodes[0].role, NodeRole::ControlPlane);
    assert!(config.nodes[0].labels.is_empty());
    let mut counts: BTreeMap<(String, String), usize> = BTreeMap::new();
    for node in config.workers() {
        let zone = node.labels["topology.kubernetes.io/zone"].clone();
        let capacity = node.labels["karpenter.sh/capacity-type"].clone();
        let pool = if capacity == "spot" {
            "spot"
        } else {
            "on-demand"
        };
        let want: BTreeMap<String, String> = [
            ("topology.kubernetes.io/zone", zone.as_str()),
            ("topology.kubernetes.io/region", "us-east-1"),
            ("karpenter.sh/capacity-type", capacity.as_str()),
            (POOL_LABEL, pool),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(node.labels, want);
        *counts.entry((zone, capacity)).or_default() += 1;
    }
    for zone in ["us-east-1a", "us-east-1b", "us-east-1c"] {
        assert_eq!(counts[&(zone.to_owned(), "spot".to_owned())], 2, "{zone}");
        assert_eq!(
            counts[&(zone.to_owned(), "on-demand".to_owned())],
            1,
            "{zone}"
        );
    }
    assert_eq!(counts.len(), 6);
    assert_load_client_nodes(&config);
}

/// One tainted load-client node per zone, labelled with zone, region and
/// the load-client pool only: no capacity type, so nothing that looks for
/// a zone's spot or on-demand capacity finds it.
fn assert_load_client_nodes(config: &KindClusterConfig) {
    let clients: Vec<_> = config.load_client_nodes().collect();
    let zones: Vec<&str> = clients
        .iter()
        .map(|n| n.labels["topology.kubernetes.io/zone"].as_str())
        .collect();
    assert_eq!(zones, ["us-east-1a", "us-east-1b", "us-east-1c"]);
    for node in clients {
        assert_eq!(node.role, NodeRole::Worker);
        assert_eq!(node.labels.len(), 3, "{:?}", node.labels);
        assert_eq!(node.labels[POOL_LABEL], LOAD_CLIENT_POOL);
        assert_eq!(node.kubeadm_config_patches.len(), 1);
        let patch = &node.kubeadm_config_patches[0];
        assert!(patch.contains("kind: JoinConfiguration"), "{patch}");
        assert!(patch.contains(LOAD_CLIENT_TAINT), "{patch}");
        assert!(patch.contains("effect: NoSchedule"), "{patch}");
    }
}

#[test]
fn committed_small_config_has_one_worker_per_zone() {
    let config = committed(ClusterSize::Small);
    assert_eq!(config.api_version, KIND_API_VERSION);
    let zones: Vec<&str> = config
        .workers()
        .map(|n| n.labels["topology.kubernetes.io/zone"].as_str())
        .collect();
    assert_eq!(zones, ["us-east-1a", "us-east-1b", "us-east-1c"]);
    for node in config.workers() {
        assert_eq!(node.labels["karpenter.sh/capacity-type"], "spot");
        assert_eq!(node.labels[ALSO_CAPACITY_TYPE_LABEL], "on-demand");
    }
    assert_load_client_nodes(&config);
}

/// The controller manager is started with the profile's node-monitor grace
/// (kubeadm v1beta3 `extraArgs` is a map, kind v0.30.0
/// pkg/cluster/internal/kubeadm/config.go), so a profile that says 35s
/// gets a cluster that turns nodes NotReady after 35s.
#[test]
fn the_kind_config_carries_the_profiles_node_monitor_grace() {
    let committed = committed(ClusterSize::Full);
    assert_eq!(committed.kubeadm_config_patches.len(), 1);
    assert!(
        committed.kubeadm_config_patches[0].contains("node-monitor-grace-period: \"50s\""),
        "{}",
        committed.kubeadm_config_patches[0]
    );
    let text = std::fs::read_to_string(repo().join("clusters/three-zones.yaml"))
        .unwrap()
        .replace("nodeMonitorGrace: 50s", "nodeMonitorGrace: 35s");
    let profile = ClusterProfile::parse(&text, Path::new("three-zones.yaml")).unwrap();
    for size in [ClusterSize::Full, ClusterSize::Small] {
        let config = KindClusterConfig::from_profile(&profile, size);
        let patch = &config.kubeadm_config_patches[0];
        assert!(patch.contains("kind: ClusterConfiguration"), "{patch}");
        assert!(
            patch.contains("node-monitor-grace-period: \"35s\""),
            "{patch}"
        );
        // The text kind reads back is the same patch.
        let reparsed = KindClusterConfig::parse(&config.to_yaml("test", size).unwrap()).unwrap();
        assert_eq!(
            reparsed.kubeadm_config_patches,
            config.kubeadm_config_patches
        );
    }
}

fn rendered(topology: &str) -> Vec<RenderedManifest> {
    let path = repo().join("suites/topologies").join(topology);
    let options = RenderOptions {
        image: "zonechaos:test".into(),
        ..RenderOptions::default()
    };
    render_paths(&[path], &ClusterProfile::builtin(), &options).unwrap()
}

/// The suite's `load.proxyLabels` land on each load client's pod (where
/// istiod reads a proxy's labels), never in the Deployment's selector, and
/// the harness's own labels stay.
#[test]
fn load_clients_carry_the_suites_proxy_labels() {
    let path = repo().join("suites/topologies/zone-pinned.yaml");
    let options = RenderOptions {
        image: "zonechaos:test".into(),
        proxy_labels: [("team".to_owned(), "payments".to_owned())].into(),
        ..RenderOptions::default()
    };
    let manifests = render_paths(&[path], &ClusterProfile::builtin(), &options).unwrap();
    let loadgen = manifests
        .iter()
        .find(|m| m.file_name == "20-loadgen.yaml")
        .unwrap();
    let docs: Vec<serde_json::Value> = loadgen
        .yaml
        .split("\n---\n")
        .filter(|d| d.contains("kind: Deployment"))
        .map(|d| serde_saphyr::from_str(d).unwrap())
        .collect();
    assert_eq!(docs.len(), 3, "{}", loadgen.yaml);
    for d in &docs {
        let pod = &d["spec"]["template"]["metadata"]["labels"];
        assert_eq!(pod["team"], "payments", "{d}");
        assert!(pod["app"].as_str().unwrap().starts_with("loadgen-"), "{d}");
        assert!(
            d["spec"]["selector"]["matchLabels"].get("team").is_none(),
            "{d}"
        );
        assert!(d["metadata"]["labels"].get("team").is_none(), "{d}");
    }
}

fn lint_rendered(manifests: &[RenderedManifest]) -> zonechaos::lint::LintReport {
    let mut loaded = Loaded::default();
    for m in manifests {
        load_text(Arc::from(Path::new(&m.file_name)), &m.yaml, &mut loaded);
    }
    let schemas =
        CrdSchemas::load(Path::new(env!("ZONECHAOS_SHARED_CRDS_DIR"))).expect("CRDs load");
    assert!(schemas.has_group("argoproj.io") && schemas.has_group("networking.istio.io"));
    lint(
        loaded,
        &ClusterProfile::builtin(),
        Some(&schemas),
        &LintOptions::default(),
    )
}

#[test]
#[cfg_attr(
    not(zonechaos_shared_crds),
    ignore = "needs the pinned CRDs in ../shared/crds"
)]
fn rendered_manifests_lint_clean_and_validate_against_the_crds() {
    for topology in ["zone-failover.yaml", "zone-pinned.yaml"] {
        let manifests = rendered(topology);
        let names: Vec<&str> = manifests.iter().map(|m| m.file_name.as_str()).collect();
        let stem = topology.trim_end_matches(".yaml");
        assert_eq!(
            names,
            [
                "00-namespace.yaml".to_owned(),
                format!("10-{stem}.yaml"),
                "20-loadgen.yaml".to_owned(),
                "30-prometheus.yaml".to_owned()
            ]
        );
        let report = lint_rendered(&manifests);
        let bad: Vec<String> = report
            .findings
            .iter()
            .filter(|f| f.severity() == Severity::Error || f.rule.id.starts_with("ZC4"))
            .map(|f| format!("{} {}: {}", f.loc, f.rule.id, f.message))
            .collect();
        assert!(bad.is_empty(), "{topology}:\n{}", bad.join("\n"));
        assert!(!report.bad_input, "{topology}");
        // The objects were all read (namespace, topology, 3 loadgens, 7 Prometheus objects).
        assert!(
            report.objects > 12,
            "{topology}: {} objects",
            report.objects
        );
    }
}

#[test]
fn rendered_workloads_run_the_harness_in_their_zone() {
    let manifests = rendered("zone-failover.yaml");
    let topology = &manifests[1].yaml;
    assert!(topology.contains("namespace: zonechaos"), "{topology}");
    assert!(!topology.contains("namespace: default"), "{topology}");
    assert!(!topology.contains("myapp:v1"), "{topology}");
    for zone in ["us-east-1a", "us-east-1b", "us-east-1c"] {
        assert!(topology.contains(&format!("- {zone}")), "{zone}");
    }
    let loadgen = &manifests[2].yaml;
    for short in ["a", "b", "c"] {
        assert!(
            loadgen.contains(&format!("name: loadgen-test-{short}")),
            "{loadgen}"
        );
    }
    assert!(loadgen.contains("http://test.zonechaos.svc.cluster.local:8080/"));
    assert!(manifests[0].yaml.contains("istio-injection: enabled"));
    insta::assert_snapshot!(
        "render_zone_failover",
        manifests
            .iter()
            .map(|m| format!("=== {} ===\n{}", m.file_name, m.yaml))
            .collect::<String>()
    );
}

/// The load clients run only on their zone's load-client node (selector
/// and the one toleration of its taint), and the chaos steps recognise
/// every rendered client pod as one they must leave alone; no workload pod
/// is mistaken for one (issue 11 item 5).
#[test]
fn load_clients_are_placed_out_of_chaos_reach() {
    use zonechaos::backend::kube::api::drain::is_load_client;
    let manifests = rendered("zone-failover.yaml");
    let mut templates = Vec::new();
    for m in &manifests {
        for doc in zonechaos::topology::yaml::parse_documents(&m.yaml).unwrap() {
            let doc = doc.to_json();
            if doc["kind"] == "Deployment" || doc["kind"] == "Rollout" {
                templates.push((m.file_name.clone(), doc["spec"]["template"].clone()));
            }
        }
    }
    let mut clients = 0;
    for (file, template) in &templates {
        let pod: k8s_openapi::api::core::v1::Pod =
            serde_json::from_value(template.clone()).unwrap();
        let spec = &template["spec"];
        if file.contains("loadgen") {
            clients += 1;
            assert!(is_load_client(&pod), "{template}");
            let zone = template["metadata"]["labels"]["zonechaos.dev/client-zone"].clone();
            assert_eq!(
                spec["nodeSelector"],
                serde_json::json!({"topology.kubernetes.io/zone": zone, POOL_LABEL: LOAD_CLIENT_POOL})
            );
            assert_eq!(
                spec["tolerations"],
                serde_json::json!([{"key": LOAD_CLIENT_TAINT, "operator": "Exists", "effect": "NoSchedule"}])
            );
        } else {
            assert!(!is_load_client(&pod), "{file}: {template}");
            let tolerates_clients = spec["tolerations"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|t| t["key"] == LOAD_CLIENT_TAINT || t.get("key").is_none());
            assert!(!tolerates_clients, "{file}: {template}");
        }
    }
    assert_eq!(clients, 3);
    assert!(templates.len() > clients, "{templates:?}");
}

#[test]
fn render_refuses_a_workload_without_a_zone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.yaml");
    std::fs::write(
        &path,
        "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: x}\nspec:\n  template:\n    spec:\n      containers: [{name: app, image: a}]\n",
    )
    .unwrap();
    let err = render_paths(
        &[path],
        &ClusterProfile::builtin(),
        &RenderOptions::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("not pinned to one zone"), "{err}");
    assert!(err.hint().contains("nodeAffinity"));
}

#[test]
fn missing_tools_are_named_with_what_to_install() {
    let c = cluster(
        ClusterSize::Full,
        Path::new("/nonexistent-cache"),
        false,
        false,
    );
    let runner = RecordingRunner::new()
        .without(Tool::Istioctl)
        .without(Tool::Kind);
    let err = c.up(&runner).unwrap_err();
    assert!(matches!(err, ClusterError::MissingTools { .. }), "{err}");
    assert_eq!(err.to_string(), "missing tools: kind, istioctl");
    assert!(
        err.hint().contains("https://kind.sigs.k8s.io"),
        "{}",
        err.hint()
    );
    assert!(
        err.hint().contains("ISTIO_VERSION=1.30.3"),
        "{}",
        err.hint()
    );
    assert!(
        runner.calls().is_empty(),
        "nothing runs before the tools are there"
    );

    // The real runner, with a PATH of fake scripts lacking istioctl.
    let bin = tempfile::tempdir().unwrap();
    for tool in ["docker", "kind", "kubectl", "curl"] {
        let path = bin.path().join(tool);
        std::fs::write(&path, "#!/bin/sh\nexit 0\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let runner = SystemRunner::with_path(bin.path().as_os_str().to_owned());
    let err = c.up(&runner).unwrap_err();
    assert_eq!(err.to_string(), "missing tools: istioctl");
    assert!(err.is_infrastructure());
}

fn exists(name: &str) -> Output {
    Output::ok(&format!("kind\n{name}\n"))
}

#[test]
fn an_existing_cluster_is_refused_without_reuse_and_reused_with_it() {
    let cache = tempfile::tempdir().unwrap();
    let c = runnable(ClusterSize::Small, cache.path(), false, false);
    let runner =
        RecordingRunner::new().answer("kind get clusters", exists("zonechaos-three-zones-small"));
    let err = c.up(&runner).unwrap_err();
    assert!(matches!(err, ClusterError::ClusterExists { .. }), "{err}");

    assert!(err.hint().contains("--reuse"), "{}", err.hint());
    assert!(
        !runner.calls().iter().any(|c| c.starts_with("kind delete")),
        "a cluster this run did not create is never deleted"
    );

    // With --reuse, creation is skipped and the installs run.
    let c = runnable(ClusterSize::Small, cache.path(), true, false);
    let runner = RecordingRunner::new()
        .answer("kind get clusters", exists("zonechaos-three-zones-small"))
        .answer("istioctl version", Output::ok("client version: 1.30.3\n"))
        .answer(
            "kind version",
            Output::ok("kind v0.30.0 go1.24 linux/amd64\n"),
        );
    let report = c.up(&runner).unwrap();
    let skipped: Vec<&str> = report
        .steps
        .iter()
        .filter(|(_, o)| matches!(o, StepOutcome::Skipped(_)))
        .map(|(p, _)| p.as_str())
        .collect();
    assert!(
        skipped.contains(&"create kind cluster zonechaos-three-zones-small"),
        "{skipped:?}"
    );
    assert!(
        cache
            .path()
            .join("zonechaos-three-zones-small/kind-config.yaml")
            .is_file()
    );
    assert!(
        cache
            .path()
            .join("zonechaos-three-zones-small/prometheus.yaml")
            .is_file()
    );
}

#[test]
fn a_failing_step_names_the_command_and_the_new_cluster_is_deleted() {
    let cache = tempfile::tempdir().unwrap();
    let c = runnable(ClusterSize::Full, cache.path(), false, false);
    let runner = RecordingRunner::new()
        .answer("istioctl version", Output::ok("1.30.3"))
        .answer(
            "istioctl install",
            Output::failed(1, "line 1\nError: webhook timeout\n"),
        );
    let err = c.up(&runner).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("install Istio 1.30.3"), "{text}");
    assert!(text.contains("`istioctl install -y -f "), "{text}");
    assert!(text.contains("exited with code 1"), "{text}");
    assert!(text.contains("Error: webhook timeout"), "{text}");
    assert!(err.hint().contains("istioctl analyze"), "{}", err.hint());
    let calls = runner.calls();
    assert!(
        calls.iter().any(|c| c.starts_with("kind create cluster")),
        "{calls:#?}"
    );
    // `kind get clusters` answers empty here, so down finds nothing to delete;
    // what matters is that it asked.
    assert_eq!(
        calls
            .iter()
            .filter(|c| c.as_str() == "kind get clusters")
            .count(),
        3,
        "before up, at create, and at the clean-up: {calls:#?}"
    );

    // With --keep, no clean-up.
    let c = runnable(ClusterSize::Full, cache.path(), false, true);
    let runner = RecordingRunner::new()
        .answer("istioctl version", Output::ok("1.30.3"))
        .answer("istioctl install", Output::failed(1, "boom"));
    assert!(c.up(&runner).is_err());
    assert_eq!(
        runner
            .calls()
            .iter()
            .filter(|c| c.as_str() == "kind get clusters")
            .count(),
        2
    );
}

#[test]
fn wrong_istioctl_version_stops_before_anything_is_created() {
    let cache = tempfile::tempdir().unwrap();
    let c = cluster(ClusterSize::Full, cache.path(), false, false);
    let runner = RecordingRunner::new().answer("istioctl version", Output::ok("1.28.0\n"));
    let err = c.up(&runner).unwrap_err();
    assert!(
        err.to_string().contains("does not report version 1.30.3"),
        "{err}"
    );
    assert!(!runner.calls().iter().any(|c| c.starts_with("kind create")));
}

#[test]
fn down_is_idempotent_and_finish_respects_keep() {
    let c = cluster(ClusterSize::Full, Path::new("/cache"), false, false);
    let runner = RecordingRunner::new();
    let report = c.down(&runner).unwrap();
    assert!(matches!(report.steps[0].1, StepOutcome::Skipped(_)));
    assert!(!runner.calls().iter().any(|c| c.starts_with("kind delete")));

    let runner =
        RecordingRunner::new().answer("kind get clusters", exists("zonechaos-three-zones"));
    assert!(c.finish(&runner).unwrap());
    assert!(runner.calls().iter().any(|c| c.starts_with(
        "kind delete cluster --name zonechaos-three-zones --kubeconfig /cache/kind-zonechaos-three-zones.kubeconfig"
    )));

    let kept = cluster(ClusterSize::Full, Path::new("/cache"), false, true);
    let runner =
        RecordingRunner::new().answer("kind get clusters", exists("zonechaos-three-zones"));
    assert!(!kept.finish(&runner).unwrap());
    assert!(runner.calls().is_empty());
}

#[test]
fn cluster_names_are_checked() {
    assert!(ClusterName::parse("zonechaos-dev").is_ok());
    let err = ClusterName::parse("prod").unwrap_err();
    assert!(err.hint().contains("zonechaos-"));
}

fn zonechaos(args: &[&str], path_env: Option<&Path>) -> std::process::Output {
    let mut cmd = output::zonechaos_command();
    cmd.args(args);
    if let Some(path) = path_env {
        cmd.env("PATH", path);
    }
    output::output(&mut cmd)
}

#[test]
fn cli_prints_the_plan_and_refuses_bad_names() {
    let cache = tempfile::tempdir().unwrap();
    let cache_arg = cache.path().to_str().unwrap();
    let out = zonechaos(
        &[
            "cluster",
            "up",
            "--small",
            "--plan",
            "--cache-dir",
            cache_arg,
        ],
        None,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("kind create cluster --name zonechaos-three-zones-small"),
        "{text}"
    );
    let verify = format!(
        "argo-rollouts-v1.9.1-install.yaml == {}",
        pins::ARGO_ROLLOUTS_INSTALL.sha256
    );
    let (verify_at, create_at) = (text.find(&verify), text.find("kind create cluster"));
    assert!(
        verify_at.is_some() && verify_at < create_at,
        "the Argo pin is checked before the cluster is created:\n{text}"
    );
    assert_eq!(
        std::fs::read_dir(cache.path()).unwrap().count(),
        0,
        "--plan runs and writes nothing"
    );
    // The binary running is what goes into the image, unless from source.
    assert!(text.contains("copy this zonechaos binary"), "{text}");
    let out = zonechaos(
        &[
            "cluster",
            "up",
            "--plan",
            "--image-from-source",
            "--build-context",
            "/src",
            "--cache-dir",
            cache_arg,
        ],
        None,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("$ docker build -t zonechaos:"), "{text}");
    assert!(text.contains(" -f /src/Dockerfile /src"), "{text}");
    assert!(!text.contains("copy this zonechaos binary"), "{text}");

    let out = zonechaos(&["cluster", "down", "--name", "prod", "--plan"], None);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("'prod' is not a harness cluster name"),
        "{err}"
    );
    assert!(
        err.contains("hint: cluster names start with zonechaos-"),
        "{err}"
    );
}

#[test]
fn cli_status_without_tools_exits_3_and_says_what_to_install() {
    let empty = tempfile::tempdir().unwrap();
    let out = zonechaos(&["cluster", "status"], Some(empty.path()));
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("error: missing tools: kind, kubectl"), "{err}");
    assert!(
        err.contains("https://kubernetes.io/docs/tasks/tools/#kubectl"),
        "{err}"
    );
}

#[test]
#[cfg_attr(
    not(zonechaos_shared_crds),
    ignore = "needs the pinned CRDs in ../shared/crds"
)]
fn cli_render_output_passes_cli_lint_with_crds() {
    let out_dir = tempfile::tempdir().unwrap();
    let out_arg = out_dir.path().to_str().unwrap();
    let out = zonechaos(
        &[
            "render",
            "suites/topologies/zone-pinned.yaml",
            "--out",
            out_arg,
            "--image",
            "zonechaos:e2e",
        ],
        None,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut files: Vec<String> = std::fs::read_dir(out_dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "00-namespace.yaml",
            "10-zone-pinned.yaml",
            "20-loadgen.yaml",
            "30-prometheus.yaml"
        ]
    );
    let lint = zonechaos(
        &["lint", out_arg, "--crds", env!("ZONECHAOS_SHARED_CRDS_DIR")],
        None,
    );
    assert_eq!(
        lint.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&lint.stdout),
        String::from_utf8_lossy(&lint.stderr)
    );
}

/// Fake docker, kind, kubectl, istioctl and curl: each appends its name,
/// its KUBECONFIG and its arguments to `calls.log`; istioctl reports the
/// pinned version, curl writes [`FAKE_ARGO`] to its `-o` file.
fn fake_tools(dir: &Path) -> PathBuf {
    let log = dir.join("calls.log");
    let common = format!(
        "#!/bin/sh\necho \"${{0##*/}} [${{KUBECONFIG:-}}] $*\" >> {}\n",
        log.display()
    );
    let extra: [(&str, &str); 5] = [
        ("docker", ""),
        ("kind", ""),
        ("kubectl", ""),
        (
            "istioctl",
            "[ \"$1\" = version ] && echo 'client version: 1.30.3'\n",
        ),
        (
            "curl",
            &format!(
                "while [ $# -gt 0 ]; do [ \"$1\" = -o ] && printf '{}' > \"$2\"; shift; done\n",
                FAKE_ARGO.replace('\n', "\\n")
            ),
        ),
    ];
    for (tool, body) in extra {
        let path = dir.join(tool);
        std::fs::write(&path, format!("{common}{body}exit 0\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    log
}

#[test]
fn the_whole_up_plan_runs_through_duct_with_fake_tools() {
    let bin = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let log = fake_tools(bin.path());
    let c = KindCluster::new(
        &ClusterProfile::builtin(),
        ClusterOptions {
            cache_dir: Some(cache.path().to_owned()),
            harness_image: Some("zonechaos:fake".into()),
            argo_install: Some(fake_argo_pin()),
            ..ClusterOptions::default()
        },
    )
    .unwrap();
    let runner = SystemRunner::with_path(bin.path().as_os_str().to_owned());
    let report = c.up(&runner).unwrap();
    let calls = std::fs::read_to_string(&log).unwrap();
    let kubeconfig = c.kubeconfig().to_string();
    let create = calls
        .lines()
        .find(|l| l.starts_with("kind [") && l.contains("create cluster"))
        .unwrap_or_else(|| panic!("no kind create in\n{calls}"));
    assert!(create.contains(&format!("[{kubeconfig}]")), "{create}");
    assert!(
        create.contains(&format!("--kubeconfig {kubeconfig}")),
        "{create}"
    );
    for line in calls
        .lines()
        .filter(|l| l.starts_with("kubectl") && !l.contains("--client"))
    {
        assert!(line.contains(&format!("[{kubeconfig}] ")), "{line}");
    }
    assert!(
        calls.contains("docker [] tag zonechaos:fake zonechaos:fake-canary"),
        "{calls}"
    );
    assert!(calls.contains(
        "load docker-image --name zonechaos-three-zones zonechaos:fake zonechaos:fake-canary"
    ));
    // Image probes succeed (fake docker exits 0), so every pull is skipped.
    assert!(!calls.contains("docker [] pull"), "{calls}");
    let skipped = report
        .steps
        .iter()
        .filter(|(_, o)| matches!(o, StepOutcome::Skipped(_)))
        .count();
    // Only the node image is pulled by the plan (upstream images are pulled
    // by the nodes, never `kind load`ed).
    assert_eq!(
        skipped, 2,
        "the node image's pull and the namespace: {report:#?}"
    );
    let manifest = c.work_dir().join("argo-rollouts-install.yaml");
    assert_eq!(
        std::fs::read_to_string(&manifest).unwrap(),
        "kind: Deployment\nimage: quay.io/argoproj/argo-rollouts:v1.9.1\n"
    );
    assert!(
        calls.contains(&format!("-n argo-rollouts -f {}", manifest.display())),
        "the pinned copy is applied: {calls}"
    );
}

/// issue 11 item 4: a download that is not the pinned file stops the plan
/// before `kind create cluster`, with nothing to pass on the command line.
#[test]
fn a_wrong_argo_download_stops_before_the_cluster_exists() {
    let bin = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let log = fake_tools(bin.path());
    // The real pin; the fake curl writes FAKE_ARGO, which is not that file.
    let c = cluster(ClusterSize::Small, cache.path(), false, false);
    let runner = SystemRunner::with_path(bin.path().as_os_str().to_owned());
    let err = c.up(&runner).unwrap_err();
    assert!(matches!(err, ClusterError::DigestMismatch { .. }), "{err}");
    assert!(
        err.to_string().contains(pins::ARGO_ROLLOUTS_INSTALL.sha256),
        "{err}"
    );
    let calls = std::fs::read_to_string(&log).unwrap();
    assert!(calls.contains("curl"), "{calls}");
    assert!(!calls.contains("create cluster"), "{calls}");
}

#[test]
fn status_lists_nodes_only_when_the_cluster_exists() {
    let c = cluster(
        ClusterSize::Full,
        Path::new("/nonexistent-cache"),
        false,
        false,
    );
    let runner = RecordingRunner::new();
    let status = c.status(&runner).unwrap();
    assert!(!status.exists && !status.kubeconfig_exists);
    assert!(status.details.is_empty());
    assert_eq!(runner.calls(), ["kind get clusters"]);

    let runner = RecordingRunner::new()
        .answer("kind get clusters", exists("zonechaos-three-zones"))
        .answer(
            "kubectl get nodes",
            Output::ok("NAME STATUS ZONE\nw1 Ready us-east-1a\n"),
        );
    let status = c.status(&runner).unwrap();
    assert!(status.exists);
    assert!(
        status.details.starts_with(
            "# nodes, zones and capacity types\nNAME STATUS ZONE\nw1 Ready us-east-1a\n"
        ),
        "{}",
        status.details
    );
    assert!(runner.calls().iter().any(|c| c.starts_with(
        "kubectl get nodes -L topology.kubernetes.io/zone -L karpenter.sh/capacity-type --kubeconfig /nonexistent-cache/"
    )));
}

/// issue 11 item 9: CoreDNS (and kind's local-path provisioner) are moved
/// to the control-plane node right after the cluster is created, so a
/// zone's Spot loss cannot take DNS down for every zone.
#[test]
fn cluster_add_ons_move_to_the_control_plane_first() {
    let c = cluster(ClusterSize::Full, Path::new("/cache"), false, false);
    let text = c.up_plan().unwrap().display();
    let at = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("{needle} not in plan"))
    };
    let coredns = at("kubectl patch deployment coredns -n kube-system");
    assert!(at("kind create cluster") < coredns);
    assert!(coredns < at("$ istioctl install"));
    let patch_line = text[coredns..].lines().next().unwrap();
    assert!(
        patch_line.contains(r#""nodeSelector":{"node-role.kubernetes.io/control-plane":""}"#),
        "{patch_line}"
    );
    assert!(patch_line.contains("CriticalAddonsOnly"), "{patch_line}");
    assert!(text.contains("wait until kube-system/coredns is available"));
    assert!(text.contains("kubectl patch deployment local-path-provisioner -n local-path-storage"));
}

/// issue 11 item 6: `kind load docker-image` of pulled multi-platform
/// images fails with Docker's containerd image store (kubernetes-sigs/kind
/// issue 3795), so the plan loads only the harness images it built.
#[test]
fn only_the_harness_images_are_kind_loaded() {
    let c = cluster(ClusterSize::Full, Path::new("/cache"), false, false);
    let text = c.up_plan().unwrap().display();
    let loads: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("$ kind load docker-image"))
        .collect();
    assert_eq!(loads.len(), 1, "{loads:?}");
    assert!(
        loads[0].contains("zonechaos:test zonechaos:test-canary"),
        "{}",
        loads[0]
    );
    for image in zonechaos::pins::preloaded_images() {
        let reference = image.tag_reference();
        assert!(
            !text.contains(&format!("pull {reference}")),
            "{reference} is pulled"
        );
        assert!(!loads[0].contains(&reference), "{reference} is loaded");
    }
}
