//! The [`Backend`] of the `kind` and `existing` rungs: every chaos step is
//! a Kubernetes API call (or, for a kind node's death, a Docker command),
//! every state the assertions read comes back from the API, and the traffic
//! matrix comes from the in-cluster Prometheus through a port-forward. The
//! model runs beside it on the wall clock as the prediction, as on `local`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kube::Client;
use kube::api::{Api, DynamicObject, ListParams};

use crate::backend::kube::api::nodes::NodeInfo;
use crate::backend::kube::api::rollouts::set_image_and_env;
use crate::backend::kube::api::{
    self, DrainOptions, NodeFilter, NodeName, NodeReadiness, abort, cordon, delete_node,
    drain_nodes, list_nodes, promote, read_pdb_statuses, read_rollout, uncordon,
};
use crate::backend::kube::cluster::CommandRunner;
use crate::backend::kube::node_loss::LossMode;
use crate::backend::kube::render::workload::VERSION_ENV;
use crate::backend::sim::SimBackend;
use crate::backend::{Backend, BackendError, DrainReport, RouteWeights};
use crate::mesh::route_weights::route_weights;
use crate::model::clock::{SimDuration, SimTime};
use crate::model::eviction::PdbStatus;
use crate::model::rollout::RolloutStatus;
use crate::model::world::{Event, EventKind};
use crate::spec::Action;
use crate::suite::Suite;
use crate::telemetry::TrafficMatrix;
use crate::telemetry::istio::{ISTIO_BY_WORKLOAD, disagreements, istio_matrix};
use crate::telemetry::promql::{REQUESTS_BY_ZONE, matrix_from_series};
use crate::telemetry::query::PromQuery;
use crate::topology::istio::VirtualServiceSpec;
use crate::zone::Zone;

/// Capacity type of the nodes a Spot loss takes.
pub const SPOT: &str = "spot";

/// How a lost zone's nodes die and come back. kind: their Docker containers
/// ([`DockerNodes`](crate::backend::kube::node_loss)); an existing cluster:
/// the harness cannot stop instances, so it emulates the loss.
pub trait NodeLifecycle: Send {
    /// Makes `nodes` vanish; returns evidence.
    fn lose(
        &mut self,
        nodes: &[NodeName],
        mode: LossMode,
    ) -> Result<serde_json::Value, BackendError>;
    /// Brings back what [`NodeLifecycle::lose`] took.
    fn restore(&mut self, nodes: &[NodeName]) -> Result<(), BackendError>;
    /// Makes restored nodes whose Node objects were deleted register again.
    fn reregister(&mut self, nodes: &[NodeName]) -> Result<(), BackendError>;
    /// True when the Node objects must be deleted after the loss, as a
    /// cloud controller does once the instance is gone.
    fn deletes_node_objects(&self) -> bool;
}

/// kind nodes are Docker containers.
pub struct DockerNodes {
    /// Runs `docker` (the system's, or a test's fake engine).
    runner: Box<dyn CommandRunner + Send>,
    lost: BTreeMap<String, crate::backend::kube::node_loss::LostNode>,
}

impl Default for DockerNodes {
    fn default() -> DockerNodes {
        DockerNodes::with_runner(crate::backend::kube::cluster::SystemRunner::new())
    }
}

impl DockerNodes {
    /// Nodes whose `docker` commands go through `runner`.
    pub fn with_runner(runner: impl CommandRunner + Send + 'static) -> DockerNodes {
        DockerNodes {
            runner: Box::new(runner),
            lost: BTreeMap::new(),
        }
    }
}

impl NodeLifecycle for DockerNodes {
    fn lose(
        &mut self,
        nodes: &[NodeName],
        mode: LossMode,
    ) -> Result<serde_json::Value, BackendError> {
        let names: Vec<String> = nodes.iter().map(|n| n.0.clone()).collect();
        let lost = crate::backend::kube::node_loss::lose(self.runner.as_ref(), &names, mode)
            .map_err(tool_error)?;
        let evidence = serde_json::json!({
            "containers": lost.iter().map(|l| serde_json::json!({"name": l.name, "ip": l.ip.map(|i| i.to_string())})).collect::<Vec<_>>(),
        });
        for l in lost {
            self.lost.insert(l.name.clone(), l);
        }
        Ok(evidence)
    }

