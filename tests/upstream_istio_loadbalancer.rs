//! Cases translated from istio/istio
//! `pilot/pkg/networking/core/loadbalancer/loadbalancer_test.go`
//! (`TestApplyLocalitySetting`), run against the model's own translation of
//! a DestinationRule for one proxy (`zonechaos::mesh::locality::place`).
//! Each case is data: the upstream inputs (proxy locality and labels, the
//! endpoints with their localities and labels, the locality LB setting) and
//! upstream's expected output, per endpoint. Nothing of upstream's code is
//! here; where its fixture had to be reshaped for the model the case says
//! how.
//!
//! Upstream subtests not expressible here, and why:
//! - "Failover: priorities with some nil localities": the model gives every
//!   endpoint a locality (its node's zone labels); a nil one cannot occur.
//! - "Failover: with locality lb disabled": covered by the model's own
//!   `enabled: false` path (src/mesh/locality.rs tests), no table to run.
//!
//! `TestGetLocalityLbSetting` is translated whole (all 11 cases) against
//! `zonechaos::mesh::locality::locality_setting`, which the model's
//! clusters use with the profile's `mesh.localityLbSetting`.

use std::borrow::Cow;
use std::collections::BTreeMap;

use zonechaos::mesh::locality::{EffectiveLocality, Locality, place, traffic_distribution_setting};
use zonechaos::topology::istio::{LocalityDistribute, LocalityFailover, LocalityLbSetting};
use zonechaos::topology::labels::Labels;

