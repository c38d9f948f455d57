//! ZC4xxx: Istio and Argo objects validated against CRD OpenAPI schemas.
//!
//! [`CrdSchemas::load`] reads the CustomResourceDefinitions of a directory
//! and compiles each served version's `openAPIV3Schema` once into small
//! Rust types. [`check_topology`] then validates every object whose API
//! group and kind have a CRD in the set, the way the API server would: the
//! version must be served (ZC4005), fields must be declared (ZC4004), have
//! the declared type (ZC4001) and enum value (ZC4002), and required fields
//! must be present (ZC4003), values must keep the schema's bounds,
//! lengths, counts, `pattern` and `format` (ZC4006) and its CEL rules
//! (ZC4007; a rule the interpreter cannot evaluate is reported once as
//! ZC4008). A `null` under an object key whose schema is neither nullable
//! nor defaulted is dropped first, as the API server does, and a required
//! field with a `default` is never missing.
//!
//! Whether or not CRDs are given, [`builtin`] checks what the API server,
//! Istio's webhook and Argo's controller refuse in code (ZC4009): names,
//! replicas, pause durations, route weights, outlier detection.
//!
//! Not checked: `oneOf`, `anyOf`, `allOf` and `not` (Istio expresses
//! "set only one of these fields" with them; a structural schema cannot
//! declare fields or types inside them, so skipping them causes no false
//! findings; Istio repeats most of them as CEL rules).

mod builtin;
mod cel;
mod constraints;
mod duration;
mod format;
mod load;
mod model;
mod suggest;
mod validate;

#[cfg(test)]
mod tests;

use std::path::Path;

use crate::lint::catalog;
use crate::lint::finding::{Finding, Findings};
use crate::topology::yaml::PathSeg;
use crate::topology::{Object, Topology};

/// The structural schemas of the CRDs found in a directory.
#[derive(Debug, Clone, Default)]
pub struct CrdSchemas {
    index: load::Index,
}

/// A CRD directory that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("cannot load CRDs from {path}: {message}")]
pub struct SchemaLoadError {
    /// The offending path.
    pub path: std::path::PathBuf,
    /// What went wrong.
    pub message: String,
}

impl CrdSchemas {
    /// Reads every CustomResourceDefinition under `dir` (every `*.yaml` and
    /// `*.yml`, recursively; `dir` may also be a single file). Other
    /// documents are ignored. Fails when the path cannot be read, a file is
    /// not valid YAML, a CRD or its schema is malformed, or no CRD is found.
    pub fn load(dir: &Path) -> Result<CrdSchemas, SchemaLoadError> {
        load::load(dir)
    }

    /// Compiles the CRDs of YAML texts already read (each named by its
    /// file in errors), as [`CrdSchemas::load`] does for the files of a
    /// directory; `dir` names the set when none of them holds a CRD.
    pub fn from_texts(
        dir: &Path,
        texts: &[(std::path::PathBuf, String)],
    ) -> Result<CrdSchemas, SchemaLoadError> {
        load::from_texts(dir, texts)
    }

    /// Number of CRDs (group and kind pairs).
    pub fn len(&self) -> usize {
        self.index.values().map(|kinds| kinds.len()).sum()
    }

    /// True when no CRD is loaded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The served versions of a CRD, in the CRD's order; `None` when no
    /// CRD for `group` and `kind` is loaded.
    pub fn served_versions(&self, group: &str, kind: &str) -> Option<Vec<&str>> {
        self.crd(group, kind).map(load::Crd::served_names)
    }

    /// True when some CRD of `group` is loaded.
    pub fn has_group(&self, group: &str) -> bool {
        self.index.contains_key(group)
    }

    fn crd(&self, group: &str, kind: &str) -> Option<&load::Crd> {
        self.index.get(group)?.get(kind)
    }

    /// How the CEL rules of every served version's schema fared when
    /// compiled (each rule of each version counts once).
    pub fn cel_counts(&self) -> CelCounts {
        let mut counts = CelCounts::default();
        let mut count = |rule: &cel::Rule| {
            counts.total += 1;
            match rule.status {
                cel::Status::Ready(_) => counts.ready += 1,
                cel::Status::Transition => counts.transition += 1,
                cel::Status::Unsupported(_) => counts.unsupported += 1,
            }
        };
        for crd in self.index.values().flat_map(|kinds| kinds.values()) {
            for version in crd.versions.iter().filter(|v| v.served) {
                if let Some(schema) = &version.schema {
                    schema.each_rule(&mut count);
                }
            }
        }
        counts
    }
}

