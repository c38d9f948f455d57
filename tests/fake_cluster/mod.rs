//! A fake kind cluster for the kind backend's tests: the Docker engine that
//! runs the node containers, behind the `CommandRunner` seam, and a
//! Kubernetes API server on loopback that kube-rs's real client stack
//! (kubeconfig builder, retry layer and all) talks to over HTTP.
//!
//! It keeps the state a real cluster keeps between suites, and encodes the
//! upstream behaviour the backend depends on (SEMANTICS.md §7), each rule
//! naming its source:
//!
//! - a kubelet registers its Node once per process, when it starts
//!   (kubernetes pkg/kubelet/kubelet_node_status.go registerWithAPIServer):
//!   a Node deleted while the kubelet runs stays gone until it restarts;
//! - a node whose kubelet stopped reporting turns Ready=Unknown after the
//!   node-monitor grace period (pkg/controller/nodelifecycle/
//!   node_lifecycle_controller.go tryUpdateNodeHealth), and its pods stop
//!   counting as healthy (markPodsNotReady);
//! - pods bound to a Node that no longer exists are deleted
//!   (pkg/controller/podgc/gc_controller.go gcOrphaned), and their
//!   ReplicaSet creates replacements the scheduler binds to a Ready,
//!   schedulable node their selector and tolerations allow
//!   (pkg/scheduler/framework/plugins/nodeunschedulable, tainttoleration);
//! - an eviction is refused with 429 when the pod's PodDisruptionBudget
//!   allows no disruption and with 500 when more than one covers it; a
//!   Pending pod skips budgets and a not-Ready one goes while the budget is
//!   healthy (pkg/registry/core/pod/storage/eviction.go, IfHealthyBudget); a budget's status counts
//!   healthy pods against minAvailable (pkg/controller/disruption/
//!   disruption.go getExpectedPodCount, countHealthyPods);
//! - `docker network connect --ip` is refused on kind's network, which has
//!   no user-configured IPv4 subnet (moby daemon/network.go: "user specified
//!   IP address is supported only when connecting to networks with user
//!   configured subnets"); a stopped container keeps its address on
//!   `docker start`; `docker exec` in a stopped container fails ("is not
//!   running"); a started container gets a fresh network namespace, so
//!   iptables rules added by `exec` are gone;
//! - `iptables -D` of a rule that is not there and `-X` of a chain still
//!   referenced or not empty fail (iptables exits 1).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

#[path = "../common/query.rs"]
mod query;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use serde_json::{Value, json};
use zonechaos::backend::kube::cluster::kind_config::{
    LOAD_CLIENT_POOL, LOAD_CLIENT_TAINT, POOL_LABEL,
};
use zonechaos::backend::kube::cluster::{
    CommandRunner, KindClusterConfig, Output, PlannedCommand, Tool,
};

const ZONE_LABEL: &str = "topology.kubernetes.io/zone";
/// The label the harness's load clients carry (render/loadgen.rs).
pub const ROLE_LABEL: &str = "zonechaos.dev/role";

/// One node container.
#[derive(Debug, Clone)]
struct Container {
    /// Labels the kubelet registers (kind passes them as --node-labels).
    labels: BTreeMap<String, String>,
    /// Its address on the kind network.
    ip: String,
    running: bool,
    /// iptables chains of its network namespace: chain -> rules.
    chains: BTreeMap<String, Vec<String>>,
    /// Since when its kubelet has not reached the API server.
    silent_since: Option<Instant>,
}

impl Container {
    /// The kubelet reaches the API server: the container runs and its
    /// OUTPUT traffic is not sent into a chain that drops it.
    fn heard(&self) -> bool {
        self.running && !self.drops("OUTPUT")
    }

    /// True when `builtin` jumps to a chain whose rules end in DROP.
    fn drops(&self, builtin: &str) -> bool {
        self.chains.get(builtin).into_iter().flatten().any(|rule| {
            rule.strip_prefix("-j ")
                .and_then(|target| self.chains.get(target))
                .is_some_and(|rules| rules.iter().any(|r| r == "-j DROP"))
        })
    }
}

/// A Node object.
#[derive(Debug, Clone)]
struct NodeObject {
    labels: BTreeMap<String, String>,
    unschedulable: bool,
}

