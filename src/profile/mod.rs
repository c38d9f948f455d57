//! Cluster profiles (`clusters/*.yaml`): region, zones and node pools.
//!
//! Read with the same position-keeping YAML tree as manifests, so a bad
//! profile is reported at file:line:col with a hint.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use crate::topology::SourceLoc;
use crate::topology::yaml::{self, PathSeg, Pos};
use crate::zone::{Region, Zone};

/// The default profile, relative to the project root.
pub const DEFAULT_PROFILE: &str = "clusters/three-zones.yaml";

/// The default profile's text, compiled into the binary.
pub const BUILTIN_PROFILE: &str = include_str!("../../clusters/three-zones.yaml");

/// Spot or on-demand capacity.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, serde::Serialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum CapacityType {
    /// Can be reclaimed with a 2-minute notice.
    Spot,
    /// Stays until drained.
    OnDemand,
}

impl CapacityType {
    /// The label value (`spot`, `on-demand`).
    pub fn label_value(self) -> &'static str {
        match self {
            CapacityType::Spot => "spot",
            CapacityType::OnDemand => "on-demand",
        }
    }
}

/// Node label keys of the profile.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeLabelKeys {
    /// Zone label key.
    pub zone: String,
    /// Region label key.
    pub region: String,
    /// Capacity-type label key.
    pub capacity_type: String,
}

impl Default for NodeLabelKeys {
    fn default() -> Self {
        NodeLabelKeys {
            zone: "topology.kubernetes.io/zone".into(),
            region: "topology.kubernetes.io/region".into(),
            capacity_type: "karpenter.sh/capacity-type".into(),
        }
    }
}

/// A node pool in one zone.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodePool {
    /// Pool name.
    pub name: String,
    /// Spot or on-demand.
    pub capacity_type: CapacityType,
    /// Node count.
    pub nodes: u32,
    /// Extra node labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Subzone of the pool's nodes (`topology.istio.io/subzone`, which
    /// istiod reads as the third part of a locality).
    #[serde(default)]
    pub subzone: Option<String>,
}

/// One availability zone.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ZoneSpec {
    /// Zone label value.
    pub name: Zone,
    /// Region of the zone (default: the profile's `region`).
    #[serde(default)]
    pub region: Option<Region>,
    /// Alias used in pod labels and subset names.
    pub short: String,
    /// Node pools.
    pub pools: Vec<NodePool>,
}

/// Which pools pods land on when their own affinity does not say.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Placement {
    /// Capacity type of the pools workload pods run on (spot by default, so
    /// a Spot loss takes them and their replacements stay Pending).
    pub workloads: CapacityType,
    /// Capacity type of the pools load clients run on (on-demand, so
    /// clients survive the loss of their zone's Spot capacity).
    pub load_clients: CapacityType,
}

impl Default for Placement {
    fn default() -> Self {
        Placement {
            workloads: CapacityType::Spot,
            load_clients: CapacityType::OnDemand,
        }
    }
}

/// Kubernetes timing the profile's clusters run with (kind writes it into
/// the controller manager's flags; sim and local start from it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProfileTiming {
    /// `--node-monitor-grace-period` (default Kubernetes' own, 50s).
    pub node_monitor_grace: Option<crate::model::SimDuration>,
}

/// Mesh-wide Istio settings the profile's clusters run with (kind writes
/// them into the IstioOperator's `meshConfig`; sim, local, whatif and lint
/// use them as the default of every DestinationRule without its own).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProfileMesh {
    /// `meshConfig.localityLbSetting`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locality_lb_setting: Option<crate::topology::istio::LocalityLbSetting>,
}

