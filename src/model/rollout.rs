//! The Argo Rollouts controller, as far as zone chaos needs it
//! (SEMANTICS.md §4): canary steps, canary scaling, weights written to the
//! named VirtualService routes only, DestinationRule subset hash injection,
//! InvalidSpec, promote, abort, progress deadline.

use serde::Serialize;

use crate::model::clock::{SimDuration, SimTime, parse_duration};
use std::sync::Arc;

use crate::model::mesh_config::MeshConfig;
use crate::topology::ObjectName;
use crate::topology::argo::{CanaryStep, RolloutSpec, split_ref};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// `.status.phase`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum RolloutPhase {
    /// Stable and fully available.
    Healthy,
    /// Working towards the desired state.
    Progressing,
    /// Waiting in a pause step.
    Paused,
    /// Invalid spec, aborted, or past the progress deadline.
    Degraded,
}

/// The Rollout status fields zonechaos reads, named as in the real object.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutStatus {
    /// `.status.phase`.
    pub phase: RolloutPhase,
    /// `.status.message`.
    pub message: String,
    /// `.status.currentStepIndex`.
    pub current_step_index: Option<usize>,
    /// `.status.canary.weights.canary.weight`.
    pub canary_weight: i32,
    /// `.status.canary.weights.stable.weight`.
    pub stable_weight: i32,
    /// `.status.stableRS`.
    #[serde(rename = "stableRS")]
    pub stable_rs: String,
    /// `.status.currentPodHash`.
    pub current_pod_hash: String,
    /// `.status.abort`.
    pub abort: bool,
    /// `.status.observedGeneration` (a string, as Argo writes it).
    pub observed_generation: String,
}

/// Controller state of one Rollout.
#[derive(Debug, Clone, PartialEq)]
pub struct RolloutState {
    /// Index of the workload it drives.
    pub workload: usize,
    /// Namespace and name.
    pub name: ObjectName,
    /// The spec (steps, traffic routing); shared, as reconciles only read it.
    pub spec: std::sync::Arc<RolloutSpec>,
    /// Hash of the stable ReplicaSet.
    pub stable_hash: String,
    /// Hash of the current (desired) template.
    pub current_hash: String,
    /// Image of the current template.
    pub current_image: String,
    /// Next step to run.
    pub step_index: usize,
    /// Canary weight last written to the routes.
    pub weight: i32,
    /// When the current timed pause started.
    pub pause_started: Option<SimTime>,
    /// A pause without duration waits for promote.
    pub paused_indefinitely: bool,
    /// When abort was requested.
    pub aborted_at: Option<SimTime>,
    /// Since when the stable ReplicaSet is not fully available.
    pub unavailable_since: Option<SimTime>,
    /// Last status.
    pub status: RolloutStatus,
    /// `metadata.generation`.
    pub generation: u64,
}

impl RolloutState {
    /// Equal to `other`, comparing the shared spec by pointer first (a
    /// reconcile never replaces it, so the deep compare is rarely needed).
    pub fn same_as(&self, other: &RolloutState) -> bool {
        // Exhaustive, so a new field cannot be forgotten here.
        let RolloutState {
            workload,
            name,
            spec,
            stable_hash,
            current_hash,
            current_image,
            step_index,
            weight,
            pause_started,
            paused_indefinitely,
            aborted_at,
            unavailable_since,
            status,
            generation,
        } = self;
        *workload == other.workload
            && *step_index == other.step_index
            && *weight == other.weight
            && *generation == other.generation
            && *pause_started == other.pause_started
            && *paused_indefinitely == other.paused_indefinitely
            && *aborted_at == other.aborted_at
            && *unavailable_since == other.unavailable_since
            && *stable_hash == other.stable_hash
            && *current_hash == other.current_hash
            && *current_image == other.current_image
            && *name == other.name
            && *status == other.status
            && (Arc::ptr_eq(spec, &other.spec) || **spec == *other.spec)
    }