/// Counts of the CEL rules (`x-kubernetes-validations`) of a CRD set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CelCounts {
    /// Every rule.
    pub total: usize,
    /// Compiled and evaluated on every object.
    pub ready: usize,
    /// Transition rules (they use `oldSelf`): only evaluated on update, so
    /// skipped by lint.
    pub transition: usize,
    /// Rules that cannot be compiled or use a function the interpreter
    /// lacks; reported once per run when an object reaches them.
    pub unsupported: usize,
}

/// `(group, version)` of an `apiVersion`; the core group is `""`.
fn split_api_version(api_version: &str) -> (&str, &str) {
    api_version.rsplit_once('/').unwrap_or(("", api_version))
}

/// Groups whose objects the skipped-check note is about.
fn is_istio_or_argo(group: &str) -> bool {
    group == "argoproj.io" || group == "istio.io" || group.ends_with(".istio.io")
}

/// Validates every object with a CRD in `schemas` (without schemas,
/// reports once that this was skipped), and every object against the
/// validation that needs no CRD ([`builtin`]). A built-in finding on the
/// line of a schema finding is dropped: it says the same again (the
/// schema reports at the value, the built-in checks at the key).
pub fn check_topology(schemas: Option<&CrdSchemas>, topology: &Topology, out: &mut Findings) {
    let mut from_schemas = Findings::default();
    match schemas {
        None => note_skipped(topology, &mut from_schemas),
        Some(schemas) => {
            let mut reported = validate::Reported::new();
            for object in topology.objects() {
                check_object(schemas, object, &mut from_schemas, &mut reported);
            }
        }
    }
    let from_schemas = from_schemas.into_sorted();
    let taken: std::collections::HashSet<(&std::path::Path, u32)> = from_schemas
        .iter()
        .map(|f| (&*f.loc.file, f.loc.pos.line))
        .collect();
    let mut from_code = Findings::default();
    for object in topology.objects() {
        builtin::check_object(object, &mut from_code);
    }
    let from_code: Vec<Finding> = from_code
        .into_sorted()
        .into_iter()
        .filter(|f| !taken.contains(&(&*f.loc.file, f.loc.pos.line)))
        .collect();
    for f in from_schemas.into_iter().chain(from_code) {
        out.push(f);
    }
}

fn note_skipped(topology: &Topology, out: &mut Findings) {
    let mut relevant = topology
        .objects()
        .iter()
        .filter(|o| is_istio_or_argo(split_api_version(&o.api_version).0));
    let Some(first) = relevant.next() else {
        return;
    };
    let count = 1 + relevant.count();
    out.push(Finding {
        loc: first.start(),
        rule: &catalog::SCHEMA_SKIPPED,
        object: None,
        message: format!(
            "schema conformance of {count} Istio/Argo Rollouts object{} was skipped: no CRDs were given",
            if count == 1 { "" } else { "s" }
        ),
        hint: "run `zonechaos crds fetch` once (lint's default `--crds auto` then uses the pinned Istio and Argo Rollouts CRDs it caches) or pass `--crds DIR` with CustomResourceDefinition YAML, to check field names, types, enums and required fields".into(),
    });
}

/// Checks one object; false when no CRD for its group and kind is loaded
/// (then nothing is checked).
fn check_object(
    schemas: &CrdSchemas,
    object: &Object,
    out: &mut Findings,
    reported: &mut validate::Reported,
) -> bool {
    let (group, version) = split_api_version(&object.api_version);
    let Some(crd) = schemas.crd(group, &object.kind_name) else {
        return false;
    };
    let Some(served) = crd.served(version) else {
        let served = crd.served_names();
        let hint = match crd.preferred() {
            Some(v) => format!("use apiVersion: {group}/{v}"),
            None => "the CRD serves no version; install a CRD that does".to_owned(),
        };
        out.at(
            &catalog::SCHEMA_VERSION,
            object,
            &[PathSeg::from("apiVersion")],
            format!(
                "{}: apiVersion {} is not served by the {} CRD (served: {})",
                object.display_name(),
                object.api_version,
                object.kind_name,
                if served.is_empty() {
                    "none".to_owned()
                } else {
                    served.join(", ")
                }
            ),
            hint,
        );
        return true;
    };
    if let Some(schema) = &served.schema {
        validate::validate_object(object, schema, out, reported);
    }
    true
}
