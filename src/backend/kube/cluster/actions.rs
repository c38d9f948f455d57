//! The plans of `cluster up`, `down` and `status` for one cluster: which
//! commands, with which arguments, in which order. Building a plan runs
//! nothing.

use std::path::Path;

use super::error::ClusterError;
use super::kind_config::{ClusterSize, KindClusterConfig};
use super::lifecycle::ImageSource;
use super::names::{ClusterName, KubeconfigPath};
use super::plan::{Idempotency, Plan, PlannedCommand, Step};
use super::tool::Tool;
use crate::pins;
use crate::profile::ClusterProfile;

/// Everything a plan is built from.
#[derive(Debug, Clone)]
pub struct PlanInputs<'a> {
    /// The profile.
    pub profile: &'a ClusterProfile,
    /// Full or Small.
    pub size: ClusterSize,
    /// The cluster name.
    pub name: &'a ClusterName,
    /// The harness's kubeconfig.
    pub kubeconfig: &'a KubeconfigPath,
    /// Where generated files and downloads go (per cluster).
    pub work_dir: &'a Path,
    /// Where downloads are cached (shared between clusters).
    pub cache_dir: &'a Path,
    /// The project checkout (Dockerfile and build context).
    pub project_dir: &'a Path,
    /// Where the image's binary comes from.
    pub image_source: &'a super::lifecycle::ImageSource,
    /// The harness image tag (`zonechaos:0.1.0`).
    pub harness_image: &'a str,
    /// The Argo Rollouts manifest to download and its digest.
    pub argo_install: pins::DownloadPin,
}

/// Namespace of the in-cluster Prometheus.
pub const MONITORING_NAMESPACE: &str = "zonechaos-monitoring";

/// Field manager of every server-side apply.
pub const FIELD_MANAGER: &str = "zonechaos";

const CONTROL_PLANE_LABEL: &str = "node-role.kubernetes.io/control-plane";

fn kubectl(inputs: &PlanInputs<'_>, args: &[&str], purpose: impl Into<String>) -> PlannedCommand {
    PlannedCommand::new(Tool::Kubectl, args, purpose).kubeconfig(inputs.kubeconfig)
}

/// `kubectl apply --server-side` of a file with the harness's field manager.
fn server_side_apply(
    inputs: &PlanInputs<'_>,
    file: &Path,
    namespace: Option<&str>,
    purpose: String,
) -> PlannedCommand {
    let manager = format!("--field-manager={FIELD_MANAGER}");
    let mut args = vec!["apply", "--server-side", manager.as_str()];
    if let Some(namespace) = namespace {
        args.extend(["-n", namespace]);
    }
    let file = file_arg(file);
    args.extend(["-f", file.as_str()]);
    kubectl(inputs, &args, purpose)
}

fn wait_available(
    inputs: &PlanInputs<'_>,
    namespace: &str,
    deployment: &str,
    timeout: &str,
) -> PlannedCommand {
    kubectl(
        inputs,
        &[
            "wait",
            "--for=condition=Available",
            &format!("deployment/{deployment}"),
            "-n",
            namespace,
            &format!("--timeout={timeout}"),
        ],
        format!("wait until {namespace}/{deployment} is available"),
    )
    .long()
    .hint(format!(
        "look at its pods: kubectl --kubeconfig {k} -n {namespace} get pods; \
         kubectl --kubeconfig {k} -n {namespace} describe deployment {deployment}",
        k = inputs.kubeconfig
    ))
}

fn pull(image: &str) -> PlannedCommand {
    PlannedCommand::new(Tool::Docker, &["pull", image], format!("pull {image}"))
        .idempotency(Idempotency::SkipIfSucceeds(Box::new(PlannedCommand::new(
            Tool::Docker,
            &["image", "inspect", image],
            format!("is {image} present"),
        ))))
        .long()
        .hint("check the network and the registry; `docker login` if it rate-limits")
}

fn kind_load(inputs: &PlanInputs<'_>, images: &[String], purpose: &str) -> PlannedCommand {
    let mut cmd = PlannedCommand::new(
        Tool::Kind,
        &["load", "docker-image", "--name", inputs.name.as_str()],
        purpose,
    )
    .long()
    .hint("check that the images were pulled or built (docker image ls) and the cluster is up");
    cmd.args.extend(images.iter().cloned());
    cmd
}

