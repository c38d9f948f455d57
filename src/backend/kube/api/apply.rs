//! Server-side apply of multi-document YAML with the field manager
//! `zonechaos`.
//!
//! The API resource of each object comes from a fixed table of the kinds the
//! harness applies ([`resource_for`]) instead of a discovery round-trip: the
//! kinds are known, their group/version/plural never change within the
//! pinned versions, and a mocked API server then needs no discovery
//! answers. A kind outside the table is an error naming the document.
//!
//! An object the API server or an admission webhook refuses (400/422, or a
//! 403 whose message names an admission webhook, e.g. `admission webhook
//! "validation.istio.io" denied the request: ...`) becomes an
//! [`AdmissionDiagnostic`], a lint-style diagnostic naming the object, the
//! file and line of its document, the message and a hint; the other objects
//! are still applied. Other errors end the apply.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams};
use serde_json::Value;

use super::error::ApiError;
use crate::lint::finding::Finding;
use crate::topology::object::SourceLoc;
use crate::topology::yaml::Pos;

/// The field manager the harness applies with.
pub const FIELD_MANAGER: &str = "zonechaos";

pub use crate::lint::catalog::ADMISSION_DENIED;

/// Where an object's API lives and whether it is namespaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindInfo {
    /// Group, version, kind, plural.
    pub resource: ApiResource,
    /// Namespaced (true) or cluster-scoped.
    pub namespaced: bool,
}

/// The fixed kind table: `(apiVersion, kind) -> resource`. Covers what
/// `zonechaos render` and the installs apply.
pub fn resource_for(api_version: &str, kind: &str) -> Option<KindInfo> {
    let (group, version) = match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    };
    let (plural, namespaced) = match (group, kind) {
        ("", "Namespace") => ("namespaces", false),
        ("", "Service") => ("services", true),
        ("", "ConfigMap") => ("configmaps", true),
        ("", "Secret") => ("secrets", true),
        ("", "ServiceAccount") => ("serviceaccounts", true),
        ("apps", "Deployment") => ("deployments", true),
        ("apps", "DaemonSet") => ("daemonsets", true),
        ("apps", "StatefulSet") => ("statefulsets", true),
        ("policy", "PodDisruptionBudget") => ("poddisruptionbudgets", true),
        ("rbac.authorization.k8s.io", "ClusterRole") => ("clusterroles", false),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding") => ("clusterrolebindings", false),
        ("rbac.authorization.k8s.io", "Role") => ("roles", true),
        ("rbac.authorization.k8s.io", "RoleBinding") => ("rolebindings", true),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => {
            ("customresourcedefinitions", false)
        }
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration") => {
            ("validatingwebhookconfigurations", false)
        }
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration") => {
            ("mutatingwebhookconfigurations", false)
        }
        ("argoproj.io", "Rollout") => ("rollouts", true),
        ("argoproj.io", "AnalysisTemplate") => ("analysistemplates", true),
        ("networking.istio.io", "VirtualService") => ("virtualservices", true),
        ("networking.istio.io", "DestinationRule") => ("destinationrules", true),
        ("networking.istio.io", "Gateway") => ("gateways", true),
        ("networking.istio.io", "Sidecar") => ("sidecars", true),
        ("security.istio.io", "PeerAuthentication") => ("peerauthentications", true),
        _ => return None,
    };
    Some(KindInfo {
        resource: ApiResource {
            group: group.into(),
            version: version.into(),
            api_version: api_version.into(),
            kind: kind.into(),
            plural: plural.into(),
        },
        namespaced,
    })
}

/// One YAML document and the line it starts on.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// 1-based line of its first line.
    pub line: u32,
    /// Its content (never null: empty documents are dropped).
    pub value: Value,
}

/// Splits multi-document YAML on `---` lines and parses each document
/// with serde-saphyr; empty documents are dropped.
pub fn split_documents(text: &str, file: Option<&Path>) -> Result<Vec<Document>, ApiError> {
    let mut chunks: Vec<(u32, String)> = vec![(1, String::new())];
    for (i, line) in text.lines().enumerate() {
        let is_sep = line == "---" || line.starts_with("--- ") || line.starts_with("---\t");
        if is_sep {
            chunks.push((i as u32 + 2, String::new()));
        } else if let Some((_, c)) = chunks.last_mut() {
            c.push_str(line);
            c.push('\n');
        }
    }
    let mut docs = Vec::new();
    for (line, chunk) in chunks {
        let value: Value = serde_saphyr::from_str(&chunk).map_err(|e| ApiError::Invalid {
            object: format!(
                "{}:{line}",
                file.map_or("<yaml>".into(), |f| f.display().to_string())
            ),
            problem: format!("the YAML document does not parse: {e}"),
            hint: "run `zonechaos lint` on it".into(),
        })?;
        if !value.is_null() {
            docs.push(Document { line, value });
        }
    }
    Ok(docs)
}

/// How to apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyOptions {
    /// Field manager (default [`FIELD_MANAGER`]).
    pub field_manager: String,
    /// Take over fields owned by other managers (`--force-conflicts`).
    pub force: bool,
    /// Namespace of namespaced objects that name none.
    pub default_namespace: String,
}

impl ApplyOptions {
    /// Manager `zonechaos`, force on, the given default namespace.
    pub fn new(default_namespace: impl Into<String>) -> ApplyOptions {
        ApplyOptions {
            field_manager: FIELD_MANAGER.to_owned(),
            force: true,
            default_namespace: default_namespace.into(),
        }
    }
}