    /// Starts a Rollout in its stable, healthy state.
    pub fn new(
        workload: usize,
        name: ObjectName,
        spec: RolloutSpec,
        hash: String,
        image: String,
    ) -> RolloutState {
        RolloutState {
            workload,
            name,
            spec: std::sync::Arc::new(spec),
            stable_hash: hash.clone(),
            current_hash: hash.clone(),
            current_image: image,
            step_index: 0,
            weight: 0,
            pause_started: None,
            paused_indefinitely: false,
            aborted_at: None,
            unavailable_since: None,
            status: RolloutStatus {
                phase: RolloutPhase::Healthy,
                message: String::new(),
                current_step_index: None,
                canary_weight: 0,
                stable_weight: 100,
                stable_rs: hash.clone(),
                current_pod_hash: hash,
                abort: false,
                observed_generation: "1".into(),
            },
            generation: 1,
        }
    }

    fn steps(&self) -> &[CanaryStep] {
        self.spec
            .strategy
            .canary
            .as_ref()
            .map_or(&[], |c| c.steps.as_slice())
    }

    /// True while a canary (a template differing from stable) is in flight.
    pub fn canary_active(&self) -> bool {
        self.current_hash != self.stable_hash
    }

    /// `spec.replicas`.
    pub fn replicas(&self) -> i32 {
        self.spec.replicas.unwrap_or(1)
    }

    /// Canary pods for a weight: ceil(weight x replicas / 100).
    pub fn canary_replicas_for(&self, weight: i32) -> i32 {
        let product = i64::from(weight.clamp(0, 100)) * i64::from(self.replicas().max(0));
        ((product + 99) / 100) as i32
    }

    /// The setWeight of the last step already run (the canary's target size).
    pub fn step_weight(&self) -> i32 {
        self.steps()[..self.step_index.min(self.steps().len())]
            .iter()
            .rev()
            .find_map(|s| s.set_weight)
            .unwrap_or(0)
    }

    fn abort_delay(&self) -> SimDuration {
        let secs = self
            .spec
            .strategy
            .canary
            .as_ref()
            .and_then(|c| c.abort_scale_down_delay_seconds)
            .unwrap_or(30);
        SimDuration::secs(u64::try_from(secs.max(0)).unwrap_or(0))
    }

    /// progressDeadlineSeconds (default 600).
    pub fn progress_deadline(&self) -> SimDuration {
        SimDuration::secs(
            u64::try_from(self.spec.progress_deadline_seconds.unwrap_or(600).max(0)).unwrap_or(600),
        )
    }
}

/// The pause length of a step, if it is a timed pause.
fn pause_duration(step: &CanaryStep) -> Option<Option<SimDuration>> {
    let pause = step.pause.as_ref()?;
    Some(match &pause.duration {
        None => None,
        Some(IntOrString::Int(s)) => Some(SimDuration::secs(u64::try_from(*s).unwrap_or(0))),
        Some(IntOrString::String(s)) => parse_duration(s).ok(),
    })
}

