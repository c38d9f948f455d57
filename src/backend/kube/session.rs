//! One `zonechaos run` (or `conformance`) against a real cluster: connect
//! (creating the kind cluster, or checking an existing context against the
//! allow-list), then per suite deploy its rendered topology, wait for real
//! readiness, hand a [`KubeBackend`] to the runner, and clean the suite's
//! namespace away; at the end delete the kind cluster unless told to keep
//! it. [`plan`] lists all of that without doing it (`--plan`).

use std::path::PathBuf;
use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use kube::Client;
use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::backend::BackendError;
use crate::backend::kube::api::{
    self, ApplyOptions, Clients, WaitOptions, apply_yaml, find_pod, port_forward,
    wait::{wait_deployment_available, wait_rollout_phase},
};
use crate::backend::kube::backend::{DockerNodes, EmulatedLoss, KubeBackend, KubeSettings};
use crate::backend::kube::cluster::actions::MONITORING_NAMESPACE;
use crate::backend::kube::cluster::{KindCluster, SystemRunner};
use crate::backend::kube::guard;
use crate::backend::kube::render::prometheus::{POD_SELECTOR, PROMETHEUS_PORT};
use crate::backend::kube::render::{
    ClientPlacement, RenderOptions, RenderedManifest, render_paths,
};
use crate::model::rollout::RolloutPhase;
use crate::model::{ClusterTiming, SimDuration};
use crate::spec::Action;
use crate::suite::Suite;
use crate::telemetry::query::PromQuery;
use crate::topology::object::Kind;

/// How long a deleted namespace may take to go.
const NAMESPACE_GONE_TIMEOUT: Duration = Duration::from_secs(180);

/// How long deployed workloads may take to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(300);

/// Where the suites run.
pub enum Target {
    /// A kind cluster the harness creates (or reuses) and owns.
    Kind(Box<KindCluster>),
    /// A cluster the harness did not create: an allow-listed context (only
    /// [`guard::check_context`] makes an [`guard::AllowedContext`]).
    Existing {
        /// The kubeconfig context.
        context: guard::AllowedContext,
        /// The kubeconfig file (default: `$KUBECONFIG` or `~/.kube/config`,
        /// read only).
        kubeconfig: Option<PathBuf>,
    },
}

impl Target {
    /// `kind` or `existing`.
    pub fn name(&self) -> &'static str {
        match self {
            Target::Kind(_) => "kind",
            Target::Existing { .. } => "existing",
        }
    }
}

/// An open connection to the cluster for a whole run.
pub struct KubeSession {
    runtime: tokio::runtime::Runtime,
    /// The connection, and the same without kube-rs's retry layer for
    /// drains (see [`api::clients`]).
    clients: Clients,
    target: Target,
    namespace: String,
    image: String,
    canary_image: Option<String>,
}

/// A failure outside the suites' assertions: exit code 3 territory.
fn infra(message: impl Into<String>) -> BackendError {
    BackendError::Cluster {
        message: message.into(),
        hint: "see the message".into(),
    }
}