/// The node selector and toleration that keep infrastructure (istiod, the
/// Argo controller, Prometheus) on the control-plane node, out of reach of
/// zone chaos.
pub fn infra_placement_json() -> serde_json::Value {
    serde_json::json!({
        "nodeSelector": { CONTROL_PLANE_LABEL: "" },
        "tolerations": [
            { "key": CONTROL_PLANE_LABEL, "operator": "Exists", "effect": "NoSchedule" }
        ]
    })
}

fn yaml(value: &serde_json::Value, what: &str) -> Result<String, ClusterError> {
    serde_saphyr::to_string(value).map_err(|e| ClusterError::Yaml {
        what: what.to_owned(),
        message: e.to_string(),
    })
}

/// The IstioOperator given to `istioctl install`: minimal profile (istiod
/// only, no gateways), sidecar mode, pinned hub and tag, Prometheus metric
/// merging (each sidecar serves app and Envoy metrics on
/// `:15020/stats/prometheus` and rewrites the `prometheus.io` annotations
/// to it), proxies started before the app, istiod on the control plane,
/// and the profile's mesh-wide `localityLbSetting` when it gives one.
pub fn istio_operator_yaml(profile: &ClusterProfile) -> Result<String, ClusterError> {
    let placement = infra_placement_json();
    let mut value = serde_json::json!({
        "apiVersion": "install.istio.io/v1alpha1",
        "kind": "IstioOperator",
        "spec": {
            "profile": "minimal",
            "hub": pins::ISTIO_HUB,
            "tag": pins::ISTIO_VERSION,
            "meshConfig": {
                "enablePrometheusMerge": true,
                "defaultConfig": { "holdApplicationUntilProxyStarts": true }
            },
            "components": { "pilot": { "k8s": placement } }
        }
    });
    if let Some(setting) = &profile.mesh.locality_lb_setting {
        value["spec"]["meshConfig"]["localityLbSetting"] =
            serde_json::to_value(setting).map_err(|e| ClusterError::Yaml {
                what: "the mesh localityLbSetting".into(),
                message: e.to_string(),
            })?;
    }
    yaml(&value, "the IstioOperator")
}

/// A DestinationRule only sent as a server-side dry run: it succeeds once
/// Istio's validating webhook answers.
pub fn webhook_probe_yaml() -> Result<String, ClusterError> {
    let value = serde_json::json!({
        "apiVersion": "networking.istio.io/v1",
        "kind": "DestinationRule",
        "metadata": { "name": "zonechaos-webhook-probe", "namespace": "istio-system" },
        "spec": { "host": "zonechaos-webhook-probe.istio-system.svc.cluster.local" }
    });
    yaml(&value, "the webhook probe")
}

fn file_arg(path: &Path) -> String {
    path.display().to_string()
}

/// The plan of `cluster up`: preflight checks, the pinned downloads
/// (checked before anything is created), the cluster, images, Istio, Argo
/// Rollouts, Prometheus.
pub fn up_plan(inputs: &PlanInputs<'_>, prometheus_yaml: &str) -> Result<Plan, ClusterError> {
    let mut steps = preflight_steps();
    argo_download_steps(inputs, &mut steps);
    cluster_steps(inputs, &mut steps)?;
    addon_steps(inputs, &mut steps);
    image_steps(inputs, &mut steps);
    istio_steps(inputs, &mut steps)?;
    argo_steps(inputs, &mut steps);
    prometheus_steps(inputs, prometheus_yaml, &mut steps);
    Ok(Plan { steps })
}

/// Tools answer and have the pinned versions (the doctor's commands).
fn preflight_steps() -> Vec<Step> {
    super::doctor::tool_commands()
        .into_iter()
        .map(Step::Run)
        .collect()
}

