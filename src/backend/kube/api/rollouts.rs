//! Argo Rollouts (argoproj.io/v1alpha1) through [`DynamicObject`]: set the
//! canary image, promote/abort/retry as merge patches on the `/status`
//! subresource (SEMANTICS.md §4), and read the status back.
//!
//! Difference from `kubectl argo rollouts promote` (v1.9,
//! pkg/kubectl-argo-rollouts/cmd/promote/promote.go): upstream also
//! unpauses `spec.paused` with a spec patch, and when the Rollout has no
//! pause condition (e.g. in an analysis step) it sends
//! `{"status":{"pauseConditions":null,"currentStepIndex":N+1}}` to skip the
//! running step. [`promote`] sends exactly the SEMANTICS.md patch
//! `{"status":{"pauseConditions":null}}`, which promotes a Rollout paused at
//! a pause step (the only case the suites use). abort and retry are the
//! same as upstream (`{"status":{"abort":true}}`, `{"status":{"abort":false}}`).

use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};

use super::error::{ApiError, status_code};
use crate::model::rollout::{RolloutPhase, RolloutStatus};

/// How many times a patch answered with 409 Conflict is tried in all.
pub const CONFLICT_ATTEMPTS: u32 = 5;

/// The Rollout resource: argoproj.io/v1alpha1, plural `rollouts`, namespaced.
pub fn rollout_resource() -> ApiResource {
    super::apply::resource_for("argoproj.io/v1alpha1", "Rollout")
        .map(|k| k.resource)
        .expect("the kind table lists argoproj.io/v1alpha1 Rollout")
}

fn api(client: &Client, namespace: &str) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), namespace, &rollout_resource())
}

fn object(namespace: &str, name: &str) -> String {
    format!("Rollout {namespace}/{name}")
}

/// Sets the image of the container named `container` in the Rollout's pod
/// template, which starts a canary. The container list is read, changed
/// and written back as a merge patch carrying `metadata.resourceVersion`,
/// so a concurrent writer makes it fail with 409; then it reads again and
/// retries, [`CONFLICT_ATTEMPTS`] times in all.
pub async fn set_image(
    client: &Client,
    namespace: &str,
    name: &str,
    container: &str,
    image: &str,
) -> Result<(), ApiError> {
    edit_container(client, namespace, name, Some(container), |c| {
        c["image"] = json!(image);
    })
    .await
}

/// Sets the image and environment variables of one container (by name, or
/// the only one when `container` is `None`) in one patch, as a canary of
/// the harness's rendered workloads needs (image and `ZONECHAOS_VERSION`
/// change together). Same read-modify-write and 409 retries as
/// [`set_image`].
pub async fn set_image_and_env(
    client: &Client,
    namespace: &str,
    name: &str,
    container: Option<&str>,
    image: &str,
    env: &[(&str, &str)],
) -> Result<(), ApiError> {
    edit_container(client, namespace, name, container, |c| {
        c["image"] = json!(image);
        let mut vars = c
            .get("env")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for (k, v) in env {
            match vars
                .iter_mut()
                .find(|e| e.get("name").and_then(Value::as_str) == Some(k))
            {
                Some(e) => *e = json!({"name": k, "value": v}),
                None => vars.push(json!({"name": k, "value": v})),
            }
        }
        c["env"] = Value::Array(vars);
    })
    .await
}

