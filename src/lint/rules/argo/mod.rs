//! ZC2xxx: Argo Rollouts traffic routing with Istio (SEMANTICS.md §4).
//!
//! The rules predict what the Argo Rollouts controller (v1.9.1, read in
//! `rollout/trafficrouting/istio/istio.go` and
//! `pkg/apis/rollouts/validation/validation_references.go`) does with a
//! canary Rollout's `trafficRouting.istio` and its stable and canary
//! Services:
//!
//! - [`services`]: ZC2007-ZC2009, for every canary Rollout that names a
//!   stableService or canaryService, with or without traffic routing.
//! - [`destination_rules`]: ZC2004, ZC2005, ZC2013.
//! - [`routes`]: ZC2001-ZC2003, ZC2006, ZC2010, ZC2012 for the Rollout's
//!   VirtualServices, and ZC2011 for every VirtualService route.

mod destination_rules;
mod routes;
mod services;
#[cfg(test)]
mod tests;

use crate::lint::context::LintContext;
use crate::lint::finding::Findings;
use crate::topology::argo::{
    CanaryStrategy, IstioDestinationRuleRef, IstioTrafficRouting, RolloutSpec,
};
use crate::topology::labels::Labels;
use crate::topology::yaml::PathSeg;
use crate::topology::{Kind, Object, Resource};

/// Runs the Argo Rollouts rules.
pub fn check(ctx: &LintContext<'_>, out: &mut Findings) {
    let rollouts: Vec<CanaryRollout<'_>> = ctx
        .topology
        .rollouts()
        .filter_map(|(object, spec)| CanaryRollout::of(object, spec))
        .collect();
    services::check(ctx, &rollouts, out);
    destination_rules::check(ctx, &rollouts, out);
    routes::check(ctx, &rollouts, out);
    routes::check_weights(ctx, out);
}

/// A Rollout with the canary strategy: the only one the Istio router and
/// the stable/canary Services apply to.
#[derive(Debug, Clone, Copy)]
struct CanaryRollout<'a> {
    object: &'a Object,
    spec: &'a RolloutSpec,
    canary: &'a CanaryStrategy,
}

impl<'a> CanaryRollout<'a> {
    fn of(object: &'a Object, spec: &'a RolloutSpec) -> Option<CanaryRollout<'a>> {
        spec.strategy.canary.as_ref().map(|canary| CanaryRollout {
            object,
            spec,
            canary,
        })
    }

    fn namespace(&self) -> &'a str {
        &self.object.name.namespace
    }

    /// `Rollout namespace/name`.
    fn display(&self) -> String {
        self.object.display_name()
    }

    /// Same Rollout (a duplicated manifest counts as one Rollout).
    fn same(&self, other: &CanaryRollout<'_>) -> bool {
        self.object.name == other.object.name
    }

    fn istio(&self) -> Option<&'a IstioTrafficRouting> {
        self.canary.traffic_routing.as_ref()?.istio.as_ref()
    }

    fn destination_rule(&self) -> Option<&'a IstioDestinationRuleRef> {
        self.istio()?.destination_rule.as_ref()
    }

    /// The stable or canary Service name, when set and not empty.
    fn service(&self, role: Role) -> Option<&'a str> {
        let name = match role {
            Role::Stable => &self.canary.stable_service,
            Role::Canary => &self.canary.canary_service,
        };
        name.as_deref().filter(|n| !n.is_empty())
    }

    /// Labels of the pods the Rollout creates: its template's, or those of
    /// the Deployment its `workloadRef` names. `None` when unknown.
    fn pod_labels(&self, ctx: &LintContext<'_>) -> Option<Labels> {
        if let Some(reference) = &self.spec.workload_ref {
            let kind = reference.get("kind").and_then(|k| k.as_str());
            let name = reference.get("name").and_then(|n| n.as_str())?;
            if kind.is_some_and(|k| k != "Deployment") {
                return None;
            }
            let deployment = ctx
                .topology
                .find(Kind::Deployment, self.namespace(), name)?;
            return match &deployment.resource {
                Resource::Deployment(spec) => Some(
                    spec.template
                        .metadata
                        .as_ref()
                        .and_then(|m| m.labels.clone())
                        .unwrap_or_default(),
                ),
                _ => None,
            };
        }
        let template = self.spec.template.as_ref()?;
        Some(
            template
                .metadata
                .as_ref()
                .and_then(|m| m.labels.clone())
                .unwrap_or_default(),
        )
    }
}

/// The two ReplicaSets a canary Rollout routes between.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Role {
    Stable,
    Canary,
}

impl Role {
    /// In the order Argo checks a route: canary first.
    const BOTH: [Role; 2] = [Role::Canary, Role::Stable];

    fn service_field(self) -> &'static str {
        match self {
            Role::Stable => "stableService",
            Role::Canary => "canaryService",
        }
    }

    fn subset_field(self) -> &'static str {
        match self {
            Role::Stable => "stableSubsetName",
            Role::Canary => "canarySubsetName",
        }
    }

    /// Capitalised, as Argo's messages spell it.
    fn title(self) -> &'static str {
        match self {
            Role::Stable => "Stable",
            Role::Canary => "Canary",
        }
    }
}

/// The subset a DestinationRule reference names for a role.
fn subset_name(reference: &IstioDestinationRuleRef, role: Role) -> &str {
    match role {
        Role::Stable => &reference.stable_subset_name,
        Role::Canary => &reference.canary_subset_name,
    }
}

/// `base` followed by `tail`.
fn join(base: &[PathSeg], tail: &[PathSeg]) -> Vec<PathSeg> {
    base.iter().chain(tail).cloned().collect()
}

/// `spec.strategy.canary` followed by `tail`.
fn canary_path(tail: &[PathSeg]) -> Vec<PathSeg> {
    join(&crate::path!["spec", "strategy", "canary"], tail)
}

/// `spec.strategy.canary.trafficRouting.istio` followed by `tail`.
fn istio_path(tail: &[PathSeg]) -> Vec<PathSeg> {
    join(&canary_path(&crate::path!["trafficRouting", "istio"]), tail)
}

/// `a, b and c` style list of names.
fn list(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}
