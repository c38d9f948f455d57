//! Property tests of the model's invariants under random chaos sequences:
//! no pod is lost without a chaos step, a drain never breaks a PDB, route
//! weights always sum to 100, and every request sent has exactly one outcome.

use std::path::Path;

use proptest::prelude::*;
use zonechaos::backend::Backend;
use zonechaos::backend::sim::SimBackend;
use zonechaos::model::SimDuration;
use zonechaos::model::world::EventKind;
use zonechaos::spec::{Action, CanarySpec, DrainSpec, RolloutArg, SpotLossSpec, ZoneArg};
use zonechaos::suite::load_suite;

#[derive(Debug, Clone)]
enum Op {
    Wait(u64),
    SpotLoss(usize, Option<u64>),
    Drain(usize),
    Restore(usize),
    Canary(usize),
    Promote(usize),
    Abort(usize),
}

const ZONES: [&str; 3] = ["us-east-1a", "us-east-1b", "us-east-1c"];
const ROLLOUTS: [&str; 3] = ["test-a", "test-b", "test-c"];

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (1u64..90).prop_map(Op::Wait),
        1 => (0usize..3, proptest::option::of(1u64..120)).prop_map(|(z, n)| Op::SpotLoss(z, n)),
        1 => (0usize..3).prop_map(Op::Drain),
        1 => (0usize..3).prop_map(Op::Restore),
        1 => (0usize..3).prop_map(Op::Canary),
        1 => (0usize..3).prop_map(Op::Promote),
        1 => (0usize..3).prop_map(Op::Abort),
    ]
}

fn action(op: &Op) -> Option<Action> {
    Some(match op {
        Op::Wait(_) => return None,
        Op::SpotLoss(z, n) => Action::SpotLoss(SpotLossSpec {
            zone: ZONES[*z].into(),
            notice: n.map(SimDuration::secs),
            mode: None,
        }),
        Op::Drain(z) => Action::Drain(DrainSpec {
            zone: ZONES[*z].into(),
            timeout: SimDuration::secs(60),
        }),
        Op::Restore(z) => Action::Restore(ZoneArg {
            zone: ZONES[*z].into(),
        }),
        Op::Canary(r) => Action::Canary(CanarySpec {
            rollout: ROLLOUTS[*r].into(),
            image: "myapp:v2".into(),
        }),
        Op::Promote(r) => Action::Promote(RolloutArg {
            rollout: ROLLOUTS[*r].into(),
        }),
        Op::Abort(r) => Action::Abort(RolloutArg {
            rollout: ROLLOUTS[*r].into(),
        }),
    })
}

fn backend(topology: &str) -> SimBackend {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("suites");
    let suite_text = format!(
        "name: prop\ntopology: [topologies/{topology}]\nload: {{service: test, rps: 20}}\nsteps:\n  - wait: 1s\n"
    );
    static SEQ: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let file = dir.join(format!(".prop-{}-{n}.suite", std::process::id()));
    std::fs::write(&file, suite_text).expect("write temp suite");
    let suite = load_suite(&file).expect("suite loads");
    let _ = std::fs::remove_file(&file);
    SimBackend::new(&suite)
}

/// Runs the ops, checking invariants after every second of virtual time.
fn run(topology: &str, ops: &[Op]) -> Result<(), TestCaseError> {
    let mut b = backend(topology);
    let mut elapsed_s = 0u64;
    let mut lost_zones = Vec::new();
    for op in ops {
        if let Some(a) = action(op) {
            if let Op::SpotLoss(z, _) = op {
                lost_zones.push(ZONES[*z]);
            }
            // Promote/abort of a Rollout that is not paused is refused: fine.
            let _ = b.apply(&a);
        }
        let secs = match op {
            Op::Wait(s) => *s,
            _ => 1,
        };
        for _ in 0..secs {
            b.advance(SimDuration::secs(1)).expect("sim advances");
            elapsed_s += 1;
            check(&b, &lost_zones)?;
        }
    }
    // Requests conserved: every request sent has exactly one outcome.
    let m = b.matrix().expect("matrix");
    for z in ZONES {
        let total = m.total(
            &zonechaos::zone::Zone::from(z),
            zonechaos::telemetry::Window {
                from: 0,
                to: elapsed_s + 1,
            },
        );
        let expected = 20 * elapsed_s;
        prop_assert!(
            total.abs_diff(expected) <= 1,
            "{z}: {total} outcomes for {expected} requests"
        );
    }
    Ok(())
}

fn check(b: &SimBackend, lost_zones: &[&str]) -> Result<(), TestCaseError> {
    let w = &b.world;
    // Route weights of every managed route sum to 100.
    for vs in &w.mesh.virtual_services {
        for r in &vs.spec.http {
            if r.route.len() > 1 {
                let sum: i64 = r.route.iter().map(|d| d.weight.unwrap_or(0)).sum();
                prop_assert_eq!(sum, 100, "route {:?} of {}", r.name, vs.name);
            }
        }
    }
    // No pod is lost without a chaos step: deletions are scale-downs,
    // evictions (drains), or garbage collection of nodes that were lost.
    for e in &w.events {
        // Every deletion path has its reason; a lost node's pods may go
        // only when a zone was spot-lost.
        if let EventKind::PodDeleted { reason } = e.kind
            && reason.is_node_loss()
        {
            prop_assert!(
                !lost_zones.is_empty(),
                "pod deleted for a lost node without a spot loss: {}",
                e.message
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    #[test]
    fn invariants_hold_on_the_pinned_topology(ops in proptest::collection::vec(op(), 1..10)) {
        run("zone-pinned.yaml", &ops)?;
    }

    #[test]
    fn invariants_hold_on_the_failover_topology(ops in proptest::collection::vec(op(), 1..10)) {
        run("zone-failover.yaml", &ops)?;
    }

    /// Drains alone never take a budget below its desired healthy count.
    #[test]
    fn drains_never_break_a_budget(zones in proptest::collection::vec(0usize..3, 1..4), waits in proptest::collection::vec(1u64..40, 1..4)) {
        let mut b = backend("zone-pinned.yaml");
        for (z, wait) in zones.iter().zip(waits.iter().cycle()) {
            b.apply(&Action::Drain(DrainSpec { zone: ZONES[*z].into(), timeout: SimDuration::secs(30) })).expect("drain starts");
            for _ in 0..*wait {
                b.advance(SimDuration::secs(1)).expect("advance");
                for (name, s) in b.pdb_statuses() {
                    prop_assert!(s.current_healthy >= s.desired_healthy, "{name}: {s:?}");
                }
            }
        }
    }
}