    fn restore(&mut self, nodes: &[NodeName]) -> Result<(), BackendError> {
        let back: Vec<_> = nodes
            .iter()
            .filter_map(|n| self.lost.remove(&n.0))
            .collect();
        crate::backend::kube::node_loss::restore(self.runner.as_ref(), &back).map_err(tool_error)
    }

    fn reregister(&mut self, nodes: &[NodeName]) -> Result<(), BackendError> {
        let names: Vec<String> = nodes.iter().map(|n| n.0.clone()).collect();
        crate::backend::kube::node_loss::reregister(self.runner.as_ref(), &names)
            .map_err(tool_error)
    }

    fn deletes_node_objects(&self) -> bool {
        true
    }
}

/// On a cluster the harness did not create it cannot stop instances: a
/// Spot loss is emulated by cordoning the nodes and force-deleting the
/// harness's pods on them (PDBs ignored, as a reclaim ignores them). The
/// endpoints leave at once, unlike a real reclaim (see README: AWS FIS for
/// the real thing).
#[derive(Debug, Default)]
pub struct EmulatedLoss;

impl NodeLifecycle for EmulatedLoss {
    fn lose(
        &mut self,
        _nodes: &[NodeName],
        _mode: LossMode,
    ) -> Result<serde_json::Value, BackendError> {
        // The API part (cordon + force delete) is done by the backend.
        Ok(serde_json::json!({"emulated": true}))
    }

    fn restore(&mut self, _nodes: &[NodeName]) -> Result<(), BackendError> {
        Ok(())
    }

    fn reregister(&mut self, _nodes: &[NodeName]) -> Result<(), BackendError> {
        // An emulated loss never deletes Node objects.
        Ok(())
    }

    fn deletes_node_objects(&self) -> bool {
        false
    }
}

/// What the backend needs besides the client.
#[derive(Debug, Clone)]
pub struct KubeSettings {
    /// `kind` or `existing`.
    pub name: &'static str,
    /// The harness's namespace (workloads, PDBs, load clients).
    pub namespace: String,
    /// How long a lost node may take to turn NotReady before its Node
    /// object is deleted anyway (the node-monitor grace is 40-50 s).
    pub node_gone_after: Duration,
    /// How long restored nodes may take to be Ready again.
    pub node_ready_within: Duration,
    /// Spot loss emulated through the API (existing clusters).
    pub emulate_loss: bool,
    /// The image a `canary` step sets: kind loads a canary tag of the
    /// harness image (the suite's image name cannot be pulled there);
    /// `None` uses the suite's image as written.
    pub canary_image: Option<String>,
    /// Zone of every workload the harness rendered (Istio workload names),
    /// for the `istio_requests_total` cross-check.
    pub workload_zones: BTreeMap<String, Zone>,
}

/// A drain running in the background, as the model's drains do.
#[derive(Debug)]
struct RunningDrain {
    started: SimTime,
    outcome: Arc<Mutex<Option<Result<api::DrainOutcome, String>>>>,
}

/// How often node readiness is polled.
const NODE_POLL: Duration = Duration::from_secs(2);

/// The cloud controller's part of a Spot loss: each lost node's Node
/// object is deleted once it is no longer Ready, or once `gone_after`
/// passed (the instance is gone either way). The first look waits a poll:
/// no node turns NotReady faster than the node-monitor grace period, and a
/// restore that follows at once cancels this before it asked anything.
async fn delete_when_gone(client: Client, nodes: Vec<NodeName>, gone_after: Duration) {
    let deadline = tokio::time::Instant::now() + gone_after;
    for n in &nodes {
        loop {
            tokio::time::sleep(NODE_POLL.min(gone_after)).await;
            let ready = matches!(
                api::nodes::node_readiness(&client, n).await,
                Ok(NodeReadiness::Ready)
            );
            if !ready || tokio::time::Instant::now() >= deadline {
                break;
            }
        }
        if let Err(e) = delete_node(&client, n).await {
            tracing::warn!("deleting lost node {}: {e}", n.0);
        }
    }
}