/// One endpoint: its address (upstream's name for it), locality and labels.
struct Ep {
    ip: &'static str,
    locality: (&'static str, &'static str, &'static str),
    labels: &'static [(&'static str, &'static str)],
}

/// An endpoint at `ip` in `locality` (region, zone, subzone) with `labels`.
const fn ep(
    ip: &'static str,
    locality: (&'static str, &'static str, &'static str),
    labels: &'static [(&'static str, &'static str)],
) -> Ep {
    Ep {
        ip,
        locality,
        labels,
    }
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The model's placements of `eps` for a proxy in region1/zone1/subzone1
/// (upstream's `locality`) with `proxy` labels: ip -> (priority, weight).
fn run(
    setting: LocalityLbSetting,
    proxy: &[(&str, &str)],
    eps: &[Ep],
) -> BTreeMap<&'static str, Option<(u32, Option<f64>)>> {
    let eff = EffectiveLocality {
        enabled: true,
        setting: Cow::Owned(setting),
        // Upstream's environments all set outlierDetection (priorities
        // are assigned only then).
        outlier_detection: true,
    };
    let client = Locality {
        region: "region1",
        zone: "zone1",
        subzone: "subzone1",
    };
    let ep_labels: Vec<Labels> = eps.iter().map(|e| labels(e.labels)).collect();
    let endpoints: Vec<(Locality<'_>, &Labels)> = eps
        .iter()
        .zip(&ep_labels)
        .map(|(e, l)| {
            (
                Locality {
                    region: e.locality.0,
                    zone: e.locality.1,
                    subzone: e.locality.2,
                },
                l,
            )
        })
        .collect();
    let placed = place(&eff, &client, &labels(proxy), &endpoints);
    eps.iter()
        .zip(placed)
        .map(|(e, p)| (e.ip, p.map(|p| (p.priority, p.weight))))
        .collect()
}

fn priorities(
    setting: LocalityLbSetting,
    proxy: &[(&str, &str)],
    eps: &[Ep],
) -> BTreeMap<&'static str, u32> {
    run(setting, proxy, eps)
        .into_iter()
        .map(|(ip, p)| (ip, p.expect("kept").0))
        .collect()
}

const NET: &str = "topology.istio.io/network";
const CLUSTER: &str = "topology.istio.io/cluster";

/// `buildWrappedLocalityLbEndpoints`: three localities, two endpoints each.
const FAILOVER_PRIORITY_ENDPOINTS: &[Ep] = &[
    ep(
        "1.1.1.1",
        ("region1", "zone1", "subzone1"),
        &[(NET, "n1"), (CLUSTER, "c1")],
    ),
    ep(
        "2.2.2.2",
        ("region1", "zone1", "subzone1"),
        &[("key", "value"), (NET, "n2"), (CLUSTER, "c2")],
    ),
    ep(
        "3.3.3.3",
        ("region2", "zone2", "subzone2"),
        &[("key", "value"), (NET, "n1"), (CLUSTER, "c3")],
    ),
    ep(
        "4.4.4.4",
        ("region2", "zone2", "subzone2"),
        &[("key", "value"), (NET, "n2"), (CLUSTER, "c4")],
    ),
    ep(
        "1.2.3.4",
        ("region3", "zone3", "subzone3"),
        &[("key", "value"), (NET, "n1"), (CLUSTER, "c1")],
    ),
    ep(
        "2.3.4.5",
        ("region3", "zone3", "subzone3"),
        &[("key", "value"), (NET, "n2"), (CLUSTER, "c2")],
    ),
];

fn failover_priority(list: &[&str]) -> LocalityLbSetting {
    LocalityLbSetting {
        failover_priority: list.iter().map(|s| (*s).to_owned()).collect(),
        ..LocalityLbSetting::default()
    }
}

/// `TestApplyLocalitySetting/FailoverPriority`, every case of its table.
/// Upstream lists LocalityLbEndpoints split by priority; here each
/// endpoint's priority is read off the group it landed in.
#[test]
fn failover_priority_table() {
    struct Case {
        name: &'static str,
        failover_priority: &'static [&'static str],
        proxy: &'static [(&'static str, &'static str)],
        expected: &'static [(&'static str, u32)],
    }
    let all_zero = &[
        ("1.1.1.1", 0),
        ("2.2.2.2", 0),
        ("3.3.3.3", 0),
        ("4.4.4.4", 0),
        ("1.2.3.4", 0),
        ("2.3.4.5", 0),
    ];
    let cases = [
        Case {
            name: "match none label",
            failover_priority: &[NET, CLUSTER],
            proxy: &[(NET, "test"), (CLUSTER, "test")],
            expected: all_zero,
        },
        Case {
            name: "match network label",
            failover_priority: &[NET, CLUSTER],
            proxy: &[(NET, "n1"), (CLUSTER, "test")],
            expected: &[
                ("1.1.1.1", 0),
                ("2.2.2.2", 1),
                ("3.3.3.3", 0),
                ("4.4.4.4", 1),
                ("1.2.3.4", 0),
                ("2.3.4.5", 1),
            ],
        },
        Case {
            name: "not match the first n label",
            failover_priority: &[NET, CLUSTER],
            proxy: &[(NET, "test"), (CLUSTER, "c1")],
            expected: all_zero,
        },
        Case {
            name: "match all labels",
            failover_priority: &["key", NET, CLUSTER],
            proxy: &[("key", "value"), (NET, "n2"), (CLUSTER, "c2")],
            expected: &[
                ("1.1.1.1", 3),
                ("2.2.2.2", 0),
                ("3.3.3.3", 2),
                ("4.4.4.4", 1),
                ("1.2.3.4", 2),
                ("2.3.4.5", 0),
            ],
        },
        Case {
            name: "priority assignment as per the overridden value",
            failover_priority: &["topology.istio.io/network=n1"],
            proxy: &[(NET, "n2"), (CLUSTER, "test")],
            expected: &[
                ("1.1.1.1", 0),
                ("2.2.2.2", 1),
                ("3.3.3.3", 0),
                ("4.4.4.4", 1),
                ("1.2.3.4", 0),
                ("2.3.4.5", 1),
            ],
        },
        Case {
            name: "no endpoints with overridden value",
            failover_priority: &["topology.istio.io/network=n3"],
            proxy: &[(NET, "n1"), (CLUSTER, "test")],
            expected: all_zero,
        },
    ];
    for case in cases {
        let got = priorities(
            failover_priority(case.failover_priority),
            case.proxy,
            FAILOVER_PRIORITY_ENDPOINTS,
        );
        let want: BTreeMap<&str, u32> = case.expected.iter().copied().collect();
        assert_eq!(
            got, want,
            "loadbalancer_test.go FailoverPriority/{}",
            case.name
        );
    }
}

/// `TestApplyLocalitySetting/FailoverPriority with Failover`, "match all
/// labels": failoverPriority and `failover` region1 -> region2 combined
/// (the label priority times 5 plus the locality priority, renumbered).
#[test]
fn failover_priority_with_failover_table() {
    let eps = &[
        ep(
            "1.1.1.1",
            ("region1", "zone1", "subzone1"),
            &[(NET, "n1"), (CLUSTER, "c1")],
        ),
        ep(
            "2.2.2.2",
            ("region1", "zone2", "subzone2"),
            &[("key", "value"), (NET, "n2"), (CLUSTER, "c2")],
        ),
        ep(
            "3.3.3.3",
            ("region2", "zone2", "subzone2"),
            &[("key", "value"), (NET, "n1"), (CLUSTER, "c3")],
        ),
        ep(
            "4.4.4.4",
            ("region3", "zone3", "subzone3"),
            &[("key", "value"), (NET, "n2"), (CLUSTER, "c4")],
        ),
        ep(
            "5.5.5.5",
            ("region2", "zone2", "subzone2"),
            &[(NET, "n2"), (CLUSTER, "c2")],
        ),
        ep(
            "6.6.6.6",
            ("region3", "zone3", "subzone3"),
            &[("key", "value"), (NET, "n1"), (CLUSTER, "c6")],
        ),
    ];
    let setting = LocalityLbSetting {
        failover: vec![LocalityFailover {
            from: "region1".into(),
            to: "region2".into(),
        }],
        ..failover_priority(&[NET, CLUSTER])
    };
    let got = priorities(setting, &[(NET, "n2"), (CLUSTER, "c2")], eps);
    let want: BTreeMap<&str, u32> = [
        ("1.1.1.1", 3),
        ("2.2.2.2", 0),
        ("3.3.3.3", 4),
        ("4.4.4.4", 2),
        ("5.5.5.5", 1),
        ("6.6.6.6", 5),
    ]
    .into_iter()
    .collect();
    assert_eq!(got, want);
}