/// What the traffic router found wrong (Argo's InvalidSpec messages).
pub fn validate_routing(r: &RolloutState, mesh: &MeshConfig) -> Result<(), String> {
    let Some(istio) = r
        .spec
        .strategy
        .canary
        .as_ref()
        .and_then(|c| c.traffic_routing.as_ref())
        .and_then(|t| t.istio.as_ref())
    else {
        return Ok(());
    };
    let ns = &r.name.namespace;
    let dr = istio.destination_rule.as_ref();
    let canary = r.spec.strategy.canary.as_ref();
    for (_, vref) in istio.virtual_service_refs() {
        let (name, vns) = split_ref(&vref.name, ns);
        let Some(vs) = mesh.virtual_service(vns, name) else {
            // The API server's NotFound, as Argo returns it.
            return Err(format!(
                "virtualservices.networking.istio.io \"{name}\" not found"
            ));
        };
        let routes = route_indices(&vs.spec, vref.routes.as_deref())?;
        for &i in &routes {
            let route = &vs.spec.http[i];
            match dr {
                // Canary before stable, in upstream's words (argo-rollouts
                // rollout/trafficrouting/istio/istio.go validateDestinationRule:
                // the route is not named).
                Some(dr) => {
                    for (what, subset) in [
                        ("Canary", &dr.canary_subset_name),
                        ("Stable", &dr.stable_subset_name),
                    ] {
                        if !route
                            .route
                            .iter()
                            .any(|d| d.destination.subset.as_deref() == Some(subset.as_str()))
                        {
                            return Err(format!(
                                "{what} DestinationRule subset '{subset}' not found in route"
                            ));
                        }
                    }
                }
                None => {
                    for (what, svc) in [
                        ("Canary", canary.and_then(|c| c.canary_service.as_deref())),
                        ("Stable", canary.and_then(|c| c.stable_service.as_deref())),
                    ] {
                        let Some(svc) = svc else { continue };
                        if !route
                            .route
                            .iter()
                            .any(|d| host_is(&d.destination.host, svc))
                        {
                            return Err(format!("{what} Service '{svc}' not found in route"));
                        }
                    }
                }
            }
        }
        // After the destinations of the route it would use (ValidateHTTPRoutes).
        if omitted(vref.routes.as_deref()) && vs.spec.http.len() > 1 {
            return Err(AMBIGUOUS_ROUTES.into());
        }
    }
    if let Some(dref) = dr {
        let (name, dns) = split_ref(&dref.name, ns);
        let exists = mesh
            .destination_rules
            .iter()
            .any(|d| d.rejected.is_none() && d.name.namespace == dns && d.name.name == name);
        if !exists {
            // UpdateHash's Get: the API server's NotFound. A subset the
            // rule lacks is no error there (it is neither created nor
            // checked: istio.go UpdateHash), Istio then answers 503 NC.
            return Err(format!(
                "destinationrules.networking.istio.io \"{name}\" not found"
            ));
        }
    }
    Ok(())
}

/// Argo's words when routes are omitted and the VirtualService has several
/// (istio.go ValidateHTTPRoutes).
pub const AMBIGUOUS_ROUTES: &str = "spec.http[] should be set in VirtualService and it must have exactly one route when omitting spec.strategy.canary.trafficRouting.istio.virtualService.routes";

/// `routes` omitted or empty: Argo treats both alike (`len(routes) == 0`).
fn omitted(routes: Option<&[String]>) -> bool {
    routes.is_none_or(<[String]>::is_empty)
}

fn host_is(host: &str, service: &str) -> bool {
    host == service || host.split('.').next() == Some(service)
}

/// Indices of the routes a reference names (omitted: the only route, or
/// the first unnamed one; [`validate_routing`] refuses omitted routes on a
/// VirtualService with several).
fn route_indices(
    vs: &crate::topology::istio::VirtualServiceSpec,
    routes: Option<&[String]>,
) -> Result<Vec<usize>, String> {
    match routes {
        // Omitted: the only route, else the first unnamed one (none: no
        // route to patch, no error here; istio.go getHttpRouteIndexesToPatch).
        names if omitted(names) => Ok(match vs.http.len() {
            1 => vec![0],
            _ => vs
                .http
                .iter()
                .position(|r| r.name.is_none())
                .into_iter()
                .collect(),
        }),
        None => Ok(Vec::new()),
        Some(names) => names
            .iter()
            .map(|n| {
                vs.http
                    .iter()
                    .position(|r| r.name.as_deref() == Some(n.as_str()))
                    .ok_or_else(|| {
                        format!("HTTP Route '{n}' is not found in the defined Virtual Service.")
                    })
            })
            .collect(),
    }
}

