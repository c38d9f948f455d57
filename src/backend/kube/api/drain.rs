//! Graceful zone drain like `kubectl drain`: cordon every node of the zone,
//! then evict every evictable pod on them through the policy/v1 Eviction
//! subresource, in rounds, until all are gone or the deadline passes.
//!
//! PDBs are honoured by the API server: a refused eviction (HTTP 429) is
//! recorded, with the budget that refused it, and retried in the next round
//! after a backoff. 404 (the pod is already gone) counts as evicted. A 500
//! saying the pod is covered by more than one PDB is recorded as a distinct
//! refusal and retried too (it will not resolve by itself: the drain gives
//! up at the deadline, which is the evidence). Any other error ends the drain
//! with an [`ApiError`].
//!
//! DaemonSet pods, mirror (static) pods and pods already terminating are
//! skipped, as kubectl drain does with `--ignore-daemonsets`. The drain
//! counts a pod as evicted when the API server accepts the eviction; it does
//! not wait for the pod's termination.
//!
//! Time comes from `tokio::time`, so tests run it under
//! `tokio::time::pause` without sleeping.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::Client;
use kube::api::{Api, DeleteParams, EvictParams, ListParams};
use tokio::time::Instant;

use super::error::ApiError;
use super::nodes::{NodeFilter, cordon, list_nodes};
use super::pdbs::{list_pdbs, pdb_status, pdbs_covering};
use super::types::{NodeName, PodRef, Presence};
use crate::backend::DrainReport;
use crate::model::clock::{SimDuration, SimTime};
use crate::model::eviction::PdbStatus;
use crate::model::world::{Event, EventKind};
use crate::zone::Zone;

/// Which pods a drain evicts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PodScope {
    /// Only pods of this namespace (the harness's); others on the nodes are
    /// left alone. Budgets are read from this namespace.
    Namespace(String),
    /// Every pod on the nodes, like kubectl drain. Budgets are read from
    /// every namespace and keyed `namespace/name`.
    AllNamespaces,
}

/// Retry pacing for refused evictions: `initial`, doubling up to `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first wait.
    pub initial: Duration,
    /// The longest wait.
    pub max: Duration,
}

impl Default for Backoff {
    /// 1 s doubling up to 5 s (kubectl drain waits 5 s between 429s).
    fn default() -> Self {
        Backoff {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(5),
        }
    }
}

impl Backoff {
    /// The wait before retry round `round` (0-based).
    pub fn delay(&self, round: u32) -> Duration {
        let factor = 1u32.checked_shl(round.min(16)).unwrap_or(u32::MAX);
        self.initial.saturating_mul(factor).min(self.max)
    }
}

/// How to drain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrainOptions {
    /// Which pods to evict.
    pub scope: PodScope,
    /// Give up after this long.
    pub timeout: Duration,
    /// Pacing of the retry rounds.
    pub backoff: Backoff,
}

impl DrainOptions {
    /// Pods of `namespace`, the given timeout, default backoff.
    pub fn namespace(namespace: impl Into<String>, timeout: Duration) -> DrainOptions {
        DrainOptions {
            scope: PodScope::Namespace(namespace.into()),
            timeout,
            backoff: Backoff::default(),
        }
    }
}

/// Why an eviction was refused.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum RefusalKind {
    /// HTTP 429: a disruption budget allows no disruption now.
    Budget,
    /// HTTP 500: more than one PDB covers the pod; the eviction API refuses it.
    MultipleBudgets,
    /// HTTP 429 that is not about a budget (API priority and fairness
    /// throttling): retried, kept here as evidence, but not reported as a
    /// budget refusal in the [`DrainReport`].
    Throttled,
}

/// One refused eviction.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Refusal {
    /// Time since the drain started.
    pub after: Duration,
    /// The pod.
    pub pod: PodRef,
    /// The budget: named by the server's answer, else the one PDB whose
    /// selector matches the pod (None when that is not unique).
    pub pdb: Option<String>,
    /// Why.
    pub kind: RefusalKind,
    /// The server's message.
    pub message: String,
}