/// The names of `nodes`.
fn names(nodes: &[NodeInfo]) -> Vec<NodeName> {
    nodes.iter().map(|n| n.name.clone()).collect()
}

/// The backend.
pub struct KubeBackend {
    runtime: tokio::runtime::Handle,
    client: Client,
    /// The client drains evict through: without kube-rs's retry of 429
    /// (see [`api::clients`]); the drain loop handles each refusal.
    evictions: Client,
    settings: KubeSettings,
    nodes: Box<dyn NodeLifecycle>,
    prometheus: PromQuery,
    model: SimBackend,
    started: Instant,
    started_unix: f64,
    drains: BTreeMap<Zone, RunningDrain>,
    lost: BTreeMap<Zone, Vec<NodeName>>,
    /// The cloud controller's pending deletions of a lost zone's Node
    /// objects; a restore cancels them before the nodes come back.
    node_deletions: BTreeMap<Zone, tokio::task::JoinHandle<()>>,
    /// Nodes this run cordoned (schedulable before): a restore uncordons
    /// these and no others, so a node the cluster's owners had cordoned
    /// stays cordoned.
    cordoned_by_harness: std::collections::BTreeSet<NodeName>,
    events: Vec<Event>,
    kept: Vec<Box<dyn std::any::Any + Send>>,
}

impl KubeBackend {
    /// What its matrix is: the in-cluster Prometheus's scrapes (known
    /// before a cluster exists, so suites can be checked against it).
    pub const TELEMETRY: crate::telemetry::TelemetrySource =
        crate::telemetry::TelemetrySource::Scraped(crate::telemetry::Scrape::CLUSTER);

    /// A backend on `clients` (drains evict through `clients.evictions`),
    /// whose calls run on `runtime` (a multi-thread
    /// runtime the caller keeps alive: drains and node deletion run on it in
    /// the background), reading traffic from `prometheus`. The run's clock
    /// starts now.
    pub fn new(
        runtime: tokio::runtime::Handle,
        clients: api::Clients,
        settings: KubeSettings,
        nodes: Box<dyn NodeLifecycle>,
        prometheus: PromQuery,
        suite: &Suite,
    ) -> KubeBackend {
        KubeBackend {
            runtime,
            client: clients.api,
            evictions: clients.evictions,
            settings,
            nodes,
            prometheus,
            model: SimBackend::new(suite),
            started: Instant::now(),
            started_unix: unix_now(),
            drains: BTreeMap::new(),
            lost: BTreeMap::new(),
            node_deletions: BTreeMap::new(),
            cordoned_by_harness: Default::default(),
            events: Vec::new(),
            kept: Vec::new(),
        }
    }

    /// Keeps `thing` (a port-forward, say) alive as long as the backend.
    pub fn keep_alive(&mut self, thing: Box<dyn std::any::Any + Send>) {
        self.kept.push(thing);
    }

    /// The PromQL queries the telemetry uses (printed in the JSON report):
    /// the load clients' counters, and Istio's for the cross-check.
    pub fn queries() -> Vec<String> {
        vec![REQUESTS_BY_ZONE.to_owned(), ISTIO_BY_WORKLOAD.to_owned()]
    }

    /// Cross-checks the load clients' view with `istio_requests_total`
    /// (zones from workload names) over the whole run: the zones whose
    /// cross-zone share differs by more than 5 points, or that one source
    /// did not see.
    pub fn istio_cross_check(&mut self) -> Result<Vec<String>, BackendError> {
        let clients = self.matrix()?;
        let series = self
            .prometheus
            .range(ISTIO_BY_WORKLOAD, self.started_unix, unix_now(), 1.0)
            .map_err(BackendError::Telemetry)?;
        let istio = istio_matrix(&series, self.started_unix, &self.settings.workload_zones);
        let zones = clients.client_zones();
        let window = crate::telemetry::Window {
            from: 0,
            to: clients.len_seconds(),
        };
        Ok(disagreements(&clients, &istio, &zones, window, 0.05))
    }

    fn wall_now(&self) -> SimTime {
        SimTime(self.started.elapsed().as_millis() as u64)
    }

