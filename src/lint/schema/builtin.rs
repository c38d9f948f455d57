//! ZC4009: values refused whatever CRDs are given, by validation that
//! lives in code rather than in a schema: the API server's object-meta and
//! apps validation, Argo Rollouts' controller and Istio's webhook. Each
//! check names its upstream source.

use super::duration;
use crate::lint::catalog;
use crate::lint::finding::Findings;
use crate::spec::quote;
use crate::topology::yaml::{Node, PathSeg, Value};
use crate::topology::{Kind, Object};

/// Runs every check on one object.
pub(crate) fn check_object(object: &Object, out: &mut Findings) {
    let mut c = Checker { object, out };
    c.name();
    match object.kind {
        Kind::Deployment | Kind::Rollout => c.replicas(),
        _ => {}
    }
    match object.kind {
        Kind::Rollout => c.canary_steps(),
        Kind::VirtualService => c.route_weights(),
        Kind::DestinationRule => c.outlier_detection(),
        _ => {}
    }
}

struct Checker<'o> {
    object: &'o Object,
    out: &'o mut Findings,
}

/// A path built from keys and indices.
fn path(segs: &[PathSeg], more: &[PathSeg]) -> Vec<PathSeg> {
    segs.iter().chain(more).cloned().collect()
}

/// Each item of the list at `at` (under `root`), with its path.
fn items<'a>(root: &'a Node, at: &[PathSeg]) -> Vec<(Vec<PathSeg>, &'a Node)> {
    match root.at(at).map(|n| &n.value) {
        Some(Value::Seq(list)) => list
            .iter()
            .enumerate()
            .map(|(i, n)| (path(at, &[PathSeg::Index(i)]), n))
            .collect(),
        _ => Vec::new(),
    }
}

fn key(k: &str) -> PathSeg {
    PathSeg::Key(k.to_owned())
}

/// The DNS-1123 subdomain rule of apimachinery's `IsDNS1123Subdomain`
/// (pkg/util/validation/validation.go): at most 253 characters of
/// lowercase alphanumerics, `-` and `.`, each dot-separated label starting
/// and ending with an alphanumeric.
fn dns1123_subdomain_error(name: &str) -> Option<&'static str> {
    if name.len() > 253 {
        return Some("it is longer than 253 characters");
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    (!name.split('.').all(label_ok)).then_some(
        "it must consist of lowercase letters, digits, '-' and '.', and start and end with a letter or digit",
    )
}

/// `IsDNS1035Label` (Service names): at most 63 characters, lowercase
/// alphanumerics and `-`, starting with a letter, ending with an
/// alphanumeric.
fn dns1035_label_error(name: &str) -> Option<&'static str> {
    if name.len() > 63 {
        return Some("it is longer than 63 characters");
    }
    let ok = name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-');
    (!ok).then_some(
        "it must consist of lowercase letters, digits and '-', start with a letter and end with a letter or digit",
    )
}

fn int(node: &Node) -> Option<i64> {
    match node.value {
        Value::Int(i) => Some(i),
        Value::Float(f) if f.fract() == 0.0 => Some(f as i64),
        _ => None,
    }
}

