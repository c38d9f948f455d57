//! Cases translated from kubernetes/kubernetes
//! `pkg/registry/core/pod/storage/eviction_test.go` (`TestEvictionIgnorePDB`)
//! and `pkg/controller/disruption/disruption_test.go` (the status tests),
//! with rules read from `pkg/controller/disruption/disruption.go`, run
//! against the model's own functions (`zonechaos::model::eviction`,
//! `zonechaos::topology::pdb`). Each case is data: the pod's phase and
//! Ready condition, the budget's published status, the unhealthy-pod
//! eviction policies upstream runs it under, and upstream's outcome
//! (deleted or 429).
//!
//! Upstream cases not expressible, and why: the delete-conflict and
//! injected-error cases ("first delete conflict", "always conflict on
//! delete", "resource version conflict", "other error on delete") test the
//! REST storage's retries, which the model has no storage to have; where
//! such a case also fixes a verdict (the pod turned Running before the
//! retry) that verdict is kept below. From disruption_test.go, the naked
//! and unmanaged pod tests (`TestNakedPod`, `TestStatusForUnmanagedPod`,
//! `TestTotalUnmanagedPods`, the rogue pod of `TestReplicationController`),
//! `TestMultipleControllers` and the scale-finder tests: every pod of the
//! model belongs to exactly one workload with a scale.

use k8s_openapi::api::policy::v1::PodDisruptionBudgetSpec;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use zonechaos::model::eviction::{
    BudgetCounts, EvictionVerdict, PdbStatus, PodState, budget_status, eviction_verdict,
};
use zonechaos::topology::pdb::{
    ExpectedFrom, UnhealthyPodEvictionPolicy, budget_spec as spec, desired_healthy,
    disruptions_allowed,
};

use EvictionVerdict::{DeletedCounted, DeletedFree, Refused};
use UnhealthyPodEvictionPolicy::{AlwaysAllow, IfHealthyBudget};

/// Every policy upstream loops over (nil reads as IfHealthyBudget).
const ALL: &[UnhealthyPodEvictionPolicy] = &[AlwaysAllow, IfHealthyBudget];

struct Case {
    name: &'static str,
    /// Pending or terminating (eviction.go canIgnorePDB).
    ignores_budgets: bool,
    ready: bool,
    /// (disruptionsAllowed, currentHealthy, desiredHealthy)
    status: (i32, i32, i32),
    policies: &'static [UnhealthyPodEvictionPolicy],
    expected: EvictionVerdict,
}

fn status((allowed, current, desired): (i32, i32, i32)) -> PdbStatus {
    PdbStatus {
        expected_pods: current.max(desired),
        current_healthy: current,
        desired_healthy: desired,
        disruptions_allowed: allowed,
    }
}

