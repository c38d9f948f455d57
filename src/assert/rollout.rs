//! Rollout state and per-zone canary route isolation.

use crate::assert::{Check, Ctx};
use crate::spec::{IsolationSpec, RolloutStateSpec};
use crate::topology::argo::split_ref;

/// Phase, step and canary weight of a Rollout.
pub fn rollout_state(a: &RolloutStateSpec, ctx: &Ctx<'_>) -> Check {
    let Some(s) = ctx.backend.rollout_status(&a.rollout) else {
        return Check::new(
            false,
            format!("Rollout {} not found", a.rollout),
            serde_json::Value::Null,
        );
    };
    let mut problems = Vec::new();
    let phase = format!("{:?}", s.phase);
    let step = s
        .current_step_index
        .map_or_else(|| "-".to_owned(), |i| i.to_string());
    if let Some(want) = a.phase
        && want != s.phase
    {
        problems.push(format!("phase {phase}, expected {want:?}"));
    }
    if let Some(want) = a.step
        && s.current_step_index != Some(want)
    {
        problems.push(format!("step {step}, expected {want}"));
    }
    if let Some(want) = a.canary_weight
        && s.canary_weight != want
    {
        problems.push(format!(
            "canary weight {}, expected {want}",
            s.canary_weight
        ));
    }
    let evidence = serde_json::to_value(&s).unwrap_or_default();
    if problems.is_empty() {
        Check::new(
            true,
            format!(
                "Rollout {}: {phase}, step {step}, canary weight {} {}",
                a.rollout, s.canary_weight, s.message
            )
            .trim_end()
            .to_owned(),
            evidence,
        )
    } else {
        Check::new(
            false,
            format!(
                "Rollout {}: {} ({})",
                a.rollout,
                problems.join(", "),
                s.message
            ),
            evidence,
        )
    }
}

/// Since the Rollout's `canary` step, only the routes it names changed.
pub fn route_isolation(a: &IsolationSpec, ctx: &Ctx<'_>) -> Check {
    let Some(before) = ctx.memory.canary_baseline.get(&a.rollout) else {
        return Check::new(
            false,
            format!("no canary step of {} ran before this assertion", a.rollout),
            serde_json::Value::Null,
        );
    };
    let own: Vec<(String, String)> = ctx
        .topology
        .rollouts()
        .filter(|(o, _)| o.name.name == a.rollout)
        .flat_map(|(o, spec)| {
            let ns = o.name.namespace.clone();
            spec.strategy
                .canary
                .iter()
                .flat_map(|c| c.traffic_routing.iter())
                .flat_map(|t| t.istio.iter())
                .flat_map(|i| {
                    i.virtual_service_refs()
                        .into_iter()
                        .map(|(_, v)| v.clone())
                        .collect::<Vec<_>>()
                })
                .flat_map(move |v| {
                    let (name, vns) = split_ref(&v.name, &ns);
                    let vs = format!("{vns}/{name}");
                    v.routes
                        .unwrap_or_default()
                        .into_iter()
                        .map(move |r| (vs.clone(), r))
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let now = ctx.backend.route_weights();
    let changed: Vec<(String, String)> = now
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(*v))
        .map(|(k, _)| k.clone())
        .collect();
    let foreign: Vec<String> = changed
        .iter()
        .filter(|k| !own.contains(k))
        .map(|(vs, r)| format!("{vs} route {r}"))
        .collect();
    let evidence = serde_json::json!({
        "ownRoutes": own.iter().map(|(vs, r)| format!("{vs} {r}")).collect::<Vec<_>>(),
        "changed": changed.iter().map(|(vs, r)| format!("{vs} {r}")).collect::<Vec<_>>(),
        "weightsNow": now.iter().map(|((vs, r), w)| (format!("{vs} {r}"), w)).collect::<std::collections::BTreeMap<_, _>>(),
    });
    if changed.is_empty() {
        return Check::new(
            false,
            format!(
                "no route changed since the canary of {} started: the canary never received weight",
                a.rollout
            ),
            evidence,
        );
    }
    if foreign.is_empty() {
        Check::new(
            true,
            format!(
                "the canary of {} changed only its own routes ({})",
                a.rollout,
                changed
                    .iter()
                    .map(|(_, r)| r.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            evidence,
        )
    } else {
        Check::new(
            false,
            format!(
                "the canary of {} also changed {}",
                a.rollout,
                foreign.join(", ")
            ),
            evidence,
        )
    }
}