/// `buildFakeCluster`: seven locality groups, two of them
/// region1/zone1/subzone1; upstream's groups have no endpoints, here each
/// group is one endpoint.
const FAKE_CLUSTER_ENDPOINTS: &[Ep] = &[
    ep("s1", ("region1", "zone1", "subzone1"), &[]),
    ep("s1b", ("region1", "zone1", "subzone1"), &[]),
    ep("s2", ("region1", "zone1", "subzone2"), &[]),
    ep("s3", ("region1", "zone1", "subzone3"), &[]),
    ep("z2", ("region1", "zone2", ""), &[]),
    ep("r2", ("region2", "", ""), &[]),
    ep("r3", ("region3", "", ""), &[]),
];

/// `TestApplyLocalitySetting/Failover: all priorities` (buildFakeCluster,
/// `failover` region1 -> region2): same subzone 0, same zone 1, same region
/// 2, the failover region 3, any other region 4.
#[test]
fn failover_all_priorities() {
    let setting = LocalityLbSetting {
        failover: vec![LocalityFailover {
            from: "region1".into(),
            to: "region2".into(),
        }],
        ..LocalityLbSetting::default()
    };
    let got = priorities(setting, &[], FAKE_CLUSTER_ENDPOINTS);
    let want: BTreeMap<&str, u32> = [
        ("s1", 0),
        ("s1b", 0),
        ("s2", 1),
        ("s3", 1),
        ("z2", 2),
        ("r2", 3),
        ("r3", 4),
    ]
    .into_iter()
    .collect();
    assert_eq!(got, want);
}