/// A pod, bound (`node`) or pending.
#[derive(Debug, Clone)]
pub struct FakePod {
    /// Name.
    pub name: String,
    /// Its controller (a ReplicaSet stand-in).
    pub workload: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// The node it is bound to.
    pub node: Option<String>,
}

/// A ReplicaSet stand-in: `replicas` pods pinned to `zone`; load clients
/// go to the zone's load-client node (they tolerate its taint), the
/// others to any other node of the zone.
#[derive(Debug, Clone)]
pub struct Workload {
    /// Name (pods are `<name>-<n>`).
    pub name: String,
    /// Zone its pods are pinned to.
    pub zone: String,
    /// Desired pods.
    pub replicas: usize,
    /// Pod labels.
    pub labels: BTreeMap<String, String>,
    /// A load client (on the load-client node, never evicted).
    pub load_client: bool,
}

/// A PodDisruptionBudget with an integer minAvailable.
#[derive(Debug, Clone)]
pub struct Pdb {
    /// Name.
    pub name: String,
    /// spec.minAvailable.
    pub min_available: usize,
    /// spec.selector.matchLabels.
    pub match_labels: BTreeMap<String, String>,
}

#[derive(Debug, Default)]
struct State {
    namespace: String,
    grace: Duration,
    containers: BTreeMap<String, Container>,
    nodes: BTreeMap<String, NodeObject>,
    pods: BTreeMap<String, FakePod>,
    workloads: Vec<Workload>,
    pdbs: Vec<Pdb>,
    next_pod: usize,
    /// Pods that left, and why (evicted, force-deleted, garbage-collected).
    departures: Vec<(String, String)>,
    /// Requests and commands the fake does not know: the test fails on them.
    unexpected: Vec<String>,
}

/// The fake cluster: clone it freely, every clone is the same cluster.
#[derive(Clone)]
pub struct FakeCluster {
    state: Arc<Mutex<State>>,
    /// The API server's address.
    pub addr: SocketAddr,
}

/// What a test compares between suites: the cluster as a suite must leave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// node -> (Ready status, cordoned, address).
    pub nodes: BTreeMap<String, (String, bool, String)>,
    /// Containers not running, or with iptables rules left.
    pub damaged_containers: Vec<String>,
    /// Load-client pods and their nodes.
    pub load_clients: BTreeMap<String, String>,
    /// workload -> pods bound in its zone (of replicas).
    pub workloads_in_zone: BTreeMap<String, (usize, usize)>,
}

