//! The compiled form of a CRD's `openAPIV3Schema`: only what structural
//! validation needs, built once per CRD version so validating an object
//! never looks at the CRD's YAML again.
//!
//! Kept: `type`, `properties`, `required`, `enum`, `items`,
//! `additionalProperties` (boolean or schema), `nullable`, whether a
//! `default` exists, `x-kubernetes-preserve-unknown-fields`,
//! `x-kubernetes-int-or-string`, the value constraints of
//! [`Constraints`] (bounds, lengths, counts, `pattern`, `format`) and the
//! CEL rules of `x-kubernetes-validations`, compiled here once per CRD.
//!
//! Not kept (so not checked): `oneOf`, `anyOf`, `allOf` and `not`. In a
//! structural schema these may not add properties or types of their own
//! (every field they name must also be declared outside them), so skipping
//! them never produces a false unknown-field or type finding; what is lost
//! is their extra constraints, which Istio uses for mutual exclusivity
//! ("set `simple` or `consistentHash`, not both"); Istio states most of
//! them again as CEL rules, which are checked.

use super::cel;
use super::constraints::Constraints;
use crate::topology::yaml::{Node, Pos, Value};

/// The JSON types a schema can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Type {
    Object,
    Array,
    String,
    Integer,
    Number,
    Boolean,
}

impl Type {
    fn parse(name: &str) -> Option<Type> {
        Some(match name {
            "object" => Type::Object,
            "array" => Type::Array,
            "string" => Type::String,
            "integer" => Type::Integer,
            "number" => Type::Number,
            "boolean" => Type::Boolean,
            _ => return None,
        })
    }

    /// The name the CRD uses.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Type::Object => "object",
            Type::Array => "array",
            Type::String => "string",
            Type::Integer => "integer",
            Type::Number => "number",
            Type::Boolean => "boolean",
        }
    }
}

/// One value of an `enum`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Box<str>),
}

impl Scalar {
    /// JSON equality with a YAML value (1 and 1.0 are the same number).
    pub(crate) fn matches(&self, value: &Value) -> bool {
        match (self, value) {
            (Scalar::Null, Value::Null) => true,
            (Scalar::Bool(a), Value::Bool(b)) => a == b,
            (Scalar::Int(a), Value::Int(b)) => a == b,
            (Scalar::Str(a), Value::Str(b)) => **a == **b,
            (Scalar::Float(a), Value::Float(b)) => a == b,
            (Scalar::Int(a), Value::Float(b)) | (Scalar::Float(b), Value::Int(a)) => {
                *a as f64 == *b
            }
            _ => false,
        }
    }

    /// The value as a message shows it.
    pub(crate) fn render(&self) -> String {
        match self {
            Scalar::Null => "null".to_owned(),
            Scalar::Bool(b) => b.to_string(),
            Scalar::Int(i) => i.to_string(),
            Scalar::Float(f) => f.to_string(),
            Scalar::Str(s) => s.to_string(),
        }
    }

    /// The text of a string value, for "did you mean" suggestions.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Scalar::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// What an object may hold besides its declared properties.
#[derive(Debug, Clone, Default)]
pub(crate) enum Additional {
    /// Nothing (`additionalProperties` absent or `false`).
    #[default]
    Nothing,
    /// Anything (`additionalProperties: true`).
    Anything,
    /// Values of this schema, under any key (a map).
    Schema(Box<Schema>),
}

/// One compiled schema node.
#[derive(Debug, Clone, Default)]
pub(crate) struct Schema {
    /// `type`; `None` accepts every type.
    pub ty: Option<Type>,
    /// `nullable: true`.
    pub nullable: bool,
    /// `x-kubernetes-int-or-string: true`.
    pub int_or_string: bool,
    /// `x-kubernetes-preserve-unknown-fields: true`.
    pub preserve_unknown: bool,
    /// A `default` is given (the API server fills it in before validating).
    pub has_default: bool,
    /// `enum`; empty when there is none.
    pub enumeration: Box<[Scalar]>,
    /// `properties`, sorted by name for binary search.
    pub properties: Box<[(Box<str>, Schema)]>,
    /// `required`.
    pub required: Box<[Box<str>]>,
    /// `items`.
    pub items: Option<Box<Schema>>,
    /// `additionalProperties`.
    pub additional: Additional,
    /// `minimum`, `maxLength`, `pattern`, `format`, ...; `None` when none.
    pub constraints: Option<Box<Constraints>>,
    /// `x-kubernetes-validations`.
    pub rules: Box<[cel::Rule]>,
}

impl Schema {
    /// The schema of a declared property.
    pub(crate) fn property(&self, name: &str) -> Option<&Schema> {
        self.properties
            .binary_search_by(|(k, _)| (**k).cmp(name))
            .ok()
            .map(|i| &self.properties[i].1)
    }

