//! Diagnostics of a failed kind or existing-cluster run (issue 11
//! "Also"): which commands, through which access, and what lands in the
//! files when commands succeed, fail or cannot start.

use std::path::{Path, PathBuf};

use zonechaos::backend::kube::cluster::{Output, RecordingRunner, Tool};
use zonechaos::backend::kube::diagnostics::{ClusterAccess, collect, plan};

fn kind_access() -> ClusterAccess {
    ClusterAccess::Kubeconfig(PathBuf::from("/cache/zonechaos-three-zones.kubeconfig"))
}

fn clients() -> Vec<String> {
    ["loadgen-test-a", "loadgen-test-b", "loadgen-test-c"]
        .map(str::to_owned)
        .to_vec()
}

#[test]
fn the_plan_asks_every_question_through_the_harness_kubeconfig() {
    let plan = plan(&kind_access(), "zonechaos-test", &clients());
    let files: Vec<&str> = plan.iter().map(|d| d.file.as_str()).collect();
    for want in [
        "nodes.txt",
        "nodes-describe.txt",
        "events.txt",
        "pods.txt",
        "rollouts.txt",
        "istiod.log",
        "argo-rollouts.log",
        "load-clients.log",
        "prometheus.log",
        "prometheus-targets.json",
        "endpoints-loadgen-test-a.json",
        "endpoints-loadgen-test-c.json",
    ] {
        assert!(files.contains(&want), "{want} missing from {files:?}");
    }
    for d in &plan {
        let line = d.command.command_line();
        assert!(
            line.contains("--kubeconfig /cache/zonechaos-three-zones.kubeconfig"),
            "{line}"
        );
        assert_eq!(
            d.command.env["KUBECONFIG"], "/cache/zonechaos-three-zones.kubeconfig",
            "never ~/.kube/config: {line}"
        );
    }
    let by_file = |f: &str| {
        plan.iter()
            .find(|d| d.file == f)
            .unwrap()
            .command
            .command_line()
    };
    assert!(
        by_file("load-clients.log")
            .contains("-n zonechaos-test logs -l zonechaos.dev/role=loadgen"),
        "{}",
        by_file("load-clients.log")
    );
    assert!(by_file("prometheus-targets.json").contains(
        "get --raw /api/v1/namespaces/zonechaos-monitoring/services/prometheus:9090/proxy/api/v1/targets"
    ));
    let endpoints = plan
        .iter()
        .find(|d| d.file == "endpoints-loadgen-test-b.json")
        .unwrap();
    assert_eq!(endpoints.command.program, Tool::Istioctl);
    assert!(
        endpoints.command.command_line().starts_with(
            "istioctl proxy-config endpoint deploy/loadgen-test-b -n zonechaos-test -o json"
        ),
        "{}",
        endpoints.command.command_line()
    );
}

#[test]
fn an_existing_cluster_is_reached_by_its_context_only() {
    let access = ClusterAccess::Context {
        context: "staging-eks".into(),
        kubeconfig: Some(PathBuf::from("/home/u/.kube/staging")),
    };
    for d in plan(&access, "zonechaos-test", &clients()) {
        let line = d.command.command_line();
        assert!(
            line.contains("--context staging-eks --kubeconfig /home/u/.kube/staging"),
            "{line}"
        );
        assert!(d.command.env.is_empty(), "{line}");
    }
}

#[test]
fn failing_commands_leave_their_error_in_their_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("zone-c-drain/diagnostics");
    let runner = RecordingRunner::new()
        .answer("kubectl get nodes", Output::ok("NAME STATUS\nw1 Ready\n"))
        .answer(
            "kubectl -n istio-system logs",
            Output::failed(
                1,
                "Error from server (NotFound): deployments.apps \"istiod\" not found\n",
            ),
        )
        .without(Tool::Istioctl);
    let plan = plan(&kind_access(), "zonechaos-test", &clients());
    let collected = collect(&plan, &runner, &out).unwrap();
    assert_eq!(collected.files.len(), plan.len() + 1);
    let read = |f: &str| std::fs::read_to_string(out.join(f)).unwrap();
    assert_eq!(read("nodes.txt"), "NAME STATUS\nw1 Ready\n");
    let istiod = read("istiod.log");
    assert!(
        istiod.starts_with("$ kubectl -n istio-system logs deploy/istiod"),
        "{istiod}"
    );
    assert!(istiod.contains("exit 1\n"), "{istiod}");
    assert!(istiod.contains("\"istiod\" not found"), "{istiod}");
    assert!(read("endpoints-loadgen-test-a.json").contains("could not start"));
    let mut failed = collected.failed.clone();
    failed.sort();
    assert_eq!(
        failed,
        [
            "endpoints-loadgen-test-a.json",
            "endpoints-loadgen-test-b.json",
            "endpoints-loadgen-test-c.json",
            "istiod.log"
        ]
    );
    let index = read("index.txt");
    assert_eq!(index.lines().count(), plan.len());
    assert!(index.lines().all(|l| l.split('\t').count() == 3), "{index}");
    // Every command ran once, in order.
    assert_eq!(runner.calls().len(), plan.len());
    assert!(Path::new(&collected.dir).ends_with("zone-c-drain/diagnostics"));
}