/// One pod that left: evicted, or found already gone.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Evicted {
    /// Time since the drain started.
    pub after: Duration,
    /// The pod.
    pub pod: PodRef,
    /// The eviction answered 404: the pod was already gone.
    pub already_gone: bool,
}

/// Why a pod on a drained node was not evicted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum SkipReason {
    /// Owned by a DaemonSet (tolerates unschedulable; would come back).
    DaemonSet,
    /// A mirror pod of a static pod (cannot be evicted through the API).
    Mirror,
    /// Already terminating.
    Terminating,
    /// One of the harness's load clients: traffic that originates in the
    /// zone, kept running as on sim and local (issue 11 item 5).
    LoadClient,
}

/// True for the harness's load-client pods
/// ([`crate::backend::kube::render::loadgen::ROLE_LABEL`] `loadgen`).
pub fn is_load_client(pod: &Pod) -> bool {
    use crate::backend::kube::render::loadgen::{LOADGEN_ROLE, ROLE_LABEL};
    pod.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(ROLE_LABEL))
        .is_some_and(|role| role == LOADGEN_ROLE)
}

/// The answer to one eviction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Eviction {
    /// Accepted (201).
    Evicted,
    /// The pod was already gone (404): counts as evicted.
    AlreadyGone,
    /// Refused; see [`Refusal`] for the fields.
    Refused {
        /// Why.
        kind: RefusalKind,
        /// The budget named in the answer, if any.
        pdb: Option<String>,
        /// The server's message.
        message: String,
    },
}

/// What a drain did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DrainOutcome {
    /// Nodes cordoned.
    pub cordoned: Vec<NodeName>,
    /// Nodes that vanished (404) before they could be cordoned.
    pub vanished: Vec<NodeName>,
    /// Pods left alone, and why.
    pub skipped: Vec<(PodRef, SkipReason)>,
    /// Pods evicted (or found gone), in order.
    pub evicted: Vec<Evicted>,
    /// Every refusal, in order.
    pub refusals: Vec<Refusal>,
    /// True when every evictable pod was evicted; false when it gave up.
    pub completed: bool,
    /// Pods still not evicted when it gave up.
    pub pods_left: Vec<PodRef>,
    /// Every budget's status when the drain started.
    pub budgets_before: BTreeMap<String, PdbStatus>,
    /// How long it took.
    pub elapsed: Duration,
}

impl DrainOutcome {
    /// The crate's [`DrainReport`]; `started` is when the drain began on the
    /// backend's clock (refusal times are offsets from it). Pods are named
    /// without their namespace, as the model names them; throttling 429s
    /// are left out of the refusals (they are not budget evidence).
    pub fn into_report(self, zone: Zone, started: SimTime) -> DrainReport {
        let at = |d: Duration| started + SimDuration::millis(d.as_millis() as u64);
        DrainReport {
            zone,
            started,
            evicted: self.evicted.into_iter().map(|e| e.pod.name).collect(),
            refusals: self
                .refusals
                .into_iter()
                .filter(|r| r.kind != RefusalKind::Throttled)
                .map(|r| (at(r.after), r.pod.name, r.pdb))
                .collect(),
            finished: Some(self.completed),
            pods_left: self.pods_left.len(),
            budgets_before: self.budgets_before,
        }
    }
}