/// What Argo does with a route destination (istio.go processRoutes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DestinationRole {
    /// Gets the canary weight.
    Canary,
    /// Gets the rest.
    Stable,
    /// Left as it is: a host starting with `.` names no Service Argo can
    /// match (getHost gives the empty name).
    Untouched,
    /// Kept at its weight, which comes out of the stable share: a subset
    /// the Rollout lists in `additionalSubsetNames`.
    Additional,
    /// Deleted.
    Other,
}

/// The part of a destination host Argo compares with stableService and
/// canaryService: everything before the first dot (istio.go `getHost`);
/// empty when the host starts with a dot.
pub fn argo_host(host: &str) -> &str {
    host.split('.').next().unwrap_or_default()
}

/// The role of a destination: canary or stable by its host's Service
/// *or* by its subset, whichever the Rollout names, in every mode;
/// canary first; then a subset listed in `additionalSubsetNames`. Lint
/// and the model both ask here.
pub fn destination_role(
    canary: &crate::topology::argo::CanaryStrategy,
    istio: &crate::topology::argo::IstioTrafficRouting,
    d: &crate::topology::istio::HttpRouteDestination,
) -> DestinationRole {
    let host = argo_host(&d.destination.host);
    if host.is_empty() {
        return DestinationRole::Untouched;
    }
    let subset = d.destination.subset.as_deref().filter(|s| !s.is_empty());
    let dr = istio.destination_rule.as_ref();
    let is = |service: &Option<String>, subset_name: Option<&String>| {
        service.as_deref() == Some(host)
            || subset.is_some_and(|s| subset_name.is_some_and(|n| n == s))
    };
    if is(&canary.canary_service, dr.map(|d| &d.canary_subset_name)) {
        DestinationRole::Canary
    } else if is(&canary.stable_service, dr.map(|d| &d.stable_subset_name)) {
        DestinationRole::Stable
    } else if subset
        .is_some_and(|s| dr.is_some_and(|d| d.additional_subset_names.iter().any(|n| n == s)))
    {
        DestinationRole::Additional
    } else {
        DestinationRole::Other
    }
}

/// The stable share of one route: 100 minus the canary weight minus the
/// weights of its additional-subset destinations, never below 0 (istio.go
/// processRoutes; Istio refuses negative weights).
fn stable_weight(
    canary: &crate::topology::argo::CanaryStrategy,
    istio: &crate::topology::argo::IstioTrafficRouting,
    route: &crate::topology::istio::HttpRoute,
    weight: i32,
) -> i64 {
    let additional: i64 = route
        .route
        .iter()
        .filter(|d| destination_role(canary, istio, d) == DestinationRole::Additional)
        .map(|d| d.weight.unwrap_or(0))
        .sum();
    (100 - i64::from(weight) - additional).max(0)
}

/// Writes the canary weight into the named routes: canary gets `weight`,
/// stable `100 - weight` less the additional subsets' weights, those keep
/// theirs, every other destination is deleted (full Update).
/// A VirtualService already in that state is left alone, so a shared mesh
/// is only copied when Argo would really write.
pub fn write_weights(r: &RolloutState, mesh: &mut Arc<MeshConfig>, weight: i32) {
    let Some(canary) = r.spec.strategy.canary.as_ref() else {
        return;
    };
    let Some(istio) = canary
        .traffic_routing
        .as_ref()
        .and_then(|t| t.istio.as_ref())
    else {
        return;
    };
    // What Argo writes into a destination of a route whose stable share is
    // `stable`; `None`: it leaves the weight (or deletes the destination).
    let want = |role: DestinationRole, stable: i64| match role {
        DestinationRole::Canary => Some(Some(i64::from(weight))),
        DestinationRole::Stable => Some(Some(stable)),
        DestinationRole::Untouched | DestinationRole::Additional | DestinationRole::Other => None,
    };
    for (_, vref) in istio.virtual_service_refs() {
        let (name, vns) = split_ref(&vref.name, &r.name.namespace);
        let Some(vs) = mesh.virtual_service(vns, name) else {
            continue;
        };
        let Ok(indices) = route_indices(&vs.spec, vref.routes.as_deref()) else {
            continue;
        };
        if omitted(vref.routes.as_deref()) && vs.spec.http.len() > 1 {
            continue;
        }
        // Argo compares weights only: it never annotates a VirtualService
        // (istio.go appendPatch; managed-by is set on DestinationRules).
        let written = indices.iter().all(|&i| {
            let route = &vs.spec.http[i];
            let stable = stable_weight(canary, istio, route, weight);
            route.route.iter().all(|d| {
                let role = destination_role(canary, istio, d);
                matches!(
                    role,
                    DestinationRole::Untouched | DestinationRole::Additional
                ) || want(role, stable) == Some(d.weight)
            })
        });
        if written {
            continue;
        }
        let Some(vs) = Arc::make_mut(mesh).virtual_service_mut(vns, name) else {
            continue;
        };
        for i in indices {
            let stable = stable_weight(canary, istio, &vs.spec.http[i], weight);
            vs.spec.http[i].route.retain_mut(|d| {
                let role = destination_role(canary, istio, d);
                if let Some(w) = want(role, stable) {
                    d.weight = w;
                }
                role != DestinationRole::Other
            });
        }
    }
}