    /// The model follows the wall clock, so its prediction lines up with
    /// what Prometheus measured.
    fn catch_up_model(&mut self) -> Result<(), BackendError> {
        let target = self.wall_now();
        let now = self.model.now();
        if target > now {
            self.model.advance(target.since(now))?;
        }
        Ok(())
    }

    fn event(&mut self, kind: EventKind, message: String) {
        let at = self.wall_now();
        self.events.push(Event { at, message, kind });
    }

    /// Waits until every restored node is Ready and listed in its zone
    /// again (its kubelet registered it with the zone label). A node whose
    /// Node object is gone has its kubelet restarted, once. Returns those
    /// nodes and the zone's nodes as last listed; fails naming the nodes
    /// that are not back in time.
    fn await_restored(
        &mut self,
        zone: &Zone,
        nodes: &[NodeName],
    ) -> Result<(Vec<NodeName>, Vec<NodeName>), BackendError> {
        let deadline = Instant::now() + self.settings.node_ready_within;
        let mut reregistered: Vec<NodeName> = Vec::new();
        loop {
            let mut waiting = Vec::new();
            let mut gone = Vec::new();
            for n in nodes {
                let readiness = self
                    .runtime
                    .block_on(api::nodes::node_readiness(&self.client, n))
                    .map_err(api_error)?;
                match readiness {
                    NodeReadiness::Ready => {}
                    NodeReadiness::Gone if !reregistered.contains(n) => gone.push(n.clone()),
                    other => waiting.push(format!("{} ({other:?})", n.0)),
                }
            }
            if !gone.is_empty() {
                self.nodes.reregister(&gone)?;
                waiting.extend(gone.iter().map(|n| format!("{} (Gone)", n.0)));
                reregistered.extend(gone);
            }
            if waiting.is_empty() {
                let listed = self.zone_nodes(zone, None)?;
                waiting.extend(
                    nodes
                        .iter()
                        .filter(|n| !listed.contains(n))
                        .map(|n| format!("{} (not labelled zone {zone})", n.0)),
                );
                if waiting.is_empty() {
                    return Ok((reregistered, listed));
                }
            }
            if Instant::now() >= deadline {
                return Err(BackendError::Cluster {
                    message: format!(
                        "restored nodes of {zone} not Ready after {:?}: {}",
                        self.settings.node_ready_within,
                        waiting.join(", ")
                    ),
                    hint: "see `kubectl describe node` and the kubelet's journal in the node \
                           container (docker exec NODE journalctl -u kubelet)"
                        .into(),
                });
            }
            crate::interrupt::sleep(NODE_POLL).map_err(BackendError::Interrupted)?;
        }
    }

    /// Records the schedulable ones of `nodes` as cordoned by the harness
    /// (a drain is about to cordon them).
    fn remember_cordons(&mut self, nodes: &[NodeInfo]) {
        self.cordoned_by_harness.extend(
            nodes
                .iter()
                .filter(|n| !n.unschedulable)
                .map(|n| n.name.clone()),
        );
    }

    fn zone_nodes(
        &self,
        zone: &Zone,
        capacity: Option<&str>,
    ) -> Result<Vec<NodeName>, BackendError> {
        Ok(names(&self.zone_node_infos(zone, capacity)?))
    }

    fn zone_node_infos(
        &self,
        zone: &Zone,
        capacity: Option<&str>,
    ) -> Result<Vec<NodeInfo>, BackendError> {
        let mut filter = NodeFilter::zone(zone.clone());
        if let Some(c) = capacity {
            filter = filter.capacity(c);
        }
        let nodes = self
            .runtime
            .block_on(list_nodes(&self.client, &filter))
            .map_err(api_error)?;
        if nodes.is_empty() {
            return Err(BackendError::Cluster {
                message: format!(
                    "no {}nodes in zone {zone}",
                    capacity.map(|c| format!("{c} ")).unwrap_or_default()
                ),
                hint: format!(
                    "label the nodes topology.kubernetes.io/zone{}",
                    capacity
                        .map(|c| format!(" and karpenter.sh/capacity-type={c}"))
                        .unwrap_or_default()
                ),
            });
        }
        Ok(nodes)
    }