    /// The schema a value under key `name` of an object must satisfy:
    /// the declared property, else the `additionalProperties` schema.
    pub(crate) fn field(&self, name: &str) -> Option<&Schema> {
        self.property(name).or(match &self.additional {
            Additional::Schema(s) => Some(s),
            Additional::Nothing | Additional::Anything => None,
        })
    }

    /// True when keys that are not declared are accepted as they are.
    pub(crate) fn accepts_unknown_keys(&self) -> bool {
        if self.preserve_unknown || matches!(self.additional, Additional::Anything) {
            return true;
        }
        // An entirely open schema (`{}`) constrains nothing. A structural
        // CRD never has one, but a hand-written CRD might.
        self.ty.is_none() && self.properties.is_empty() && !self.int_or_string
    }

    /// The API server drops a `null` under an object key whose schema is
    /// neither nullable nor defaulted, before it validates anything.
    pub(crate) fn prunes_null(&self) -> bool {
        !self.nullable && !self.has_default
    }

    /// What the schema wants, for messages: `integer`, `integer or string`.
    pub(crate) fn wanted(&self) -> String {
        let base = if self.int_or_string {
            "integer or string"
        } else {
            self.ty.map_or("any value", Type::name)
        };
        if self.nullable {
            format!("{base} or null")
        } else {
            base.to_owned()
        }
    }
}

impl Schema {
    /// Calls `f` on every CEL rule of this schema and the schemas under it.
    pub(crate) fn each_rule(&self, f: &mut dyn FnMut(&cel::Rule)) {
        self.rules.iter().for_each(&mut *f);
        for (_, p) in self.properties.iter() {
            p.each_rule(f);
        }
        if let Some(items) = &self.items {
            items.each_rule(f);
        }
        if let Additional::Schema(s) = &self.additional {
            s.each_rule(f);
        }
    }
}

/// A schema that cannot be compiled, with the position of the offending
/// node.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CompileError {
    pub pos: Pos,
    pub message: String,
}

fn err(pos: Pos, message: impl Into<String>) -> CompileError {
    CompileError {
        pos,
        message: message.into(),
    }
}

fn flag(node: &Node, key: &str) -> Result<bool, CompileError> {
    match node.get(key) {
        None => Ok(false),
        Some(Node {
            value: Value::Bool(b),
            ..
        }) => Ok(*b),
        Some(other) => Err(err(
            other.pos,
            format!("`{key}` must be a boolean, found {}", other.type_name()),
        )),
    }
}