/// A validated cluster profile.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterProfile {
    /// Always `zonechaos.dev/v1alpha1`.
    pub api_version: String,
    /// Always `ClusterProfile`.
    pub kind: String,
    /// Profile name.
    pub name: String,
    /// Node Kubernetes version (`v1.34.0`).
    pub kubernetes_version: String,
    /// Region of the zones that do not name their own.
    pub region: Region,
    /// Node label keys.
    #[serde(default)]
    pub node_labels: NodeLabelKeys,
    /// Pod label keys that name a zone.
    #[serde(default)]
    pub pod_zone_labels: Vec<String>,
    /// Zones.
    pub zones: Vec<ZoneSpec>,
    /// Default pools for workloads and load clients.
    #[serde(default)]
    pub placement: Placement,
    /// Kubernetes timing of the cluster.
    #[serde(default)]
    pub timing: ProfileTiming,
    /// Mesh-wide Istio settings.
    #[serde(default)]
    pub mesh: ProfileMesh,
    /// Where the profile was read from (not part of the file).
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

/// A profile that cannot be used, with the position of the problem.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{loc}: {message}\n  hint: {hint}")]
pub struct ProfileError {
    /// Where.
    pub loc: SourceLoc,
    /// What.
    pub message: String,
    /// How to fix it.
    pub hint: String,
}

impl ClusterProfile {
    /// Reads and validates a profile file.
    pub fn load(path: &Path) -> Result<ClusterProfile, ProfileError> {
        let text = crate::fsread::read_text(path).map_err(|e| ProfileError {
            loc: SourceLoc {
                file: Arc::from(path),
                pos: Pos::default(),
            },
            message: format!("cannot read cluster profile: {}", e.reason()),
            hint: "pass --profile with an existing file, e.g. clusters/three-zones.yaml".into(),
        })?;
        ClusterProfile::parse(&text, path)
    }

    /// The cluster's timing: the profile's settings over Kubernetes' defaults.
    pub fn cluster_timing(&self) -> crate::model::ClusterTiming {
        let defaults = crate::model::ClusterTiming::default();
        crate::model::ClusterTiming {
            node_monitor_grace: self
                .timing
                .node_monitor_grace
                .unwrap_or(defaults.node_monitor_grace),
            ..defaults
        }
    }

    /// The node-monitor grace period of the profile's clusters.
    pub fn node_monitor_grace(&self) -> crate::model::SimDuration {
        self.cluster_timing().node_monitor_grace
    }

    /// The default profile compiled into the binary, for runs outside a checkout.
    pub fn builtin() -> ClusterProfile {
        // The file is validated by the test `default_profile_is_valid`.
        ClusterProfile::parse(BUILTIN_PROFILE, Path::new(DEFAULT_PROFILE))
            .unwrap_or_else(|e| panic!("built-in profile is invalid: {e}"))
    }

