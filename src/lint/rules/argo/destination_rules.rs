//! ZC2004, ZC2005, ZC2013: the DestinationRule a Rollout names for
//! subset-level routing (SEMANTICS.md §4, §6 defect 5).

use std::collections::BTreeMap;

use super::{CanaryRollout, Role, istio_path, list, subset_name};
use crate::lint::catalog;
use crate::lint::context::LintContext;
use crate::lint::finding::Findings;
use crate::topology::istio::DestinationRuleSpec;
use crate::topology::{Kind, Object, Resource};

/// The DestinationRule the controller reads and writes for a Rollout: the
/// one with exactly this name in the Rollout's namespace. Unlike
/// virtualService, Argo does not read a `name.namespace` form here
/// (istio.go `getDestinationRule` and `UpdateHash` use the Rollout's
/// namespace and the name as written).
pub(super) fn find<'a>(
    ctx: &LintContext<'a>,
    namespace: &str,
    name: &str,
) -> Option<(&'a Object, &'a DestinationRuleSpec)> {
    let object = ctx.topology.find(Kind::DestinationRule, namespace, name)?;
    match &object.resource {
        Resource::DestinationRule(spec) => Some((object, spec)),
        _ => None,
    }
}

pub(super) fn check(ctx: &LintContext<'_>, rollouts: &[CanaryRollout<'_>], out: &mut Findings) {
    type Users<'a> = (&'a Object, &'a DestinationRuleSpec, Vec<CanaryRollout<'a>>);
    // (namespace, name) -> the DestinationRule and the Rollouts naming it.
    let mut users: BTreeMap<(&str, &str), Users<'_>> = BTreeMap::new();
    for r in rollouts {
        let Some(reference) = r.destination_rule() else {
            continue;
        };
        let name = reference.name.as_str();
        let Some((object, spec)) = find(ctx, r.namespace(), name) else {
            let elsewhere =
                name.contains('.') && ctx.destination_rule(name, r.namespace()).is_some();
            let message = if elsewhere {
                format!(
                    "{}: destinationRule '{name}' does not exist in namespace {}; Argo looks the DestinationRule up by this exact name in the Rollout's namespace and does not read the name.namespace form",
                    r.display(),
                    r.namespace()
                )
            } else {
                format!(
                    "{}: destinationRule '{name}' does not exist in namespace {}; every reconcile fails (DestinationRuleNotFound) and the subsets never get the pod-template hash",
                    r.display(),
                    r.namespace()
                )
            };
            out.at(
                &catalog::DESTINATION_RULE_NOT_FOUND,
                r.object,
                &istio_path(&crate::path!["destinationRule", "name"]),
                message,
                format!(
                    "add a DestinationRule named '{name}' in namespace {} with the Rollout's stable and canary subsets, or fix destinationRule.name",
                    r.namespace()
                ),
            );
            continue;
        };
        for role in Role::BOTH {
            let subset = subset_name(reference, role);
            if spec.subsets.iter().any(|s| s.name == subset) {
                continue;
            }
            let defined: Vec<String> = spec
                .subsets
                .iter()
                .map(|s| format!("'{}'", s.name))
                .collect();
            out.at(
                &catalog::SUBSET_NOT_FOUND,
                r.object,
                &istio_path(&crate::path!["destinationRule", role.subset_field()]),
                format!(
                    "{}: {} '{subset}' is not a subset of {} (it defines {})",
                    r.display(),
                    role.subset_field(),
                    object.display_name(),
                    if defined.is_empty() { "no subsets".to_owned() } else { list(&defined) }
                ),
                format!(
                    "add a subset named '{subset}' to {} (Argo injects rollouts-pod-template-hash into its labels), or fix destinationRule.{}",
                    object.display_name(),
                    role.subset_field()
                ),
            );
        }
        users
            .entry((object.name.namespace.as_str(), object.name.name.as_str()))
            .or_insert_with(|| (object, spec, Vec::new()))
            .2
            .push(*r);
    }
    // ZC2004 is reported once, on the DestinationRule: the defect is the
    // sharing itself and its fix is to split that one object, so one
    // finding that lists every Rollout says it all, where one finding per
    // Rollout would repeat the same error N times.
    for (object, spec, rs) in users.values() {
        let mut distinct: Vec<&CanaryRollout<'_>> = Vec::new();
        for r in rs {
            if !distinct.iter().any(|d| d.same(r)) {
                distinct.push(r);
            }
        }
        if distinct.len() < 2 {
            continue;
        }
        let names: Vec<String> = distinct.iter().map(|r| r.display()).collect();
        out.at(
            &catalog::DESTINATION_RULE_SHARED,
            object,
            &crate::path!["spec", "subsets"],
            format!(
                "{} is used by {} Rollouts ({}): on every reconcile each Rollout rewrites spec.subsets to its own stable and canary subsets and drops the other Rollouts' subsets, so their routes lose their subsets in turn",
                object.display_name(),
                distinct.len(),
                list(&names)
            ),
            format!(
                "give each Rollout its own DestinationRule for host '{}' holding only its two subsets: Istio merges DestinationRules of the same host, keeping the oldest one's trafficPolicy, so repeat the same trafficPolicy in each (SEMANTICS.md §3)",
                spec.host
            ),
        );
    }
}
