//! Reading CustomResourceDefinitions from files into compiled schemas.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::model::{CompileError, Schema, compile};
use super::{CrdSchemas, SchemaLoadError};
use crate::topology::yaml::{self, Node, Pos, Value};

/// One version of a CRD.
#[derive(Debug, Clone)]
pub(crate) struct CrdVersion {
    /// `v1`, `v1alpha3`, ...
    pub name: String,
    /// `served: true`.
    pub served: bool,
    /// `storage: true`.
    pub storage: bool,
    /// The version's schema; `None` when the CRD gives none.
    pub schema: Option<Arc<Schema>>,
}

/// One CRD: its versions, in the order the CRD lists them.
#[derive(Debug, Clone)]
pub(crate) struct Crd {
    pub versions: Vec<CrdVersion>,
}

impl Crd {
    /// The served version named `name`.
    pub(crate) fn served(&self, name: &str) -> Option<&CrdVersion> {
        self.versions.iter().find(|v| v.served && v.name == name)
    }

    /// Names of the served versions.
    pub(crate) fn served_names(&self) -> Vec<&str> {
        self.versions
            .iter()
            .filter(|v| v.served)
            .map(|v| v.name.as_str())
            .collect()
    }

    /// The version to recommend: the storage version when served, else the
    /// first served one.
    pub(crate) fn preferred(&self) -> Option<&str> {
        self.versions
            .iter()
            .find(|v| v.served && v.storage)
            .or_else(|| self.versions.iter().find(|v| v.served))
            .map(|v| v.name.as_str())
    }
}

/// `group -> kind -> CRD`, nested so lookups need no owned key.
pub(crate) type Index = HashMap<String, HashMap<String, Crd>>;

/// Reads `path` (a directory, searched recursively, or one file).
pub(crate) fn load(path: &Path) -> Result<CrdSchemas, SchemaLoadError> {
    let files = crate::fsread::walk_yaml(path).map_err(|e| load_error(path, e.to_string()))?;
    if files.is_empty() {
        return Err(load_error(path, "no YAML files (*.yaml, *.yml) found"));
    }
    let mut index = Index::new();
    for file in &files {
        let text = crate::fsread::read_text(file).map_err(|e| load_error(file, e.reason()))?;
        add_text(file, &text, &mut index)?;
    }
    finish(path, files.len(), index)
}

/// Compiles texts already read; `where_` names them when none holds a CRD.
pub(crate) fn from_texts(
    where_: &Path,
    texts: &[(PathBuf, String)],
) -> Result<CrdSchemas, SchemaLoadError> {
    let mut index = Index::new();
    for (file, text) in texts {
        add_text(file, text, &mut index)?;
    }
    finish(where_, texts.len(), index)
}

/// The schemas, or an error when `files` YAML files held no CRD.
fn finish(path: &Path, files: usize, index: Index) -> Result<CrdSchemas, SchemaLoadError> {
    if index.is_empty() {
        return Err(load_error(
            path,
            format!(
                "no CustomResourceDefinition found in {files} YAML file{}",
                if files == 1 { "" } else { "s" }
            ),
        ));
    }
    Ok(CrdSchemas { index })
}

fn load_error(path: &Path, message: impl Into<String>) -> SchemaLoadError {
    SchemaLoadError {
        path: path.to_owned(),
        message: message.into(),
    }
}

fn at(file: &Path, pos: Pos, message: impl std::fmt::Display) -> SchemaLoadError {
    load_error(
        file,
        format!("line {}, column {}: {message}", pos.line, pos.column),
    )
}

/// Adds every CRD of one YAML text; other documents are ignored. A later
/// CRD for the same group and kind replaces an earlier one.
pub(crate) fn add_text(file: &Path, text: &str, index: &mut Index) -> Result<(), SchemaLoadError> {
    let docs = yaml::parse_documents(text)
        .map_err(|e| at(file, e.pos, format_args!("invalid YAML: {}", e.message)))?;
    for doc in &docs {
        if doc.get("kind").and_then(Node::as_str) != Some("CustomResourceDefinition") {
            continue;
        }
        let (group, kind, crd) = crd_of(doc).map_err(|e| at(file, e.pos, e.message))?;
        index.entry(group).or_default().insert(kind, crd);
    }
    Ok(())
}

fn text_at<'a>(node: &'a Node, path: &[&str], what: &str) -> Result<&'a str, CompileError> {
    let mut current = node;
    for key in path {
        current = current.get(key).ok_or_else(|| CompileError {
            pos: current.pos,
            message: format!("CustomResourceDefinition has no {what}"),
        })?;
    }
    current.as_str().ok_or_else(|| CompileError {
        pos: current.pos,
        message: format!("{what} must be a string"),
    })
}

fn bool_at(node: &Node, key: &str, absent: bool) -> Result<bool, CompileError> {
    match node.get(key) {
        None => Ok(absent),
        Some(Node {
            value: Value::Bool(b),
            ..
        }) => Ok(*b),
        Some(other) => Err(CompileError {
            pos: other.pos,
            message: format!("`{key}` must be a boolean"),
        }),
    }
}

fn schema_of(parent: Option<&Node>) -> Result<Option<Arc<Schema>>, CompileError> {
    parent
        .and_then(|p| p.get("openAPIV3Schema"))
        .map(|s| compile(s).map(Arc::new))
        .transpose()
}

/// `(group, kind, CRD)` of one CustomResourceDefinition document, for both
/// `apiextensions.k8s.io/v1` (a schema per version) and the old `v1beta1`
/// layout (`spec.validation` for every version, maybe only `spec.version`).
fn crd_of(doc: &Node) -> Result<(String, String, Crd), CompileError> {
    let group = text_at(doc, &["spec", "group"], "spec.group")?.to_owned();
    let kind = text_at(doc, &["spec", "names", "kind"], "spec.names.kind")?.to_owned();
    let spec = doc.get("spec").unwrap_or(doc);
    let shared = schema_of(spec.get("validation"))?;
    let mut versions = Vec::new();
    match spec.get("versions").map(|v| &v.value) {
        Some(Value::Seq(items)) => {
            for item in items {
                let name = text_at(item, &["name"], "spec.versions[].name")?.to_owned();
                // `served` and `storage` are required by the API server; a
                // CRD that leaves `served` out is taken at its word that
                // the version exists.
                versions.push(CrdVersion {
                    name,
                    served: bool_at(item, "served", true)?,
                    storage: bool_at(item, "storage", false)?,
                    schema: schema_of(item.get("schema"))?.or_else(|| shared.clone()),
                });
            }
        }
        Some(_) => {
            let versions_node = spec.get("versions").unwrap_or(spec);
            return Err(CompileError {
                pos: versions_node.pos,
                message: "spec.versions must be a list".into(),
            });
        }
        None => {
            let name = text_at(doc, &["spec", "version"], "spec.versions or spec.version")?;
            versions.push(CrdVersion {
                name: name.to_owned(),
                served: true,
                storage: true,
                schema: shared,
            });
        }
    }
    Ok((group, kind, Crd { versions }))
}