impl DrainOutcome {
    /// The drain as the model's timeline events (same kinds and wording as
    /// the model's), `started` being when it began on the backend's clock.
    pub fn events(&self, started: SimTime) -> Vec<Event> {
        let at = |d: Duration| started + SimDuration::millis(d.as_millis() as u64);
        let mut events = Vec::new();
        if !self.cordoned.is_empty() {
            let names: Vec<&str> = self.cordoned.iter().map(|n| n.0.as_str()).collect();
            events.push(Event {
                at: started,
                message: format!("cordoned {}", names.join(", ")),
                kind: EventKind::Cordoned,
            });
        }
        for e in &self.evicted {
            events.push(Event {
                at: at(e.after),
                message: format!("pod {} evicted", e.pod.name),
                kind: EventKind::Evicted,
            });
        }
        for r in &self.refusals {
            let name = &r.pod.name;
            let message = match (&r.kind, &r.pdb) {
                (RefusalKind::Budget, Some(b)) => format!(
                    "eviction of {name} refused (429): PodDisruptionBudget {b} allows no disruption"
                ),
                (RefusalKind::Budget, None) => {
                    format!("eviction of {name} refused (429): {}", r.message)
                }
                (RefusalKind::MultipleBudgets, _) => format!(
                    "eviction of {name} refused (500): more than one PodDisruptionBudget covers it"
                ),
                (RefusalKind::Throttled, _) => continue,
            };
            events.push(Event {
                at: at(r.after),
                message,
                kind: EventKind::EvictionRefused {
                    pod: name.clone(),
                    pdb: r.pdb.clone(),
                },
            });
        }
        events.push(Event {
            at: at(self.elapsed),
            message: if self.completed {
                "drain completed: every pod evicted".to_owned()
            } else {
                format!("drain timed out with {} pods left", self.pods_left.len())
            },
            kind: EventKind::DrainFinished {
                completed: self.completed,
            },
        });
        events.sort_by_key(|e| e.at);
        events
    }
}

/// The budget named in a 429 answer (`The disruption budget NAME needs …`
/// / `… is still being processed …`), from the causes or the message.
pub fn budget_named_in(status: &kube::core::Status) -> Option<String> {
    let texts = status
        .details
        .iter()
        .flat_map(|d| d.causes.iter().map(|c| c.message.as_str()))
        .chain(std::iter::once(status.message.as_str()));
    for text in texts {
        if let Some(rest) = text.split("disruption budget ").nth(1) {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '.')
                .collect();
            let name = name.trim_end_matches('.');
            if !name.is_empty() {
                return Some(name.to_owned());
            }
        }
    }
    None
}

/// A 429 is a budget refusal when its message or causes speak of a
/// disruption budget (`Cannot evict pod as it would violate the pod's
/// disruption budget.`, cause reason `DisruptionBudget`).
fn is_budget_refusal(status: &kube::core::Status) -> bool {
    status.message.contains("disruption budget")
        || status.details.iter().any(|d| {
            d.causes
                .iter()
                .any(|c| c.reason == "DisruptionBudget" || c.message.contains("disruption budget"))
        })
}

fn is_multiple_budgets(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("more than one poddisruptionbudget") || m.contains("multiple pdbs")
}

/// Evicts one pod through `POST …/pods/NAME/eviction`.
pub async fn evict(client: &Client, pod: &PodRef) -> Result<Eviction, ApiError> {
    let api: Api<Pod> = Api::namespaced(client.clone(), &pod.namespace);
    match api.evict(&pod.name, &EvictParams::default()).await {
        Ok(_) => Ok(Eviction::Evicted),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(Eviction::AlreadyGone),
        Err(kube::Error::Api(status)) if status.code == 429 => {
            let budget = is_budget_refusal(&status);
            Ok(Eviction::Refused {
                kind: if budget {
                    RefusalKind::Budget
                } else {
                    RefusalKind::Throttled
                },
                pdb: budget_named_in(&status),
                message: status.message.clone(),
            })
        }
        Err(kube::Error::Api(status))
            if status.code == 500 && is_multiple_budgets(&status.message) =>
        {
            Ok(Eviction::Refused {
                kind: RefusalKind::MultipleBudgets,
                pdb: None,
                message: status.message.clone(),
            })
        }
        Err(e) => Err(ApiError::from_kube("evict", format!("Pod {pod}"), e)),
    }
}

fn skip_reason(pod: &Pod) -> Option<SkipReason> {
    let meta = &pod.metadata;
    if meta
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key("kubernetes.io/config.mirror"))
    {
        return Some(SkipReason::Mirror);
    }
    if meta
        .owner_references
        .iter()
        .flatten()
        .any(|o| o.kind == "DaemonSet" && o.controller == Some(true))
    {
        return Some(SkipReason::DaemonSet);
    }
    if meta.deletion_timestamp.is_some() {
        return Some(SkipReason::Terminating);
    }
    if is_load_client(pod) {
        return Some(SkipReason::LoadClient);
    }
    None
}