impl KubeSession {
    /// Connects: for kind, creates (or reuses) the cluster with everything
    /// installed; for an existing (allow-listed) context, checks the
    /// namespace against the harness's own.
    pub fn open(
        target: Target,
        namespace: &str,
        image: Option<String>,
    ) -> Result<KubeSession, BackendError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|e| infra(format!("cannot start the async runtime: {e}")))?;
        let (clients, image, canary_image) = match &target {
            Target::Kind(cluster) => {
                cluster
                    .up(&SystemRunner::new())
                    .map_err(|e| infra(format!("{e} (hint: {})", e.hint())))?;
                let client = runtime
                    .block_on(client_from(cluster.kubeconfig().path().to_path_buf(), None))?;
                (
                    client,
                    cluster.harness_image().to_owned(),
                    Some(cluster.canary_image()),
                )
            }
            Target::Existing {
                context,
                kubeconfig,
            } => {
                let path = kubeconfig
                    .clone()
                    .or_else(default_kubeconfig)
                    .ok_or_else(|| infra("no kubeconfig: pass --kubeconfig or set KUBECONFIG"))?;
                let client =
                    runtime.block_on(client_from(path, Some(context.as_str().to_owned())))?;
                let image = image.clone().ok_or_else(|| {
                    infra("--image is required on an existing cluster: the harness image (zonechaos echo/loadgen) must be pullable by its nodes, e.g. from your registry")
                })?;
                (client, image, None)
            }
        };
        let session = KubeSession {
            runtime,
            clients,
            target,
            namespace: namespace.to_owned(),
            image,
            canary_image,
        };
        session.check_namespace()?;
        Ok(session)
    }

    fn check_namespace(&self) -> Result<(), BackendError> {
        let labels = self.runtime.block_on(async {
            let api: kube::Api<Namespace> = kube::Api::all(self.clients.api.clone());
            api.get_opt(&self.namespace)
                .await
                .map(|ns| ns.map(|n| n.metadata.labels.unwrap_or_default()))
        });
        let labels = labels.map_err(|e| {
            infra(format!(
                "cannot read namespace {} (is the cluster reachable?): {e}",
                self.namespace
            ))
        })?;
        guard::check_namespace(&self.namespace, labels.as_ref()).map_err(|e| infra(e.to_string()))
    }

    /// Deploys a suite's topology, waits until it is ready and returns the
    /// backend the runner drives.
    pub fn deploy(&self, suite: &Suite) -> Result<KubeBackend, BackendError> {
        let manifests = self.render(suite)?;
        let opts = ApplyOptions::new(self.namespace.clone());
        for m in &manifests {
            let file = PathBuf::from(&m.file_name);
            let report = self
                .runtime
                .block_on(apply_yaml(&self.clients.api, &m.yaml, Some(&file), &opts))
                .map_err(|e| infra(e.to_string()))?;
            if !report.denied.is_empty() {
                let lines: Vec<String> = report
                    .denied
                    .iter()
                    .map(|d| {
                        let f = d.to_finding();
                        format!(
                            "{}: error[{}] {}\n  hint: {}",
                            f.loc, f.rule.id, f.message, f.hint
                        )
                    })
                    .collect();
                return Err(infra(format!(
                    "the cluster refused {} object(s) of {}:\n{}",
                    report.denied.len(),
                    m.file_name,
                    lines.join("\n")
                )));
            }
        }
        self.wait_ready(suite)?;
        let pod = self
            .runtime
            .block_on(find_pod(
                &self.clients.api,
                MONITORING_NAMESPACE,
                POD_SELECTOR,
            ))
            .map_err(|e| infra(e.to_string()))?;
        let forward = self
            .runtime
            .block_on(port_forward(
                &self.clients.api,
                MONITORING_NAMESPACE,
                &pod,
                PROMETHEUS_PORT as u16,
            ))
            .map_err(|e| infra(e.to_string()))?;
        let prometheus = PromQuery::new(&forward.url(), Duration::from_secs(10)).map_err(infra)?;
        let settings = KubeSettings {
            name: self.target.name(),
            namespace: self.namespace.clone(),
            node_gone_after: Duration::from_secs(120),
            // A restarted kind node: container start, kubelet start and
            // registration, then the node-status update.
            node_ready_within: Duration::from_secs(120),
            emulate_loss: matches!(self.target, Target::Existing { .. }),
            canary_image: self.canary_image.clone(),
            workload_zones: workload_zones(suite),
        };
        let nodes: Box<dyn crate::backend::kube::backend::NodeLifecycle> = match self.target {
            Target::Kind(_) => Box::new(DockerNodes::default()),
            Target::Existing { .. } => Box::new(EmulatedLoss),
        };
        let mut backend = KubeBackend::new(
            self.runtime.handle().clone(),
            self.clients.clone(),
            settings,
            nodes,
            prometheus,
            suite,
        );
        backend.keep_alive(Box::new(forward));
        Ok(backend)
    }

    fn render(&self, suite: &Suite) -> Result<Vec<RenderedManifest>, BackendError> {
        render_paths(
            &suite.topology_paths,
            &suite.profile,
            &RenderOptions {
                image: self.image.clone(),
                namespace: self.namespace.clone(),
                rps: suite.load.rps,
                clients: match self.target {
                    Target::Kind(_) => ClientPlacement::ClientNodes,
                    Target::Existing { .. } => ClientPlacement::Capacity,
                },
                proxy_labels: suite.load.proxy_labels.clone(),
            },
        )
        .map_err(|e| infra(format!("{e} (hint: {})", e.hint())))
    }

    fn wait_ready(&self, suite: &Suite) -> Result<(), BackendError> {
        let opts = WaitOptions::timeout(READY_TIMEOUT);
        self.runtime
            .block_on(async {
                for o in suite.topology.objects() {
                    if o.kind == Kind::Rollout {
                        wait_rollout_phase(
                            &self.clients.api,
                            &self.namespace,
                            &o.name.name,
                            RolloutPhase::Healthy,
                            opts,
                        )
                        .await?;
                    }
                }
                wait_deployment_available(
                    &self.clients.api,
                    MONITORING_NAMESPACE,
                    "prometheus",
                    opts,
                )
                .await?;
                api::wait::wait_pods_ready(
                    &self.clients.api,
                    &self.namespace,
                    &format!(
                        "{}=loadgen",
                        crate::backend::kube::render::loadgen::ROLE_LABEL
                    ),
                    suite.load.zones.len(),
                    opts,
                )
                .await
                .map(|_| ())
            })
            .map_err(|e| infra(e.to_string()))
    }

    /// The node-monitor grace period the cluster runs with, read from its
    /// controller manager ([`api::timing`]); `None` on a managed control
    /// plane that shows none.
    pub fn node_monitor_grace(&self) -> Result<Option<SimDuration>, BackendError> {
        let grace = self
            .runtime
            .block_on(api::timing::read_cluster_grace(&self.clients.api))
            .map_err(|e| infra(e.to_string()))?;
        Ok(grace.known(ClusterTiming::default().node_monitor_grace))
    }

    /// Collects the cluster's state after a failed suite into `dir`
    /// ([`diagnostics`](crate::backend::kube::diagnostics)), before
    /// [`Self::clean`] deletes the namespace.
    pub fn diagnose(
        &self,
        suite: &Suite,
        dir: &std::path::Path,
    ) -> std::io::Result<crate::backend::kube::diagnostics::Collected> {
        use crate::backend::kube::diagnostics::{collect, plan};
        let access = self.access();
        let clients: Vec<String> = workload_zones(suite)
            .into_keys()
            .filter(|name| name.starts_with("loadgen-"))
            .collect();
        collect(
            &plan(&access, &self.namespace, &clients),
            &SystemRunner::new(),
            dir,
        )
    }

    /// How kubectl and istioctl reach this session's cluster.
    fn access(&self) -> crate::backend::kube::diagnostics::ClusterAccess {
        use crate::backend::kube::diagnostics::ClusterAccess;
        match &self.target {
            Target::Kind(cluster) => {
                ClusterAccess::Kubeconfig(cluster.kubeconfig().path().to_path_buf())
            }
            Target::Existing {
                context,
                kubeconfig,
            } => ClusterAccess::Context {
                context: context.as_str().to_owned(),
                kubeconfig: kubeconfig.clone(),
            },
        }
    }

    /// Each load client's real Envoy against the model's view of it
    /// ([`crate::backend::kube::fidelity`]), read after [`Self::deploy`]
    /// and before the first step. istiod pushes a moment after the pods
    /// turn ready, so a client whose proxy still differs is read again, up
    /// to [`FIDELITY_READS`] times [`FIDELITY_PAUSE`] apart; what differs
    /// then is reported.
    pub fn compare_proxies(&self, suite: &Suite) -> Vec<crate::mesh::proxy_config::ProxyFidelity> {
        use crate::backend::kube::fidelity::{check, model_proxies};
        let proxies = model_proxies(suite, &self.namespace);
        let runner = SystemRunner::new();
        let access = self.access();
        let mut results = check(&runner, &access, &self.namespace, suite, &proxies);
        for _ in 1..FIDELITY_READS {
            if results.iter().all(|r| r.agrees()) {
                break;
            }
            std::thread::sleep(FIDELITY_PAUSE);
            results = check(&runner, &access, &self.namespace, suite, &proxies);
        }
        results
    }

    /// Deletes the suite's namespace and waits until it is gone, so the next
    /// suite starts from nothing.
    pub fn clean(&self) -> Result<(), BackendError> {
        let gone = |n: Option<&Namespace>| match n {
            None => api::wait::Verdict::Met,
            Some(_) => api::wait::Verdict::NotYet("still terminating".into()),
        };
        self.runtime
            .block_on(async {
                delete_namespace(&self.clients.api, &self.namespace)
                    .await
                    .map_err(|e| e.to_string())?;
                let namespaces: kube::Api<Namespace> = kube::Api::all(self.clients.api.clone());
                let what = format!("namespace {} gone", self.namespace);
                api::await_condition(
                    &namespaces,
                    &self.namespace,
                    &what,
                    WaitOptions::timeout(NAMESPACE_GONE_TIMEOUT),
                    gone,
                )
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
            })
            .map_err(|e| infra(format!("cleaning up namespace {}: {e}", self.namespace)))
    }

    /// Ends the run: the kind cluster is deleted unless `--keep`/`--reuse`.
    pub fn close(self) -> Result<(), BackendError> {
        if let Target::Kind(cluster) = &self.target {
            cluster
                .finish(&SystemRunner::new())
                .map_err(|e| infra(e.to_string()))?;
        }
        Ok(())
    }
}