/// Compiles one `openAPIV3Schema` node (and everything under it).
pub(crate) fn compile(node: &Node) -> Result<Schema, CompileError> {
    let Value::Map(entries) = &node.value else {
        return Err(err(
            node.pos,
            format!("a schema must be a mapping, found {}", node.type_name()),
        ));
    };
    let mut schema = Schema {
        nullable: flag(node, "nullable")?,
        int_or_string: flag(node, "x-kubernetes-int-or-string")?,
        preserve_unknown: flag(node, "x-kubernetes-preserve-unknown-fields")?,
        constraints: Constraints::compile(node)?,
        ..Schema::default()
    };
    for (key, value) in entries {
        match key.name.as_str() {
            "type" => {
                let name = value
                    .as_str()
                    .ok_or_else(|| err(value.pos, "`type` must be a string"))?;
                schema.ty = Some(
                    Type::parse(name)
                        .ok_or_else(|| err(value.pos, format!("unknown schema type `{name}`")))?,
                );
            }
            "default" => schema.has_default = true,
            "enum" => {
                let Value::Seq(items) = &value.value else {
                    return Err(err(value.pos, "`enum` must be a list"));
                };
                schema.enumeration = items
                    .iter()
                    .map(|item| match &item.value {
                        Value::Null => Ok(Scalar::Null),
                        Value::Bool(b) => Ok(Scalar::Bool(*b)),
                        Value::Int(i) => Ok(Scalar::Int(*i)),
                        Value::Float(f) => Ok(Scalar::Float(*f)),
                        Value::Str(s) => Ok(Scalar::Str(s.as_str().into())),
                        Value::Seq(_) | Value::Map(_) => {
                            Err(err(item.pos, "only scalar `enum` values are supported"))
                        }
                    })
                    .collect::<Result<_, _>>()?;
            }
            "properties" => {
                let Value::Map(props) = &value.value else {
                    return Err(err(value.pos, "`properties` must be a mapping"));
                };
                let mut compiled = props
                    .iter()
                    .map(|(k, v)| Ok((Box::<str>::from(k.name.as_str()), compile(v)?)))
                    .collect::<Result<Vec<_>, CompileError>>()?;
                compiled.sort_by(|a, b| a.0.cmp(&b.0));
                schema.properties = compiled.into_boxed_slice();
            }
            "required" => {
                let Value::Seq(items) = &value.value else {
                    return Err(err(value.pos, "`required` must be a list"));
                };
                schema.required = items
                    .iter()
                    .map(|item| {
                        item.as_str()
                            .map(Box::<str>::from)
                            .ok_or_else(|| err(item.pos, "`required` entries must be strings"))
                    })
                    .collect::<Result<_, _>>()?;
            }
            "items" => {
                // A list of schemas (tuple validation) is not structural.
                schema.items = Some(Box::new(compile(value)?));
            }
            "x-kubernetes-validations" => schema.rules = cel::compile_rules(value)?,
            "additionalProperties" => {
                schema.additional = match &value.value {
                    Value::Bool(true) => Additional::Anything,
                    Value::Bool(false) => Additional::Nothing,
                    _ => Additional::Schema(Box::new(compile(value)?)),
                };
            }
            _ => {}
        }
    }
    Ok(schema)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::yaml::parse_documents;

    fn compiled(text: &str) -> Result<Schema, CompileError> {
        compile(&parse_documents(text).unwrap()[0])
    }

    #[test]
    fn compiles_the_kept_keywords() {
        let s = compiled(
            "type: object\nrequired: [b]\nproperties:\n  b:\n    type: string\n    enum: [X, Y]\n  a:\n    type: array\n    items: {type: integer, nullable: true}\n  m:\n    type: object\n    additionalProperties: {type: string}\n  q:\n    x-kubernetes-int-or-string: true\n    anyOf: [{type: integer}, {type: string}]\n  p:\n    type: object\n    x-kubernetes-preserve-unknown-fields: true\n    default: {}\n",
        )
        .unwrap();
        assert_eq!(s.ty, Some(Type::Object));
        assert_eq!(&*s.required, &[Box::<str>::from("b")]);
        let names: Vec<&str> = s.properties.iter().map(|(k, _)| &**k).collect();
        assert_eq!(names, ["a", "b", "m", "p", "q"], "sorted for binary search");
        let b = s.property("b").unwrap();
        assert_eq!(b.enumeration.len(), 2);
        assert!(b.enumeration[1].matches(&Value::Str("Y".into())));
        let items = s.property("a").unwrap().items.as_deref().unwrap();
        assert_eq!((items.ty, items.nullable), (Some(Type::Integer), true));
        assert!(matches!(
            s.property("m").unwrap().additional,
            Additional::Schema(_)
        ));
        assert!(s.field("anything").is_none());
        let q = s.property("q").unwrap();
        assert!(q.int_or_string && q.ty.is_none());
        assert_eq!(q.wanted(), "integer or string");
        let p = s.property("p").unwrap();
        assert!(p.preserve_unknown && p.has_default && p.accepts_unknown_keys());
        assert!(!s.accepts_unknown_keys());
    }

    #[test]
    fn map_values_use_the_additional_properties_schema() {
        let s = compiled("type: object\nadditionalProperties:\n  type: integer\n").unwrap();
        assert_eq!(s.field("any-key").and_then(|f| f.ty), Some(Type::Integer));
        let open = compiled("type: object\nadditionalProperties: true\n").unwrap();
        assert!(open.accepts_unknown_keys());
    }

    #[test]
    fn bad_schemas_name_the_position() {
        let e = compiled("type: object\nproperties:\n  a:\n    type: text\n").unwrap_err();
        assert_eq!(e.pos.line, 4);
        assert!(e.message.contains("`text`"), "{}", e.message);
        let e = compiled("nullable: yes\n").unwrap_err();
        assert_eq!(e.pos.line, 1);
        assert!(e.message.contains("nullable"), "{}", e.message);
    }

    #[test]
    fn integers_and_floats_compare_as_numbers() {
        assert!(Scalar::Int(2).matches(&Value::Float(2.0)));
        assert!(!Scalar::Int(2).matches(&Value::Str("2".into())));
        assert!(!Scalar::Str("2".into()).matches(&Value::Int(2)));
    }
}
