//! Validation of one object against a compiled schema, the way the API
//! server sees it: unknown fields, `null`s it prunes, types, enums,
//! required fields, value constraints (bounds, lengths, `pattern`,
//! `format`) and CEL rules.
//!
//! The walk allocates nothing unless it reports: the field path is a chain
//! of borrowed segments on the call stack, turned into a [`PathSeg`] list
//! only for a finding.

use std::collections::HashSet;

use super::cel::{self, Outcome, Status};
use super::model::{Schema, Type};
use super::suggest;
use crate::lint::catalog;
use crate::lint::finding::{Finding, Findings, Rule};
use crate::topology::yaml::{Key, Node, PathSeg, Pos, Value, display_path};
use crate::topology::{Object, SourceLoc};

/// Top-level fields of every object that the CRD schema does not govern
/// (the API server handles them itself; `status` goes through the status
/// subresource).
pub(crate) const ENVELOPE: [&str; 4] = ["apiVersion", "kind", "metadata", "status"];

/// How many enum values or field names a message lists.
const LIST_MAX: usize = 8;

#[derive(Clone, Copy)]
enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

/// One step of the current field path, pointing at its parent.
#[derive(Clone, Copy)]
struct Link<'a> {
    seg: Seg<'a>,
    parent: Option<&'a Link<'a>>,
}

fn to_path(mut link: Option<&Link<'_>>) -> Vec<PathSeg> {
    let mut path = Vec::new();
    while let Some(l) = link {
        path.push(match l.seg {
            Seg::Key(k) => PathSeg::Key(k.to_owned()),
            Seg::Index(i) => PathSeg::Index(i),
        });
        link = l.parent;
    }
    path.reverse();
    path
}

/// `spec.http.route.weight`: the path without indices, as `kubectl explain`
/// takes it.
fn explain_path(path: &[PathSeg]) -> String {
    let keys: Vec<&str> = path
        .iter()
        .filter_map(|s| match s {
            PathSeg::Key(k) => Some(k.as_str()),
            PathSeg::Index(_) => None,
        })
        .collect();
    keys.join(".")
}

/// The CEL rules already reported as skipped in this run (by address:
/// the compiled schemas outlive the run), so each is reported once.
pub(crate) type Reported = HashSet<*const cel::Rule>;

/// Validates every field of `object` outside [`ENVELOPE`] against `schema`.
pub(crate) fn validate_object(
    object: &Object,
    schema: &Schema,
    out: &mut Findings,
    reported: &mut Reported,
) {
    let mut v = Validator {
        object,
        out,
        reported,
    };
    match &object.node.value {
        Value::Map(entries) => {
            v.map(&object.node, entries, schema, None, true);
            // Root rules see the whole object, metadata included.
            v.rules(&object.node, schema, None);
        }
        // The loader only makes objects of mappings.
        _ => v.value(&object.node, schema, None),
    }
}

struct Validator<'o> {
    object: &'o Object,
    out: &'o mut Findings,
    reported: &'o mut Reported,
}

fn is_integral(f: f64) -> bool {
    f.is_finite() && f.fract() == 0.0
}

/// Whether a value has a type the schema accepts. A YAML float without a
/// fraction (`3.0`) counts as an integer: kubectl turns it into JSON `3`.
fn type_ok(value: &Value, schema: &Schema) -> bool {
    if matches!(value, Value::Null) {
        return schema.nullable || (schema.ty.is_none() && !schema.int_or_string);
    }
    if schema.int_or_string {
        return match value {
            Value::Int(_) | Value::Str(_) => true,
            Value::Float(f) => is_integral(*f),
            _ => false,
        };
    }
    let Some(ty) = schema.ty else {
        return true;
    };
    match (ty, value) {
        (Type::Object, Value::Map(_))
        | (Type::Array, Value::Seq(_))
        | (Type::String, Value::Str(_))
        | (Type::Boolean, Value::Bool(_))
        | (Type::Integer, Value::Int(_))
        | (Type::Number, Value::Int(_) | Value::Float(_)) => true,
        (Type::Integer, Value::Float(f)) => is_integral(*f),
        _ => false,
    }
}

/// `a string`, `an integer`, `null`.
fn described(node: &Node) -> String {
    match node.type_name() {
        "null" => "null".to_owned(),
        t @ ("integer" | "array" | "object") => format!("an {t}"),
        t => format!("a {t}"),
    }
}

/// The field a message names; a rule at the root is about the object.
fn field_or_object(path: &[PathSeg]) -> String {
    if path.is_empty() {
        "the object".to_owned()
    } else {
        display_path(path)
    }
}

/// A scalar as a message quotes it, shortened when long.
fn quoted(value: &Value) -> String {
    match value {
        Value::Str(s) => {
            let short: String = s.chars().take(60).collect();
            if short.len() < s.len() {
                format!("\"{short}...\"")
            } else {
                format!("\"{s}\"")
            }
        }
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".to_owned(),
        Value::Seq(_) => "a list".to_owned(),
        Value::Map(_) => "a mapping".to_owned(),
    }
}

