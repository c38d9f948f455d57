//! Readiness waits in the style of kube-runtime's `await_condition`: a
//! small condition function judges the object (or its absence), and
//! [`await_condition`] polls `GET` until it holds or the timeout passes.
//! Polling rather than a watch keeps it simple and easy to mock; time comes
//! from `tokio::time`, so tests run it under `tokio::time::pause`.
//!
//! On timeout the error says what was awaited and the last state observed.

use std::fmt::Debug;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, ListParams};
use kube::{Client, Resource};
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use super::error::{ApiError, brief, is_transient};
use super::nodes::{NodeReadiness, readiness_of};
use super::rollouts::{ObservedRollout, PhaseReading, rollout_resource};
use super::types::NodeName;
use crate::model::rollout::RolloutPhase;

/// A condition's judgement of the current state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The condition holds.
    Met,
    /// Not yet; the text describes what was seen.
    NotYet(String),
}

/// Poll interval and timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitOptions {
    /// Time between polls.
    pub interval: Duration,
    /// Give up after this long.
    pub timeout: Duration,
}

impl WaitOptions {
    /// Poll every second up to `timeout`.
    pub fn timeout(timeout: Duration) -> WaitOptions {
        WaitOptions {
            interval: Duration::from_secs(1),
            timeout,
        }
    }
}

/// Polls object `name` of `api` until `cond` is [`Verdict::Met`]; `what`
/// names the wait in the timeout error. A 404 is passed to `cond` as `None`;
/// transient API errors (unreachable, 429, 5xx: the API server restarting
/// during installs) are polled through and reported as the last state;
/// other errors (403, ...) end the wait at once.
/// Returns the object as last read (None when it is gone).
pub async fn await_condition<K>(
    api: &Api<K>,
    name: &str,
    what: &str,
    opts: WaitOptions,
    cond: impl Fn(Option<&K>) -> Verdict,
) -> Result<Option<K>, ApiError>
where
    K: Resource + Clone + DeserializeOwned + Debug,
{
    let start = Instant::now();
    loop {
        let last = match api.get_opt(name).await {
            Ok(obj) => match cond(obj.as_ref()) {
                Verdict::Met => return Ok(obj),
                Verdict::NotYet(state) => state,
            },
            Err(e) if is_transient(&e) => brief(&e),
            Err(e) => return Err(ApiError::from_kube("wait for", what.to_owned(), e)),
        };
        if start.elapsed() + opts.interval > opts.timeout {
            return Err(ApiError::Timeout {
                what: what.to_owned(),
                waited: start.elapsed(),
                last,
            });
        }
        tokio::time::sleep(opts.interval).await;
    }
}

/// Conditions for [`await_condition`].
pub mod conditions {
    use super::*;

    fn condition_status<'a>(
        conds: impl IntoIterator<Item = (&'a str, &'a str, Option<&'a str>)>,
        type_: &str,
    ) -> Verdict {
        let mut seen = Vec::new();
        for (t, s, msg) in conds {
            if t == type_ && s == "True" {
                return Verdict::Met;
            }
            seen.push(match msg {
                Some(m) if !m.is_empty() => format!("{t}={s} ({m})"),
                _ => format!("{t}={s}"),
            });
        }
        if seen.is_empty() {
            Verdict::NotYet("no conditions yet".into())
        } else {
            Verdict::NotYet(seen.join(", "))
        }
    }

    /// A Deployment's `Available` condition is True.
    pub fn deployment_available(d: Option<&Deployment>) -> Verdict {
        let Some(d) = d else {
            return Verdict::NotYet("the Deployment does not exist".into());
        };
        let conds = d.status.iter().flat_map(|s| s.conditions.iter().flatten());
        condition_status(
            conds.map(|c| (c.type_.as_str(), c.status.as_str(), c.message.as_deref())),
            "Available",
        )
    }

    /// A CRD's `Established` condition is True.
    pub fn crd_established(c: Option<&CustomResourceDefinition>) -> Verdict {
        let Some(c) = c else {
            return Verdict::NotYet("the CRD does not exist".into());
        };
        let conds = c.status.iter().flat_map(|s| s.conditions.iter().flatten());
        condition_status(
            conds.map(|c| (c.type_.as_str(), c.status.as_str(), c.message.as_deref())),
            "Established",
        )
    }

    /// The node's `Ready` condition is True.
    pub fn node_ready(n: Option<&Node>) -> Verdict {
        match n.map(readiness_of) {
            Some(NodeReadiness::Ready) => Verdict::Met,
            Some(r) => Verdict::NotYet(format!("{r:?}")),
            None => Verdict::NotYet("the Node does not exist".into()),
        }
    }

    /// The Node object is gone.
    pub fn node_gone(n: Option<&Node>) -> Verdict {
        match n {
            None => Verdict::Met,
            Some(n) => Verdict::NotYet(format!("still present, {:?}", readiness_of(n))),
        }
    }

    /// The Rollout's trusted phase is `phase`.
    pub fn rollout_phase(phase: RolloutPhase) -> impl Fn(Option<&DynamicObject>) -> Verdict {
        move |r| {
            let Some(r) = r else {
                return Verdict::NotYet("the Rollout does not exist".into());
            };
            let value = serde_json::to_value(r).unwrap_or_default();
            let o = ObservedRollout::from_json(&value);
            match &o.phase {
                PhaseReading::Observed(p) if *p == phase => Verdict::Met,
                PhaseReading::Observed(p) => Verdict::NotYet(format!("phase {p:?}: {}", o.message)),
                PhaseReading::NotYetObserved {
                    generation,
                    observed_generation,
                } => Verdict::NotYet(format!(
                    "generation {generation:?} not yet observed (observedGeneration {observed_generation:?})"
                )),
                PhaseReading::Unknown(t) => Verdict::NotYet(format!("phase '{t}'")),
            }
        }
    }