impl FakeCluster {
    /// A cluster with the nodes of `config` (named as kind names them),
    /// every kubelet registered and Ready, and the workloads, budgets and
    /// pods given; its node controller uses `grace`.
    pub fn start(
        config: &KindClusterConfig,
        cluster: &str,
        namespace: &str,
        grace: Duration,
        workloads: Vec<Workload>,
        pdbs: Vec<Pdb>,
    ) -> FakeCluster {
        let mut state = State {
            namespace: namespace.to_owned(),
            grace,
            workloads,
            pdbs,
            ..State::default()
        };
        let mut worker = 0;
        for (i, node) in config.nodes.iter().enumerate() {
            // kind: <cluster>-control-plane, then <cluster>-worker, -worker2, ...
            let name = if i == 0 {
                format!("{cluster}-control-plane")
            } else {
                worker += 1;
                if worker == 1 {
                    format!("{cluster}-worker")
                } else {
                    format!("{cluster}-worker{worker}")
                }
            };
            state.containers.insert(
                name.clone(),
                Container {
                    labels: node.labels.clone(),
                    ip: format!("172.18.0.{}", i + 2),
                    running: true,
                    chains: BTreeMap::new(),
                    silent_since: None,
                },
            );
            state.kubelet_starts(&name);
        }
        state.reconcile();
        let state = Arc::new(Mutex::new(state));
        let addr = serve(state.clone());
        FakeCluster { state, addr }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The Docker engine of this cluster, for `DockerNodes::with_runner`.
    pub fn docker(&self) -> FakeDocker {
        FakeDocker(self.clone())
    }

    /// The cluster now, after its controllers caught up.
    pub fn snapshot(&self) -> Snapshot {
        let mut s = self.lock();
        s.reconcile();
        let now = Instant::now();
        let nodes = s
            .nodes
            .iter()
            .map(|(name, node)| {
                let ip = s
                    .containers
                    .get(name)
                    .map(|c| c.ip.clone())
                    .unwrap_or_default();
                (
                    name.clone(),
                    (s.ready(name, now).to_owned(), node.unschedulable, ip),
                )
            })
            .collect();
        let damaged_containers = s
            .containers
            .iter()
            .filter(|(_, c)| !c.running || !c.chains.is_empty())
            .map(|(n, _)| n.clone())
            .collect();
        let load_clients = s
            .pods
            .values()
            .filter(|p| p.labels.get(ROLE_LABEL).is_some_and(|r| r == "loadgen"))
            .map(|p| (p.name.clone(), p.node.clone().unwrap_or_default()))
            .collect();
        let workloads_in_zone = s
            .workloads
            .iter()
            .map(|w| {
                let bound = s
                    .pods
                    .values()
                    .filter(|p| p.workload == w.name)
                    .filter(|p| {
                        p.node
                            .as_ref()
                            .and_then(|n| s.nodes.get(n))
                            .is_some_and(|n| n.labels.get(ZONE_LABEL) == Some(&w.zone))
                    })
                    .count();
                (w.name.clone(), (bound, w.replicas))
            })
            .collect();
        Snapshot {
            nodes,
            damaged_containers,
            load_clients,
            workloads_in_zone,
        }
    }

    /// Pods that left so far, with the reason, in order.
    pub fn departures(&self) -> Vec<(String, String)> {
        self.lock().departures.clone()
    }

    /// Requests and commands the fake did not understand.
    pub fn unexpected(&self) -> Vec<String> {
        self.lock().unexpected.clone()
    }

    /// Deletes a Node object, as a cloud controller or a user would.
    pub fn delete_node(&self, name: &str) {
        let mut s = self.lock();
        s.nodes.remove(name);
        s.reconcile();
    }

    /// Names of the node containers labelled `label=value`.
    pub fn nodes_labelled(&self, label: &str, value: &str) -> Vec<String> {
        self.lock()
            .containers
            .iter()
            .filter(|(_, c)| c.labels.get(label).is_some_and(|v| v == value))
            .map(|(n, _)| n.clone())
            .collect()
    }
}

impl State {
    /// A kubelet process starts on `node`: it registers the Node if there is
    /// none (once: a later deletion is not noticed by this process).
    fn kubelet_starts(&mut self, node: &str) {
        let Some(c) = self.containers.get(node) else {
            return;
        };
        let labels = c.labels.clone();
        self.nodes.entry(node.to_owned()).or_insert(NodeObject {
            labels,
            unschedulable: false,
        });
    }

    /// Updates who is heard; called whenever a container changes.
    fn note_heartbeats(&mut self) {
        let now = Instant::now();
        for c in self.containers.values_mut() {
            if c.heard() {
                c.silent_since = None;
            } else if c.silent_since.is_none() {
                c.silent_since = Some(now);
            }
        }
    }

    /// The Node's Ready condition status: Unknown once its kubelet has been
    /// silent for the grace period.
    fn ready(&self, node: &str, now: Instant) -> &'static str {
        match self.containers.get(node).and_then(|c| c.silent_since) {
            Some(since) if now.duration_since(since) >= self.grace => "Unknown",
            _ => "True",
        }
    }

    fn node_is_load_client(&self, node: &str) -> bool {
        self.nodes.get(node).is_some_and(|n| {
            n.labels
                .get(POOL_LABEL)
                .is_some_and(|p| p == LOAD_CLIENT_POOL)
        })
    }

    /// A pod is healthy (Ready) while bound to an existing, Ready node.
    fn healthy(&self, pod: &FakePod, now: Instant) -> bool {
        pod.node
            .as_ref()
            .is_some_and(|n| self.nodes.contains_key(n) && self.ready(n, now) == "True")
    }

