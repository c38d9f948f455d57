//! Reads files and directories of multi-document YAML into [`Object`]s.
//!
//! Problems inside a manifest never abort the load: each becomes a
//! [`LoadIssue`] with file:line:col, and the rest of the input is still read.
//! Only a path that cannot be read at all is an error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::de::DeserializeOwned;

use super::object::{Kind, Object, ObjectName, Resource, SourceLoc};
use super::yaml::{self, Node, PathSeg, Pos, Value};
use crate::errors::LoadError;
use crate::fsread::{self, YamlFiles};

/// What went wrong with part of a manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum LoadIssueKind {
    /// The file is not valid YAML; nothing of it was read.
    Syntax,
    /// A document is not a Kubernetes object (no apiVersion/kind/name).
    NotAnObject,
    /// A field of a known kind has the wrong type.
    WrongType,
}

/// A problem found while loading, with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadIssue {
    /// Category.
    pub kind: LoadIssueKind,
    /// Where.
    pub loc: SourceLoc,
    /// What.
    pub message: String,
    /// How to fix it.
    pub hint: String,
    /// The object concerned, when there is one.
    pub object: Option<String>,
}

/// Everything read from the given paths.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// The objects, in file then document order.
    pub objects: Vec<Object>,
    /// Problems found on the way.
    pub issues: Vec<LoadIssue>,
    /// Files read.
    pub files: Vec<PathBuf>,
}

/// Reads every path: files directly, directories recursively (`*.yaml`,
/// `*.yml`, sorted, hidden entries skipped), through [`crate::fsread`]:
/// regular files only, each once, at most 64 MiB each.
pub fn load_paths<P: AsRef<Path>>(paths: &[P]) -> Result<Loaded, LoadError> {
    let mut files = YamlFiles::new();
    for path in paths {
        files.add(path.as_ref())?;
    }
    let mut loaded = Loaded::default();
    for file in files.into_files() {
        let text = fsread::read_text(&file)?;
        load_text(Arc::from(file.as_path()), &text, &mut loaded);
        loaded.files.push(file);
    }
    Ok(loaded)
}

/// Bundles of fewer documents are typed on the calling thread.
const PARALLEL_DOCUMENTS: usize = 2000;

/// Reads one YAML text (already in memory) as if it came from `file`.
pub fn load_text(file: Arc<Path>, text: &str, into: &mut Loaded) {
    let docs = match yaml::parse_documents(text) {
        Ok(docs) => docs,
        Err(err) => {
            into.issues.push(LoadIssue {
                kind: LoadIssueKind::Syntax,
                loc: SourceLoc {
                    file,
                    pos: err.pos,
                },
                message: format!("invalid YAML: {}", err.message),
                hint: "fix the YAML syntax at this position (indentation, a missing ':' or closing bracket); no object of this file was read".into(),
                object: None,
            });
            return;
        }
    };
    // Typing each document is independent work: spread it over the cores
    // for large bundles (issue 10 item 13).
    let typed = crate::parallel::map_ordered(docs, PARALLEL_DOCUMENTS, |doc| {
        object_from_node(file.clone(), doc)
    });
    for result in typed {
        match result {
            Ok((object, issue)) => {
                into.issues.extend(issue);
                into.objects.push(object);
            }
            Err(issue) => into.issues.push(issue),
        }
    }
}

fn string_map(node: Option<&Node>) -> BTreeMap<String, String> {
    let Some(Node {
        value: Value::Map(entries),
        ..
    }) = node
    else {
        return BTreeMap::new();
    };
    entries
        .iter()
        .filter_map(|(k, v)| match &v.value {
            Value::Str(s) => Some((k.name.clone(), s.clone())),
            Value::Int(i) => Some((k.name.clone(), i.to_string())),
            Value::Bool(b) => Some((k.name.clone(), b.to_string())),
            _ => None,
        })
        .collect()
}