#[test]
fn eviction_ignore_pdb_table() {
    let cases = [
        Case {
            name: "pdbs No disruptions allowed, pod pending, ... pod deleted successfully",
            ignores_budgets: true,
            ready: false,
            status: (0, 0, 0),
            policies: ALL,
            expected: DeletedFree,
        },
        Case {
            // The pod is Running (no Ready condition) by the time budgets
            // are checked.
            name: "pdbs No disruptions allowed, pod pending, first delete conflict, pod becomes running, continueToPDBs",
            ignores_budgets: false,
            ready: false,
            status: (0, 0, 0),
            policies: &[IfHealthyBudget],
            expected: Refused,
        },
        Case {
            name: "pdbs No disruptions allowed, pod pending, first delete conflict, pod becomes running, skip PDB check, conflict",
            ignores_budgets: false,
            ready: false,
            status: (0, 0, 0),
            policies: &[AlwaysAllow],
            expected: DeletedFree,
        },
        Case {
            name: "pdbs disruptions allowed, pod pending, first delete conflict, pod becomes running, continueToPDBs",
            ignores_budgets: false,
            ready: false,
            status: (1, 0, 0),
            policies: &[IfHealthyBudget],
            expected: DeletedCounted,
        },
        Case {
            name: "matching pdbs with no disruptions allowed, pod terminating",
            ignores_budgets: true,
            ready: true,
            status: (0, 0, 0),
            policies: ALL,
            expected: DeletedFree,
        },
        Case {
            name: "matching pdbs with no disruptions allowed, pod running, pod healthy, unhealthy pod not ours",
            ignores_budgets: false,
            ready: true,
            status: (0, 2, 2),
            policies: ALL,
            expected: Refused,
        },
        Case {
            name: "matching pdbs with disruptions allowed, pod running, pod healthy, healthy pod ours, deletes pod by honoring the PDB",
            ignores_budgets: false,
            ready: true,
            status: (1, 3, 3),
            policies: ALL,
            expected: DeletedCounted,
        },
        Case {
            name: "matching pdbs with no disruptions allowed, pod running, pod unhealthy, unhealthy pod ours",
            ignores_budgets: false,
            ready: false,
            status: (0, 2, 2),
            policies: ALL,
            expected: DeletedFree,
        },
        Case {
            name: "matching pdbs with no disruptions allowed, pod running, pod unhealthy, unhealthy pod ours, skips the PDB check and deletes",
            ignores_budgets: false,
            ready: false,
            status: (0, 0, 0),
            policies: &[AlwaysAllow],
            expected: DeletedFree,
        },
        Case {
            // The same pod under the default policy: upstream's comment
            // "nil, IfHealthyBudget would not skip the PDB check", and the
            // budget allows nothing.
            name: "(the case above under IfHealthyBudget)",
            ignores_budgets: false,
            ready: false,
            status: (0, 0, 0),
            policies: &[IfHealthyBudget],
            expected: Refused,
        },
        Case {
            name: "matching pdbs with no disruptions allowed, pod running, pod healthy, empty selector, pod not deleted by honoring the PDB",
            ignores_budgets: false,
            ready: true,
            status: (0, 3, 3),
            policies: ALL,
            expected: Refused,
        },
    ];
    for case in &cases {
        for &policy in case.policies {
            let pod = PodState {
                ignores_budgets: case.ignores_budgets,
                ready: case.ready,
            };
            assert_eq!(
                eviction_verdict(pod, &status(case.status), policy),
                case.expected,
                "eviction_test.go TestEvictionIgnorePDB/{} with {policy:?}",
                case.name
            );
        }
    }
}

/// disruption.go getExpectedPodCount: maxUnavailable (read first) and a
/// percentage minAvailable count the controllers' scale; an integer
/// minAvailable counts the pods the selector matches; neither expects 0.
#[test]
fn expected_pods_come_from_the_field_that_is_set() {
    let int = |i| Some(IntOrString::Int(i));
    let pct = |p: &str| Some(IntOrString::String(p.into()));
    assert_eq!(
        ExpectedFrom::of(&spec(int(1), None)),
        ExpectedFrom::MatchingPods
    );
    assert_eq!(
        ExpectedFrom::of(&spec(pct("50%"), None)),
        ExpectedFrom::ControllerScale
    );
    assert_eq!(
        ExpectedFrom::of(&spec(None, int(1))),
        ExpectedFrom::ControllerScale
    );
    assert_eq!(
        ExpectedFrom::of(&spec(int(1), int(1))),
        ExpectedFrom::ControllerScale
    );
    assert_eq!(ExpectedFrom::of(&spec(None, None)), ExpectedFrom::Nothing);
    // maxUnavailable wins when both are set (validation forbids it, the
    // controller reads it first): 4 expected - 1 = 3, not minAvailable 1.
    assert_eq!(desired_healthy(&spec(int(1), int(1)), 4), Ok(3));
}

/// disruption.go updatePdbStatus: no disruption is allowed while the
/// budget expects no pods, however many are healthy; otherwise healthy -
/// desired, never below 0.
#[test]
fn nothing_is_allowed_while_nothing_is_expected() {
    let s = spec(None, None);
    assert_eq!(disruptions_allowed(&s, 0, 3), Ok(0));
    let s = spec(Some(IntOrString::Int(1)), None);
    assert_eq!(disruptions_allowed(&s, 0, 3), Ok(0));
    assert_eq!(disruptions_allowed(&s, 3, 3), Ok(2));
    assert_eq!(disruptions_allowed(&s, 3, 0), Ok(0));
}

/// The policy's own rule (eviction.go, KEP-3017): IfHealthyBudget lets a
/// not-Ready pod go only while currentHealthy >= desiredHealthy > 0.
#[test]
fn if_healthy_budget_needs_a_healthy_nonzero_budget() {
    assert!(IfHealthyBudget.lets_unready_go(2, 2));
    assert!(!IfHealthyBudget.lets_unready_go(1, 2));
    assert!(!IfHealthyBudget.lets_unready_go(0, 0));
    assert!(AlwaysAllow.lets_unready_go(0, 2));
    let named = |p: Option<&str>| {
        UnhealthyPodEvictionPolicy::of(&PodDisruptionBudgetSpec {
            unhealthy_pod_eviction_policy: p.map(str::to_owned),
            ..Default::default()
        })
    };
    assert_eq!(named(None), IfHealthyBudget);
    assert_eq!(named(Some("IfHealthyBudget")), IfHealthyBudget);
    assert_eq!(named(Some("AlwaysAllow")), AlwaysAllow);
}