    /// Cordons the schedulable ones of `nodes`, remembering them as the
    /// harness's; nodes already cordoned are left as they are. Returns the
    /// nodes cordoned now.
    fn cordon_nodes(&mut self, nodes: &[NodeInfo]) -> Result<Vec<NodeName>, BackendError> {
        let fresh: Vec<NodeName> = nodes
            .iter()
            .filter(|n| !n.unschedulable)
            .map(|n| n.name.clone())
            .collect();
        self.set_cordoned(&fresh, true)?;
        self.cordoned_by_harness.extend(fresh.iter().cloned());
        Ok(fresh)
    }

    /// Cordons (`on`) or uncordons each of `nodes`, in order.
    fn set_cordoned(&self, nodes: &[NodeName], on: bool) -> Result<(), BackendError> {
        self.runtime
            .block_on(async {
                for n in nodes {
                    if on {
                        cordon(&self.client, n).await?;
                    } else {
                        uncordon(&self.client, n).await?;
                    }
                }
                Ok::<_, api::ApiError>(())
            })
            .map_err(api_error)
    }

    /// Uncordons those of `nodes` the harness cordoned; returns them.
    fn uncordon_ours(&mut self, nodes: &[NodeName]) -> Result<Vec<NodeName>, BackendError> {
        let ours: Vec<NodeName> = nodes
            .iter()
            .filter(|n| self.cordoned_by_harness.contains(n))
            .cloned()
            .collect();
        self.set_cordoned(&ours, false)?;
        for n in &ours {
            self.cordoned_by_harness.remove(n);
        }
        Ok(ours)
    }

    fn spot_loss(
        &mut self,
        spec: &crate::spec::SpotLossSpec,
    ) -> Result<serde_json::Value, BackendError> {
        let zone = spec.zone.clone();
        let mode = spec.mode();
        let infos = self.zone_node_infos(&zone, Some(SPOT))?;
        let nodes = names(&infos);
        // An interruption notice: a drain runs until the notice ends, then
        // the instances go whatever it achieved.
        let notice = spec.notice;
        let mut evidence = serde_json::json!({
            "zone": zone, "nodes": nodes.iter().map(|n| &n.0).collect::<Vec<_>>(),
            "mode": mode.as_str(),
        });
        if let Some(notice) = notice {
            self.remember_cordons(&infos);
            let opts = DrainOptions::namespace(self.settings.namespace.clone(), notice.to_std());
            let outcome = self
                .runtime
                .block_on(drain_nodes(&self.evictions, &nodes, &opts))
                .map_err(api_error)?;
            evidence["noticeDrain"] = serde_json::to_value(&outcome).unwrap_or_default();
        }
        if self.settings.emulate_loss {
            self.cordon_nodes(&infos)?;
            let deleted = self
                .runtime
                .block_on(api::drain::force_delete_pods_on(
                    &self.client,
                    &self.settings.namespace,
                    &nodes,
                ))
                .map_err(api_error)?;
            evidence["forceDeleted"] =
                serde_json::json!(deleted.iter().map(|p| &p.name).collect::<Vec<_>>());
        }
        evidence["provider"] = self.nodes.lose(&nodes, mode)?;
        self.event(
            EventKind::NodesLost,
            format!("{} spot nodes of {zone} lost ({mode:?})", nodes.len()),
        );
        if self.nodes.deletes_node_objects() {
            // The cloud controller deletes a Node once the kubelet stopped
            // reporting and the instance is gone; the pods then go too.
            let task = delete_when_gone(
                self.client.clone(),
                nodes.clone(),
                self.settings.node_gone_after,
            );
            if let Some(earlier) = self
                .node_deletions
                .insert(zone.clone(), self.runtime.spawn(task))
            {
                earlier.abort();
            }
        }
        self.lost.insert(zone, nodes);
        Ok(evidence)
    }