    /// Pod GC, the ReplicaSets and the scheduler catch up.
    fn reconcile(&mut self) {
        self.note_heartbeats();
        let now = Instant::now();
        // Pod GC: pods on Nodes that no longer exist.
        let orphans: Vec<String> = self
            .pods
            .values()
            .filter(|p| p.node.as_ref().is_some_and(|n| !self.nodes.contains_key(n)))
            .map(|p| p.name.clone())
            .collect();
        for name in orphans {
            self.pods.remove(&name);
            self.departures
                .push((name, "garbage-collected (Node gone)".into()));
        }
        // ReplicaSets: replace what is missing.
        for w in self.workloads.clone() {
            let have = self.pods.values().filter(|p| p.workload == w.name).count();
            for _ in have..w.replicas {
                self.next_pod += 1;
                let name = format!("{}-{}", w.name, self.next_pod);
                self.pods.insert(
                    name.clone(),
                    FakePod {
                        name,
                        workload: w.name.clone(),
                        labels: w.labels.clone(),
                        node: None,
                    },
                );
            }
        }
        // Scheduler: bind pending pods to the least loaded allowed node.
        let pending: Vec<String> = self
            .pods
            .values()
            .filter(|p| p.node.is_none())
            .map(|p| p.name.clone())
            .collect();
        for name in pending {
            let workload = self.pods[&name].workload.clone();
            let Some(w) = self.workloads.iter().find(|w| w.name == workload).cloned() else {
                continue;
            };
            let candidates = self.nodes.iter().filter(|(n, node)| {
                !node.unschedulable
                    && self.ready(n, now) == "True"
                    && node.labels.get(ZONE_LABEL) == Some(&w.zone)
                    // The taint keeps others off; the selector keeps clients on.
                    && self.node_is_load_client(n) == w.load_client
            });
            let chosen = candidates.map(|(n, _)| n.clone()).min_by_key(|n| {
                self.pods
                    .values()
                    .filter(|p| p.node.as_ref() == Some(n))
                    .count()
            });
            if let Some(node) = chosen {
                self.pods.get_mut(&name).expect("pending pod").node = Some(node);
            }
        }
    }

    fn pdbs_covering(&self, pod: &FakePod) -> Vec<&Pdb> {
        self.pdbs
            .iter()
            .filter(|b| {
                b.match_labels
                    .iter()
                    .all(|(k, v)| pod.labels.get(k) == Some(v))
            })
            .collect()
    }

