//! PodDisruptionBudgets read back as the model's [`PdbStatus`], and which
//! budget covers a pod.

use std::collections::BTreeMap;

use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::Client;
use kube::api::{Api, ListParams};

use super::error::ApiError;
use crate::model::eviction::PdbStatus;
use crate::topology::labels::selector_matches;

/// Lists the PDBs of `namespace` (every namespace when `None`).
pub async fn list_pdbs(
    client: &Client,
    namespace: Option<&str>,
) -> Result<Vec<PodDisruptionBudget>, ApiError> {
    let api: Api<PodDisruptionBudget> = match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let what = format!(
        "PodDisruptionBudgets in {}",
        namespace.unwrap_or("all namespaces")
    );
    Ok(api
        .list(&ListParams::default())
        .await
        .map_err(|e| ApiError::from_kube("list", what, e))?
        .items)
}

/// A PDB's `.status` as the model's [`PdbStatus`] (zeros before the
/// disruption controller first wrote it).
pub fn pdb_status(pdb: &PodDisruptionBudget) -> PdbStatus {
    match &pdb.status {
        Some(s) => PdbStatus {
            expected_pods: s.expected_pods,
            current_healthy: s.current_healthy,
            desired_healthy: s.desired_healthy,
            disruptions_allowed: s.disruptions_allowed,
        },
        None => PdbStatus {
            expected_pods: 0,
            current_healthy: 0,
            desired_healthy: 0,
            disruptions_allowed: 0,
        },
    }
}

/// Every PDB of `namespace` by name, as [`crate::backend::Backend::pdb_statuses`] returns them.
pub async fn read_pdb_statuses(
    client: &Client,
    namespace: &str,
) -> Result<BTreeMap<String, PdbStatus>, ApiError> {
    Ok(list_pdbs(client, Some(namespace))
        .await?
        .iter()
        .map(|p| (p.metadata.name.clone().unwrap_or_default(), pdb_status(p)))
        .collect())
}

/// Names of the PDBs of `namespace` whose selector selects a pod with `labels`.
pub fn pdbs_covering<'a>(
    pdbs: &'a [PodDisruptionBudget],
    namespace: &str,
    labels: &BTreeMap<String, String>,
) -> Vec<&'a str> {
    pdbs.iter()
        .filter(|p| p.metadata.namespace.as_deref().unwrap_or(namespace) == namespace)
        .filter(|p| {
            p.spec
                .as_ref()
                .and_then(|s| s.selector.as_ref())
                .is_some_and(|sel| selector_matches(sel, labels))
        })
        .filter_map(|p| p.metadata.name.as_deref())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covering_pdbs_are_found_by_selector_in_the_pod_namespace() {
        let pdbs: Vec<PodDisruptionBudget> = serde_json::from_value(serde_json::json!([
            {"metadata": {"name": "echo-c", "namespace": "zc"},
             "spec": {"selector": {"matchLabels": {"app": "echo", "zone": "c"}}}},
            {"metadata": {"name": "echo-a", "namespace": "zc"},
             "spec": {"selector": {"matchLabels": {"app": "echo", "zone": "a"}}}},
            {"metadata": {"name": "other-ns", "namespace": "x"},
             "spec": {"selector": {}}},
            {"metadata": {"name": "no-selector", "namespace": "zc"}, "spec": {}}
        ]))
        .unwrap();
        let labels: BTreeMap<String, String> = [("app", "echo"), ("zone", "c")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(pdbs_covering(&pdbs, "zc", &labels), vec!["echo-c"]);
        assert_eq!(pdbs_covering(&pdbs, "x", &labels), vec!["other-ns"]);
    }
}