async fn edit_container(
    client: &Client,
    namespace: &str,
    name: &str,
    container: Option<&str>,
    edit: impl Fn(&mut Value),
) -> Result<(), ApiError> {
    let api = api(client, namespace);
    let obj = || object(namespace, name);
    for _ in 0..CONFLICT_ATTEMPTS {
        let ro = api
            .get(name)
            .await
            .map_err(|e| ApiError::from_kube("read", obj(), e))?;
        let mut containers = ro
            .data
            .pointer("/spec/template/spec/containers")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let names: Vec<String> = containers
            .iter()
            .filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_owned))
            .collect();
        let only = containers.len() == 1;
        let Some(target) = containers.iter_mut().find(|c| match container {
            Some(want) => c.get("name").and_then(Value::as_str) == Some(want),
            None => only,
        }) else {
            return Err(ApiError::Invalid {
                object: obj(),
                problem: match container {
                    Some(want) => format!(
                        "no container named '{want}' in spec.template.spec.containers (it has: {})",
                        names.join(", ")
                    ),
                    None => format!(
                        "spec.template.spec.containers has {} containers ({}), not one",
                        names.len(),
                        names.join(", ")
                    ),
                },
                hint: "name one of its containers".into(),
            });
        };
        edit(target);
        let patch = json!({
            "metadata": {"resourceVersion": ro.metadata.resource_version},
            "spec": {"template": {"spec": {"containers": containers}}}
        });
        match api
            .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => return Ok(()),
            Err(e) if status_code(&e) == Some(409) => {
                tracing::debug!(rollout = name, "409 on a pod template patch; retrying");
                continue;
            }
            Err(e) => return Err(ApiError::from_kube("set the image of", obj(), e)),
        }
    }
    Err(ApiError::Conflict {
        action: "set the image of",
        object: object(namespace, name),
        attempts: CONFLICT_ATTEMPTS,
    })
}

async fn patch_status(
    client: &Client,
    namespace: &str,
    name: &str,
    action: &'static str,
    patch: Value,
) -> Result<(), ApiError> {
    let api = api(client, namespace);
    for _ in 0..CONFLICT_ATTEMPTS {
        match api
            .patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => return Ok(()),
            Err(e) if status_code(&e) == Some(409) => continue,
            Err(e) => return Err(ApiError::from_kube(action, object(namespace, name), e)),
        }
    }
    Err(ApiError::Conflict {
        action,
        object: object(namespace, name),
        attempts: CONFLICT_ATTEMPTS,
    })
}

/// Promote: `{"status":{"pauseConditions":null}}` on `/status` (see the module doc).
pub async fn promote(client: &Client, namespace: &str, name: &str) -> Result<(), ApiError> {
    let patch = json!({"status": {"pauseConditions": null}});
    patch_status(client, namespace, name, "promote", patch).await
}

/// Abort: `{"status":{"abort":true}}` on `/status`.
pub async fn abort(client: &Client, namespace: &str, name: &str) -> Result<(), ApiError> {
    let patch = json!({"status": {"abort": true}});
    patch_status(client, namespace, name, "abort", patch).await
}

/// Retry an aborted Rollout: `{"status":{"abort":false}}` on `/status`.
pub async fn retry(client: &Client, namespace: &str, name: &str) -> Result<(), ApiError> {
    let patch = json!({"status": {"abort": false}});
    patch_status(client, namespace, name, "retry", patch).await
}

/// `.status.phase`, trusted only once the controller observed the spec.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum PhaseReading {
    /// observedGeneration == metadata.generation: the phase is current.
    Observed(RolloutPhase),
    /// The controller has not yet reconciled the latest spec: the phase
    /// (if any) describes an older generation.
    NotYetObserved {
        /// `metadata.generation`.
        generation: Option<i64>,
        /// `.status.observedGeneration` (a string, as Argo writes it).
        observed_generation: Option<String>,
    },
    /// Observed, but a phase this code does not know (or none).
    Unknown(String),
}

/// A Rollout's status as read from the API server.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ObservedRollout {
    /// `metadata.name`.
    pub name: String,
    /// The phase, if it can be trusted.
    pub phase: PhaseReading,
    /// `.status.message`.
    pub message: String,
    /// `.status.currentStepIndex`.
    pub current_step_index: Option<usize>,
    /// `.status.canary.weights.canary.weight` (0 when absent).
    pub canary_weight: i32,
    /// `.status.canary.weights.stable.weight` (100 when absent).
    pub stable_weight: i32,
    /// `.status.stableRS`.
    pub stable_rs: String,
    /// `.status.currentPodHash`.
    pub current_pod_hash: String,
    /// `.status.abort`.
    pub abort: bool,
    /// `.status.observedGeneration`.
    pub observed_generation: Option<String>,
}

fn parse_phase(text: &str) -> Option<RolloutPhase> {
    Some(match text {
        "Healthy" => RolloutPhase::Healthy,
        "Progressing" => RolloutPhase::Progressing,
        "Paused" => RolloutPhase::Paused,
        "Degraded" => RolloutPhase::Degraded,
        _ => return None,
    })
}