/// How many times [`KubeSession::compare_proxies`] reads the proxies.
pub const FIDELITY_READS: u32 = 3;
/// The pause between those reads.
pub const FIDELITY_PAUSE: std::time::Duration = std::time::Duration::from_secs(2);

/// Zone of every workload the render creates for `suite`: its Rollouts and
/// Deployments, and one load client per target Service and zone.
pub fn workload_zones(suite: &Suite) -> std::collections::BTreeMap<String, crate::zone::Zone> {
    let objects = suite.topology.objects();
    let mut out = std::collections::BTreeMap::new();
    for o in objects {
        if matches!(o.kind, Kind::Rollout | Kind::Deployment)
            && let Ok(zone) = crate::backend::kube::render::workload::zone_of(o, &suite.profile)
        {
            out.insert(o.name.name.clone(), crate::zone::Zone::from(zone));
        }
    }
    for target in crate::backend::kube::render::loadgen::targets(objects) {
        for zone in &suite.profile.zones {
            out.insert(
                crate::backend::kube::render::loadgen::deployment_name(
                    &target.service,
                    &zone.short,
                ),
                zone.name.clone(),
            );
        }
    }
    out
}

/// Deletes a namespace; one already gone is fine.
async fn delete_namespace(client: &Client, name: &str) -> Result<(), kube::Error> {
    let namespaces: kube::Api<Namespace> = kube::Api::all(client.clone());
    match namespaces
        .delete(name, &kube::api::DeleteParams::default())
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(e),
    }
}

