//! Label selectors as Kubernetes evaluates them.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

/// Labels of a pod, node or proxy.
pub type Labels = BTreeMap<String, String>;

/// True when `labels` satisfy the selector (matchLabels and matchExpressions).
/// An empty selector matches everything, as for PDBs in policy/v1.
pub fn selector_matches(selector: &LabelSelector, labels: &Labels) -> bool {
    work::count();
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
    work::count();
    wanted.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// A count of selector evaluations on this thread (and of VirtualService
/// host matches, `mesh::routing`), in test builds only: a
/// deterministic measure of work, so tests can assert that lint and whatif
/// stay linear in one namespace without timing anything (issue 10 item 13).
pub(crate) mod work {
    #[cfg(test)]
    thread_local! {
        static EVALUATIONS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    }

    /// One selector evaluated (nothing outside tests).
    #[inline]
    pub(crate) fn count() {
        #[cfg(test)]
        EVALUATIONS.with(|c| c.set(c.get() + 1));
    }

    /// Evaluations on this thread so far.
    #[cfg(test)]
    pub(crate) fn evaluations() -> u64 {
        EVALUATIONS.with(std::cell::Cell::get)
    }
}

/// Labels from pairs, for tests.
#[cfg(test)]
pub(crate) fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;

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