    /// A pod is Ready (condition `Ready=True`).
    pub fn pod_ready(p: &Pod) -> bool {
        p.status
            .iter()
            .flat_map(|s| s.conditions.iter().flatten())
            .any(|c| c.type_ == "Ready" && c.status == "True")
    }
}

/// Waits until the Deployment is Available.
pub async fn wait_deployment_available(
    client: &Client,
    namespace: &str,
    name: &str,
    opts: WaitOptions,
) -> Result<(), ApiError> {
    let api: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let what = format!("Deployment {namespace}/{name} Available");
    await_condition(&api, name, &what, opts, conditions::deployment_available)
        .await
        .map(drop)
}

/// Waits until the CRD (`rollouts.argoproj.io`) is Established.
pub async fn wait_crd_established(
    client: &Client,
    name: &str,
    opts: WaitOptions,
) -> Result<(), ApiError> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let what = format!("CustomResourceDefinition {name} Established");
    await_condition(&api, name, &what, opts, conditions::crd_established)
        .await
        .map(drop)
}

/// Waits until the Rollout's observed phase is `phase`.
pub async fn wait_rollout_phase(
    client: &Client,
    namespace: &str,
    name: &str,
    phase: RolloutPhase,
    opts: WaitOptions,
) -> Result<(), ApiError> {
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), namespace, &rollout_resource());
    let what = format!("Rollout {namespace}/{name} {phase:?}");
    await_condition(&api, name, &what, opts, conditions::rollout_phase(phase))
        .await
        .map(drop)
}

/// Waits until the node is Ready.
pub async fn wait_node_ready(
    client: &Client,
    node: &NodeName,
    opts: WaitOptions,
) -> Result<(), ApiError> {
    wait_node(client, node, "Ready", conditions::node_ready, opts).await
}

/// Waits until the Node object is gone (deleted).
pub async fn wait_node_gone(
    client: &Client,
    node: &NodeName,
    opts: WaitOptions,
) -> Result<(), ApiError> {
    wait_node(client, node, "deleted", conditions::node_gone, opts).await
}

async fn wait_node(
    client: &Client,
    node: &NodeName,
    state: &str,
    cond: fn(Option<&Node>) -> Verdict,
    opts: WaitOptions,
) -> Result<(), ApiError> {
    let api: Api<Node> = Api::all(client.clone());
    let what = format!("Node {node} {state}");
    await_condition(&api, &node.0, &what, opts, cond)
        .await
        .map(drop)
}

/// Waits until at least `min` pods of `selector` in `namespace` are Ready;
/// returns how many are.
pub async fn wait_pods_ready(
    client: &Client,
    namespace: &str,
    selector: &str,
    min: usize,
    opts: WaitOptions,
) -> Result<usize, ApiError> {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let what = format!("{min} Ready pods of {selector} in {namespace}");
    let start = Instant::now();
    loop {
        let last = match api.list(&ListParams::default().labels(selector)).await {
            Ok(list) => {
                let ready = list
                    .items
                    .iter()
                    .filter(|p| conditions::pod_ready(p))
                    .count();
                if ready >= min {
                    return Ok(ready);
                }
                format!("{ready} of {} pods Ready", list.items.len())
            }
            Err(e) if is_transient(&e) => brief(&e),
            Err(e) => return Err(ApiError::from_kube("wait for", what, e)),
        };
        if start.elapsed() + opts.interval > opts.timeout {
            return Err(ApiError::Timeout {
                what,
                waited: start.elapsed(),
                last,
            });
        }
        tokio::time::sleep(opts.interval).await;
    }
}

#[cfg(test)]
mod tests {
    use super::conditions::*;
    use super::*;

    #[test]
    fn crd_established_reads_its_condition() {
        let crd: CustomResourceDefinition = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "rollouts.argoproj.io"},
            "spec": {"group": "argoproj.io", "scope": "Namespaced",
                     "names": {"plural": "rollouts", "kind": "Rollout"}, "versions": []},
            "status": {"conditions": [
                {"type": "NamesAccepted", "status": "True"},
                {"type": "Established", "status": "False", "message": "not yet"}
            ]}
        }))
        .unwrap();
        assert_eq!(
            crd_established(Some(&crd)),
            Verdict::NotYet("NamesAccepted=True, Established=False (not yet)".into())
        );
        let mut ok = crd.clone();
        ok.status.as_mut().unwrap().conditions.as_mut().unwrap()[1].status = "True".into();
        assert_eq!(crd_established(Some(&ok)), Verdict::Met);
        assert!(matches!(crd_established(None), Verdict::NotYet(_)));
    }

    #[test]
    fn rollout_phase_waits_for_the_observed_generation() {
        let ro: DynamicObject = serde_json::from_value(serde_json::json!({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
            "metadata": {"name": "echo-c", "generation": 2},
            "status": {"phase": "Healthy", "observedGeneration": "1"}
        }))
        .unwrap();
        let cond = rollout_phase(RolloutPhase::Healthy);
        assert!(matches!(cond(Some(&ro)), Verdict::NotYet(s) if s.contains("not yet observed")));
    }
}