struct Candidate {
    pod: PodRef,
    labels: BTreeMap<String, String>,
}

/// Drains the nodes `filter` selects; see the module doc.
pub async fn drain_zone(
    client: &Client,
    filter: &NodeFilter,
    opts: &DrainOptions,
) -> Result<DrainOutcome, ApiError> {
    let nodes: Vec<NodeName> = list_nodes(client, filter)
        .await?
        .into_iter()
        .map(|n| n.name)
        .collect();
    drain_nodes(client, &nodes, opts).await
}

/// The pods `pods` (one namespace or all) bound to `node`.
pub async fn pods_on_node(pods: &Api<Pod>, node: &NodeName) -> Result<Vec<Pod>, ApiError> {
    Ok(pods
        .list(&ListParams::default().fields(&format!("spec.nodeName={node}")))
        .await
        .map_err(|e| ApiError::from_kube("list pods of", format!("Node {node}"), e))?
        .items)
}

/// The abrupt counterpart of a drain: deletes `namespace`'s pods on `nodes`
/// with no grace period and no Eviction API (PDBs are not consulted, as a
/// reclaimed instance does not consult them). Pods already gone are fine;
/// the harness's load clients are left alone ([`is_load_client`]).
/// Returns the pods deleted.
pub async fn force_delete_pods_on(
    client: &Client,
    namespace: &str,
    nodes: &[NodeName],
) -> Result<Vec<PodRef>, ApiError> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let mut deleted = Vec::new();
    for node in nodes {
        for pod in pods_on_node(&pods, node).await? {
            if is_load_client(&pod) {
                continue;
            }
            let pod = PodRef::new(namespace, pod.metadata.name.unwrap_or_default());
            match pods
                .delete(&pod.name, &DeleteParams::default().grace_period(0))
                .await
            {
                Ok(_) => deleted.push(pod),
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => return Err(ApiError::from_kube("force-delete", pod.to_string(), e)),
            }
        }
    }
    Ok(deleted)
}

