//! Cases translated from istio/istio 1.30.3
//! `pkg/config/validation/agent/validation_test.go` (`TestValidateLocalityLbSetting`,
//! every case), run against the model's own check
//! (`zonechaos::mesh::validation::validate_locality_setting`), which lint
//! reports, the mesh model uses to treat a rejected DestinationRule as
//! absent, and the profile applies to `mesh.localityLbSetting`. Each case is
//! data: the setting, whether outlier detection is given, and whether
//! upstream reports an error and a warning.
//!
//! Not expressible: the `nil` setting case ("valid mesh config without
//! LocalityLoadBalancerSetting") has no value to pass; the model never
//! calls the check without a setting, and an absent setting is what every
//! topology without one exercises.

use zonechaos::mesh::validation::validate_locality_setting;
use zonechaos::topology::istio::LocalityLbSetting;

struct Case {
    name: &'static str,
    /// The setting in YAML flow form.
    setting: &'static str,
    outlier: bool,
    err: bool,
    warn: bool,
}

const CASES: &[Case] = &[
    Case {
        name: "invalid LocalityLoadBalancerSetting_Distribute total weight > 100",
        setting: "{distribute: [{from: a/b/c, to: {a/b/c: 80, a/b1: 25}}]}",
        outlier: true,
        err: true,
        warn: false,
    },
    Case {
        name: "invalid LocalityLoadBalancerSetting_Distribute total weight < 100",
        setting: "{distribute: [{from: a/b/c, to: {a/b/c: 80, a/b1: 15}}]}",
        outlier: true,
        err: true,
        warn: false,
    },
    Case {
        name: "invalid LocalityLoadBalancerSetting_Distribute weight = 0",
        setting: "{distribute: [{from: a/b/c, to: {a/b/c: 0, a/b1: 100}}]}",
        outlier: true,
        err: true,
        warn: false,
    },
    Case {
        name: "invalid LocalityLoadBalancerSetting specify both distribute and failover",
        setting: "{distribute: [{from: a/b/c, to: {a/b/c: 80, a/b1: 20}}], failover: [{from: region1, to: region2}]}",
        outlier: true,
        err: true,
        warn: false,
    },
    Case {
        name: "invalid failover src and dst have same region",
        setting: "{failover: [{from: region1, to: region1}]}",
        outlier: true,
        err: true,
        warn: false,
    },
    Case {
        name: "invalid failover src contain '*' wildcard",
        setting: "{failover: [{from: '*', to: region2}]}",
        outlier: true,
        err: true,
        warn: false,
    },
    Case {
        name: "invalid failover dst contain '*' wildcard",
        setting: "{failover: [{from: region1, to: '*'}]}",
        outlier: true,
        err: true,
        warn: false,
    },
    Case {
        name: "invalid failover src contain '/' separator",
        setting: "{failover: [{from: region1/zone1, to: region2}]}",
        outlier: true,
        err: true,
        warn: false,
    },
    Case {
        name: "invalid failover dst contain '/' separator",
        setting: "{failover: [{from: region1, to: region2/zone1}]}",
        outlier: true,
        err: true,
        warn: false,
    },
    Case {
        name: "failover priority provided without outlier detection policy",
        setting: "{failoverPriority: [topology.istio.io/network, topology.kubernetes.io/region, topology.kubernetes.io/zone, topology.istio.io/subzone]}",
        outlier: false,
        err: false,
        warn: true,
    },
    Case {
        name: "failover provided without outlier detection policy",
        setting: "{failover: [{from: us-east, to: eu-west}, {from: us-west, to: eu-east}]}",
        outlier: false,
        err: false,
        warn: true,
    },
    Case {
        name: "invalid LocalityLoadBalancerSetting specify both failoverPriority and region in failover",
        setting: "{failover: [{from: region1, to: region2}], failoverPriority: [topology.kubernetes.io/region]}",
        outlier: true,
        err: true,
        warn: false,
    },
];

#[test]
fn validate_locality_lb_setting_as_upstream() {
    for c in CASES {
        let setting: LocalityLbSetting =
            serde_saphyr::from_str(c.setting).unwrap_or_else(|e| panic!("{}: {e}", c.name));
        let findings = validate_locality_setting(&setting, c.outlier, &[]);
        let err = findings.iter().any(|f| !f.violation.is_warning());
        let warn = findings.iter().any(|f| f.violation.is_warning());
        assert_eq!((err, warn), (c.err, c.warn), "{}: {findings:?}", c.name);
    }
}

/// The mesh config is checked as ValidateMeshConfig does, with an empty
/// outlier detection: the warning cases above are no finding at all there.
#[test]
fn the_mesh_config_form_never_warns() {
    for c in CASES.iter().filter(|c| c.warn) {
        let setting: LocalityLbSetting = serde_saphyr::from_str(c.setting).unwrap();
        assert_eq!(
            validate_locality_setting(&setting, true, &[]),
            Vec::new(),
            "{}",
            c.name
        );
    }
}
