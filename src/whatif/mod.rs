//! `zonechaos whatif`: an instant prediction of losing one or more zones:
//! per client zone, the route, serving zones and errors before and after,
//! the PDB and Rollout states, and the predicted failover latency.

use std::sync::Arc;

use crate::mesh::endpoints::EndpointMemo;
use crate::mesh::predict::{Prediction, abrupt_failover_seconds_in, predict_in};
use crate::mesh::proxy::Client;
use crate::model::World;
use crate::model::clock::SimDuration;
use crate::model::eviction::PdbStatus;
use crate::model::mesh_config::MeshService;
use crate::model::rollout::RolloutPhase;
use crate::profile::{CapacityType, ClusterProfile};
use crate::topology::Topology;
use crate::zone::Zone;

/// How the zones are lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LossMode {
    /// Spot reclaim: pods die at once, PDBs ignored.
    Spot,
    /// Cordon and drain through the Eviction API (PDBs honoured).
    Drain,
}

/// One client zone's before/after.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ZoneRow {
    /// The client zone.
    pub client: Zone,
    /// Before the loss (shared by every scenario of one baseline).
    pub before: Arc<Prediction>,
    /// After the loss has settled.
    pub after: Prediction,
    /// Seconds until its requests succeed again (None: they never do).
    pub failover_s: Option<f64>,
}

/// A budget before and after.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BudgetRow {
    /// PDB name.
    pub name: String,
    /// disruptionsAllowed before.
    pub before: i32,
    /// disruptionsAllowed after.
    pub after: i32,
    /// Evictions it refused during a drain.
    pub refused: usize,
    /// Its whole status before (expected pods, current and desired
    /// healthy, disruptions allowed), as the disruption controller would
    /// publish it.
    pub status_before: PdbStatus,
    /// Its status after; `None` when its values cannot be read.
    pub status_after: Option<PdbStatus>,
}

/// A Rollout before and after.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RolloutRow {
    /// Rollout name, `namespace/name` (shared by every scenario).
    pub name: Arc<str>,
    /// Phase before.
    pub before: RolloutPhase,
    /// Phase after.
    pub after: RolloutPhase,
    /// Status message after.
    pub message: String,
}

/// The client zones of one target Service.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ServiceRows {
    /// The Service clients call.
    pub service: String,
    /// Per client zone.
    pub zones: Vec<ZoneRow>,
}

/// Which Services the clients call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Targets<'a> {
    /// The first VirtualService host.
    Default,
    /// One Service (namespace, name).
    One(&'a str, &'a str),
    /// Every Service.
    All,
}

/// The whole prediction.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct WhatIf {
    /// Zones lost.
    pub lost: Vec<Zone>,
    /// How.
    pub mode: LossMode,
    /// Per target Service.
    pub services: Vec<ServiceRows>,
    /// Budgets.
    pub budgets: Vec<BudgetRow>,
    /// Rollouts.
    pub rollouts: Vec<RolloutRow>,
    /// Mesh objects Istio's webhook rejects (absent in the cluster).
    pub rejected: Vec<String>,
}

/// The Service clients call by default: the first Service named as a host
/// by a VirtualService, else the first Service.
pub fn default_target(world: &World) -> Option<MeshService> {
    let hosts = world.mesh.virtual_services.iter().flat_map(|v| {
        v.spec
            .hosts
            .iter()
            .filter_map(|h| world.mesh.resolve_host(h, &v.name.namespace))
    });
    hosts.chain(world.mesh.services.iter()).next().cloned()
}

/// Predicts the loss of `lost` zones from an already built world, for
/// clients in every zone calling each target.
pub fn whatif_world(
    base: &World,
    targets: &[MeshService],
    lost: &[Zone],
    mode: LossMode,
    rps: f64,
) -> WhatIf {
    let baseline = Baseline::new(base, targets, rps);
    baseline.lose(lost, mode)
}

/// The state before any loss, computed once for many scenarios.
pub struct Baseline<'a> {
    base: &'a World,
    targets: &'a [MeshService],
    /// Per target, a client in each zone (they depend on the profile only).
    clients: Vec<Vec<Client>>,
    before: Vec<Vec<Arc<Prediction>>>,
    /// Per budget of the world, its status (None: unreadable values).
    budgets_before: Vec<Option<PdbStatus>>,
    rollout_names: Vec<Arc<str>>,
}