    /// Parses and validates profile text; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<ClusterProfile, ProfileError> {
        let file: Arc<Path> = Arc::from(path);
        let at = |pos: Pos, message: String, hint: &str| ProfileError {
            loc: SourceLoc {
                file: file.clone(),
                pos,
            },
            message,
            hint: hint.to_owned(),
        };
        let mut docs = yaml::parse_documents(text).map_err(|e| {
            at(
                e.pos,
                format!("invalid YAML: {}", e.message),
                "fix the YAML syntax",
            )
        })?;
        if docs.len() != 1 {
            return Err(at(
                Pos::default(),
                format!("a profile holds exactly one document, found {}", docs.len()),
                "keep one ClusterProfile per file",
            ));
        }
        let node = docs.remove(0);
        let json = node.to_json();
        if let Some((path, key)) = unknown_mesh_field(&json) {
            return Err(at(
                node.locate(&path),
                format!("{}: unknown field `{key}`", yaml::display_path(&path)),
                "localityLbSetting takes enabled, distribute (from, to), failover (from, to) and failoverPriority",
            ));
        }
        let mut profile: ClusterProfile = yaml::deserialize_typed(json).map_err(|err| {
            at(
                node.locate(&err.path),
                if err.path.is_empty() {
                    err.message
                } else {
                    format!("{}: {}", yaml::display_path(&err.path), err.message)
                },
                "see the field list at the top of clusters/three-zones.yaml",
            )
        })?;
        profile.source = Some(path.to_owned());
        profile
            .validate()
            .map_err(|(path, message, hint)| at(node.locate(&path), message, hint))?;
        // Sizes: kind runs a container per node (issue 10 item 5).
        let pools: Vec<(Vec<PathSeg>, String, u32)> = profile
            .zones
            .iter()
            .enumerate()
            .flat_map(|(z, zone)| {
                zone.pools.iter().enumerate().map(move |(p, pool)| {
                    (
                        crate::path!["zones", z, "pools", p, "nodes"].to_vec(),
                        format!("{}/{}", zone.name, pool.name),
                        pool.nodes,
                    )
                })
            })
            .collect();
        crate::limits::check_nodes(pools.iter().map(|(_, name, n)| (name.clone(), *n))).map_err(
            |(index, e)| {
                let path =
                    index.map_or_else(|| crate::path!["zones"].to_vec(), |i| pools[i].0.clone());
                at(node.locate(&path), e.message, &e.hint)
            },
        )?;
        Ok(profile)
    }

    /// Checks what serde cannot: the returned path points at the bad field.
    fn validate(&self) -> Result<(), (Vec<PathSeg>, String, &'static str)> {
        let p = |segs: &[PathSeg]| segs.to_vec();
        if self.api_version != "zonechaos.dev/v1alpha1" || self.kind != "ClusterProfile" {
            return Err((
                p(&["kind".into()]),
                format!(
                    "expected zonechaos.dev/v1alpha1 ClusterProfile, found {} {}",
                    self.api_version, self.kind
                ),
                "set apiVersion: zonechaos.dev/v1alpha1 and kind: ClusterProfile",
            ));
        }
        if !is_k8s_version(&self.kubernetes_version) {
            return Err((
                p(&["kubernetesVersion".into()]),
                format!("'{}' is not a Kubernetes version", self.kubernetes_version),
                "write it as vMAJOR.MINOR.PATCH, e.g. v1.34.0",
            ));
        }
        if self.zones.is_empty() {
            return Err((
                p(&["zones".into()]),
                "no zones".into(),
                "list at least one zone",
            ));
        }
        let mut names = BTreeSet::new();
        let mut shorts = BTreeSet::new();
        for (i, zone) in self.zones.iter().enumerate() {
            let here = |field: &str| {
                vec![
                    PathSeg::from("zones"),
                    PathSeg::Index(i),
                    PathSeg::from(field),
                ]
            };
            let region = self.region_of(zone);
            if !zone.name.as_str().starts_with(region.as_str()) {
                return Err((
                    here("name"),
                    format!("zone {} is not in region {region}", zone.name),
                    "zone names start with their region (us-east-1a in us-east-1); give the zone its own `region` when it is in another",
                ));
            }
            for (j, pool) in zone.pools.iter().enumerate() {
                if let Some(subzone) = &pool.subzone
                    && (subzone.is_empty() || !crate::topology::labels::is_label_value(subzone))
                {
                    return Err((
                        vec![
                            PathSeg::from("zones"),
                            PathSeg::Index(i),
                            PathSeg::from("pools"),
                            PathSeg::Index(j),
                            PathSeg::from("subzone"),
                        ],
                        format!("subzone '{subzone}' is not a label value"),
                        "use 1-63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
                    ));
                }
            }
            if !names.insert(zone.name.clone()) {
                return Err((
                    here("name"),
                    format!("zone {} is listed twice", zone.name),
                    "list each zone once",
                ));
            }
            if zone.short.is_empty() || !shorts.insert(zone.short.clone()) {
                return Err((
                    here("short"),
                    format!("zone alias '{}' is empty or used twice", zone.short),
                    "give each zone its own alias (a, b, c)",
                ));
            }
            for (role, capacity) in [
                ("workloads", self.placement.workloads),
                ("loadClients", self.placement.load_clients),
            ] {
                if !zone
                    .pools
                    .iter()
                    .any(|pool| pool.capacity_type == capacity && pool.nodes > 0)
                {
                    return Err((
                        here("pools"),
                        format!(
                            "zone {} has no {} node for placement.{role}",
                            zone.name,
                            capacity.label_value()
                        ),
                        "add a pool of that capacity type with at least one node, or change placement",
                    ));
                }
            }
            if zone.pools.iter().all(|pool| pool.nodes == 0) {
                return Err((
                    here("pools"),
                    format!("zone {} has no nodes", zone.name),
                    "give at least one pool a node count above 0",
                ));
            }
        }
        if let Some(setting) = &self.mesh.locality_lb_setting {
            let base = crate::path!["mesh", "localityLbSetting"];
            if let Some(error) =
                crate::mesh::validation::validate_locality_setting(setting, true, &base)
                    .into_iter()
                    .find(|f| !f.violation.is_warning())
            {
                return Err((
                    error.path,
                    format!("istiod refuses this mesh config: {}", error.message),
                    "fix the setting as for a DestinationRule's localityLbSetting (lint explains each rule)",
                ));
            }
        }
        Ok(())
    }

    /// The region of a zone: its own, else the profile's.
    pub fn region_of<'a>(&'a self, zone: &'a ZoneSpec) -> &'a Region {
        zone.region.as_ref().unwrap_or(&self.region)
    }

    /// The zone and region labels every node of `zone` carries (under the
    /// profile's keys): the model's nodes and load clients, and kind's.
    pub fn zone_node_labels(&self, zone: &ZoneSpec) -> BTreeMap<String, String> {
        BTreeMap::from([
            (self.node_labels.zone.clone(), zone.name.to_string()),
            (
                self.node_labels.region.clone(),
                self.region_of(zone).to_string(),
            ),
        ])
    }

    /// [`Self::zone_node_labels`] of a zone named by the user or a suite:
    /// none for a zone the profile does not have.
    pub fn node_labels_in(&self, zone: &Zone) -> BTreeMap<String, String> {
        self.zone(zone)
            .map(|z| self.zone_node_labels(z))
            .unwrap_or_default()
    }

    /// The zones in profile order.
    pub fn zone_names(&self) -> impl Iterator<Item = &Zone> {
        self.zones.iter().map(|z| &z.name)
    }

    /// The zone a label value names: the full zone name or its alias.
    pub fn zone_for_label_value(&self, value: &str) -> Option<&Zone> {
        self.zones
            .iter()
            .find(|z| z.name.as_str() == value || z.short == value)
            .map(|z| &z.name)
    }

    /// The zone a suite, flag or command line names (full name or alias),
    /// or an error that says which zones the profile has. Every place that
    /// takes a zone from a user resolves it here.
    pub fn resolve_zone(&self, value: &str) -> Result<Zone, UnknownZone> {
        self.zone_for_label_value(value)
            .cloned()
            .ok_or_else(|| UnknownZone {
                value: crate::spec::quote(value),
                profile: self.name.clone(),
                known: self.zone_names().map(|z| z.to_string()).collect(),
            })
    }

    /// The spec of a zone.
    pub fn zone(&self, zone: &Zone) -> Option<&ZoneSpec> {
        self.zones.iter().find(|z| &z.name == zone)
    }
}