    fn restore(&mut self, zone: &Zone) -> Result<serde_json::Value, BackendError> {
        // First stop the pending deletions, and wait until they have
        // stopped: a Node deleted after its kubelet is back never returns.
        if let Some(deletion) = self.node_deletions.remove(zone) {
            deletion.abort();
            let _ = self.runtime.block_on(deletion);
        }
        let lost = self.lost.remove(zone).unwrap_or_default();
        // Restored nodes come back schedulable; drained ones are uncordoned.
        let (reregistered, nodes) = if lost.is_empty() {
            (Vec::new(), self.zone_nodes(zone, None).unwrap_or_default())
        } else {
            self.nodes.restore(&lost)?;
            self.await_restored(zone, &lost)?
        };
        let uncordoned = self.uncordon_ours(&nodes)?;
        self.event(EventKind::Cordoned, format!("{zone} restored"));
        Ok(serde_json::json!({
            "zone": zone, "restarted": lost.iter().map(|n| &n.0).collect::<Vec<_>>(),
            "reregistered": reregistered.iter().map(|n| &n.0).collect::<Vec<_>>(),
            "uncordoned": uncordoned.iter().map(|n| &n.0).collect::<Vec<_>>(),
        }))
    }

    fn drain(&mut self, spec: &crate::spec::DrainSpec) -> Result<serde_json::Value, BackendError> {
        let zone = spec.zone.clone();
        let timeout = spec.timeout.to_std();
        let infos = self.zone_node_infos(&zone, None)?;
        // The drain cordons every node; the schedulable ones are ours.
        self.remember_cordons(&infos);
        let nodes = names(&infos);
        let opts = DrainOptions::namespace(self.settings.namespace.clone(), timeout);
        let outcome = Arc::new(Mutex::new(None));
        let slot = outcome.clone();
        let client = self.evictions.clone();
        let task_nodes = nodes.clone();
        self.runtime.spawn(async move {
            let r = drain_nodes(&client, &task_nodes, &opts)
                .await
                .map_err(|e| e.to_string());
            if let Ok(mut s) = slot.lock() {
                *s = Some(r);
            }
        });
        let started = self.wall_now();
        self.drains
            .insert(zone.clone(), RunningDrain { started, outcome });
        self.event(
            EventKind::Cordoned,
            format!("drain of {zone} started ({} nodes)", nodes.len()),
        );
        Ok(
            serde_json::json!({"zone": zone, "nodes": nodes.iter().map(|n| &n.0).collect::<Vec<_>>(), "timeout_s": timeout.as_secs()}),
        )
    }

    fn rollout_action(&mut self, action: &Action) -> Result<serde_json::Value, BackendError> {
        let ns = self.settings.namespace.clone();
        let r = self.runtime.block_on(async {
            match action {
                Action::Canary(c) => {
                    // The echo reports ZONECHAOS_VERSION as its version: the
                    // suite's image name, whatever image actually runs.
                    let image = self.settings.canary_image.as_deref().unwrap_or(&c.image);
                    set_image_and_env(
                        &self.client,
                        &ns,
                        &c.rollout,
                        None,
                        image,
                        &[(VERSION_ENV, c.image.as_str())],
                    )
                    .await?;
                    Ok(serde_json::json!({"rollout": c.rollout, "image": image, "version": c.image}))
                }
                Action::Promote(r) => {
                    promote(&self.client, &ns, &r.rollout).await?;
                    Ok(serde_json::json!({"rollout": r.rollout, "patch": {"status": {"pauseConditions": null}}}))
                }
                Action::Abort(r) => {
                    abort(&self.client, &ns, &r.rollout).await?;
                    Ok(serde_json::json!({"rollout": r.rollout, "patch": {"status": {"abort": true}}}))
                }
                _ => Ok(serde_json::Value::Null),
            }
        });
        r.map_err(api_error)
    }
}

/// An API failure; its message already says what to do.
fn api_error(e: api::ApiError) -> BackendError {
    BackendError::Cluster {
        message: e.to_string(),
        hint: "see the message: it names the object and the API server's answer".into(),
    }
}