/// The kind config and `kind create cluster` with the pinned node image.
fn cluster_steps(inputs: &PlanInputs<'_>, steps: &mut Vec<Step>) -> Result<(), ClusterError> {
    let profile = inputs.profile;
    let node_image = pins::node_image_for(&profile.kubernetes_version).ok_or_else(|| {
        ClusterError::NoNodeImage {
            version: profile.kubernetes_version.clone(),
            kind: pins::KIND_VERSION,
        }
    })?;
    let name = inputs.name.as_str();
    let kubeconfig = inputs.kubeconfig.to_string();
    let config = KindClusterConfig::from_profile(profile, inputs.size);
    let config_path = inputs.work_dir.join("kind-config.yaml");
    steps.push(Step::WriteFile {
        path: config_path.clone(),
        contents: config.to_yaml(&profile.name, inputs.size)?,
        purpose: "write the kind config generated from the profile".into(),
    });
    steps.push(Step::Run(pull(&node_image.reference())));
    let mut create = PlannedCommand::new(
        Tool::Kind,
        &[
            "create",
            "cluster",
            "--name",
            name,
            "--config",
            &file_arg(&config_path),
            "--kubeconfig",
            &kubeconfig,
            "--image",
            &node_image.reference(),
            "--wait",
            "5m",
        ],
        format!("create kind cluster {name}"),
    )
    .idempotency(Idempotency::CreatesCluster)
    .long()
    .hint(format!(
        "see `kind export logs --name {name}`; Docker needs about 8 GB of memory for the full \
             size (try --small); then `zonechaos cluster down --name {name}` and retry"
    ));
    create.env.insert("KUBECONFIG".into(), kubeconfig.clone());
    steps.push(Step::Run(create));
    Ok(())
}

/// The add-ons kind installs on every node: CoreDNS (kube-system) and the
/// local-path provisioner. A CoreDNS replica on a Spot worker dies with
/// its zone and takes name resolution down for every zone while it is
/// replaced (issue 11 item 9), so both move to the control-plane node,
/// which zone chaos never touches. The tolerations keep kubeadm's own
/// (kubernetes cmd/kubeadm/app/phases/addons/dns/manifests.go: the
/// control-plane taint and CriticalAddonsOnly), as a merge patch replaces
/// the list.
fn addon_steps(inputs: &PlanInputs<'_>, steps: &mut Vec<Step>) {
    let mut placement = infra_placement_json();
    placement["tolerations"]
        .as_array_mut()
        .expect("tolerations are a list")
        .push(serde_json::json!({"key": "CriticalAddonsOnly", "operator": "Exists"}));
    let patch = serde_json::json!({"spec": {"template": {"spec": placement}}}).to_string();
    for (namespace, deployment) in [
        ("kube-system", "coredns"),
        ("local-path-storage", "local-path-provisioner"),
    ] {
        steps.push(Step::Run(kubectl(
            inputs,
            &[
                "patch",
                "deployment",
                deployment,
                "-n",
                namespace,
                "--type=merge",
                "-p",
                &patch,
            ],
            format!("keep {namespace}/{deployment} on the control-plane node (out of zone chaos)"),
        )));
        steps.push(Step::Run(wait_available(
            inputs, namespace, deployment, "180s",
        )));
    }
}

/// The harness image, built from the checkout and loaded into every node
/// (with its canary tag).
fn image_steps(inputs: &PlanInputs<'_>, steps: &mut Vec<Step>) {
    // Upstream images (Istio, Argo Rollouts, Prometheus) are not pulled
    // here and `kind load`ed: their multi-platform manifests make
    // `kind load docker-image` fail with Docker's containerd image store
    // (kubernetes-sigs/kind issue 3795). The nodes pull them when the pods
    // start, and a `--reuse`d cluster keeps them. Only the harness image,
    // built here for one platform, is loaded.
    match inputs.image_source {
        ImageSource::HostBinary(binary) => host_binary_image_steps(inputs, binary, steps),
        ImageSource::Checkout => {
            let dockerfile = inputs.project_dir.join("Dockerfile");
            steps.push(Step::Run(
                PlannedCommand::new(
                    Tool::Docker,
                    &[
                        "build",
                        "-t",
                        inputs.harness_image,
                        "-f",
                        &file_arg(&dockerfile),
                        &file_arg(inputs.project_dir),
                    ],
                    format!("build the harness image {} from the checkout", inputs.harness_image),
                )
                .long()
                .hint("run it by hand to see the build log; the first build compiles every dependency (several minutes)"),
            ));
        }
    }
    let canary = canary_image(inputs.harness_image);
    steps.push(Step::Run(
        PlannedCommand::new(
            Tool::Docker,
            &["tag", inputs.harness_image, &canary],
            format!("tag it {canary} (same binary, another version for canary steps)"),
        )
        .hint("check that the build above produced the image: docker image ls zonechaos"),
    ));
    steps.push(Step::Run(kind_load(
        inputs,
        &[inputs.harness_image.to_owned(), canary],
        "load the harness images into the nodes",
    )));
}