    fn pdb_json(&self, pdb: &Pdb, now: Instant) -> Value {
        let covered: Vec<&FakePod> = self
            .pods
            .values()
            .filter(|p| {
                pdb.match_labels
                    .iter()
                    .all(|(k, v)| p.labels.get(k) == Some(v))
            })
            .collect();
        let healthy = covered.iter().filter(|p| self.healthy(p, now)).count();
        let allowed = healthy.saturating_sub(pdb.min_available);
        json!({
            "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": pdb.name, "namespace": self.namespace},
            "spec": {"minAvailable": pdb.min_available,
                     "selector": {"matchLabels": pdb.match_labels}},
            "status": {"expectedPods": covered.len(), "currentHealthy": healthy,
                       "desiredHealthy": pdb.min_available, "disruptionsAllowed": allowed,
                       "observedGeneration": 1}
        })
    }

    fn node_json(&self, name: &str, now: Instant) -> Value {
        let node = &self.nodes[name];
        let ip = self
            .containers
            .get(name)
            .map(|c| c.ip.clone())
            .unwrap_or_default();
        let taints: Vec<Value> = if self.node_is_load_client(name) {
            vec![json!({"key": LOAD_CLIENT_TAINT, "value": "true", "effect": "NoSchedule"})]
        } else {
            Vec::new()
        };
        json!({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": node.labels, "resourceVersion": "1"},
            "spec": {"unschedulable": node.unschedulable, "taints": taints},
            "status": {"conditions": [{"type": "Ready", "status": self.ready(name, now)}],
                       "addresses": [{"type": "InternalIP", "address": ip}]}
        })
    }

    fn pod_json(&self, pod: &FakePod, now: Instant) -> Value {
        let ready = if self.healthy(pod, now) {
            "True"
        } else {
            "False"
        };
        let mut spec = json!({"containers": [{"name": "app", "image": "zonechaos:test"}]});
        if let Some(n) = &pod.node {
            spec["nodeName"] = json!(n);
        }
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": pod.name, "namespace": self.namespace, "labels": pod.labels,
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                              "name": pod.workload, "uid": "u", "controller": true}]},
            "spec": spec,
            "status": {"phase": if pod.node.is_some() { "Running" } else { "Pending" },
                       "conditions": [{"type": "Ready", "status": ready}]}
        })
    }

    /// Answers one API request.
    fn handle(
        &mut self,
        method: &str,
        path: &str,
        query: &BTreeMap<String, String>,
        body: &[u8],
    ) -> (u16, Value) {
        self.reconcile();
        let now = Instant::now();
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let ns = self.namespace.clone();
        let answer = match (method, segments.as_slice()) {
            ("GET", ["api", "v1", "nodes"]) => {
                let selector = query.get("labelSelector").cloned().unwrap_or_default();
                let items: Vec<Value> = self
                    .nodes
                    .iter()
                    .filter(|(_, n)| selector_matches(&selector, &n.labels))
                    .map(|(name, _)| self.node_json(name, now))
                    .collect();
                Some((200, list("NodeList", items)))
            }
            ("GET", ["api", "v1", "nodes", name]) => Some(match self.nodes.contains_key(*name) {
                true => (200, self.node_json(name, now)),
                false => not_found("nodes", name),
            }),
            ("PATCH", ["api", "v1", "nodes", name]) => Some(match self.nodes.get_mut(*name) {
                Some(node) => {
                    let patch: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
                    match patch["spec"]["unschedulable"].as_bool() {
                        Some(on) => {
                            node.unschedulable = on;
                            self.reconcile();
                            (200, self.node_json(name, now))
                        }
                        None => {
                            self.unexpected.push(format!("PATCH node {name}: {patch}"));
                            (422, status(422, "Invalid", "unexpected patch"))
                        }
                    }
                }
                None => not_found("nodes", name),
            }),
            ("DELETE", ["api", "v1", "nodes", name]) => {
                Some(match self.nodes.contains_key(*name) {
                    true => {
                        let object = self.node_json(name, now);
                        self.nodes.remove(*name);
                        self.reconcile();
                        (200, object)
                    }
                    false => not_found("nodes", name),
                })
            }
            ("GET", ["api", "v1", "pods"]) | ("GET", ["api", "v1", "namespaces", _, "pods"]) => {
                let on_node = query
                    .get("fieldSelector")
                    .and_then(|f| f.strip_prefix("spec.nodeName="))
                    .map(str::to_owned);
                let items: Vec<Value> = self
                    .pods
                    .values()
                    .filter(|p| on_node.is_none() || p.node == on_node)
                    .map(|p| self.pod_json(p, now))
                    .collect();
                Some((200, list("PodList", items)))
            }
            ("DELETE", ["api", "v1", "namespaces", n, "pods", name]) if *n == ns => {
                Some(match self.pods.remove(*name) {
                    Some(p) => {
                        self.departures.push((p.name.clone(), "deleted".into()));
                        let object = self.pod_json(&p, now);
                        self.reconcile();
                        (200, object)
                    }
                    None => not_found("pods", name),
                })
            }
            ("POST", ["api", "v1", "namespaces", n, "pods", name, "eviction"]) if *n == ns => {
                Some(self.evict(name, now))
            }
            (
                "GET",
                [
                    "apis",
                    "policy",
                    "v1",
                    "namespaces",
                    n,
                    "poddisruptionbudgets",
                ],
            ) if *n == ns => {
                let items = self.pdbs.iter().map(|b| self.pdb_json(b, now)).collect();
                Some((200, list("PodDisruptionBudgetList", items)))
            }
            _ => None,
        };
        answer.unwrap_or_else(|| {
            self.unexpected.push(format!("{method} {path}"));
            (
                404,
                status(404, "NotFound", "the fake cluster does not serve this"),
            )
        })
    }

    /// POST .../pods/NAME/eviction (eviction.go): 404 gone, 500 more than
    /// one budget, 429 no disruption allowed, else the pod is deleted.
    fn evict(&mut self, name: &str, now: Instant) -> (u16, Value) {
        let Some(pod) = self.pods.get(name).cloned() else {
            return not_found("pods", name);
        };
        let budgets = self.pdbs_covering(&pod);
        if budgets.len() > 1 {
            return (
                500,
                status(
                    500,
                    "InternalError",
                    "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
                ),
            );
        }
        if let Some(b) = budgets.first() {
            let published = self.pdb_json(b, now)["status"].clone();
            let read = |field: &str| published[field].as_u64().unwrap_or(0);
            // Pending pods skip budgets; a not-Ready one goes while the
            // budget is healthy (IfHealthyBudget, the default).
            let free = pod.node.is_none()
                || (!self.healthy(&pod, now)
                    && read("currentHealthy") >= read("desiredHealthy")
                    && read("desiredHealthy") > 0);
            if !free && read("disruptionsAllowed") == 0 {
                let cause = format!(
                    "The disruption budget {} needs {} healthy pods",
                    b.name, b.min_available
                );
                let mut refusal = status(
                    429,
                    "TooManyRequests",
                    "Cannot evict pod as it would violate the pod's disruption budget.",
                );
                refusal["details"] =
                    json!({"causes": [{"reason": "DisruptionBudget", "message": cause}]});
                return (429, refusal);
            }
        }
        self.pods.remove(name);
        self.departures.push((name.to_owned(), "evicted".into()));
        self.reconcile();
        (
            201,
            json!({"kind": "Status", "apiVersion": "v1", "status": "Success", "code": 201}),
        )
    }

    /// One `docker` command.
    fn docker(&mut self, args: &[&str]) -> Output {
        let out = match args {
            ["inspect", "--format", _, node] => match self.containers.get(*node) {
                Some(c) => Output::ok(&format!("{}\n", c.ip)),
                None => Output::failed(1, &format!("Error: No such object: {node}")),
            },
            ["kill", "--signal", "KILL", node] => match self.containers.get_mut(*node) {
                Some(c) if c.running => {
                    c.running = false;
                    Output::ok(&format!("{node}\n"))
                }
                Some(_) => Output::failed(
                    1,
                    &format!(
                        "Error response from daemon: cannot kill container: {node}: container is not running"
                    ),
                ),
                None => no_such_container(node),
            },
            ["start", node] => match self.containers.get_mut(*node) {
                Some(c) => {
                    let was_running = c.running;
                    c.running = true;
                    if !was_running {
                        // A fresh network namespace, a new kubelet process.
                        c.chains.clear();
                        self.kubelet_starts(node);
                    }
                    Output::ok(&format!("{node}\n"))
                }
                None => no_such_container(node),
            },
            ["network", "connect", "--ip", ..] => Output::failed(
                1,
                "Error response from daemon: user specified IP address is supported only when connecting to networks with user configured subnets",
            ),
            ["exec", node, rest @ ..] => match self.containers.get(*node) {
                None => no_such_container(node),
                Some(c) if !c.running => Output::failed(
                    1,
                    &format!("Error response from daemon: container {node} is not running"),
                ),
                Some(_) => self.exec(node, rest),
            },
            _ => {
                self.unexpected.push(format!("docker {}", args.join(" ")));
                Output::failed(125, "the fake Docker engine does not know this command")
            }
        };
        self.reconcile();
        out
    }

    /// `docker exec NODE ...` in a running container.
    fn exec(&mut self, node: &str, command: &[&str]) -> Output {
        let c = self
            .containers
            .get_mut(node)
            .expect("checked by the caller");
        match command {
            ["systemctl", "restart", "kubelet"] => {
                self.kubelet_starts(node);
                Output::ok("")
            }
            ["iptables", "-N", chain] => {
                if c.chains.contains_key(*chain) {
                    return Output::failed(1, "iptables: Chain already exists.");
                }
                c.chains.insert((*chain).to_owned(), Vec::new());
                Output::ok("")
            }
            ["iptables", "-A", chain, rule @ ..] => match c.chains.get_mut(*chain) {
                Some(rules) => {
                    rules.push(rule.join(" "));
                    Output::ok("")
                }
                None => Output::failed(1, "iptables: No chain/target/match by that name."),
            },
            ["iptables", "-I", builtin, "1", rule @ ..] => {
                let rule = rule.join(" ");
                let target_exists = rule
                    .strip_prefix("-j ")
                    .is_some_and(|t| c.chains.contains_key(t) || t == "DROP" || t == "RETURN");
                if !target_exists {
                    return Output::failed(1, "iptables: No chain/target/match by that name.");
                }
                c.chains
                    .entry((*builtin).to_owned())
                    .or_default()
                    .insert(0, rule);
                Output::ok("")
            }
            ["iptables", "-D", chain, rule @ ..] => {
                let rule = rule.join(" ");
                let rules = c.chains.get_mut(*chain);
                match rules.and_then(|r| r.iter().position(|x| *x == rule).map(|i| (r, i))) {
                    Some((rules, i)) => {
                        rules.remove(i);
                        if rules.is_empty() && is_builtin(chain) {
                            c.chains.remove(*chain);
                        }
                        Output::ok("")
                    }
                    None => Output::failed(
                        1,
                        "iptables: Bad rule (does a matching rule exist in that chain?).",
                    ),
                }
            }
            ["iptables", "-F", chain] => match c.chains.get_mut(*chain) {
                Some(rules) => {
                    rules.clear();
                    Output::ok("")
                }
                None => Output::failed(1, "iptables: No chain/target/match by that name."),
            },
            ["iptables", "-X", chain] => {
                let referenced = c
                    .chains
                    .values()
                    .flatten()
                    .any(|r| r.strip_prefix("-j ") == Some(*chain));
                match c.chains.get(*chain) {
                    None => Output::failed(1, "iptables: No chain/target/match by that name."),
                    Some(_) if referenced => Output::failed(1, "iptables: Too many links."),
                    Some(rules) if !rules.is_empty() => {
                        Output::failed(1, "iptables: Directory not empty.")
                    }
                    Some(_) => {
                        c.chains.remove(*chain);
                        Output::ok("")
                    }
                }
            }
            _ => {
                self.unexpected
                    .push(format!("docker exec {node} {}", command.join(" ")));
                Output::failed(126, "the fake node does not know this command")
            }
        }
    }
}

