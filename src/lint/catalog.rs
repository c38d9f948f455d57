//! Every lint rule, in one place: IDs are stable and never reused.
//!
//! ZC0xxx input, ZC1xxx Istio locality and outlier detection, ZC2xxx Argo
//! Rollouts traffic routing, ZC3xxx zone topology, ZC4xxx CRD schemas.

use super::finding::{Rule, Severity};

macro_rules! rules {
    ($($(#[$doc:meta])* $konst:ident = ($id:literal, $name:literal, $sev:ident, $summary:literal, $source:literal);)*) => {
        $($(#[$doc])* pub static $konst: Rule = Rule {
            id: $id,
            name: $name,
            severity: Severity::$sev,
            summary: $summary,
            source: $source,
        };)*
        /// Every rule, in ID order.
        pub static ALL: &[&Rule] = &[$(&$konst),*];
    };
}

rules! {
    /// YAML that does not parse.
    YAML_SYNTAX = ("ZC0001", "yaml-syntax", Error, "The file is not valid YAML; none of its objects were read.", "YAML 1.2");
    /// A field of a known kind with the wrong type.
    FIELD_TYPE = ("ZC0002", "field-type", Error, "A field has a type the API server would reject (e.g. a string where an integer belongs).", "Kubernetes API types");
    /// A document that is not a Kubernetes object.
    NOT_AN_OBJECT = ("ZC0003", "not-an-object", Error, "A YAML document lacks apiVersion, kind or metadata.name.", "Kubernetes API conventions");
    /// A kind zonechaos does not read.
    UNKNOWN_KIND = ("ZC0004", "unknown-kind", Info, "An object of a kind zonechaos does not model; it is kept but not checked.", "zonechaos");
    /// Rejected by a live API server (kind/existing backends, not `lint`).
    ADMISSION_DENIED = ("ZC0900", "admission-denied", Error, "The API server or an admission webhook (e.g. Istio's validation.istio.io) rejected the object at apply time; reported by run --backend kind|existing.", "Kubernetes admission control; istio validation webhook");

    /// distribute + failover.
    DISTRIBUTE_WITH_FAILOVER = ("ZC1001", "distribute-with-failover", Error, "localityLbSetting sets both distribute and failover; Istio rejects the DestinationRule.", "SEMANTICS.md §3; istio pkg/config/validation/agent/validation.go ValidateLocalityLbSetting");
    /// failover naming a zone.
    FAILOVER_NOT_REGION = ("ZC1002", "failover-not-region", Error, "A failover entry names a zone or subzone (contains '/'); failover takes regions only.", "SEMANTICS.md §3; ValidateLocalityLbSetting");
    /// failover from == to.
    FAILOVER_SAME_REGION = ("ZC1003", "failover-same-region", Error, "A failover entry has the same from and to.", "SEMANTICS.md §3; ValidateLocalityLbSetting");
    /// failover with a wildcard.
    FAILOVER_WILDCARD = ("ZC1004", "failover-wildcard", Error, "A failover region contains the '*' wildcard.", "SEMANTICS.md §3; ValidateLocalityLbSetting");
    /// failover + topology-label failoverPriority.
    FAILOVER_WITH_TOPOLOGY_PRIORITY = ("ZC1005", "failover-with-topology-priority", Error, "failover is combined with a failoverPriority entry that is exactly a topology label.", "SEMANTICS.md §3; ValidateLocalityLbSetting");
    /// distribute weight out of 1..100.
    DISTRIBUTE_WEIGHT_RANGE = ("ZC1006", "distribute-weight-range", Error, "A distribute weight is outside 1..100.", "SEMANTICS.md §3; ValidateLocalityLbSetting");
    /// distribute weights not summing to 100.
    DISTRIBUTE_WEIGHT_SUM = ("ZC1007", "distribute-weight-sum", Error, "The weights of a distribute entry do not sum to 100.", "SEMANTICS.md §3; ValidateLocalityLbSetting");
    /// bad wildcard in distribute.
    DISTRIBUTE_BAD_WILDCARD = ("ZC1008", "distribute-bad-wildcard", Error, "A distribute locality has more than one '*' or a '*' that is not at the end, or an empty part.", "SEMANTICS.md §3; validateLocalities");
    /// overlapping distribute localities.
    DISTRIBUTE_OVERLAP = ("ZC1009", "distribute-overlap", Error, "Two localities of distribute (the from list, or the keys of one to map) overlap.", "SEMANTICS.md §3; validateLocalities");
    /// distribute keeping only the own zone.
    DISTRIBUTE_OWN_ZONE_ONLY = ("ZC1010", "distribute-own-zone-only", Warning, "A distribute entry sends 100% to the client's own zone: other zones are dropped for those clients and losing the zone gives 503 UH.", "SEMANTICS.md §3; pilot/pkg/networking/core/loadbalancer");
    /// failover without outlierDetection.
    FAILOVER_WITHOUT_OUTLIER = ("ZC1011", "failover-without-outlier-detection", Warning, "failover or failoverPriority is set without outlierDetection: no priorities are assigned and failover never happens.", "SEMANTICS.md §3; ValidateLocalityLbSetting warning");
    /// consecutiveErrors is ignored.
    DEPRECATED_CONSECUTIVE_ERRORS = ("ZC1012", "deprecated-consecutive-errors", Warning, "outlierDetection.consecutiveErrors is deprecated and ignored since Istio 1.7.", "SEMANTICS.md §3");
    /// zone routes with no outlier detection anywhere.
    ZONE_ROUTES_WITHOUT_OUTLIER = ("ZC1013", "zone-routes-without-outlier-detection", Warning, "Zone routes exist but no DestinationRule for the host sets outlierDetection: every endpoint is priority 0 and traffic spreads over all zones.", "SEMANTICS.md §3; loadbalancer.go");
    /// maxEjectionPercent too low.
    MAX_EJECTION_TOO_LOW = ("ZC1014", "max-ejection-percent-too-low", Warning, "maxEjectionPercent is below the share of one zone's endpoints: a lost zone cannot be ejected entirely.", "SEMANTICS.md §3 (Envoy outlier detection)");
    /// workloadSelector matching no proxy.
    WORKLOAD_SELECTOR_SELECTS_NOTHING = ("ZC1015", "workload-selector-selects-nothing", Warning, "A DestinationRule's workloadSelector matches no client proxy in its namespace (pod labels plus the locality labels istiod adds), nor the harness's load clients: the rule applies to nobody.", "istio networking/v1 destination_rule.proto workloadSelector; pilot/pkg/model/sidecar.go DestinationRule");
    /// a zone's clients get no outlier detection.
    ZONE_CLIENT_WITHOUT_OUTLIER = ("ZC1016", "zone-client-without-outlier-detection", Warning, "A host has per-client DestinationRules (workloadSelector), but the clients of some zone get a rule without outlierDetection, or none: their traffic gets no locality priorities and a lost zone is never failed over.", "pilot/pkg/model/sidecar.go DestinationRule; pilot/pkg/networking/core/loadbalancer");

    /// named route missing.
    ROUTE_NOT_FOUND = ("ZC2001", "route-not-found", Error, "A route named by a Rollout does not exist in the VirtualService (Rollout InvalidSpec).", "SEMANTICS.md §4; argo-rollouts rollout/trafficrouting/istio");
    /// named route lacks stable/canary.
    ROUTE_MISSING_DESTINATION = ("ZC2002", "route-missing-destination", Error, "A named route lacks the Rollout's stable or canary subset (or Service host).", "SEMANTICS.md §4");
    /// route named by several Rollouts.
    ROUTE_SHARED = ("ZC2003", "route-shared", Error, "Several Rollouts name the same VirtualService route; they overwrite each other's weights.", "SEMANTICS.md §4, §6 defect 8");
    /// DestinationRule shared.
    DESTINATION_RULE_SHARED = ("ZC2004", "destinationrule-shared", Error, "One DestinationRule is referenced by several Rollouts; each reconcile drops the others' subsets.", "SEMANTICS.md §4, §6 defect 5; istio.go UpdateHash");
    /// subset missing from DR.
    SUBSET_NOT_FOUND = ("ZC2005", "subset-not-found", Error, "A Rollout's stable or canary subset is not defined in its DestinationRule.", "SEMANTICS.md §4");
    /// routes omitted.
    ROUTES_OMITTED = ("ZC2006", "routes-omitted", Error, "A Rollout names no routes while the VirtualService has several HTTP routes.", "SEMANTICS.md §4");
    /// stable/canary Service missing.
    SERVICE_NOT_FOUND = ("ZC2007", "service-not-found", Error, "The Rollout's stableService or canaryService does not exist.", "SEMANTICS.md §4");
    /// Service selector mismatch.
    SERVICE_SELECTOR_MISMATCH = ("ZC2008", "service-selector-mismatch", Error, "The stable or canary Service's selector does not match the Rollout's pod template labels.", "SEMANTICS.md §4");
    /// Service shared.
    SERVICE_SHARED = ("ZC2009", "service-shared", Error, "Two Rollouts use the same stable or canary Service; each patches its selector with its own pod-template hash.", "SEMANTICS.md §4");
    /// foreign destination in a managed route.
    ROUTE_FOREIGN_DESTINATION = ("ZC2010", "route-foreign-destination", Warning, "A route managed by a Rollout has a destination other than its stable and canary: Argo deletes it on the next update.", "SEMANTICS.md §4");
    /// weights not summing to 100.
    ROUTE_WEIGHT_SUM = ("ZC2011", "route-weight-sum", Warning, "The destination weights of an HTTP route do not sum to 100: Istio (since 1.15) splits by weight/sum, so the shares differ from the numbers written.", "istio/istio#39544 (upstream differs from the issue text: only a zero total is rejected)");
    /// VirtualService missing.
    VIRTUAL_SERVICE_NOT_FOUND = ("ZC2012", "virtualservice-not-found", Error, "The VirtualService a Rollout names does not exist.", "SEMANTICS.md §4");
    /// DestinationRule missing.
    DESTINATION_RULE_NOT_FOUND = ("ZC2013", "destinationrule-not-found", Error, "The DestinationRule a Rollout names does not exist.", "SEMANTICS.md §4");

    /// zone route pinned to one zone.
    ZONE_ROUTE_SINGLE_ZONE = ("ZC3001", "zone-route-cannot-fail-over", Error, "A zone route's destinations have endpoints in one zone only while failover is configured: its clients get 503 UH when that zone is lost.", "SEMANTICS.md §2, §6 defect 6");
    /// zone routes without catch-all.
    ZONE_ROUTES_NO_CATCH_ALL = ("ZC3002", "zone-routes-without-catch-all", Warning, "The VirtualService has zone routes (sourceLabels on the zone) but no catch-all route: proxies matching none get the default route, with no subsets and no canary weights.", "SEMANTICS.md §2, §6 defect 7; istio/istio#51314");
    /// unknown zone in sourceLabels.
    UNKNOWN_SOURCE_ZONE = ("ZC3003", "unknown-source-zone", Error, "A sourceLabels zone value is not a zone of the cluster profile: the route never applies.", "SEMANTICS.md §2");
    /// labels vs affinity.
    ZONE_LABEL_AFFINITY_MISMATCH = ("ZC3004", "zone-label-affinity-mismatch", Error, "A zone-pinned workload's zone label names another zone than its node affinity.", "SEMANTICS.md §1");
    /// PDB selects nothing.
    PDB_SELECTS_NOTHING = ("ZC3005", "pdb-selects-nothing", Warning, "A PodDisruptionBudget selects no pod of any workload in the topology.", "SEMANTICS.md §1");
    /// PDB over zones.
    PDB_SPANS_ZONES = ("ZC3006", "pdb-spans-zones", Warning, "A PodDisruptionBudget selects pods of several zones, so it is not a per-zone budget.", "SEMANTICS.md §1");
    /// PDB blocks every eviction.
    PDB_BLOCKS_ALL_EVICTIONS = ("ZC3007", "pdb-blocks-all-evictions", Error, "A PodDisruptionBudget can never allow an eviction (minAvailable >= replicas or maxUnavailable 0): every drain blocks.", "SEMANTICS.md §1");
    /// zone-pinned without PDB.
    ZONE_PINNED_WITHOUT_PDB = ("ZC3008", "zone-pinned-without-pdb", Warning, "A zone-pinned Rollout has no PodDisruptionBudget: a zone drain may evict all its pods at once.", "SEMANTICS.md §1");
    /// common Service selecting a zone.
    COMMON_SERVICE_ZONE_SELECTOR = ("ZC3009", "common-service-zone-selector", Warning, "A Service that is not a Rollout's stable or canary Service selects on a zone label: it only reaches one zone and cannot fail over.", "SEMANTICS.md §2");

    /// CRD schemas not given.
    SCHEMA_SKIPPED = ("ZC4000", "schema-skipped", Info, "Schema conformance was skipped because no CRDs were given (--crds DIR) or cached (zonechaos crds fetch).", "zonechaos");
    /// wrong type per CRD schema.
    SCHEMA_TYPE = ("ZC4001", "schema-type", Error, "A field's type does not match the CRD schema.", "CRD openAPIV3Schema");
    /// enum violation.
    SCHEMA_ENUM = ("ZC4002", "schema-enum", Error, "A field's value is not one of the CRD schema's enum values.", "CRD openAPIV3Schema");
    /// required missing.
    SCHEMA_REQUIRED = ("ZC4003", "schema-required", Error, "A field the CRD schema requires is missing.", "CRD openAPIV3Schema");
    /// unknown field.
    SCHEMA_UNKNOWN_FIELD = ("ZC4004", "schema-unknown-field", Error, "A field is not in the CRD schema (the API server prunes or rejects it).", "CRD openAPIV3Schema");
    /// version not served.
    SCHEMA_VERSION = ("ZC4005", "schema-version", Error, "The apiVersion is not served by the CRD.", "CRD spec.versions");
    /// OpenAPI value constraint broken.
    SCHEMA_VALUE = ("ZC4006", "schema-value", Error, "A value breaks a constraint of the CRD schema: minimum/maximum, minLength/maxLength, minItems/maxItems, min/maxProperties, pattern or format (int32, duration, date-time, date, byte).", "CRD openAPIV3Schema; k8s.io/apiextensions-apiserver pkg/apiserver/validation; kube-openapi pkg/validation/validate, strfmt");
    /// CEL rule false.
    SCHEMA_CEL = ("ZC4007", "schema-cel-rule", Error, "A CEL rule of the CRD (x-kubernetes-validations) is false or fails to evaluate for a value: the API server rejects the object.", "CRD x-kubernetes-validations; k8s.io/apiextensions-apiserver pkg/apiserver/schema/cel/validation.go");
    /// CEL rule not evaluated.
    SCHEMA_CEL_SKIPPED = ("ZC4008", "schema-cel-skipped", Info, "A CEL rule of the CRD could not be evaluated (it uses a Kubernetes CEL library function the interpreter lacks, e.g. url() or quantity()); reported once per rule per run, never passed silently.", "k8s.io/apiserver/pkg/cel/library");
    /// built-in API validation.
    INVALID_VALUE = ("ZC4009", "invalid-value", Error, "A value the API server, Istio's webhook or the Argo Rollouts controller refuses regardless of CRDs: metadata.name not a DNS-1123 name, negative replicas, an unparsable or negative pause duration, a negative route weight, outlier detection out of range.", "apimachinery pkg/api/validation/objectmeta.go; kubernetes pkg/apis/apps/validation; argo-rollouts pkg/apis/rollouts/validation/validation.go; istio pkg/config/validation/validation.go");
}

/// Looks a rule up by ID or name.
pub fn find(id_or_name: &str) -> Option<&'static Rule> {
    ALL.iter()
        .copied()
        .find(|r| r.id.eq_ignore_ascii_case(id_or_name) || r.name == id_or_name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn ids_and_names_are_unique_and_well_formed() {
        let ids: BTreeSet<_> = ALL.iter().map(|r| r.id).collect();
        let names: BTreeSet<_> = ALL.iter().map(|r| r.name).collect();
        assert_eq!(ids.len(), ALL.len());
        assert_eq!(names.len(), ALL.len());
        for r in ALL {
            assert!(r.id.starts_with("ZC") && r.id.len() == 6, "{}", r.id);
            assert!(
                r.name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'-' || b.is_ascii_digit())
            );
        }
        assert_eq!(find("zc1001").unwrap().name, "distribute-with-failover");
        assert_eq!(find("route-shared").unwrap().id, "ZC2003");
    }
}