/// A zone name the profile does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{value}' is not a zone of profile {profile}")]
pub struct UnknownZone {
    /// What was written (cut to a quotable length).
    pub value: String,
    /// The profile's name.
    pub profile: String,
    /// Its zones, in profile order.
    pub known: Vec<String>,
}

impl UnknownZone {
    /// How to fix it.
    pub fn hint(&self) -> String {
        format!("use one of {}", self.known.join(", "))
    }
}

/// The first field of `mesh.localityLbSetting` Istio does not define: the
/// setting's type is shared with DestinationRules (whose unknown fields the
/// CRD schema reports), so the profile checks its own copy here rather
/// than drop a misspelt field.
fn unknown_mesh_field(profile: &serde_json::Value) -> Option<(Vec<PathSeg>, String)> {
    let setting = profile.get("mesh")?.get("localityLbSetting")?;
    let base = || vec![PathSeg::from("mesh"), PathSeg::from("localityLbSetting")];
    let unknown = |value: &serde_json::Value, known: &[&str]| {
        value
            .as_object()
            .and_then(|o| o.keys().find(|k| !known.contains(&k.as_str())).cloned())
    };
    if let Some(key) = unknown(
        setting,
        &["enabled", "distribute", "failover", "failoverPriority"],
    ) {
        return Some((base(), key));
    }
    for list in ["distribute", "failover"] {
        let entries = setting.get(list).and_then(|v| v.as_array());
        for (i, entry) in entries.into_iter().flatten().enumerate() {
            if let Some(key) = unknown(entry, &["from", "to"]) {
                let mut path = base();
                path.extend([PathSeg::from(list), PathSeg::Index(i)]);
                return Some((path, key));
            }
        }
    }
    None
}