fn is_builtin(chain: &str) -> bool {
    matches!(chain, "INPUT" | "OUTPUT" | "FORWARD")
}

fn no_such_container(node: &str) -> Output {
    Output::failed(
        1,
        &format!("Error response from daemon: No such container: {node}"),
    )
}

/// The fake Docker engine.
pub struct FakeDocker(FakeCluster);

impl CommandRunner for FakeDocker {
    fn has(&self, tool: Tool) -> bool {
        tool == Tool::Docker
    }

    fn run(&self, command: &PlannedCommand) -> std::io::Result<Output> {
        if command.program != Tool::Docker {
            self.0.lock().unexpected.push(command.command_line());
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "only docker here",
            ));
        }
        let args: Vec<&str> = command.args.iter().map(String::as_str).collect();
        Ok(self.0.lock().docker(&args))
    }
}

/// Equality-based label selectors as the API server reads them
/// (apimachinery pkg/labels/selector.go): `k=v`, `k==v`, `k!=v` (holds
/// when the label is absent), `k` (exists), `!k`.
fn selector_matches(selector: &str, labels: &BTreeMap<String, String>) -> bool {
    selector.split(',').filter(|t| !t.is_empty()).all(|term| {
        if let Some((k, v)) = term.split_once("!=") {
            labels.get(k).map(String::as_str) != Some(v)
        } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
            labels.get(k).map(String::as_str) == Some(v)
        } else if let Some(k) = term.strip_prefix('!') {
            !labels.contains_key(k)
        } else {
            labels.contains_key(term)
        }
    })
}

fn list(kind: &str, items: Vec<Value>) -> Value {
    json!({"apiVersion": "v1", "kind": kind, "metadata": {"resourceVersion": "1"}, "items": items})
}

fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
           "message": message, "reason": reason, "code": code})
}

fn not_found(resource: &str, name: &str) -> (u16, Value) {
    (
        404,
        status(404, "NotFound", &format!("{resource} \"{name}\" not found")),
    )
}

/// Serves the API on a loopback port from a thread of its own.
fn serve(state: Arc<Mutex<State>>) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("address");
    listener.set_nonblocking(true).expect("nonblocking");
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = state.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let state = state.clone();
                        async move { Ok::<_, Infallible>(answer(&state, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
    });
    addr
}

async fn answer(state: &Arc<Mutex<State>>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let query: BTreeMap<String, String> =
        query::parse_query(req.uri().query()).into_iter().collect();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let (code, value) = state
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .handle(&method, &path, &query, &body);
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(value.to_string())))
        .expect("response")
}
