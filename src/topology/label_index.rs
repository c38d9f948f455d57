//! Items (workloads, by position) indexed by namespace and label, so that
//! finding what a selector selects costs the length of one posting list,
//! not a scan of the namespace: lint and the model ask this once per
//! Service, subset and PDB, and a namespace of N copies of a topology would
//! otherwise cost N² (issue 10 item 13).
//!
//! The index only narrows: [`LabelIndex::candidates`] returns a superset of
//! the matching items, in insertion order, and the caller still evaluates
//! the selector on each, so results (and their order) are those of a scan.

use foldhash::HashMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::labels::{Labels, map_matches, selector_matches};

/// One requirement a label set must meet, as far as the index can use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Constraint<'s> {
    /// `key` is present with this value (matchLabels, a Service selector,
    /// `In` with one value).
    Equals(&'s str, &'s str),
    /// `key` is present (`Exists`).
    Has(&'s str),
}

impl<'s> Constraint<'s> {
    /// The label key constrained.
    pub fn key(&self) -> &'s str {
        match self {
            Constraint::Equals(k, _) | Constraint::Has(k) => k,
        }
    }

    /// Every pair of a label map (Service selectors, subset labels).
    pub fn of_map(wanted: &'s Labels) -> impl Iterator<Item = Constraint<'s>> {
        wanted
            .iter()
            .map(|(k, v)| Constraint::Equals(k.as_str(), v.as_str()))
    }

    /// The parts of a LabelSelector the index can use: matchLabels, `In`
    /// with a single value, `Exists`. `NotIn`, `DoesNotExist` and `In` with
    /// several values only narrow further, so leaving them to the caller's
    /// evaluation keeps the candidates a superset.
    pub fn of_selector(selector: &'s LabelSelector) -> impl Iterator<Item = Constraint<'s>> {
        let by_labels = selector
            .match_labels
            .iter()
            .flatten()
            .map(|(k, v)| Constraint::Equals(k.as_str(), v.as_str()));
        let by_expressions = selector.match_expressions.iter().flatten().filter_map(|e| {
            match (e.operator.as_str(), e.values.as_deref()) {
                ("In", Some([one])) => Some(Constraint::Equals(e.key.as_str(), one.as_str())),
                ("Exists", _) => Some(Constraint::Has(e.key.as_str())),
                _ => None,
            }
        });
        by_labels.chain(by_expressions)
    }
}

/// What selects workloads' pods: a Service selector or subset labels
/// (every pair must be present), or a LabelSelector (PDBs; an empty one
/// selects everything).
#[derive(Debug, Clone, Copy)]
pub enum Selection<'q> {
    /// `key: value` pairs that must all be present.
    Labels(&'q Labels),
    /// matchLabels and matchExpressions.
    Selector(&'q LabelSelector),
}

impl<'q> Selection<'q> {
    /// The constraints the index can narrow by.
    pub fn constraints(self) -> Box<dyn Iterator<Item = Constraint<'q>> + 'q> {
        match self {
            Selection::Labels(l) => Box::new(Constraint::of_map(l)),
            Selection::Selector(s) => Box::new(Constraint::of_selector(s)),
        }
    }

    /// True when it selects these labels.
    pub fn matches(self, labels: &Labels) -> bool {
        match self {
            Selection::Labels(l) => map_matches(l, labels),
            Selection::Selector(s) => selector_matches(s, labels),
        }
    }
}

/// Items of one namespace by label key.
#[derive(Debug, Clone, Default, PartialEq)]
struct Namespace {
    all: Vec<usize>,
    keys: HashMap<String, Key>,
}

/// Items of one namespace carrying one label key, and by its value.
#[derive(Debug, Clone, Default, PartialEq)]
struct Key {
    all: Vec<usize>,
    values: HashMap<String, Vec<usize>>,
}

/// Items by namespace and label; see the module documentation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelIndex {
    namespaces: HashMap<String, Namespace>,
}

impl LabelIndex {
    /// Adds `item` (callers insert in increasing order, so every list stays
    /// sorted and candidates come in the order of a scan).
    pub fn insert(&mut self, item: usize, namespace: &str, labels: &Labels) {
        let ns = self.namespaces.entry(namespace.to_owned()).or_default();
        ns.all.push(item);
        for (k, v) in labels {
            let key = ns.keys.entry(k.clone()).or_default();
            key.all.push(item);
            key.values.entry(v.clone()).or_default().push(item);
        }
    }

    /// Every item of a namespace, in insertion order.
    pub fn in_namespace(&self, namespace: &str) -> &[usize] {
        self.namespaces
            .get(namespace)
            .map_or(&[], |ns| ns.all.as_slice())
    }

    /// Items of `namespace` that may meet every constraint: the shortest
    /// posting list among them (empty when one cannot be met), or the whole
    /// namespace when there is no constraint. A superset of the matches.
    pub fn candidates<'c>(
        &self,
        namespace: &str,
        constraints: impl IntoIterator<Item = Constraint<'c>>,
    ) -> &[usize] {
        let Some(ns) = self.namespaces.get(namespace) else {
            return &[];
        };
        let mut best: &[usize] = &ns.all;
        for c in constraints {
            let list = ns.keys.get(c.key()).map_or(&[][..], |key| match c {
                Constraint::Equals(_, v) => key.values.get(v).map_or(&[][..], Vec::as_slice),
                Constraint::Has(_) => key.all.as_slice(),
            });
            if list.len() < best.len() {
                best = list;
            }
            if best.is_empty() {
                break;
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::labels::labels;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;

    /// Items 0..: (namespace, labels).
    fn index(items: &[(&str, Labels)]) -> LabelIndex {
        let mut idx = LabelIndex::default();
        for (i, (ns, l)) in items.iter().enumerate() {
            idx.insert(i, ns, l);
        }
        idx
    }

    fn items() -> Vec<(&'static str, Labels)> {
        vec![
            ("a", labels(&[("app", "x"), ("zone", "1")])),
            ("a", labels(&[("app", "x"), ("zone", "2")])),
            ("a", labels(&[("app", "y"), ("zone", "1")])),
            ("b", labels(&[("app", "x"), ("zone", "1")])),
            ("a", labels(&[])),
        ]
    }

    #[test]
    fn candidates_are_the_shortest_posting_list_in_order() {
        let idx = index(&items());
        let want = labels(&[("app", "x"), ("zone", "1")]);
        // app=x has items 0, 1; zone=1 has 0, 2: the first shortest wins.
        assert_eq!(idx.candidates("a", Constraint::of_map(&want)), &[0, 1]);
        assert_eq!(
            idx.candidates("a", Constraint::of_map(&labels(&[("app", "z")]))),
            &[] as &[usize]
        );
        assert_eq!(idx.candidates("a", []), &[0, 1, 2, 4]);
        assert_eq!(idx.candidates("c", []), &[] as &[usize]);
        assert_eq!(idx.in_namespace("b"), &[3]);
    }

    #[test]
    fn selector_constraints_keep_a_superset() {
        let all = items();
        let idx = index(&all);
        let req = |key: &str, op: &str, values: &[&str]| LabelSelectorRequirement {
            key: key.into(),
            operator: op.into(),
            values: Some(values.iter().map(|v| v.to_string()).collect()),
        };
        let selectors = [
            LabelSelector::default(),
            LabelSelector {
                match_labels: Some(labels(&[("app", "x")])),
                match_expressions: Some(vec![req("zone", "In", &["2"])]),
            },
            LabelSelector {
                match_labels: None,
                match_expressions: Some(vec![req("zone", "In", &["1", "2"])]),
            },
            LabelSelector {
                match_labels: None,
                match_expressions: Some(vec![req("app", "Exists", &[])]),
            },
            LabelSelector {
                match_labels: None,
                match_expressions: Some(vec![req("app", "NotIn", &["x"])]),
            },
            LabelSelector {
                match_labels: None,
                match_expressions: Some(vec![req("app", "DoesNotExist", &[])]),
            },
        ];
        for sel in &selectors {
            let scan: Vec<usize> = (0..all.len())
                .filter(|&i| all[i].0 == "a" && selector_matches(sel, &all[i].1))
                .collect();
            let indexed: Vec<usize> = idx
                .candidates("a", Constraint::of_selector(sel))
                .iter()
                .copied()
                .filter(|&i| selector_matches(sel, &all[i].1))
                .collect();
            assert_eq!(indexed, scan, "{sel:?}");
        }
        let svc = labels(&[("zone", "1")]);
        let scan: Vec<usize> = (0..all.len())
            .filter(|&i| all[i].0 == "a" && map_matches(&svc, &all[i].1))
            .collect();
        assert_eq!(idx.candidates("a", Constraint::of_map(&svc)), scan);
    }
}