impl<'a> Baseline<'a> {
    /// Predictions and budgets of the intact world.
    pub fn new(base: &'a World, targets: &'a [MeshService], rps: f64) -> Baseline<'a> {
        let memo = EndpointMemo::new(base);
        let clients: Vec<Vec<Client>> = targets.iter().map(|t| clients(base, t, rps)).collect();
        let before = targets
            .iter()
            .zip(&clients)
            .map(|(t, clients)| {
                clients
                    .iter()
                    .map(|c| Arc::new(predict_in(&memo, c, t)))
                    .collect()
            })
            .collect();
        Baseline {
            base,
            targets,
            clients,
            before,
            budgets_before: budget_statuses(base),
            rollout_names: base
                .rollouts
                .iter()
                .map(|r| Arc::from(r.name.to_string()))
                .collect(),
        }
    }

    /// Predicts one loss scenario against this baseline.
    pub fn lose(&self, lost: &[Zone], mode: LossMode) -> WhatIf {
        lose(self, lost, mode)
    }

    /// Predicts several scenarios, spread over the machine's cores (each
    /// scenario works on its own copy of the world).
    pub fn lose_all(&self, scenarios: &[Vec<Zone>], mode: LossMode) -> Vec<WhatIf> {
        crate::parallel::map_ordered(scenarios.iter().collect(), 2, |lost| self.lose(lost, mode))
    }
}

/// Every budget's status, by its index in the world.
fn budget_statuses(world: &World) -> Vec<Option<PdbStatus>> {
    (0..world.pdbs.len())
        .map(|i| world.pdb_status(i).ok())
        .collect()
}

fn clients(world: &World, t: &MeshService, rps: f64) -> Vec<Client> {
    world
        .profile
        .zone_names()
        .map(|z| Client::new(world, z, &t.name.namespace, rps))
        .collect()
}

fn lose(baseline: &Baseline<'_>, lost: &[Zone], mode: LossMode) -> WhatIf {
    let (base, targets) = (baseline.base, baseline.targets);
    let before = &baseline.before;
    let mut world = base.clone();
    let mut latency: Vec<Vec<f64>> = targets
        .iter()
        .map(|_| vec![0.0; base.profile.zones.len()])
        .collect();
    let mut refused = vec![0usize; base.pdbs.len()];
    match mode {
        LossMode::Spot => {
            for z in lost {
                let nodes = world.zone_nodes(z, Some(CapacityType::Spot));
                world.lose_nodes(&nodes);
            }
            let memo = EndpointMemo::new(&world);
            for (ti, t) in targets.iter().enumerate() {
                for (ci, c) in baseline.clients[ti].iter().enumerate() {
                    latency[ti][ci] = abrupt_failover_seconds_in(&memo, c, t);
                }
            }
            let settled = world.now + world.timing.node_monitor_grace + SimDuration::secs(1);
            world.advance(settled);
        }
        LossMode::Drain => {
            for z in lost {
                let nodes = world.zone_nodes(z, None);
                world.start_drain(nodes, crate::spec::step::DEFAULT_DRAIN_TIMEOUT, false);
            }
            while world.drains.iter().any(|d| d.finished.is_none()) {
                let next = world.now + world.timing.drain_retry;
                world.advance(next);
            }
            for &b in world.drains.iter().flat_map(|d| &d.refused_by) {
                refused[b] += 1;
            }
        }
    }
    let budgets_after = budget_statuses(&world);
    let memo = EndpointMemo::new(&world);
    let services = targets
        .iter()
        .zip(&baseline.clients)
        .zip(before)
        .zip(latency)
        .map(|(((t, clients), before), secs)| ServiceRows {
            service: t.name.to_string(),
            zones: clients
                .iter()
                .zip(before)
                .zip(secs)
                .map(|((c, before), secs)| {
                    let after = predict_in(&memo, c, t);
                    let failover_s = (after.success() >= 0.99).then_some(secs);
                    ZoneRow {
                        client: c.zone.clone(),
                        before: Arc::clone(before),
                        after,
                        failover_s,
                    }
                })
                .collect(),
        })
        .collect();
    // Budgets by name (namespaced where two namespaces share one).
    let mut budgets: Vec<BudgetRow> = baseline
        .budgets_before
        .iter()
        .enumerate()
        .filter_map(|(i, b)| {
            let b = b.as_ref()?;
            Some(BudgetRow {
                name: base.pdb_name(i).to_owned(),
                before: b.disruptions_allowed,
                after: budgets_after[i].map_or(0, |a| a.disruptions_allowed),
                refused: refused[i],
                status_before: *b,
                status_after: budgets_after[i],
            })
        })
        .collect();
    budgets.sort_by(|a, b| a.name.cmp(&b.name));
    let rollouts = base
        .rollouts
        .iter()
        .zip(&world.rollouts)
        .zip(&baseline.rollout_names)
        .map(|((b, a), name)| RolloutRow {
            name: Arc::clone(name),
            before: b.status.phase,
            after: a.status.phase,
            message: a.status.message.clone(),
        })
        .collect();
    let rejected = base
        .mesh
        .destination_rules
        .iter()
        .filter_map(|d| {
            d.rejected.as_ref().map(|why| {
                format!(
                    "DestinationRule {} is rejected by Istio's webhook: {why}",
                    d.name
                )
            })
        })
        .collect();
    WhatIf {
        rejected,
        lost: lost.to_vec(),
        mode,
        services,
        budgets,
        rollouts,
    }
}