/// Injects `rollouts-pod-template-hash` into the Rollout's two subsets and
/// drops every other subset (the merge patch replaces the whole list). A
/// DestinationRule already in that state is left alone (see
/// [`write_weights`]).
pub fn update_destination_rule_hashes(
    r: &RolloutState,
    mesh: &mut Arc<MeshConfig>,
    canary_hash: &str,
) {
    let Some(dref) = r
        .spec
        .strategy
        .canary
        .as_ref()
        .and_then(|c| c.traffic_routing.as_ref())
        .and_then(|t| t.istio.as_ref())
        .and_then(|i| i.destination_rule.as_ref())
    else {
        return;
    };
    let (name, ns) = split_ref(&dref.name, &r.name.namespace);
    let hash_of = |subset: &str| -> Option<&str> {
        if subset == dref.stable_subset_name {
            Some(&r.stable_hash)
        } else if subset == dref.canary_subset_name {
            Some(canary_hash)
        } else {
            None
        }
    };
    let Some(dr) = mesh.destination_rule(ns, name) else {
        return;
    };
    let written = dr.managed_by.as_deref() == Some(r.name.name.as_str())
        && dr.spec.subsets.iter().all(|s| {
            hash_of(&s.name).is_some_and(|h| {
                s.labels
                    .get("rollouts-pod-template-hash")
                    .map(String::as_str)
                    == Some(h)
            })
        });
    if written {
        return;
    }
    let Some(dr) = Arc::make_mut(mesh).destination_rule_mut(ns, name) else {
        return;
    };
    let mut kept = Vec::new();
    for mut subset in std::mem::take(&mut dr.spec.subsets) {
        let Some(hash) = hash_of(&subset.name) else {
            continue;
        };
        subset
            .labels
            .insert("rollouts-pod-template-hash".into(), hash.to_owned());
        kept.push(subset);
    }
    dr.spec.subsets = kept;
    dr.managed_by = Some(r.name.name.clone());
}

/// Advances a timed or indefinite pause; true when the step is done.
pub fn pause_done(r: &mut RolloutState, step: &CanaryStep, now: SimTime) -> bool {
    match pause_duration(step) {
        None => true,
        Some(None) => {
            r.paused_indefinitely = true;
            false
        }
        Some(Some(d)) => {
            let started = *r.pause_started.get_or_insert(now);
            if now >= started + d {
                r.pause_started = None;
                true
            } else {
                false
            }
        }
    }
}

/// Helper for the step loop: is this a pause step?
pub fn is_pause(step: &CanaryStep) -> bool {
    step.pause.is_some()
}

/// Time left of the abort scale-down delay.
pub fn abort_scale_down_due(r: &RolloutState, now: SimTime) -> bool {
    r.aborted_at.is_some_and(|t| now >= t + r.abort_delay())
}
