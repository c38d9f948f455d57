//! Chaos and rollout actions applied to the model's world. `sim` applies
//! them alone; `local` applies them here and mirrors the result into real
//! processes and Envoy configuration.

use crate::backend::BackendError;
use crate::model::World;
use crate::spec::{Action, SpotLossMode, WaitSpec};
use crate::zone::Zone;

/// Zones the suite spot-loses in mode `blackhole` (steps and finally),
/// sorted: where backends need a network of their own, and whose failed
/// requests show only when the clients give up.
pub fn blackhole_zones(suite: &crate::suite::Suite) -> Vec<Zone> {
    let mut zones: Vec<Zone> = suite
        .steps
        .iter()
        .chain(&suite.finally)
        .filter_map(|s| match &s.action {
            Action::SpotLoss(l) if l.mode() == SpotLossMode::Blackhole => Some(l.zone.clone()),
            _ => None,
        })
        .collect();
    zones.sort();
    zones.dedup();
    zones
}

/// A human title of an action, for marks and reports.
pub fn title(action: &Action) -> String {
    match action {
        Action::Wait(w) => match w {
            WaitSpec::For(d) => format!("wait {d}"),
            WaitSpec::Until(until) => format!("wait until {}", until.as_str()),
        },
        Action::SpotLoss(s) => format!(
            "spot-loss {}{}{}",
            s.zone,
            s.notice
                .as_ref()
                .map(|n| format!(" (notice {n})"))
                .unwrap_or_default(),
            s.mode
                .map(|m| format!(" [{}]", m.as_str()))
                .unwrap_or_default()
        ),
        Action::Drain(d) => format!("drain {}", d.zone),
        Action::Cordon(z) => format!("cordon {}", z.zone),
        Action::Restore(z) => format!("restore {}", z.zone),
        Action::Canary(c) => format!("canary {} -> {}", c.rollout, c.image),
        Action::Promote(r) => format!("promote {}", r.rollout),
        Action::Abort(r) => format!("abort {}", r.rollout),
        Action::AssertFailover(a) => {
            format!("failover of {} clients to {}", a.zone, join(&a.to))
        }
        Action::AssertNoCrossZone(a) => format!("no cross-zone traffic{}", zones_suffix(&a.zones)),
        Action::AssertErrorBudget(a) => {
            format!("error budget {}{}", a.max_errors, zones_suffix(&a.zones))
        }
        Action::AssertPdb(a) => format!("drain of {} blocked by {}", a.drain_of, a.blocked_by),
        Action::AssertRollout(a) => format!("rollout {} state", a.rollout),
        Action::AssertRouteIsolation(a) => {
            format!("canary of {} changed only its own routes", a.rollout)
        }
        Action::AssertRecovery(a) => format!("{} clients served locally again", a.zone),
    }
}

fn join(zones: &[Zone]) -> String {
    zones
        .iter()
        .map(Zone::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

fn zones_suffix(zones: &[Zone]) -> String {
    if zones.is_empty() {
        String::new()
    } else {
        format!(" ({})", join(zones))
    }
}

/// The zone an action disrupts (for failover latency), if any.
pub fn disrupted_zone(action: &Action) -> Option<Zone> {
    match action {
        Action::SpotLoss(s) => Some(s.zone.clone()),
        Action::Drain(d) => Some(d.zone.clone()),
        _ => None,
    }
}

/// Applies an action to the world; returns evidence of what it did.
pub fn apply(world: &mut World, action: &Action) -> Result<serde_json::Value, BackendError> {
    match action {
        Action::SpotLoss(s) => {
            let zone = &s.zone;
            let nodes = world.zone_nodes(zone, Some(crate::profile::CapacityType::Spot));
            let pods: Vec<String> = world
                .pods
                .iter()
                .filter(|p| p.is_active() && p.node.is_some_and(|n| nodes.contains(&n)))
                .map(|p| p.name.clone())
                .collect();
            world.spot_loss(zone, s.notice);
            // How the lost instances fail (now, or when the notice ends).
            let blackhole = s.mode() == SpotLossMode::Blackhole;
            for n in &nodes {
                world.nodes[n.0].blackholes = blackhole;
            }
            Ok(
                serde_json::json!({"nodes": nodes.iter().map(|n| &world.nodes[n.0].name).collect::<Vec<_>>(), "pods": pods, "notice": s.notice.map(|n| n.to_string()), "mode": s.mode().as_str()}),
            )
        }
        Action::Drain(d) => {
            let nodes = world.zone_nodes(&d.zone, None);
            let timeout = d.timeout;
            world.start_drain(nodes.clone(), timeout, false);
            Ok(
                serde_json::json!({"nodes": nodes.iter().map(|n| &world.nodes[n.0].name).collect::<Vec<_>>(), "timeout": timeout.to_string()}),
            )
        }
        Action::Cordon(z) => {
            let nodes = world.zone_nodes(&z.zone, None);
            world.cordon(&nodes);
            Ok(serde_json::json!({"nodes": nodes.len()}))
        }
        Action::Restore(z) => {
            world.restore(&z.zone);
            Ok(serde_json::json!({"zone": z.zone}))
        }
        Action::Canary(c) => world
            .set_image(&c.rollout, &c.image)
            .map(|_| serde_json::json!({"rollout": c.rollout, "image": c.image}))
            .map_err(|e| refused(action, e)),
        Action::Promote(r) => world
            .promote(&r.rollout)
            .map(|_| serde_json::json!({"rollout": r.rollout}))
            .map_err(|e| refused(action, e)),
        Action::Abort(r) => world
            .abort(&r.rollout)
            .map(|_| serde_json::json!({"rollout": r.rollout}))
            .map_err(|e| refused(action, e)),
        other => Err(not_chaos(other)),
    }
}

/// The model refused a rollout action.
fn refused(action: &Action, e: impl std::fmt::Display) -> BackendError {
    BackendError::Refused {
        action: action.key(),
        message: e.to_string(),
    }
}

/// Waits and assertions are the runner's, never a backend's to apply.
pub fn not_chaos(action: &Action) -> BackendError {
    BackendError::Unsupported {
        action: action.key(),
        reason: "not a chaos or rollout action: the runner handles waits and assertions".into(),
    }
}