impl ObservedRollout {
    /// Reads a Rollout object (as JSON); unknown fields are ignored.
    pub fn from_json(obj: &Value) -> ObservedRollout {
        let s = |p: &str| obj.pointer(p).and_then(Value::as_str).unwrap_or_default();
        let weight = |p: &str| obj.pointer(p).and_then(Value::as_i64).map(|w| w as i32);
        let generation = obj.pointer("/metadata/generation").and_then(Value::as_i64);
        let observed_generation = obj
            .pointer("/status/observedGeneration")
            .and_then(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            });
        let observed = match (generation, &observed_generation) {
            (Some(g), Some(o)) => o == &g.to_string(),
            _ => false,
        };
        let phase = if !observed {
            PhaseReading::NotYetObserved {
                generation,
                observed_generation: observed_generation.clone(),
            }
        } else {
            let text = s("/status/phase");
            match parse_phase(text) {
                Some(p) => PhaseReading::Observed(p),
                None => PhaseReading::Unknown(text.to_owned()),
            }
        };
        ObservedRollout {
            name: s("/metadata/name").to_owned(),
            phase,
            message: s("/status/message").to_owned(),
            current_step_index: obj
                .pointer("/status/currentStepIndex")
                .and_then(Value::as_u64)
                .map(|i| i as usize),
            canary_weight: weight("/status/canary/weights/canary/weight").unwrap_or(0),
            stable_weight: weight("/status/canary/weights/stable/weight").unwrap_or(100),
            stable_rs: s("/status/stableRS").to_owned(),
            current_pod_hash: s("/status/currentPodHash").to_owned(),
            abort: obj
                .pointer("/status/abort")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            observed_generation,
        }
    }

    /// The phase when it can be trusted.
    pub fn trusted_phase(&self) -> Option<RolloutPhase> {
        match self.phase {
            PhaseReading::Observed(p) => Some(p),
            _ => None,
        }
    }

    /// The model's [`RolloutStatus`], or None while the phase is not trusted.
    pub fn to_status(&self) -> Option<RolloutStatus> {
        Some(RolloutStatus {
            phase: self.trusted_phase()?,
            message: self.message.clone(),
            current_step_index: self.current_step_index,
            canary_weight: self.canary_weight,
            stable_weight: self.stable_weight,
            stable_rs: self.stable_rs.clone(),
            current_pod_hash: self.current_pod_hash.clone(),
            abort: self.abort,
            observed_generation: self.observed_generation.clone().unwrap_or_default(),
        })
    }
}

/// Reads a Rollout's status.
pub async fn read_rollout(
    client: &Client,
    namespace: &str,
    name: &str,
) -> Result<ObservedRollout, ApiError> {
    let ro = api(client, namespace)
        .get(name)
        .await
        .map_err(|e| ApiError::from_kube("read", object(namespace, name), e))?;
    let value = serde_json::to_value(&ro).map_err(|e| ApiError::Invalid {
        object: object(namespace, name),
        problem: format!("could not be re-encoded: {e}"),
        hint: "report this as a zonechaos bug".into(),
    })?;
    Ok(ObservedRollout::from_json(&value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phase_trusted_only_when_observed() {
        let ro = json!({
            "metadata": {"name": "echo-c", "generation": 3},
            "status": {"phase": "Paused", "observedGeneration": "3", "currentStepIndex": 1,
                "canary": {"weights": {"canary": {"weight": 20}, "stable": {"weight": 80}}},
                "stableRS": "abc", "currentPodHash": "def", "message": "CanaryPauseStep", "extra": 1}
        });
        let o = ObservedRollout::from_json(&ro);
        assert_eq!(o.phase, PhaseReading::Observed(RolloutPhase::Paused));
        let st = o.to_status().unwrap();
        assert_eq!((st.canary_weight, st.stable_weight), (20, 80));
        assert_eq!(st.current_step_index, Some(1));
        assert_eq!(st.observed_generation, "3");

        let mut stale = ro.clone();
        stale["metadata"]["generation"] = json!(4);
        let o = ObservedRollout::from_json(&stale);
        assert_eq!(o.trusted_phase(), None);
        assert!(o.to_status().is_none());
    }
}