/// Builds the world and predicts.
pub fn whatif(
    topology: &Topology,
    profile: &ClusterProfile,
    targets: Targets<'_>,
    lost: &[Zone],
    mode: LossMode,
    rps: f64,
) -> Result<WhatIf, String> {
    let world = World::new(topology, profile, Default::default());
    let targets = match targets {
        Targets::One(ns, name) => vec![
            world
                .mesh
                .service(ns, name)
                .cloned()
                .ok_or_else(|| format!("no Service {ns}/{name} in the topology"))?,
        ],
        Targets::Default => vec![default_target(&world).ok_or("the topology has no Service")?],
        Targets::All => world.mesh.services.clone(),
    };
    Ok(whatif_world(&world, &targets, lost, mode, rps))
}

fn shares(p: &Prediction) -> String {
    p.shares
        .iter()
        .filter(|(_, v)| **v > 0.0005)
        .map(|(k, v)| format!("{k} {:.0}%", v * 100.0))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Renders the prediction as terminal tables.
pub fn render(w: &WhatIf) -> String {
    let mut out = format!(
        "whatif: lose {} ({})\n\n",
        w.lost
            .iter()
            .map(Zone::as_str)
            .collect::<Vec<_>>()
            .join(" + "),
        match w.mode {
            LossMode::Spot => "spot: abrupt, PDBs ignored",
            LossMode::Drain => "drain: evictions through PDBs",
        },
    );
    for r in &w.rejected {
        out.push_str(&format!("note: {r}\n"));
    }
    if !w.rejected.is_empty() {
        out.push('\n');
    }
    for svc in &w.services {
        out.push_str(&format!(
            "clients calling {}\n",
            crate::spec::quote(&svc.service)
        ));
        let mut rows = vec![[
            "client zone".to_owned(),
            "route".into(),
            "before".into(),
            "after".into(),
            "failover".into(),
        ]];
        for z in &svc.zones {
            let route = if z.before.route == z.after.route {
                z.before.route.clone()
            } else {
                format!("{} -> {}", z.before.route, z.after.route)
            };
            let failover = match z.failover_s {
                None => "never".into(),
                Some(0.0) => "-".into(),
                Some(s) if s < 1.0 => format!("<1s ({s:.2}s)"),
                Some(s) => format!("{s:.0}s"),
            };
            rows.push([
                z.client.to_string(),
                route,
                shares(&z.before),
                shares(&z.after),
                failover,
            ]);
        }
        out.push_str(&table(&rows));
        out.push('\n');
    }
    if !w.budgets.is_empty() {
        let mut rows = vec![[
            "PodDisruptionBudget".to_owned(),
            "allowed before".into(),
            "allowed after".into(),
            "refused evictions".into(),
            String::new(),
        ]];
        for b in &w.budgets {
            rows.push([
                b.name.clone(),
                b.before.to_string(),
                b.after.to_string(),
                b.refused.to_string(),
                String::new(),
            ]);
        }
        out.push_str(&table(&rows));
    }
    if !w.rollouts.is_empty() {
        out.push('\n');
        let mut rows = vec![[
            "Rollout".to_owned(),
            "before".into(),
            "after".into(),
            "message".into(),
            String::new(),
        ]];
        for r in &w.rollouts {
            rows.push([
                r.name.to_string(),
                format!("{:?}", r.before),
                format!("{:?}", r.after),
                r.message.clone(),
                String::new(),
            ]);
        }
        out.push_str(&table(&rows));
    }
    out
}

/// Columns as wide as their widest cell. A cell longer than
/// [`crate::spec::QUOTE_LIMIT`] characters (a 70,000-character route or
/// PDB name) is cut with an ellipsis, the full text staying in `--format
/// json`; padding is written out rather than through `{:<w$}`, whose width
/// stops at u16::MAX and panics beyond (issue 10 item 1).
pub fn table<const N: usize>(rows: &[[String; N]]) -> String {
    let rows: Vec<[String; N]> = rows
        .iter()
        .map(|r| r.each_ref().map(|c| crate::spec::quote(c)))
        .collect();
    let mut widths = [0usize; N];
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let mut out = String::new();
    for (n, r) in rows.iter().enumerate() {
        let line: Vec<String> = r
            .iter()
            .enumerate()
            .filter(|(i, _)| widths[*i] > 0)
            .map(|(i, c)| pad(c, widths[i]))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
        if n == 0 {
            let rule: Vec<String> = widths
                .iter()
                .filter(|w| **w > 0)
                .map(|w| "-".repeat(*w))
                .collect();
            out.push_str(&rule.join("  "));
            out.push('\n');
        }
    }
    out
}

/// `cell` followed by spaces up to `width` characters.
fn pad(cell: &str, width: usize) -> String {
    let fill = width.saturating_sub(cell.chars().count());
    format!("{cell}{}", " ".repeat(fill))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::load_paths;
    use std::path::Path;

    fn topo(path: &str) -> Topology {
        Topology::new(
            load_paths(&[Path::new(env!("CARGO_MANIFEST_DIR")).join(path)])
                .unwrap()
                .objects,
        )
    }

    #[test]
    fn spot_loss_on_failover_topology() {
        let w = whatif(
            &topo("suites/topologies/zone-failover.yaml"),
            &ClusterProfile::builtin(),
            Targets::Default,
            &[Zone::from("us-east-1c")],
            LossMode::Spot,
            50.0,
        )
        .unwrap();
        let c = w.services[0]
            .zones
            .iter()
            .find(|z| z.client.as_str() == "us-east-1c")
            .unwrap();
        // Ejected in 0.06 s; the merge window holds two of the three
        // ejections back for a second (mesh::predict).
        assert!(
            c.failover_s.is_some_and(|s| (1.0..1.1).contains(&s)),
            "{c:?}"
        );
        assert!((c.after.shares["us-east-1a"] - 0.5).abs() < 1e-9);
        let a = w.services[0]
            .zones
            .iter()
            .find(|z| z.client.as_str() == "us-east-1a")
            .unwrap();
        assert_eq!(a.failover_s, Some(0.0));
        let r = w
            .rollouts
            .iter()
            .find(|r| &*r.name == "default/test-c")
            .unwrap();
        assert_eq!(
            (r.before, r.after),
            (RolloutPhase::Healthy, RolloutPhase::Progressing)
        );
        let text = render(&w);
        assert!(
            text.contains("us-east-1c") && !text.contains("never"),
            "{text}"
        );
    }

    #[test]
    fn drain_on_pinned_topology_is_blocked_by_the_zone_budget() {
        let w = whatif(
            &topo("suites/topologies/zone-pinned.yaml"),
            &ClusterProfile::builtin(),
            Targets::Default,
            &[Zone::from("us-east-1b")],
            LossMode::Drain,
            50.0,
        )
        .unwrap();
        let b = w.budgets.iter().find(|b| b.name == "test-b-pdb").unwrap();
        assert_eq!((b.before, b.after), (2, 0));
        assert!(b.refused > 0);
        let a = w.budgets.iter().find(|b| b.name == "test-a-pdb").unwrap();
        assert_eq!((a.before, a.after, a.refused), (2, 2, 0));
        // The whole status travels with the row (whatif --format json):
        // test-b's 3 pods, minAvailable 1; after the drain 1 healthy of 1
        // desired (the evicted pods' replacements Pending in the cordoned zone).
        let before = b.status_before;
        assert_eq!(
            (
                before.expected_pods,
                before.current_healthy,
                before.desired_healthy
            ),
            (3, 3, 1)
        );
        let after = b.status_after.expect("readable");
        assert_eq!(
            (
                after.current_healthy,
                after.desired_healthy,
                after.disruptions_allowed
            ),
            (1, 1, 0)
        );
        let json = serde_json::to_value(b).unwrap();
        assert_eq!(json["status_before"]["expected_pods"], 3);
        assert_eq!(json["status_after"]["disruptions_allowed"], 0);
        // One pod left in zone b still serves zone-b clients.
        let zb = w.services[0]
            .zones
            .iter()
            .find(|z| z.client.as_str() == "us-east-1b")
            .unwrap();
        assert_eq!(
            zb.after.shares.get("us-east-1b").copied(),
            Some(1.0),
            "{zb:?}"
        );
    }

    #[test]
    fn two_zone_spot_loss_on_pinned_topology_never_fails_over() {
        let w = whatif(
            &topo("suites/topologies/zone-pinned.yaml"),
            &ClusterProfile::builtin(),
            Targets::Default,
            &[Zone::from("us-east-1a"), Zone::from("us-east-1b")],
            LossMode::Spot,
            50.0,
        )
        .unwrap();
        for z in ["us-east-1a", "us-east-1b"] {
            let row = w.services[0]
                .zones
                .iter()
                .find(|r| r.client.as_str() == z)
                .unwrap();
            assert_eq!(row.failover_s, None);
            assert_eq!(row.after.shares.get("503 UH").copied(), Some(1.0));
        }
        assert!(render(&w).contains("never"));
    }

    /// Found at stop 17: budgets were keyed by their bare name, so two
    /// namespaces' `test-b-pdb` merged into one row (the second's status
    /// replaced the first's, their refusals added up). Each namespace keeps
    /// its own row, qualified because the name is shared.
    #[test]
    fn same_named_budgets_in_two_namespaces_keep_their_own_rows() {
        let text = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("suites/topologies/zone-pinned.yaml"),
        )
        .unwrap();
        let one = text.replace("namespace: default", "namespace: team-one");
        // team-two's zone-b budget lets every pod go: its drain is not blocked.
        let two = text
            .replace("namespace: default", "namespace: team-two")
            .replace(
                "name: test-b-pdb\n  namespace: team-two\nspec:\n  minAvailable: 1",
                "name: test-b-pdb\n  namespace: team-two\nspec:\n  minAvailable: 0",
            );
        assert_ne!(
            two,
            text.replace("namespace: default", "namespace: team-two")
        );
        let mut loaded = crate::topology::Loaded::default();
        crate::topology::load_text(
            std::sync::Arc::from(Path::new("two-teams.yaml")),
            &format!("{one}\n---\n{two}"),
            &mut loaded,
        );
        let w = whatif(
            &Topology::new(loaded.objects),
            &ClusterProfile::builtin(),
            Targets::One("team-one", "test"),
            &[Zone::from("us-east-1b")],
            LossMode::Drain,
            50.0,
        )
        .unwrap();
        let names: Vec<&str> = w.budgets.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "team-one/test-a-pdb",
                "team-one/test-b-pdb",
                "team-one/test-c-pdb",
                "team-two/test-a-pdb",
                "team-two/test-b-pdb",
                "team-two/test-c-pdb",
            ]
        );
        let row = |n: &str| w.budgets.iter().find(|b| b.name == n).unwrap();
        let (blocked, free) = (row("team-one/test-b-pdb"), row("team-two/test-b-pdb"));
        assert!(blocked.refused > 0 && blocked.after == 0, "{blocked:?}");
        assert_eq!(free.refused, 0, "{free:?}");
        assert!(free.before > blocked.before, "{free:?} vs {blocked:?}");
    }

    /// Label-selector evaluations of `whatif --all-services --lose c` on
    /// `copies` copies of the failover topology in one namespace (world
    /// build included; one thread, so the count is this test's alone).
    fn selector_work(copies: usize) -> (u64, usize) {
        let mut loaded = crate::topology::Loaded::default();
        crate::topology::load_text(
            std::sync::Arc::from(Path::new("copies.yaml")),
            &crate::topology::test_support::failover_copies(copies),
            &mut loaded,
        );
        let topology = Topology::new(loaded.objects);
        let before = crate::topology::labels::work::evaluations();
        let w = whatif(
            &topology,
            &ClusterProfile::builtin(),
            Targets::All,
            &[Zone::from("us-east-1c")],
            LossMode::Spot,
            50.0,
        )
        .unwrap();
        let rows = w.services.iter().map(|s| s.zones.len()).sum();
        (crate::topology::labels::work::evaluations() - before, rows)
    }

    /// issue 10 item 13: whatif --all-services on N copies in one namespace
    /// cost N² (each Service's endpoints and each PDB's status scanned every
    /// pod of the namespace). Counted, not timed: doubling the copies must
    /// about double the selector evaluations. The time is in BENCHMARKS.md.
    #[test]
    fn selector_work_grows_linearly_in_one_namespace() {
        let (small, rows_small) = selector_work(20);
        let (large, rows_large) = selector_work(40);
        assert_eq!((rows_small, rows_large), (20 * 3, 40 * 3));
        assert!(small >= 20 * 3, "{small} evaluations for 20 copies");
        assert!(
            large * 10 <= small * 25,
            "{small} evaluations for 20 copies, {large} for 40"
        );
    }
}