/// Turns one document into an object, plus at most one issue about it
/// (a wrong-typed field leaves the object opaque but still listed).
fn object_from_node(file: Arc<Path>, node: Node) -> Result<(Object, Option<LoadIssue>), LoadIssue> {
    let not_object = |pos: Pos, message: String| LoadIssue {
        kind: LoadIssueKind::NotAnObject,
        loc: SourceLoc {
            file: file.clone(),
            pos,
        },
        message,
        hint: "every document needs apiVersion, kind and metadata.name".into(),
        object: None,
    };
    if !matches!(node.value, Value::Map(_)) {
        return Err(not_object(
            node.pos,
            format!(
                "document is a YAML {}, not a Kubernetes object",
                node.type_name()
            ),
        ));
    }
    let text = |key: &str| node.get(key).and_then(Node::as_str).map(str::to_owned);
    let (Some(api_version), Some(kind_name)) = (text("apiVersion"), text("kind")) else {
        return Err(not_object(
            node.pos,
            "document has no apiVersion or kind".into(),
        ));
    };
    let metadata = node.get("metadata");
    let Some(name) = metadata.and_then(|m| m.get("name")).and_then(Node::as_str) else {
        return Err(not_object(
            node.locate(&[PathSeg::from("metadata")]),
            format!("{kind_name} has no metadata.name"),
        ));
    };
    let namespace = metadata
        .and_then(|m| m.get("namespace"))
        .and_then(Node::as_str)
        .unwrap_or("default");
    let kind = Kind::classify(&api_version, &kind_name);
    let mut object = Object {
        file,
        api_version,
        kind_name,
        kind,
        name: ObjectName {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        },
        labels: string_map(metadata.and_then(|m| m.get("labels"))),
        annotations: string_map(metadata.and_then(|m| m.get("annotations"))),
        resource: Resource::Opaque,
        node,
    };
    let typed = match kind {
        Kind::Service => typed_spec(&object).map(|s| Resource::Service(Box::new(s))),
        Kind::Deployment => typed_spec(&object).map(|s| Resource::Deployment(Box::new(s))),
        Kind::Rollout => typed_spec(&object).map(|s| Resource::Rollout(Box::new(s))),
        Kind::AnalysisTemplate => {
            typed_spec(&object).map(|s| Resource::AnalysisTemplate(Box::new(s)))
        }
        Kind::VirtualService => typed_spec(&object).map(|s| Resource::VirtualService(Box::new(s))),
        Kind::DestinationRule => {
            typed_spec(&object).map(|s| Resource::DestinationRule(Box::new(s)))
        }
        Kind::Gateway => typed_spec(&object).map(|s| Resource::Gateway(Box::new(s))),
        Kind::PodDisruptionBudget => {
            typed_spec(&object).map(|s| Resource::PodDisruptionBudget(Box::new(s)))
        }
        Kind::FlaggerCanary => typed_spec(&object).map(|s| Resource::FlaggerCanary(Box::new(s))),
        Kind::Unknown => Ok(Resource::Opaque),
    };
    match typed {
        Ok(resource) => {
            object.resource = resource;
            Ok((object, None))
        }
        Err(issue) => Ok((object, Some(issue))),
    }
}

/// Deserializes `spec` into its typed form; a type error points at the
/// offending field.
fn typed_spec<T: DeserializeOwned + Default>(object: &Object) -> Result<T, LoadIssue> {
    let Some(spec) = object.node.get("spec") else {
        return Ok(T::default());
    };
    yaml::deserialize_typed::<T>(spec.to_json()).map_err(|err| {
        let path: Vec<PathSeg> = std::iter::once(PathSeg::from("spec"))
            .chain(err.path)
            .collect();
        let field = yaml::display_path(&path);
        LoadIssue {
            kind: LoadIssueKind::WrongType,
            loc: object.loc(&path),
            message: format!(
                "{}: field {field} has the wrong type: {}",
                object.display_name(),
                err.message
            ),
            hint: format!(
                "check `kubectl explain {}.{}` for the expected type of {field}",
                object.kind_name.to_lowercase(),
                field
            ),
            object: Some(object.display_name()),
        }
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Loads `text` as `t.yaml` (for unit tests of the loader's users).
    pub(crate) fn load(text: &str) -> Loaded {
        let mut loaded = Loaded::default();
        load_text(Arc::from(Path::new("t.yaml")), text, &mut loaded);
        loaded
    }

    #[test]
    fn reads_known_and_unknown_kinds() {
        let l = load(
            "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  selector: {app: x}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: n}\n",
        );
        assert!(l.issues.is_empty(), "{:?}", l.issues);
        assert_eq!(l.objects.len(), 2);
        assert_eq!(l.objects[0].kind, Kind::Service);
        assert!(matches!(l.objects[0].resource, Resource::Service(_)));
        assert_eq!(l.objects[1].kind, Kind::Unknown);
        assert_eq!(l.objects[1].name.to_string(), "n/c");
    }

    #[test]
    fn wrong_type_points_at_the_field() {
        let l = load(
            "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: v}\nspec:\n  http:\n    - name: r\n      route:\n        - destination: {host: h}\n          weight: lots\n",
        );
        assert_eq!(l.issues.len(), 1);
        let issue = &l.issues[0];
        assert_eq!(issue.kind, LoadIssueKind::WrongType);
        assert_eq!(issue.loc.pos.line, 9, "{issue:?}");
        assert!(
            issue.message.contains("spec.http[0].route[0].weight"),
            "{}",
            issue.message
        );
        assert!(matches!(l.objects[0].resource, Resource::Opaque));
    }

    #[test]
    fn syntax_error_is_an_issue_not_a_panic() {
        let l = load("apiVersion: v1\nkind: [Service\n");
        assert_eq!(l.issues.len(), 1);
        assert_eq!(l.issues[0].kind, LoadIssueKind::Syntax);
        assert!(l.issues[0].loc.pos.line >= 2, "{:?}", l.issues[0]);
    }

    #[test]
    fn document_without_name_is_reported() {
        let l = load("apiVersion: v1\nkind: Service\nmetadata: {}\n---\n- 1\n");
        assert_eq!(l.issues.len(), 2);
        assert!(
            l.issues
                .iter()
                .all(|i| i.kind == LoadIssueKind::NotAnObject)
        );
    }
}