/// A cluster tool (docker, kind) failure with the tool layer's hint.
fn tool_error(e: crate::backend::kube::cluster::ClusterError) -> BackendError {
    BackendError::Cluster {
        message: e.to_string(),
        hint: e.hint(),
    }
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl Backend for KubeBackend {
    fn name(&self) -> &'static str {
        self.settings.name
    }

    fn telemetry(&self) -> crate::telemetry::TelemetrySource {
        KubeBackend::TELEMETRY
    }

    fn now(&self) -> SimTime {
        self.wall_now()
    }

    fn advance(&mut self, d: SimDuration) -> Result<(), BackendError> {
        // Background work (drains, node deletion, the port-forward) runs on
        // the runtime's worker while this thread sleeps; SIGINT/SIGTERM end
        // the wait so the runner goes on to the finally steps.
        crate::interrupt::sleep(d.to_std()).map_err(BackendError::Interrupted)?;
        self.catch_up_model()
    }

    fn apply(&mut self, action: &Action) -> Result<serde_json::Value, BackendError> {
        self.catch_up_model()?;
        // The prediction sees the same chaos at the same time.
        let _ = self.model.apply(action);
        match action {
            Action::SpotLoss(s) => self.spot_loss(s),
            Action::Drain(d) => self.drain(d),
            Action::Cordon(z) => {
                let zone = z.zone.clone();
                let infos = self.zone_node_infos(&zone, None)?;
                let cordoned = self.cordon_nodes(&infos)?;
                let already: Vec<&str> = infos
                    .iter()
                    .filter(|n| n.unschedulable)
                    .map(|n| n.name.0.as_str())
                    .collect();
                self.event(EventKind::Cordoned, format!("{zone} cordoned"));
                Ok(serde_json::json!({"zone": zone,
                    "cordoned": cordoned.iter().map(|n| &n.0).collect::<Vec<_>>(),
                    "alreadyCordoned": already}))
            }
            Action::Restore(z) => self.restore(&z.zone),
            Action::Canary(_) | Action::Promote(_) | Action::Abort(_) => {
                self.rollout_action(action)
            }
            other => Err(crate::chaos::not_chaos(other)),
        }
    }

    fn matrix(&mut self) -> Result<Arc<TrafficMatrix>, BackendError> {
        self.catch_up_model()?;
        let series = self
            .prometheus
            .range(REQUESTS_BY_ZONE, self.started_unix, unix_now(), 1.0)
            .map_err(BackendError::Telemetry)?;
        Ok(Arc::new(matrix_from_series(&series, self.started_unix)))
    }

    fn rollout_status(&self, name: &str) -> Option<RolloutStatus> {
        self.runtime
            .block_on(read_rollout(&self.client, &self.settings.namespace, name))
            .ok()?
            .to_status()
    }

    fn pdb_statuses(&self) -> BTreeMap<String, PdbStatus> {
        self.runtime
            .block_on(read_pdb_statuses(&self.client, &self.settings.namespace))
            .unwrap_or_default()
    }

    fn last_drain(&self, zone: &Zone) -> Option<DrainReport> {
        let d = self.drains.get(zone)?;
        let outcome = d.outcome.lock().ok()?.clone();
        Some(match outcome {
            Some(Ok(o)) => o.into_report(zone.clone(), d.started),
            // Still running, or failed: nothing finished to show.
            _ => DrainReport {
                zone: zone.clone(),
                started: d.started,
                evicted: Vec::new(),
                refusals: Vec::new(),
                finished: None,
                pods_left: 0,
                budgets_before: BTreeMap::new(),
            },
        })
    }

    fn route_weights(&self) -> RouteWeights {
        let Some(vs) = api::apply::resource_for("networking.istio.io/v1", "VirtualService") else {
            return RouteWeights::new();
        };
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), &self.settings.namespace, &vs.resource);
        let Ok(list) = self.runtime.block_on(api.list(&ListParams::default())) else {
            return RouteWeights::new();
        };
        let specs: Vec<(String, VirtualServiceSpec)> = list
            .items
            .into_iter()
            .filter_map(|o| {
                let spec = serde_json::from_value(o.data.get("spec")?.clone()).ok()?;
                Some((o.metadata.name.unwrap_or_default(), spec))
            })
            .collect();
        route_weights(specs.iter().map(|(n, s)| (n.clone(), s)))
    }

    fn events(&self) -> Vec<Event> {
        self.events.clone()
    }

    fn predicted_matrix(&self) -> Option<Arc<TrafficMatrix>> {
        Some(Arc::clone(&self.model.matrix))
    }
}