/// disruption_test.go's status tests: the budget, what the controller
/// counts (controllers' scale, matching pods, Ready pods) and upstream's
/// `VerifyPdbStatus(disruptionsAllowed, currentHealthy, desiredHealthy,
/// expectedPods)`, step by step as each test adds or changes pods.
#[test]
fn disruption_controller_status_table() {
    let int = |i| Some(IntOrString::Int(i));
    let pct = |p: &str| Some(IntOrString::String(p.into()));
    // (test and step, minAvailable, maxUnavailable, (scale, matching, healthy), expected)
    type Step = (
        &'static str,
        Option<IntOrString>,
        Option<IntOrString>,
        (i32, i32, i32),
        (i32, i32, i32, i32),
    );
    let steps: Vec<Step> = vec![
        (
            "TestNoSelector, no pod",
            int(3),
            None,
            (0, 0, 0),
            (0, 0, 3, 0),
        ),
        (
            "TestNoSelector, one pod",
            int(3),
            None,
            (0, 1, 1),
            (0, 1, 3, 1),
        ),
        (
            "TestUnavailable, 0 pods",
            int(3),
            None,
            (0, 0, 0),
            (0, 0, 3, 0),
        ),
        (
            "TestUnavailable, 1 pod",
            int(3),
            None,
            (0, 1, 1),
            (0, 1, 3, 1),
        ),
        (
            "TestUnavailable, 2 pods",
            int(3),
            None,
            (0, 2, 2),
            (0, 2, 3, 2),
        ),
        (
            "TestUnavailable, 3 pods",
            int(3),
            None,
            (0, 3, 3),
            (0, 3, 3, 3),
        ),
        (
            "TestUnavailable, 4 pods",
            int(3),
            None,
            (0, 4, 4),
            (1, 4, 3, 4),
        ),
        (
            "TestUnavailable, one unready",
            int(3),
            None,
            (0, 4, 3),
            (0, 3, 3, 4),
        ),
        (
            "TestIntegerMaxUnavailableWithScaling, rs 7",
            None,
            int(2),
            (7, 1, 1),
            (0, 1, 5, 7),
        ),
        (
            "TestIntegerMaxUnavailableWithScaling, rs 5",
            None,
            int(2),
            (5, 1, 1),
            (0, 1, 3, 5),
        ),
        (
            "TestPercentageMaxUnavailableWithScaling, rs 7",
            None,
            pct("30%"),
            (7, 1, 1),
            (0, 1, 4, 7),
        ),
        (
            "TestPercentageMaxUnavailableWithScaling, rs 3",
            None,
            pct("30%"),
            (3, 1, 1),
            (0, 1, 2, 3),
        ),
        (
            "TestReplicaSet",
            pct("20%"),
            None,
            (10, 1, 1),
            (0, 1, 2, 10),
        ),
        ("TestScaleResource", None, int(5), (10, 4, 4), (0, 4, 5, 10)),
        // "It starts out at 0 expected because, with no pods, the PDB
        // doesn't know about the RC": the scale comes through the pods.
        (
            "TestReplicationController, no pod",
            pct("34%"),
            None,
            (0, 0, 0),
            (0, 0, 0, 0),
        ),
        (
            "TestReplicationController, 1 pod",
            pct("34%"),
            None,
            (3, 1, 1),
            (0, 1, 2, 3),
        ),
        (
            "TestReplicationController, 2 pods",
            pct("34%"),
            None,
            (3, 2, 2),
            (0, 2, 2, 3),
        ),
        (
            "TestReplicationController, 3 pods",
            pct("34%"),
            None,
            (3, 3, 3),
            (1, 3, 2, 3),
        ),
    ];
    for (name, min, max, (scale, matching, healthy), (allowed, current, desired, expected)) in steps
    {
        let counts = BudgetCounts {
            controller_scale: scale,
            matching_pods: matching,
            healthy,
        };
        let got = budget_status(&spec(min, max), counts).unwrap();
        assert_eq!(
            got,
            PdbStatus {
                expected_pods: expected,
                current_healthy: current,
                desired_healthy: desired,
                disruptions_allowed: allowed,
            },
            "disruption_test.go {name}"
        );
    }
}
