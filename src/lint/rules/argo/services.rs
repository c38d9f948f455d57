//! ZC2007-ZC2009: the stable and canary Services of canary Rollouts. They
//! apply whenever stableService or canaryService is set, with or without
//! traffic routing: the controller patches both Services' selectors with
//! `rollouts-pod-template-hash` either way (SEMANTICS.md §4).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ServiceSpec;

use super::{CanaryRollout, Role, canary_path, list};
use crate::lint::catalog;
use crate::lint::context::LintContext;
use crate::lint::finding::Findings;
use crate::topology::yaml::PathSeg;

/// The selector key Argo manages itself; validation skips it
/// (validation_references.go `ValidateService`).
const POD_TEMPLATE_HASH: &str = "rollouts-pod-template-hash";

pub(super) fn check(ctx: &LintContext<'_>, rollouts: &[CanaryRollout<'_>], out: &mut Findings) {
    // (namespace, Service) -> every (Rollout, role) naming it, in file order.
    let mut users: BTreeMap<(&str, &str), Vec<(CanaryRollout<'_>, Role)>> = BTreeMap::new();
    for r in rollouts {
        for role in Role::BOTH {
            let Some(name) = r.service(role) else {
                continue;
            };
            let path = canary_path(&crate::path![role.service_field()]);
            match ctx.service(r.namespace(), name) {
                None => out.at(
                    &catalog::SERVICE_NOT_FOUND,
                    r.object,
                    &path,
                    format!(
                        "{}: {} '{name}' does not exist in namespace {}; the Rollout is InvalidSpec until it does",
                        r.display(),
                        role.service_field(),
                        r.namespace()
                    ),
                    format!(
                        "add Service {}/{name} selecting the Rollout's pod labels, or fix spec.strategy.canary.{}",
                        r.namespace(),
                        role.service_field()
                    ),
                ),
                Some((_, spec)) => check_selector(ctx, r, role, name, spec, &path, out),
            }
            users
                .entry((r.namespace(), name))
                .or_default()
                .push((*r, role));
        }
    }
    for ((namespace, name), uses) in &users {
        let first = uses[0].0;
        for (r, role) in uses.iter().filter(|(r, _)| !r.same(&first)) {
            let others: Vec<String> = uses
                .iter()
                .filter(|(o, _)| !o.same(r))
                .map(|(o, other_role)| format!("{} of {}", other_role.service_field(), o.display()))
                .collect();
            out.at(
                &catalog::SERVICE_SHARED,
                r.object,
                &canary_path(&crate::path![role.service_field()]),
                format!(
                    "{}: {} {namespace}/{name} is also the {}; each Rollout patches its selector with its own rollouts-pod-template-hash, so it reaches one Rollout's pods at a time (Argo: Service \"{name}\" is managed by another Rollout)",
                    r.display(),
                    role.service_field(),
                    list(&others)
                ),
                "give every Rollout its own stableService and canaryService (e.g. web-stable-a / web-canary-a for the zone-a Rollout)",
            );
        }
    }
}

/// ZC2008: every selector entry (but the pod-template hash) must be a label
/// of the Rollout's pods.
fn check_selector(
    ctx: &LintContext<'_>,
    r: &CanaryRollout<'_>,
    role: Role,
    name: &str,
    service: &ServiceSpec,
    path: &[PathSeg],
    out: &mut Findings,
) {
    let Some(selector) = service.selector.as_ref().filter(|s| !s.is_empty()) else {
        return;
    };
    let Some(labels) = r.pod_labels(ctx) else {
        return;
    };
    let unmatched: Vec<(&String, &String)> = selector
        .iter()
        .filter(|(k, v)| k.as_str() != POD_TEMPLATE_HASH && labels.get(*k) != Some(*v))
        .collect();
    let Some((first_key, _)) = unmatched.first() else {
        return;
    };
    let wanted: Vec<String> = unmatched.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let have: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    out.at(
        &catalog::SERVICE_SELECTOR_MISMATCH,
        r.object,
        path,
        format!(
            "{}: {} {}/{name} selects {} but the pod template labels are {{{}}}, so it reaches none of this Rollout's pods (Argo: Service \"{name}\" has unmatch label \"{first_key}\" in rollout)",
            r.display(),
            role.service_field(),
            r.namespace(),
            wanted.join(", "),
            have.join(", ")
        ),
        "make the Service selector a subset of spec.template.metadata.labels (Argo adds rollouts-pod-template-hash itself)",
    );
}