async fn client_from(path: PathBuf, context: Option<String>) -> Result<Clients, BackendError> {
    let kubeconfig = Kubeconfig::read_from(&path)
        .map_err(|e| infra(format!("cannot read kubeconfig {}: {e}", path.display())))?;
    let options = KubeConfigOptions {
        context: context.clone(),
        ..KubeConfigOptions::default()
    };
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|e| {
            infra(format!(
                "kubeconfig {}{}: {e}",
                path.display(),
                context.map(|c| format!(" context {c}")).unwrap_or_default()
            ))
        })?;
    api::clients_for(config).map_err(|e| infra(format!("cannot build a Kubernetes client: {e}")))
}

fn default_kubeconfig() -> Option<PathBuf> {
    std::env::var_os("KUBECONFIG")
        .filter(|v| !v.is_empty())
        .map(|v| {
            // The first file of a KUBECONFIG list.
            std::env::split_paths(&v).next().unwrap_or_default()
        })
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".kube/config")))
}

/// Every action a run would take, for `--plan`: the cluster plan (kind),
/// the safety checks (existing), then per suite the manifests applied, the
/// waits, and each step as the API calls or commands it becomes.
pub fn plan(target: &Target, namespace: &str, suites: &[Suite]) -> String {
    let mut out = String::new();
    match target {
        Target::Kind(cluster) => {
            out.push_str(&format!(
                "# kind cluster {} (created unless it exists and --reuse)\n",
                cluster.name()
            ));
            match cluster.up_plan() {
                Ok(p) => out.push_str(&p.display()),
                Err(e) => out.push_str(&format!("(cannot plan: {e})\n")),
            }
        }
        Target::Existing { context, .. } => {
            out.push_str(&format!(
                "# existing cluster: context {} (allow-listed); namespace {namespace} must be the harness's (labelled {}={})\n",
                context.as_str(),
                guard::MANAGED_BY.0,
                guard::MANAGED_BY.1
            ));
        }
    }
    for suite in suites {
        out.push_str(&format!(
            "\n# suite {} ({})\n",
            suite.name,
            suite.file.display()
        ));
        out.push_str(&format!(
            "server-side apply (field manager zonechaos) of the rendered {} into namespace {namespace}, plus load clients and Prometheus\n",
            suite
                .topology_paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        out.push_str(
            "wait: every Rollout Healthy, Prometheus Available, one Ready load client per zone\n",
        );
        out.push_str(&format!(
            "port-forward to Prometheus in {MONITORING_NAMESPACE}; PromQL: {}\n",
            crate::telemetry::promql::REQUESTS_BY_ZONE
        ));
        for (i, step) in suite.steps.iter().chain(&suite.finally).enumerate() {
            out.push_str(&format!(
                "{:>3}. {}\n",
                i + 1,
                describe(&step.action, target)
            ));
        }
        out.push_str(&format!(
            "delete namespace {namespace} and wait until it is gone\n"
        ));
    }
    if let Target::Kind(cluster) = target {
        out.push_str(&format!(
            "\n# end: {}\n",
            if cluster.keeps() {
                "keep the cluster (--keep/--reuse)".to_owned()
            } else {
                format!("kind delete cluster --name {}", cluster.name())
            }
        ));
    }
    out
}

/// What one step does on a cluster, in words and calls.
pub fn describe(action: &Action, target: &Target) -> String {
    let zone_nodes =
        |z: &str| format!("GET /api/v1/nodes?labelSelector=topology.kubernetes.io/zone={z}");
    match action {
        Action::Wait(_) => format!("{}: wait on the wall clock", crate::chaos::title(action)),
        Action::SpotLoss(s) => {
            let how = match target {
                Target::Kind(_) => match s.mode() {
                    crate::spec::SpotLossMode::Blackhole => {
                        "docker exec <node> iptables: a ZONECHAOS-BLACKHOLE chain dropping INPUT, FORWARD and OUTPUT per spot node (address kept, connects time out); Node objects deleted once NotReady"
                    }
                    crate::spec::SpotLossMode::Refuse => {
                        "docker kill --signal KILL <node> per spot node; Node objects deleted once NotReady"
                    }
                },
                Target::Existing { .. } => {
                    "emulated: cordon the spot nodes, force-delete (grace 0) the harness's pods on them (instances are not stopped: use AWS FIS for that, see README)"
                }
            };
            format!(
                "spot-loss {}: {},karpenter.sh/capacity-type=spot; {}{}",
                s.zone,
                zone_nodes(s.zone.as_str()),
                s.notice
                    .as_ref()
                    .map(|n| format!("drain for the {n} notice first; "))
                    .unwrap_or_default(),
                how
            )
        }
        Action::Drain(d) => format!(
            "drain {}: {}; PATCH spec.unschedulable=true per node; POST pods/<pod>/eviction (policy/v1) per pod, 429 retried with backoff until {}",
            d.zone,
            zone_nodes(d.zone.as_str()),
            d.timeout
        ),
        Action::Cordon(z) => format!(
            "cordon {}: {}; PATCH spec.unschedulable=true per node",
            z.zone,
            zone_nodes(z.zone.as_str())
        ),
        Action::Restore(z) => format!(
            "restore {}: {}; PATCH spec.unschedulable=false per node",
            z.zone,
            match target {
                Target::Kind(_) =>
                    "docker start / docker network connect --ip <old address> per lost node",
                Target::Existing { .. } => "nothing to restart (emulated loss)",
            }
        ),
        Action::Canary(c) => format!(
            "canary {}: merge patch of spec.template.spec.containers (image, ZONECHAOS_VERSION={}) with resourceVersion, 409 retried",
            c.rollout, c.image
        ),
        Action::Promote(r) => format!(
            "promote {}: PATCH rollouts/{}/status {{\"status\":{{\"pauseConditions\":null}}}}",
            r.rollout, r.rollout
        ),
        Action::Abort(r) => format!(
            "abort {}: PATCH rollouts/{}/status {{\"status\":{{\"abort\":true}}}}",
            r.rollout, r.rollout
        ),
        other => format!(
            "{}: assertion (PromQL matrix or API read-back)",
            crate::chaos::title(other)
        ),
    }
}