/// The harness image of a host-built binary: distroless with glibc 2.41
/// (Debian 13), so a binary built on a current Linux runs in it.
pub const HOST_BINARY_DOCKERFILE: &str = "\
# Generated by zonechaos: the harness binary that runs on the host.
FROM gcr.io/distroless/cc-debian13:nonroot
COPY zonechaos /usr/local/bin/zonechaos
USER 65532:65532
EXPOSE 8080 9090
ENTRYPOINT [\"/usr/local/bin/zonechaos\"]
CMD [\"--help\"]
";

/// The running binary copied into a build context of its own, a
/// two-line image around it, and a smoke run that proves the image's libc
/// can run it before any node is asked to.
fn host_binary_image_steps(inputs: &PlanInputs<'_>, binary: &Path, steps: &mut Vec<Step>) {
    let context = inputs.work_dir.join("image");
    steps.push(Step::CopyFile {
        source: binary.to_owned(),
        dest: context.join("zonechaos"),
        purpose: "copy this zonechaos binary into the image's build context".into(),
    });
    steps.push(Step::WriteFile {
        path: context.join("Dockerfile"),
        contents: HOST_BINARY_DOCKERFILE.to_owned(),
        purpose: "write the Dockerfile of the host-built image".into(),
    });
    steps.push(Step::Run(
        PlannedCommand::new(
            Tool::Docker,
            &["build", "-t", inputs.harness_image, &file_arg(&context)],
            format!(
                "build the harness image {} from this binary",
                inputs.harness_image
            ),
        )
        .long()
        .hint("run it by hand to see the build log"),
    ));
    steps.push(Step::Run(
        PlannedCommand::new(
            Tool::Docker,
            &["run", "--rm", inputs.harness_image, "--version"],
            "check that the image runs the binary",
        )
        .hint(
            "the binary needs a newer glibc than the image's (2.41) or is for another CPU: \
             build the image from the checkout instead (--image-from-source)",
        ),
    ));
}

/// The tag canary steps switch a Rollout to: `<image>-canary` (the echo
/// pods then report that version), loaded with the harness image.
pub fn canary_image(harness_image: &str) -> String {
    format!("{harness_image}-canary")
}

/// Istio with istioctl, then its readiness and its webhook answering.
fn istio_steps(inputs: &PlanInputs<'_>, steps: &mut Vec<Step>) -> Result<(), ClusterError> {
    let kubeconfig = inputs.kubeconfig.to_string();
    let operator_path = inputs.work_dir.join("istio-operator.yaml");
    steps.push(Step::WriteFile {
        path: operator_path.clone(),
        contents: istio_operator_yaml(inputs.profile)?,
        purpose: format!(
            "write the IstioOperator (Istio {}, minimal profile, sidecar mode)",
            pins::ISTIO_VERSION
        ),
    });
    steps.push(Step::Run(
        PlannedCommand::new(
            Tool::Istioctl,
            &["install", "-y", "-f", &file_arg(&operator_path)],
            format!("install Istio {}", pins::ISTIO_VERSION),
        )
        .kubeconfig(inputs.kubeconfig)
        .long()
        .hint(format!(
            "kubectl --kubeconfig {kubeconfig} -n istio-system get pods; istioctl analyze --kubeconfig {kubeconfig}"
        )),
    ));
    steps.push(Step::Run(wait_available(
        inputs,
        "istio-system",
        "istiod",
        "300s",
    )));
    let probe_path = inputs.work_dir.join("istio-webhook-probe.yaml");
    steps.push(Step::WriteFile {
        path: probe_path.clone(),
        contents: webhook_probe_yaml()?,
        purpose: "write the Istio webhook probe".into(),
    });
    steps.push(Step::Run(
        kubectl(
            inputs,
            &["apply", "--dry-run=server", "-f", &file_arg(&probe_path)],
            "wait until Istio's validating webhook answers (server-side dry run)",
        )
        .retry(40, 3)
        .long()
        .hint("istiod is up but its webhook does not answer: kubectl -n istio-system logs deploy/istiod"),
    ));
    Ok(())
}

/// Where the Argo Rollouts manifest, with its image pinned, is written.
fn argo_manifest_path(inputs: &PlanInputs<'_>) -> std::path::PathBuf {
    inputs.work_dir.join("argo-rollouts-install.yaml")
}

/// Argo Rollouts' install.yaml: downloaded, checked against its pin and
/// given the pinned controller image, all before `kind create cluster`, so
/// a bad download costs seconds, not a cluster.
fn argo_download_steps(inputs: &PlanInputs<'_>, steps: &mut Vec<Step>) {
    let pin = inputs.argo_install;
    let download_path = inputs.cache_dir.join(pin.file_name);
    steps.push(Step::Run(
        PlannedCommand::new(
            Tool::Curl,
            &[
                "-fsSL",
                "--retry",
                "3",
                "-o",
                &file_arg(&download_path),
                pin.url,
            ],
            format!(
                "download Argo Rollouts {} install.yaml",
                pins::ARGO_ROLLOUTS_VERSION
            ),
        )
        .idempotency(Idempotency::SkipIfFileExists(download_path.clone()))
        .hint("check the network; or download the file by hand to that path"),
    ));
    steps.push(Step::VerifySha256 {
        path: download_path.clone(),
        sha256: pin.sha256,
        purpose: "check the Argo Rollouts install.yaml against its pinned sha256".into(),
    });
    // The tag's manifest names `:latest` with `imagePullPolicy: Always`
    // (SEMANTICS.md §7): without this the controller is whatever quay.io
    // serves today.
    steps.push(Step::ReplaceOnce {
        source: download_path,
        dest: argo_manifest_path(inputs),
        from: pins::ARGO_ROLLOUTS_MANIFEST_IMAGE,
        to: pins::ARGO_ROLLOUTS_IMAGE.reference(),
        purpose: format!(
            "pin the Argo Rollouts controller image to {}",
            pins::ARGO_ROLLOUTS_IMAGE.tag
        ),
    });
}

/// Argo Rollouts from the checked manifest [`argo_download_steps`] wrote.
fn argo_steps(inputs: &PlanInputs<'_>, steps: &mut Vec<Step>) {
    let argo_path = argo_manifest_path(inputs);
    steps.push(Step::Run(
        kubectl(
            inputs,
            &["create", "namespace", "argo-rollouts"],
            "create namespace argo-rollouts",
        )
        .idempotency(Idempotency::SkipIfSucceeds(Box::new(kubectl(
            inputs,
            &["get", "namespace", "argo-rollouts"],
            "does namespace argo-rollouts exist",
        )))),
    ));
    steps.push(Step::Run(
        server_side_apply(
            inputs,
            &argo_path,
            Some("argo-rollouts"),
            format!("install Argo Rollouts {}", pins::ARGO_ROLLOUTS_VERSION),
        )
        .hint("a conflict with another field manager means something else installed Argo Rollouts here"),
    ));
    for crd in [
        "rollouts.argoproj.io",
        "analysisruns.argoproj.io",
        "analysistemplates.argoproj.io",
    ] {
        steps.push(Step::Run(kubectl(
            inputs,
            &[
                "wait",
                "--for=condition=Established",
                &format!("crd/{crd}"),
                "--timeout=120s",
            ],
            format!("wait until CRD {crd} is established"),
        )));
    }
    let argo_patch = serde_json::json!({"spec": {"template": {"spec": infra_placement_json()}}});
    steps.push(Step::Run(kubectl(
        inputs,
        &[
            "patch",
            "deployment",
            "argo-rollouts",
            "-n",
            "argo-rollouts",
            "--type=merge",
            "-p",
            &argo_patch.to_string(),
        ],
        "keep the Argo Rollouts controller on the control-plane node (out of zone chaos)",
    )));
    steps.push(Step::Run(wait_available(
        inputs,
        "argo-rollouts",
        "argo-rollouts",
        "300s",
    )));
}

/// The in-cluster Prometheus.
fn prometheus_steps(inputs: &PlanInputs<'_>, prometheus_yaml: &str, steps: &mut Vec<Step>) {
    let prometheus_path = inputs.work_dir.join("prometheus.yaml");
    steps.push(Step::WriteFile {
        path: prometheus_path.clone(),
        contents: prometheus_yaml.to_owned(),
        purpose: "write the Prometheus manifests (scrape of loadgen, echo and istio-proxy)".into(),
    });
    steps.push(Step::Run(server_side_apply(
        inputs,
        &prometheus_path,
        None,
        format!("install Prometheus {}", pins::PROMETHEUS_IMAGE.tag),
    )));
    steps.push(Step::Run(wait_available(
        inputs,
        MONITORING_NAMESPACE,
        "prometheus",
        "300s",
    )));
}

/// The plan of `cluster down`.
pub fn down_plan(inputs: &PlanInputs<'_>) -> Plan {
    let name = inputs.name.as_str();
    let mut delete = PlannedCommand::new(
        Tool::Kind,
        &["delete", "cluster", "--name", name],
        format!("delete kind cluster {name}"),
    )
    .kubeconfig(inputs.kubeconfig)
    .idempotency(Idempotency::DeletesCluster)
    .long()
    .hint(format!(
        "remove its containers by hand: docker ps -a --filter label=io.x-k8s.kind.cluster={name}"
    ));
    delete
        .env
        .insert("KUBECONFIG".into(), inputs.kubeconfig.to_string());
    Plan {
        steps: vec![Step::Run(delete)],
    }
}

/// The plan of `cluster status`: nodes with their zone and capacity-type
/// labels, and the infrastructure deployments.
pub fn status_plan(inputs: &PlanInputs<'_>) -> Plan {
    let keys = &inputs.profile.node_labels;
    Plan {
        steps: vec![
            Step::Run(
                kubectl(
                    inputs,
                    &["get", "nodes", "-L", &keys.zone, "-L", &keys.capacity_type],
                    "nodes, zones and capacity types",
                )
                .shown(),
            ),
            Step::Run(
                kubectl(
                    inputs,
                    &["get", "deployments", "-n", "istio-system", "-o", "wide"],
                    "Istio",
                )
                .shown(),
            ),
            Step::Run(
                kubectl(
                    inputs,
                    &["get", "deployments", "-n", "argo-rollouts", "-o", "wide"],
                    "Argo Rollouts",
                )
                .shown(),
            ),
            Step::Run(
                kubectl(
                    inputs,
                    &[
                        "get",
                        "deployments",
                        "-n",
                        MONITORING_NAMESPACE,
                        "-o",
                        "wide",
                    ],
                    "Prometheus",
                )
                .shown(),
            ),
        ],
    }
}

/// The probe `kind get clusters` (the exec layer reads its output).
pub fn list_clusters() -> PlannedCommand {
    PlannedCommand::new(Tool::Kind, &["get", "clusters"], "list kind clusters")
        .hint(Tool::Kind.install_hint())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn istio_operator_pins_the_version_and_sidecar_mode() {
        let text = istio_operator_yaml(&ClusterProfile::builtin()).unwrap();
        assert!(text.contains("tag: \"1.30.3\""), "{text}");
        assert!(text.contains("profile: minimal"), "{text}");
        assert!(!text.contains("ambient"), "{text}");
        assert!(!text.contains("localityLbSetting"), "{text}");
    }

    #[test]
    fn istio_operator_carries_the_profiles_mesh_locality_setting() {
        let mut profile = ClusterProfile::builtin();
        profile.mesh.locality_lb_setting = Some(crate::topology::istio::LocalityLbSetting {
            failover_priority: vec!["topology.kubernetes.io/zone".into()],
            ..Default::default()
        });
        let text = istio_operator_yaml(&profile).unwrap();
        let value: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(
            value["spec"]["meshConfig"]["localityLbSetting"]["failoverPriority"],
            serde_json::json!(["topology.kubernetes.io/zone"]),
            "{text}"
        );
        assert_eq!(value["spec"]["meshConfig"]["enablePrometheusMerge"], true);
    }
}