/// An object refused at apply time, as a lint-style diagnostic.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AdmissionDiagnostic {
    /// `Kind namespace/name` (or `Kind name` when cluster-scoped).
    pub object: String,
    /// The file the document came from, when known.
    pub file: Option<PathBuf>,
    /// The line its document starts on.
    pub line: u32,
    /// HTTP status code.
    pub code: u16,
    /// The server's message.
    pub message: String,
    /// The webhook that denied it, when the message names one.
    pub webhook: Option<String>,
    /// How to fix it.
    pub hint: String,
}

impl AdmissionDiagnostic {
    /// As a lint [`Finding`] (rule [`ADMISSION_DENIED`]), for the lint outputs.
    pub fn to_finding(&self) -> Finding {
        let file: Arc<Path> = Arc::from(
            self.file
                .clone()
                .unwrap_or_else(|| PathBuf::from("<apply>"))
                .as_path(),
        );
        Finding {
            loc: SourceLoc {
                file,
                pos: Pos {
                    line: self.line,
                    column: 1,
                },
            },
            rule: &ADMISSION_DENIED,
            object: Some(self.object.clone()),
            message: format!("{} was rejected: {}", self.object, self.message),
            hint: self.hint.clone(),
        }
    }
}

/// The webhook named in an admission denial message.
pub fn webhook_named_in(message: &str) -> Option<String> {
    let rest = message.split("admission webhook \"").nth(1)?;
    rest.split('"').next().map(str::to_owned)
}

/// What an apply did.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct ApplyReport {
    /// Objects applied, `Kind namespace/name`.
    pub applied: Vec<String>,
    /// Objects refused.
    pub denied: Vec<AdmissionDiagnostic>,
}

/// Server-side applies every document of `text` (from `file`, when given,
/// for the diagnostics).
pub async fn apply_yaml(
    client: &Client,
    text: &str,
    file: Option<&Path>,
    opts: &ApplyOptions,
) -> Result<ApplyReport, ApiError> {
    let mut report = ApplyReport::default();
    let mut params = PatchParams::apply(&opts.field_manager);
    if opts.force {
        params = params.force();
    }
    let at = |line: u32| {
        format!(
            "{}:{line}",
            file.map_or("<yaml>".into(), |f| f.display().to_string())
        )
    };
    for doc in split_documents(text, file)? {
        let s = |p: &str| {
            doc.value
                .pointer(p)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let (Some(api_version), Some(kind), Some(name)) =
            (s("/apiVersion"), s("/kind"), s("/metadata/name"))
        else {
            return Err(ApiError::Invalid {
                object: at(doc.line),
                problem: "the document lacks apiVersion, kind or metadata.name".into(),
                hint: "run `zonechaos lint` on it".into(),
            });
        };
        let Some(info) = resource_for(&api_version, &kind) else {
            return Err(ApiError::Invalid {
                object: format!("{kind} {name} ({})", at(doc.line)),
                problem: format!("{api_version} {kind} is not in the apply kind table"),
                hint: "add it to resource_for in src/backend/kube/api/apply.rs".into(),
            });
        };
        let mut value = doc.value.clone();
        let (api, object): (Api<DynamicObject>, String) = if info.namespaced {
            let ns = s("/metadata/namespace").unwrap_or_else(|| opts.default_namespace.clone());
            value["metadata"]["namespace"] = Value::String(ns.clone());
            (
                Api::namespaced_with(client.clone(), &ns, &info.resource),
                format!("{kind} {ns}/{name}"),
            )
        } else {
            (
                Api::all_with(client.clone(), &info.resource),
                format!("{kind} {name}"),
            )
        };
        match api.patch(&name, &params, &Patch::Apply(&value)).await {
            Ok(_) => report.applied.push(object),
            Err(kube::Error::Api(status))
                if matches!(status.code, 400 | 422)
                    || (status.code == 403 && status.message.contains("admission webhook")) =>
            {
                let webhook = webhook_named_in(&status.message);
                let hint = match &webhook {
                    Some(w) if w.contains("istio") => format!(
                        "Istio's validation ({w}) rejects this object; run `zonechaos lint` for the rule and fix the manifest"
                    ),
                    Some(w) => format!("the admission webhook {w} rejects it; fix the manifest"),
                    None => "the API server rejects the object; fix the manifest (`zonechaos lint --crds` checks schemas)".into(),
                };
                report.denied.push(AdmissionDiagnostic {
                    object,
                    file: file.map(Path::to_path_buf),
                    line: doc.line,
                    code: status.code,
                    message: status.message.clone(),
                    webhook,
                    hint,
                });
            }
            Err(e) => return Err(ApiError::from_kube("apply", object, e)),
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_keep_their_start_line() {
        let text = "---\na: 1\n---\n# empty\n---\nb: 2\nc: 3\n";
        let docs = split_documents(text, None).unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].line, 2);
        assert_eq!(docs[1].line, 6);
        assert_eq!(docs[1].value["c"], 3);
    }

    #[test]
    fn kind_table_knows_rollouts_and_namespaces() {
        let r = resource_for("argoproj.io/v1alpha1", "Rollout").unwrap();
        assert_eq!(r.resource.plural, "rollouts");
        assert!(r.namespaced);
        let n = resource_for("v1", "Namespace").unwrap();
        assert!(!n.namespaced);
        assert_eq!(n.resource.group, "");
        assert!(resource_for("v1", "Pod").is_none());
    }

    #[test]
    fn webhook_name_is_read() {
        let m = "admission webhook \"validation.istio.io\" denied the request: configuration is invalid";
        assert_eq!(webhook_named_in(m).as_deref(), Some("validation.istio.io"));
    }
}
