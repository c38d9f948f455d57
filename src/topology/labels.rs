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

/// A function of a label map asked of many pods or endpoints in a row,
/// most of which share one map (the pods of a ReplicaSet hold the same
/// `Arc`, and so do its endpoints in one zone): the answer for the last map
/// is kept, so a Service, PDB or subset costs one evaluation per ReplicaSet
/// instead of one per pod. It borrows that map, so the address it compares
/// cannot be reused by another map while the answer is kept.
pub struct SharedLabelsMemo<'a, F, T> {
    compute: F,
    last: Option<(&'a Labels, T)>,
}

impl<'a, F: Fn(&Labels) -> T, T: Copy> SharedLabelsMemo<'a, F, T> {
    /// A memo with no answer kept yet.
    pub fn new(compute: F) -> SharedLabelsMemo<'a, F, T> {
        SharedLabelsMemo {
            compute,
            last: None,
        }
    }

    /// The function's value for `labels`, computed only when they are not
    /// the map of the previous call.
    pub fn get(&mut self, labels: &'a Labels) -> T {
        if let Some((seen, value)) = self.last
            && std::ptr::eq(seen, labels)
        {
            return value;
        }
        let value = (self.compute)(labels);
        self.last = Some((labels, value));
        value
    }
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

/// A Kubernetes label value: at most 63 characters, alphanumerics with
/// `-`, `_` and `.` inside (apimachinery validation IsValidLabelValue,
/// which also allows "").
pub fn is_label_value(v: &str) -> bool {
    v.is_empty() || is_label_name(v)
}

/// The name part of a label key, or a non-empty label value.
fn is_label_name(v: &str) -> bool {
    let bytes = v.as_bytes();
    !v.is_empty()
        && v.len() <= 63
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A Kubernetes label key: `[prefix/]name`, the prefix a DNS subdomain of
/// at most 253 characters (apimachinery validation IsQualifiedName).
pub fn is_label_key(key: &str) -> bool {
    match key.split_once('/') {
        None => is_label_name(key),
        Some((prefix, name)) => {
            is_label_name(name)
                && prefix.len() <= 253
                && prefix
                    .split('.')
                    .all(|part| dns_label_problem(part).is_none())
        }
    }
}

/// Why `name` is not an RFC 1123 label (at most 63 characters, lowercase
/// letters, digits and `-`, starting and ending with a letter or digit), as
/// apimachinery's `IsDNS1123Label` (pkg/util/validation/validation.go)
/// requires of namespace names; `None` when it is one.
pub fn dns_label_problem(name: &str) -> Option<&'static str> {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    if name.is_empty() {
        Some("it is empty")
    } else if name.len() > 63 {
        Some("it is longer than 63 characters")
    } else if !name.chars().all(|c| alnum(c) || c == '-') {
        Some("only lowercase letters, digits and '-' are allowed")
    } else if !name.starts_with(alnum) || !name.ends_with(alnum) {
        Some("it must start and end with a letter or digit")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;

    #[test]
    fn a_shared_labels_memo_evaluates_once_per_shared_map_and_follows_changes() {
        let calls = std::cell::Cell::new(0);
        let mut test = SharedLabelsMemo::new(|l: &Labels| {
            calls.set(calls.get() + 1);
            l.get("app").is_some_and(|v| v == "a")
        });
        let a = std::sync::Arc::new(labels(&[("app", "a")]));
        let b = std::sync::Arc::new(labels(&[("app", "b")]));
        // Equal content in another allocation is evaluated again.
        let a2 = std::sync::Arc::new(labels(&[("app", "a")]));
        let answers: Vec<bool> = [&a, &a, &a, &b, &b, &a, &a2]
            .into_iter()
            .map(|l| test.get(l))
            .collect();
        assert_eq!(answers, [true, true, true, false, false, true, true]);
        assert_eq!(calls.get(), 4);
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

    // apimachinery validation_test.go TestIsQualifiedName / TestIsValidLabelValue
    // (a selection of their good and bad cases).
    #[test]
    fn label_keys_and_values_follow_apimachinery() {
        for good in [
            "simple",
            "now-with-dashes",
            "1-starts-with-num",
            "prefix/name",
            "example.com/Name_x",
            "topology.istio.io/subzone",
        ] {
            assert!(is_label_key(good), "{good}");
        }
        for bad in [
            "",
            "nospecial?",
            "-starts",
            "ends-",
            "/name",
            "prefix/",
            "Upper.com/name",
            "a/b/c",
            &"x".repeat(64),
        ] {
            assert!(!is_label_key(bad), "{bad}");
        }
        for good in ["", "simple", "now-with-dashes", "1.2_3", &"x".repeat(63)] {
            assert!(is_label_value(good), "{good}");
        }
        for bad in ["-starts", "ends.", "has space", "a/b", &"x".repeat(64)] {
            assert!(!is_label_value(bad), "{bad}");
        }
    }
}