/// `TestApplyLocalitySetting/Distribute`, "distribution between subzones":
/// upstream expects weights [40, 40, 15, 5, 0, 0, 0] for buildFakeCluster's
/// seven groups, two of them region1/zone1/subzone1. The model keeps one
/// group per locality, so those two are one locality of weight 80 here;
/// the groups of weight 0 (their endpoints removed) are dropped.
#[test]
fn distribute_between_subzones() {
    let setting = LocalityLbSetting {
        distribute: vec![LocalityDistribute {
            from: "region1/zone1/subzone1".into(),
            to: [
                ("region1/zone1/subzone1", 80),
                ("region1/zone1/subzone2", 15),
                ("region1/zone1/subzone3", 5),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        }],
        ..LocalityLbSetting::default()
    };
    let got = run(setting, &[], FAKE_CLUSTER_ENDPOINTS);
    let weight = |ip: &str| got[ip].map(|(_, w)| w.expect("weighted"));
    assert_eq!(weight("s1"), Some(80.0));
    assert_eq!(weight("s1b"), Some(80.0));
    assert_eq!(weight("s2"), Some(15.0));
    assert_eq!(weight("s3"), Some(5.0));
    for dropped in ["z2", "r2", "r3"] {
        assert_eq!(got[dropped], None, "{dropped}");
    }
}

/// loadbalancer.go applyLocalityWeights (no upstream table covers it): a
/// `to` key matching several localities splits its weight by their
/// endpoint counts, rounded up, not evenly: 2 and 1 endpoints under 90
/// get 60 and 30 (an even split would give 45 each).
#[test]
fn distribute_splits_a_wildcard_by_endpoint_count() {
    let eps = &[
        ep("a1", ("region1", "zone1", "subzone1"), &[]),
        ep("a2", ("region1", "zone1", "subzone1"), &[]),
        ep("b1", ("region1", "zone1", "subzone2"), &[]),
        ep("c1", ("region1", "zone2", "subzone1"), &[]),
    ];
    let setting = LocalityLbSetting {
        distribute: vec![LocalityDistribute {
            from: "region1/*".into(),
            to: [("region1/zone1/*", 90), ("region1/zone2/*", 10)]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        }],
        ..LocalityLbSetting::default()
    };
    let got = run(setting, &[], eps);
    let weight = |ip: &str| got[ip].and_then(|(_, w)| w);
    assert_eq!(weight("a1"), Some(60.0));
    assert_eq!(weight("a2"), Some(60.0));
    assert_eq!(weight("b1"), Some(30.0));
    assert_eq!(weight("c1"), Some(10.0));
}

/// loadbalancer.go applyFailoverPriorityPerLocality compares values with
/// an absent label reading "" on both sides: the list istiod derives for
/// `trafficDistribution: PreferClose` (GetLocalityLbSetting: network,
/// region, zone, subzone) still ranks the own zone first in a mesh where
/// neither proxies nor endpoints carry `topology.istio.io/network`.
#[test]
fn a_label_absent_on_both_sides_matches() {
    const REGION: &str = "topology.kubernetes.io/region";
    const ZONE: &str = "topology.kubernetes.io/zone";
    let eps = &[
        ep("own", ("r", "a", ""), &[(REGION, "r"), (ZONE, "a")]),
        ep("other", ("r", "b", ""), &[(REGION, "r"), (ZONE, "b")]),
    ];
    let setting = failover_priority(&[NET, REGION, ZONE, "topology.istio.io/subzone"]);
    let got = priorities(setting, &[(REGION, "r"), (ZONE, "a")], eps);
    assert_eq!(got, [("other", 1), ("own", 0)].into_iter().collect());
}

/// loadbalancer.go applyFailoverPriorities returns at once for a proxy
/// without labels: no failoverPriority priorities, every endpoint equal.
#[test]
fn a_proxy_without_labels_gets_no_failover_priorities() {
    let got = priorities(
        failover_priority(&[NET, CLUSTER]),
        &[],
        FAILOVER_PRIORITY_ENDPOINTS,
    );
    assert!(got.values().all(|p| *p == 0), "{got:?}");
}

/// `TestGetLocalityLbSetting` (every case): which setting istiod uses for
/// a cluster given the mesh config's, the DestinationRule's and the
/// Service's `trafficDistribution`. `None` = locality load balancing off.
#[test]
fn get_locality_lb_setting_cases() {
    use zonechaos::mesh::locality::locality_setting;
    const REGION: &str = "topology.kubernetes.io/region";
    const ZONE: &str = "topology.kubernetes.io/zone";
    let empty = LocalityLbSetting::default();
    let on = LocalityLbSetting {
        enabled: Some(true),
        ..LocalityLbSetting::default()
    };
    let off = LocalityLbSetting {
        enabled: Some(false),
        ..LocalityLbSetting::default()
    };
    let with_failover = LocalityLbSetting {
        failover: vec![LocalityFailover::default()],
        ..LocalityLbSetting::default()
    };
    let derived = |labels: &[&str]| LocalityLbSetting {
        enabled: Some(true),
        failover_priority: labels.iter().map(|l| (*l).to_owned()).collect(),
        ..LocalityLbSetting::default()
    };
    let same_zone = derived(&[NET, REGION, ZONE]);
    let same_node = derived(&[
        NET,
        REGION,
        ZONE,
        "topology.istio.io/subzone",
        "kubernetes.io/hostname",
    ]);
    // (case, mesh, dr, trafficDistribution, expected setting, failover forced)
    type Case<'a> = (
        &'a str,
        Option<&'a LocalityLbSetting>,
        Option<&'a LocalityLbSetting>,
        Option<&'a str>,
        Option<(&'a LocalityLbSetting, bool)>,
    );
    let cases: [Case<'_>; 11] = [
        ("all disabled", None, None, None, None),
        ("mesh only", Some(&empty), None, None, Some((&empty, false))),
        ("dr only", None, Some(&empty), None, Some((&empty, false))),
        (
            "dr only override",
            None,
            Some(&on),
            None,
            Some((&on, false)),
        ),
        (
            "dr and mesh",
            Some(&empty),
            Some(&with_failover),
            None,
            Some((&with_failover, false)),
        ),
        (
            "prefer close service and mesh",
            Some(&empty),
            None,
            Some("PreferClose"),
            Some((&same_zone, true)),
        ),
        (
            "prefer same zone service and mesh",
            Some(&empty),
            None,
            Some("PreferSameZone"),
            Some((&same_zone, true)),
        ),
        (
            "prefer same node service and mesh",
            Some(&empty),
            None,
            Some("PreferSameNode"),
            Some((&same_node, true)),
        ),
        ("mesh disabled", Some(&off), None, None, None),
        ("dr disabled", Some(&on), Some(&off), None, None),
        (
            "dr enabled override mesh disabled",
            Some(&off),
            Some(&on),
            None,
            Some((&on, false)),
        ),
    ];
    for (name, mesh, dr, td, expected) in cases {
        let got = locality_setting(mesh, dr, td);
        assert_eq!(
            got.as_ref().map(|(s, forced)| (&**s, *forced)),
            expected,
            "{name}"
        );
    }
    assert_eq!(traffic_distribution_setting("Any"), None);
}