impl Validator<'_> {
    fn report(&mut self, rule: &'static Rule, pos: Pos, message: String, hint: String) {
        self.out.push(Finding {
            loc: SourceLoc {
                file: self.object.file.clone(),
                pos,
            },
            rule,
            object: Some(self.object.display_name()),
            message,
            hint,
        });
    }

    fn explain(&self, path: &[PathSeg]) -> String {
        let field = explain_path(path);
        let kind = self.object.kind_name.to_lowercase();
        if field.is_empty() {
            format!(
                "`kubectl explain {kind} --api-version={}`",
                self.object.api_version
            )
        } else {
            format!(
                "`kubectl explain {kind}.{field} --api-version={}`",
                self.object.api_version
            )
        }
    }

    fn value<'a>(&mut self, node: &'a Node, schema: &Schema, path: Option<&'a Link<'a>>) {
        if !type_ok(&node.value, schema) {
            self.wrong_type(node, schema, path);
            return;
        }
        match &node.value {
            Value::Map(entries) => self.map(node, entries, schema, path, false),
            Value::Seq(items) => {
                if let Some(item_schema) = schema.items.as_deref() {
                    for (i, item) in items.iter().enumerate() {
                        let link = Link {
                            seg: Seg::Index(i),
                            parent: path,
                        };
                        self.value(item, item_schema, Some(&link));
                    }
                }
            }
            scalar => {
                if !schema.enumeration.is_empty()
                    && !schema.enumeration.iter().any(|e| e.matches(scalar))
                {
                    self.not_in_enum(node, schema, path);
                }
            }
        }
        self.constraints(node, schema, path);
        self.rules(node, schema, path);
    }

    fn constraints(&mut self, node: &Node, schema: &Schema, path: Option<&Link<'_>>) {
        let Some(c) = schema.constraints.as_deref() else {
            return;
        };
        let violations = c.check(&node.value, &display_path(&to_path(path)));
        for v in violations {
            let message = format!("{}: {}", self.object.display_name(), v.message);
            self.report(&catalog::SCHEMA_VALUE, node.pos, message, v.hint);
        }
    }

    fn rules(&mut self, node: &Node, schema: &Schema, path: Option<&Link<'_>>) {
        if schema.rules.is_empty() {
            return;
        }
        // `self` is bound once for all the rules of this node.
        let ctx = cel::context(&node.value);
        for rule in schema.rules.iter() {
            let outcome = match &rule.status {
                Status::Ready(program) => cel::evaluate(rule, program, &ctx),
                // Only evaluated on update; lint sees objects as created.
                Status::Transition => continue,
                Status::Unsupported(why) => Outcome::Unsupported(why.clone()),
            };
            match outcome {
                Outcome::Holds => {}
                Outcome::Fails(message) => self.rule_failed(node, rule, path, message),
                Outcome::Unsupported(why) => self.rule_skipped(node, rule, path, why),
            }
        }
    }

    fn rule_failed(
        &mut self,
        node: &Node,
        rule: &cel::Rule,
        path: Option<&Link<'_>>,
        message: String,
    ) {
        let mut full = to_path(path);
        full.extend(rule.field_path.iter().cloned());
        let pos = node.locate(&rule.field_path);
        let field = field_or_object(&full);
        let message = format!(
            "{}: {field}: {}: {message}",
            self.object.display_name(),
            rule.reason.label()
        );
        let hint = format!(
            "the API server rejects the object: its CRD requires `{}` (x-kubernetes-validations); see {}",
            crate::spec::quote(&rule.source),
            self.explain(&full)
        );
        self.report(&catalog::SCHEMA_CEL, pos, message, hint);
    }

    fn rule_skipped(
        &mut self,
        node: &Node,
        rule: &cel::Rule,
        path: Option<&Link<'_>>,
        why: String,
    ) {
        if !self.reported.insert(rule as *const cel::Rule) {
            return;
        }
        let field = field_or_object(&to_path(path));
        let message = format!(
            "{}: the CRD's CEL rule on {field} was not evaluated (reported once per run): {why}: `{}`",
            self.object.display_name(),
            crate::spec::quote(&rule.source)
        );
        let hint = "the API server still enforces it at apply time; check this field by hand or with `kubectl apply --dry-run=server`".to_owned();
        self.report(&catalog::SCHEMA_CEL_SKIPPED, node.pos, message, hint);
    }

    fn map<'a>(
        &mut self,
        node: &'a Node,
        entries: &'a [(Key, Node)],
        schema: &Schema,
        path: Option<&'a Link<'a>>,
        root: bool,
    ) {
        for (key, child) in entries {
            if root && ENVELOPE.contains(&key.name.as_str()) {
                continue;
            }
            let link = Link {
                seg: Seg::Key(&key.name),
                parent: path,
            };
            match schema.field(&key.name) {
                // The API server drops such a null before validating.
                Some(sub) if matches!(child.value, Value::Null) && sub.prunes_null() => {}
                Some(sub) => self.value(child, sub, Some(&link)),
                None if schema.accepts_unknown_keys() => {}
                None => self.unknown_field(key, schema, &link),
            }
        }
        for name in schema.required.iter() {
            let name = &**name;
            if root && ENVELOPE.contains(&name) {
                continue;
            }
            let declared = schema.field(name);
            let was_null = match entries.iter().find(|(k, _)| k.name == name) {
                None if declared.is_some_and(|s| s.has_default) => continue,
                None => false,
                Some((_, v))
                    if matches!(v.value, Value::Null)
                        && declared.is_some_and(Schema::prunes_null) =>
                {
                    true
                }
                Some(_) => continue,
            };
            self.missing(node, name, declared, was_null, path);
        }
    }

    fn wrong_type(&mut self, node: &Node, schema: &Schema, path: Option<&Link<'_>>) {
        let path = to_path(path);
        let field = display_path(&path);
        let message = format!(
            "{}: {field} is {}, the CRD wants {}",
            self.object.display_name(),
            described(node),
            schema.wanted()
        );
        let wants = |t: Type| schema.ty == Some(t) && !schema.int_or_string;
        let hint = match &node.value {
            Value::Str(s)
                if (wants(Type::Integer) && s.trim().parse::<i64>().is_ok())
                    || (wants(Type::Number) && s.trim().parse::<f64>().is_ok())
                    || (wants(Type::Boolean) && (s == "true" || s == "false")) =>
            {
                format!("remove the quotes: {}", s.trim())
            }
            Value::Int(_) | Value::Float(_) | Value::Bool(_) if wants(Type::String) => {
                format!("quote the value: \"{}\"", quoted(&node.value))
            }
            Value::Map(_) if wants(Type::Array) => {
                "make it a list: start each entry with `- `".to_owned()
            }
            Value::Seq(_) if wants(Type::Object) => {
                "make it a single mapping, not a list (drop the leading `- `)".to_owned()
            }
            Value::Null => format!(
                "give {field} a value or remove it; see {}",
                self.explain(&path)
            ),
            _ => format!(
                "write {field} as {}; see {}",
                schema.wanted(),
                self.explain(&path)
            ),
        };
        self.report(&catalog::SCHEMA_TYPE, node.pos, message, hint);
    }

    fn not_in_enum(&mut self, node: &Node, schema: &Schema, path: Option<&Link<'_>>) {
        let path = to_path(path);
        let field = display_path(&path);
        let rendered: Vec<String> = schema.enumeration.iter().map(|e| e.render()).collect();
        let allowed = suggest::list(rendered.iter().map(String::as_str), LIST_MAX);
        let message = format!(
            "{}: {field} is {}, not one of the values the CRD allows: {allowed}",
            self.object.display_name(),
            quoted(&node.value)
        );
        let nearest = match &node.value {
            Value::Str(s) => {
                suggest::closest(s, schema.enumeration.iter().filter_map(|e| e.as_str()))
            }
            _ => None,
        };
        let hint = match nearest {
            Some(n) => format!("did you mean {n}? enum values are case-sensitive"),
            None => format!("use one of the listed values; see {}", self.explain(&path)),
        };
        self.report(&catalog::SCHEMA_ENUM, node.pos, message, hint);
    }

    fn unknown_field(&mut self, key: &Key, schema: &Schema, link: &Link<'_>) {
        let path = to_path(Some(link));
        let field = display_path(&path);
        let message = format!(
            "{}: {field} is not a field of the CRD schema",
            self.object.display_name()
        );
        let known = schema.properties.iter().map(|(k, _)| &**k);
        let consequence = "kubectl rejects unknown fields (strict field validation) and the API server otherwise drops them";
        let hint = match suggest::closest(&key.name, known.clone()) {
            Some(near) => format!("did you mean `{near}`? {consequence}"),
            None if schema.properties.is_empty() => {
                format!(
                    "the CRD declares no fields here; remove `{}` ({consequence})",
                    key.name
                )
            }
            None => format!(
                "remove `{}` or fix its name; fields allowed here: {} ({consequence})",
                key.name,
                suggest::list(known, LIST_MAX)
            ),
        };
        self.report(&catalog::SCHEMA_UNKNOWN_FIELD, key.pos, message, hint);
    }

    fn missing(
        &mut self,
        node: &Node,
        name: &str,
        declared: Option<&Schema>,
        was_null: bool,
        path: Option<&Link<'_>>,
    ) {
        let parent = display_path(&to_path(path));
        let object = self.object.display_name();
        let message = match (parent.is_empty(), was_null) {
            (true, false) => format!("{object}: required field {name} is missing"),
            (true, true) => format!("{object}: required field {name} is null"),
            (false, false) => format!("{object}: {parent} is missing required field {name}"),
            (false, true) => format!("{object}: required field {parent}.{name} is null"),
        };
        let what = declared.map_or_else(String::new, |s| format!(" ({})", s.wanted()));
        let hint = match (parent.is_empty(), was_null) {
            (_, true) => format!(
                "give {name} a value{what}: the API server drops a null it cannot store, and then the field is missing"
            ),
            (true, false) => format!("add {name}{what} at the top level of the object"),
            (false, false) => format!("add {name}{what} under {parent}"),
        };
        self.report(&catalog::SCHEMA_REQUIRED, node.pos, message, hint);
    }
}