fn is_k8s_version(v: &str) -> bool {
    let Some(rest) = v.strip_prefix('v') else {
        return false;
    };
    let parts: Vec<&str> = rest.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile_path() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_PROFILE)
    }

    #[test]
    fn default_profile_is_valid() {
        let p = ClusterProfile::load(&profile_path()).unwrap();
        assert_eq!(p.region.as_str(), "us-east-1");
        let zones: Vec<&str> = p.zone_names().map(Zone::as_str).collect();
        assert_eq!(zones, ["us-east-1a", "us-east-1b", "us-east-1c"]);
        assert_eq!(p.zone_for_label_value("b").unwrap().as_str(), "us-east-1b");
        assert_eq!(
            p.zone_for_label_value("us-east-1c").unwrap().as_str(),
            "us-east-1c"
        );
        assert!(p.zone_for_label_value("d").is_none());
        let mut builtin = ClusterProfile::builtin();
        builtin.source = p.source.clone();
        assert_eq!(builtin, p);
        for z in &p.zones {
            assert!(
                z.pools
                    .iter()
                    .any(|pool| pool.capacity_type == CapacityType::Spot)
            );
            assert!(
                z.pools
                    .iter()
                    .any(|pool| pool.capacity_type == CapacityType::OnDemand)
            );
        }
    }

    fn load_str(text: &str) -> Result<ClusterProfile, ProfileError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.yaml");
        std::fs::write(&path, text).unwrap();
        ClusterProfile::load(&path)
    }

    #[test]
    fn bad_profiles_point_at_the_field() {
        let good = std::fs::read_to_string(profile_path()).unwrap();
        let bad_zone = good.replace("name: us-east-1b", "name: eu-west-1b");
        let err = load_str(&bad_zone).unwrap_err();
        assert!(err.message.contains("not in region"), "{err}");
        assert!(err.loc.pos.line > 30, "{err}");

        let bad_type = good.replacen("capacityType: spot", "capacityType: preemptible", 1);
        let err = load_str(&bad_type).unwrap_err();
        assert!(
            err.message.contains("zones[0].pools[0].capacityType"),
            "{err}"
        );

        let bad_version = good.replace("v1.34.0", "v1.34");
        assert!(
            load_str(&bad_version)
                .unwrap_err()
                .message
                .contains("Kubernetes version")
        );

        let unknown = good.replace("region: us-east-1\n", "region: us-east-1\nregions: []\n");
        assert!(
            load_str(&unknown)
                .unwrap_err()
                .message
                .contains("unknown field")
        );
    }
}