/// Drains the given nodes; see the module doc.
pub async fn drain_nodes(
    client: &Client,
    nodes: &[NodeName],
    opts: &DrainOptions,
) -> Result<DrainOutcome, ApiError> {
    let start = Instant::now();
    let deadline = start + opts.timeout;
    let pdb_ns = match &opts.scope {
        PodScope::Namespace(ns) => Some(ns.as_str()),
        PodScope::AllNamespaces => None,
    };
    let pdbs: Vec<PodDisruptionBudget> = list_pdbs(client, pdb_ns).await?;
    let budgets_before = pdbs
        .iter()
        .map(|p| {
            let name = p.metadata.name.clone().unwrap_or_default();
            let key = match pdb_ns {
                Some(_) => name,
                None => format!("{}/{name}", p.metadata.namespace.as_deref().unwrap_or("")),
            };
            (key, pdb_status(p))
        })
        .collect();

    let mut out = DrainOutcome {
        cordoned: Vec::new(),
        vanished: Vec::new(),
        skipped: Vec::new(),
        evicted: Vec::new(),
        refusals: Vec::new(),
        completed: false,
        pods_left: Vec::new(),
        budgets_before,
        elapsed: Duration::ZERO,
    };
    for node in nodes {
        match cordon(client, node).await? {
            Presence::Present => out.cordoned.push(node.clone()),
            Presence::Gone => out.vanished.push(node.clone()),
        }
    }

    let pods_api: Api<Pod> = match pdb_ns {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let mut remaining: Vec<Candidate> = Vec::new();
    for node in nodes {
        for pod in pods_on_node(&pods_api, node).await? {
            let pref = PodRef::new(
                pod.metadata.namespace.clone().unwrap_or_default(),
                pod.metadata.name.clone().unwrap_or_default(),
            );
            match skip_reason(&pod) {
                Some(reason) => out.skipped.push((pref, reason)),
                None => remaining.push(Candidate {
                    pod: pref,
                    labels: pod.metadata.labels.clone().unwrap_or_default(),
                }),
            }
        }
    }

    let mut round = 0u32;
    loop {
        let mut refused = Vec::new();
        for cand in remaining {
            match evict(client, &cand.pod).await? {
                answer @ (Eviction::Evicted | Eviction::AlreadyGone) => out.evicted.push(Evicted {
                    after: start.elapsed(),
                    pod: cand.pod,
                    already_gone: answer == Eviction::AlreadyGone,
                }),
                Eviction::Refused { kind, pdb, message } => {
                    // Not named in the answer: the one budget selecting the pod.
                    let pdb = match kind {
                        RefusalKind::Throttled => None,
                        _ => pdb.or_else(|| {
                            match pdbs_covering(&pdbs, &cand.pod.namespace, &cand.labels)[..] {
                                [one] => Some(one.to_owned()),
                                _ => None,
                            }
                        }),
                    };
                    tracing::debug!(pod = %cand.pod, ?pdb, "eviction refused");
                    out.refusals.push(Refusal {
                        after: start.elapsed(),
                        pod: cand.pod.clone(),
                        pdb,
                        kind,
                        message,
                    });
                    refused.push(cand);
                }
            }
        }
        remaining = refused;
        if remaining.is_empty() {
            out.completed = true;
            break;
        }
        let wake = Instant::now() + opts.backoff.delay(round);
        if wake >= deadline {
            tokio::time::sleep_until(deadline).await;
            break;
        }
        tokio::time::sleep_until(wake).await;
        round += 1;
    }
    out.pods_left = remaining.into_iter().map(|c| c.pod).collect();
    out.elapsed = start.elapsed();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_max() {
        let b = Backoff::default();
        let d: Vec<u64> = (0..5).map(|r| b.delay(r).as_secs()).collect();
        assert_eq!(d, vec![1, 2, 4, 5, 5]);
        assert_eq!(b.delay(u32::MAX), Duration::from_secs(5));
    }

    #[test]
    fn budget_name_is_read_from_the_cause() {
        let status: kube::core::Status = serde_json::from_value(serde_json::json!({
            "code": 429, "reason": "TooManyRequests",
            "message": "Cannot evict pod as it would violate the pod's disruption budget.",
            "details": {"causes": [{"reason": "DisruptionBudget",
                "message": "The disruption budget echo-c needs 2 healthy pods and has 2 currently"}]}
        }))
        .unwrap();
        assert_eq!(budget_named_in(&status).as_deref(), Some("echo-c"));
        let bare: kube::core::Status = serde_json::from_value(serde_json::json!({
            "code": 429, "message": "Cannot evict pod as it would violate the pod's disruption budget."
        }))
        .unwrap();
        assert_eq!(budget_named_in(&bare), None);
    }

    #[test]
    fn daemonset_and_mirror_pods_are_skipped() {
        let ds: Pod = serde_json::from_value(serde_json::json!({"metadata": {"name": "p",
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "d", "uid": "u", "controller": true}]}}))
        .unwrap();
        assert_eq!(skip_reason(&ds), Some(SkipReason::DaemonSet));
        let mirror: Pod = serde_json::from_value(serde_json::json!({"metadata": {"name": "p",
            "annotations": {"kubernetes.io/config.mirror": "x"}}}))
        .unwrap();
        assert_eq!(skip_reason(&mirror), Some(SkipReason::Mirror));
        let rs: Pod = serde_json::from_value(serde_json::json!({"metadata": {"name": "p",
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "d", "uid": "u", "controller": true}]}}))
        .unwrap();
        assert_eq!(skip_reason(&rs), None);
    }

    #[test]
    fn load_clients_are_never_evicted() {
        let client: Pod = serde_json::from_value(serde_json::json!({"metadata": {"name": "p",
            "labels": {"zonechaos.dev/role": "loadgen"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "d", "uid": "u", "controller": true}]}}))
        .unwrap();
        assert_eq!(skip_reason(&client), Some(SkipReason::LoadClient));
        let echo: Pod = serde_json::from_value(serde_json::json!({"metadata": {"name": "p",
            "labels": {"zonechaos.dev/role": "echo"}}}))
        .unwrap();
        assert_eq!(skip_reason(&echo), None);
    }
}
