//! Label selectors as Kubernetes evaluates them.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

/// Labels of a pod, node or proxy.
pub type Labels = BTreeMap<String, String>;

/// True when `labels` satisfy the selector (matchLabels and matchExpressions).
/// An empty selector matches everything, as for PDBs in policy/v1.
pub fn selector_matches(selector: &LabelSelector, labels: &Labels) -> bool {
    let by_labels = selector
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    let by_expressions = selector.match_expressions.iter().flatten().all(|expr| {
        let values = expr.values.as_deref().unwrap_or_default();
        let current = labels.get(&expr.key);
        match expr.operator.as_str() {
            "In" => current.is_some_and(|v| values.contains(v)),
            "NotIn" => current.is_none_or(|v| !values.contains(v)),
            "Exists" => current.is_some(),
            "DoesNotExist" => current.is_none(),
            _ => false,
        }
    });
    by_labels && by_expressions
}

/// True when every `key: value` of `wanted` is in `labels` (Service selectors,
/// DestinationRule subsets, sourceLabels).
pub fn map_matches(wanted: &Labels, labels: &Labels) -> bool {
    wanted.iter().all(|(k, v)| labels.get(k) == Some(v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn match_labels_and_expressions() {
        let sel = LabelSelector {
            match_labels: Some(labels(&[("app", "test")])),
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: "zone".into(),
                operator: "In".into(),
                values: Some(vec!["a".into(), "b".into()]),
            }]),
        };
        assert!(selector_matches(
            &sel,
            &labels(&[("app", "test"), ("zone", "a")])
        ));
        assert!(!selector_matches(
            &sel,
            &labels(&[("app", "test"), ("zone", "c")])
        ));
        assert!(!selector_matches(
            &sel,
            &labels(&[("app", "other"), ("zone", "a")])
        ));
        assert!(selector_matches(&LabelSelector::default(), &labels(&[])));
    }

    #[test]
    fn map_match_is_subset() {
        assert!(map_matches(
            &labels(&[("app", "x")]),
            &labels(&[("app", "x"), ("z", "1")])
        ));
        assert!(!map_matches(
            &labels(&[("app", "x"), ("z", "2")]),
            &labels(&[("app", "x")])
        ));
    }
}