impl Checker<'_> {
    fn report(&mut self, at: &[PathSeg], message: String, hint: String) {
        let message = format!("{}: {message}", self.object.display_name());
        self.out
            .at(&catalog::INVALID_VALUE, self.object, at, message, hint);
    }

    /// metadata.name: apimachinery pkg/api/validation/objectmeta.go
    /// `ValidateObjectMeta` with `NameIsDNSSubdomain` (Deployments, custom
    /// resources, PodDisruptionBudgets, ...) or `NameIsDNS1035Label`
    /// (Services, kubernetes pkg/apis/core/validation `ValidateServiceName`).
    fn name(&mut self) {
        let Some(meta) = self.object.node.get("metadata") else {
            return;
        };
        // An empty name with generateName is filled in by the API server.
        if meta.get("generateName").is_some() {
            return;
        }
        let Some(Value::Str(name)) = meta.get("name").map(|n| &n.value) else {
            return;
        };
        let at = [key("metadata"), key("name")];
        if name.is_empty() {
            self.report(
                &at,
                "metadata.name is empty; the API server requires a name".into(),
                "give the object a name (lowercase letters, digits and '-')".into(),
            );
            return;
        }
        let (problem, rule) = if self.object.kind == Kind::Service {
            (dns1035_label_error(name), "a DNS-1035 label")
        } else {
            (dns1123_subdomain_error(name), "a DNS-1123 subdomain")
        };
        if let Some(why) = problem {
            let suggestion: String = name
                .to_lowercase()
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '.' {
                        c
                    } else {
                        '-'
                    }
                })
                .collect();
            self.report(
                &at,
                format!("metadata.name \"{}\" is not {rule}: {why}", quote(name)),
                format!(
                    "rename it, e.g. \"{}\"",
                    quote(suggestion.trim_matches(|c| c == '-' || c == '.'))
                ),
            );
        }
    }

    /// spec.replicas >= 0: kubernetes pkg/apis/apps/validation
    /// `ValidateDeploymentSpec` and argo-rollouts pkg/apis/rollouts/
    /// validation/validation.go `ValidateRolloutSpec`, both through
    /// `ValidateNonnegativeField`.
    fn replicas(&mut self) {
        let at = [key("spec"), key("replicas")];
        let Some(n) = self.object.node.at(&at).and_then(int) else {
            return;
        };
        if n < 0 {
            self.report(
                &at,
                format!("spec.replicas is {n}; it must be greater than or equal to 0"),
                "set spec.replicas to 0 or more (or leave it out for the default of 1)".into(),
            );
        }
    }

    /// Canary steps: argo-rollouts validation.go `ValidateRolloutStrategyCanary`
    /// refuses `pause.duration` whose `DurationSeconds()` (rollouts/v1alpha1/
    /// types.go: an integer, a string of integer seconds, or a Go duration;
    /// anything else is -1) is negative, and `setWeight` outside 0..max
    /// traffic weight (100 unless `trafficRouting.maxTrafficWeight`).
    fn canary_steps(&mut self) {
        let canary = [key("spec"), key("strategy"), key("canary")];
        let max_weight = self
            .object
            .node
            .at(&path(
                &canary,
                &[key("trafficRouting"), key("maxTrafficWeight")],
            ))
            .and_then(int)
            .unwrap_or(100);
        let root = &self.object.node;
        for (step_path, step) in items(root, &path(&canary, &[key("steps")])) {
            if let Some(d) = step.get("pause").and_then(|p| p.get("duration")) {
                let at = path(&step_path, &[key("pause"), key("duration")]);
                let field = crate::topology::yaml::display_path(&at);
                let bad = match &d.value {
                    Value::Int(i) => (*i < 0).then(|| format!("{field} is {i}")),
                    Value::Str(s) => match s.parse::<i32>() {
                        Ok(i) if i < 0 => Some(format!("{field} is \"{i}\"")),
                        Ok(_) => None,
                        Err(_) => match duration::parse_go(s) {
                            Ok(n) if n < 0 => {
                                Some(format!("{field} is \"{}\", a negative duration", quote(s)))
                            }
                            Ok(_) => None,
                            Err(why) => Some(format!(
                                "{field} is \"{}\", not a duration ({why})",
                                quote(s)
                            )),
                        },
                    },
                    _ => None,
                };
                if let Some(what) = bad {
                    self.report(
                        &at,
                        format!("{what}; Argo Rollouts refuses the Rollout (InvalidSpec: Duration needs to be greater than 0)"),
                        "write integer seconds (30) or a Go duration with a unit (30s, 5m, 1h)".into(),
                    );
                }
            }
            if let Some(w) = step.get("setWeight").and_then(int)
                && !(0..=max_weight).contains(&w)
            {
                let at = path(&step_path, &[key("setWeight")]);
                let field = crate::topology::yaml::display_path(&at);
                self.report(
                    &at,
                    format!("{field} is {w}; Argo Rollouts refuses the Rollout (InvalidSpec: SetWeight needs to be between 0 and {max_weight})"),
                    format!("use a weight from 0 to {max_weight}"),
                );
            }
        }
    }

    /// Route weights: istio pilot/pkg/config/validation/validation.go
    /// `validateWeight` ("weight %d < 0") for HTTP, TCP and TLS routes.
    fn route_weights(&mut self) {
        let root = &self.object.node;
        let mut found = Vec::new();
        for section in ["http", "tcp", "tls"] {
            for (route_path, _) in items(root, &[key("spec"), key(section)]) {
                for (dest_path, dest) in items(root, &path(&route_path, &[key("route")])) {
                    if let Some(w) = dest.get("weight").and_then(int).filter(|w| *w < 0) {
                        found.push((path(&dest_path, &[key("weight")]), w));
                    }
                }
            }
        }
        for (at, w) in found {
            let field = crate::topology::yaml::display_path(&at);
            self.report(
                &at,
                format!(
                    "{field} is {w}; Istio's webhook refuses negative weights (weight {w} < 0)"
                ),
                "use a weight of 0 or more; the weights of a route are shares of its traffic"
                    .into(),
            );
        }
    }

    /// Outlier detection: istio pilot/pkg/config/validation/validation.go
    /// `validateOutlierDetection` (`ValidatePercent` on maxEjectionPercent
    /// and minHealthPercent, `ValidateDuration` on interval and
    /// baseEjectionTime: at least 1ms, whole milliseconds) and the uint32
    /// wrappers of networking/v1alpha3/destination_rule.proto for the
    /// error counts (a negative count does not decode).
    fn outlier_detection(&mut self) {
        let root = &self.object.node;
        let mut policies = vec![vec![key("spec"), key("trafficPolicy")]];
        for (subset, _) in items(root, &[key("spec"), key("subsets")]) {
            policies.push(path(&subset, &[key("trafficPolicy")]));
        }
        let mut all = Vec::new();
        for policy in policies {
            all.push(path(&policy, &[key("outlierDetection")]));
            for (port, _) in items(root, &path(&policy, &[key("portLevelSettings")])) {
                all.push(path(&port, &[key("outlierDetection")]));
            }
        }
        for od in all {
            if root.at(&od).is_some() {
                self.one_outlier_detection(&od);
            }
        }
    }

    fn one_outlier_detection(&mut self, od: &[PathSeg]) {
        let root = &self.object.node;
        let mut problems: Vec<(Vec<PathSeg>, String, String)> = Vec::new();
        for field in ["maxEjectionPercent", "minHealthPercent"] {
            let at = path(od, &[key(field)]);
            if let Some(v) = root
                .at(&at)
                .and_then(int)
                .filter(|v| !(0..=100).contains(v))
            {
                problems.push((
                    at,
                    format!(
                        "is {v}; Istio's webhook refuses it (percentage {v} is not in range 0..100)"
                    ),
                    "use a percentage from 0 to 100".into(),
                ));
            }
        }
        for field in ["interval", "baseEjectionTime"] {
            let at = path(od, &[key(field)]);
            let Some(Value::Str(s)) = root.at(&at).map(|n| &n.value) else {
                continue;
            };
            let why = match duration::parse_go(s) {
                Err(why) => Some(format!("is \"{}\", not a duration ({why})", quote(s))),
                Ok(n) if n < 1_000_000 => Some(format!(
                    "is \"{}\"; Istio's webhook refuses it (duration must be greater than 1ms)",
                    quote(s)
                )),
                Ok(n) if n % 1_000_000 != 0 => Some(format!(
                    "is \"{}\"; Istio's webhook refuses it (only durations to ms precision are supported)",
                    quote(s)
                )),
                Ok(_) => None,
            };
            if let Some(why) = why {
                problems.push((at, why, "write a duration such as 10s, 1m or 500ms".into()));
            }
        }
        for field in [
            "consecutive5xxErrors",
            "consecutiveGatewayErrors",
            "consecutiveLocalOriginFailures",
        ] {
            let at = path(od, &[key(field)]);
            if let Some(v) = root
                .at(&at)
                .and_then(int)
                .filter(|v| u32::try_from(*v).is_err())
            {
                problems.push((
                    at,
                    format!("is {v}; it is a count (0 to 4294967295) and Istio cannot decode a negative one"),
                    "use 0 or more (0 disables this kind of ejection)".into(),
                ));
            }
        }
        for (at, what, hint) in problems {
            let field = crate::topology::yaml::display_path(&at);
            self.report(&at, format!("{field} {what}"), hint);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_names_follow_apimachinery() {
        assert_eq!(dns1123_subdomain_error("web-1.example"), None);
        assert!(dns1123_subdomain_error("Bad_Name").is_some());
        assert!(dns1123_subdomain_error("-web").is_some());
        assert!(dns1123_subdomain_error("a..b").is_some());
        assert!(dns1123_subdomain_error(&"a".repeat(254)).is_some());
        assert_eq!(dns1035_label_error("web"), None);
        assert!(
            dns1035_label_error("1web").is_some(),
            "a Service name starts with a letter"
        );
        assert!(dns1035_label_error("web.x").is_some());
    }
}
