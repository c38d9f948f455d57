//! OpenAPI v3 value constraints of a schema node, compiled once: bounds,
//! lengths, counts, `pattern` and `format`, checked the way the API server
//! does (k8s.io/apiextensions-apiserver pkg/apiserver/validation/
//! validation.go hands them to kube-openapi pkg/validation/validate:
//! `minimum` and `maximum` with their `exclusive` flags, `minLength` and
//! `maxLength` counted in characters, `minItems`/`maxItems`,
//! `minProperties`/`maxProperties`, `pattern` as an unanchored RE2 search).

use regex::Regex;

use super::format::Format;
use super::model::CompileError;
use crate::spec::quote;
use crate::topology::yaml::{Node, Value};

/// The constraints of one schema node; `None` fields constrain nothing.
#[derive(Debug, Clone, Default)]
pub(crate) struct Constraints {
    minimum: Option<f64>,
    exclusive_minimum: bool,
    maximum: Option<f64>,
    exclusive_maximum: bool,
    min_length: Option<u64>,
    max_length: Option<u64>,
    min_items: Option<u64>,
    max_items: Option<u64>,
    min_properties: Option<u64>,
    max_properties: Option<u64>,
    pattern: Option<Regex>,
    format: Option<Format>,
}

/// Which end of a numeric range a bound is.
#[derive(Clone, Copy)]
enum Side {
    Minimum,
    Maximum,
}

/// One broken constraint: what is wrong (naming the limit) and how to fix it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Violation {
    pub message: String,
    pub hint: String,
}

fn number(node: &Node, key: &str) -> Result<Option<f64>, CompileError> {
    match node.get(key).map(|n| (n, &n.value)) {
        None => Ok(None),
        Some((_, Value::Int(i))) => Ok(Some(*i as f64)),
        Some((_, Value::Float(f))) => Ok(Some(*f)),
        Some((n, _)) => Err(CompileError {
            pos: n.pos,
            message: format!("`{key}` must be a number"),
        }),
    }
}

fn count(node: &Node, key: &str) -> Result<Option<u64>, CompileError> {
    match node.get(key).map(|n| (n, &n.value)) {
        None => Ok(None),
        Some((_, Value::Int(i))) if *i >= 0 => Ok(Some(*i as u64)),
        Some((n, _)) => Err(CompileError {
            pos: n.pos,
            message: format!("`{key}` must be a non-negative integer"),
        }),
    }
}

fn flag(node: &Node, key: &str) -> bool {
    matches!(node.get(key).map(|n| &n.value), Some(Value::Bool(true)))
}

/// `pattern` compiled once per thread (CRDs repeat the quantity and
/// DNS-name patterns dozens of times); `None` when the regex crate cannot
/// compile it.
fn compiled_pattern(text: &str) -> Option<Regex> {
    thread_local! {
        static COMPILED: std::cell::RefCell<std::collections::HashMap<Box<str>, Option<Regex>>> =
            std::cell::RefCell::new(std::collections::HashMap::new());
    }
    if let Some(hit) = COMPILED.with(|c| c.borrow().get(text).cloned()) {
        return hit;
    }
    let re = Regex::new(text).ok();
    COMPILED.with(|c| c.borrow_mut().insert(text.into(), re.clone()));
    re
}

/// A number as a message shows it: `100`, not `100.0`.
fn show(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e18 {
        format!("{}", f as i64)
    } else {
        f.to_string()
    }
}

impl Constraints {
    /// The constraints of `node`; `None` when it has none.
    pub(crate) fn compile(node: &Node) -> Result<Option<Box<Constraints>>, CompileError> {
        let pattern = match node.get("pattern") {
            None => None,
            Some(p) => {
                let text = p.as_str().ok_or_else(|| CompileError {
                    pos: p.pos,
                    message: "`pattern` must be a string".into(),
                })?;
                // Go's RE2 and the regex crate agree on the syntax CRDs
                // use; a pattern only Go understands is not checked rather
                // than reported falsely.
                compiled_pattern(text)
            }
        };
        let c = Constraints {
            minimum: number(node, "minimum")?,
            exclusive_minimum: flag(node, "exclusiveMinimum"),
            maximum: number(node, "maximum")?,
            exclusive_maximum: flag(node, "exclusiveMaximum"),
            min_length: count(node, "minLength")?,
            max_length: count(node, "maxLength")?,
            min_items: count(node, "minItems")?,
            max_items: count(node, "maxItems")?,
            min_properties: count(node, "minProperties")?,
            max_properties: count(node, "maxProperties")?,
            pattern,
            format: node
                .get("format")
                .and_then(Node::as_str)
                .and_then(Format::parse),
        };
        let empty = c.minimum.is_none()
            && c.maximum.is_none()
            && c.min_length.is_none()
            && c.max_length.is_none()
            && c.min_items.is_none()
            && c.max_items.is_none()
            && c.min_properties.is_none()
            && c.max_properties.is_none()
            && c.pattern.is_none()
            && c.format.is_none();
        Ok((!empty).then(|| Box::new(c)))
    }

    /// Every constraint `value` breaks; `field` names it in messages.
    pub(crate) fn check(&self, value: &Value, field: &str) -> Vec<Violation> {
        let mut out = Vec::new();
        match value {
            Value::Int(i) => {
                self.bounds(*i as f64, field, &mut out);
                if let Some(f) = self.format.filter(|f| !f.accepts_int(*i)) {
                    out.push(Violation {
                        message: format!(
                            "{field} is {i}, which is not {} (format {})",
                            f.example(),
                            f.name()
                        ),
                        hint: format!(
                            "use {}: the controller decoding it rejects a larger value",
                            f.example()
                        ),
                    });
                }
            }
            Value::Float(f) => self.bounds(*f, field, &mut out),
            Value::Str(s) => self.string(s, field, &mut out),
            Value::Seq(items) => {
                let n = items.len() as u64;
                self.size(n, self.min_items, self.max_items, field, "item", &mut out);
            }
            Value::Map(entries) => {
                let n = entries.len() as u64;
                self.size(
                    n,
                    self.min_properties,
                    self.max_properties,
                    field,
                    "entry",
                    &mut out,
                );
            }
            Value::Null | Value::Bool(_) => {}
        }
        out
    }

    fn bounds(&self, v: f64, field: &str, out: &mut Vec<Violation>) {
        let lower = self
            .minimum
            .map(|m| (m, self.exclusive_minimum, Side::Minimum));
        let upper = self
            .maximum
            .map(|m| (m, self.exclusive_maximum, Side::Maximum));
        for (limit, exclusive, side) in lower.into_iter().chain(upper) {
            let inside = match (side, exclusive) {
                (Side::Minimum, false) => v >= limit,
                (Side::Minimum, true) => v > limit,
                (Side::Maximum, false) => v <= limit,
                (Side::Maximum, true) => v < limit,
            };
            if inside {
                continue;
            }
            let words = match (side, exclusive) {
                (Side::Minimum, false) => "at least",
                (Side::Minimum, true) => "greater than",
                (Side::Maximum, false) => "at most",
                (Side::Maximum, true) => "less than",
            };
            let keyword = match side {
                Side::Minimum => "minimum",
                Side::Maximum => "maximum",
            };
            let wanted = format!("{words} {}", show(limit));
            out.push(Violation {
                message: format!("{field} is {}, the CRD wants {wanted} ({keyword})", show(v)),
                hint: format!("set {field} to a value {wanted}"),
            });
        }
    }

    fn string(&self, s: &str, field: &str, out: &mut Vec<Violation>) {
        let shown = quote(s);
        let chars = s.chars().count() as u64;
        if let Some(min) = self.min_length.filter(|m| chars < *m) {
            out.push(Violation {
                message: format!("{field} is \"{shown}\" ({chars} characters), the CRD wants at least {min} (minLength)"),
                hint: if chars == 0 {
                    format!("give {field} a value or remove it")
                } else {
                    format!("make {field} at least {min} characters long")
                },
            });
        }
        if let Some(max) = self.max_length.filter(|m| chars > *m) {
            out.push(Violation {
                message: format!(
                    "{field} is {chars} characters long, the CRD allows at most {max} (maxLength)"
                ),
                hint: format!("shorten {field} to {max} characters"),
            });
        }
        if let Some(re) = self.pattern.as_ref().filter(|re| !re.is_match(s)) {
            out.push(Violation {
                message: format!(
                    "{field} is \"{shown}\", which does not match the CRD's pattern {}",
                    quote(re.as_str())
                ),
                hint: format!("write {field} so that it matches the pattern"),
            });
        }
        if let Some(f) = self.format.filter(|f| !f.accepts_str(s)) {
            out.push(Violation {
                message: format!(
                    "{field} is \"{shown}\", which is not a valid {} (format)",
                    f.name()
                ),
                hint: format!("write {field} as {}", f.example()),
            });
        }
    }

    fn size(
        &self,
        n: u64,
        min: Option<u64>,
        max: Option<u64>,
        field: &str,
        what: &str,
        out: &mut Vec<Violation>,
    ) {
        let plural = |k: u64| if k == 1 { "" } else { "s" };
        if let Some(min) = min.filter(|m| n < *m) {
            out.push(Violation {
                message: format!(
                    "{field} has {n} {what}{}, the CRD wants at least {min}",
                    plural(n)
                ),
                hint: format!("add {what}s to {field} or remove it"),
            });
        }
        if let Some(max) = max.filter(|m| n > *m) {
            out.push(Violation {
                message: format!(
                    "{field} has {n} {what}{}, the CRD allows at most {max}",
                    plural(n)
                ),
                hint: format!("keep at most {max} {what}{} in {field}", plural(max)),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::yaml::parse_documents;

    fn compiled(text: &str) -> Constraints {
        *Constraints::compile(&parse_documents(text).unwrap()[0])
            .unwrap()
            .expect("has constraints")
    }

    fn messages(c: &Constraints, v: Value) -> Vec<String> {
        c.check(&v, "f").into_iter().map(|v| v.message).collect()
    }

    #[test]
    fn bounds_honour_the_exclusive_flags() {
        let c = compiled("minimum: 0\nmaximum: 100\n");
        assert!(messages(&c, Value::Int(0)).is_empty());
        assert!(messages(&c, Value::Int(100)).is_empty());
        assert_eq!(
            messages(&c, Value::Int(-1)),
            ["f is -1, the CRD wants at least 0 (minimum)"]
        );
        assert_eq!(
            messages(&c, Value::Int(1000)),
            ["f is 1000, the CRD wants at most 100 (maximum)"]
        );
        let x =
            compiled("minimum: 0\nexclusiveMinimum: true\nmaximum: 1\nexclusiveMaximum: true\n");
        assert_eq!(
            messages(&x, Value::Int(0)),
            ["f is 0, the CRD wants greater than 0 (minimum)"]
        );
        assert_eq!(
            messages(&x, Value::Float(1.0)),
            ["f is 1, the CRD wants less than 1 (maximum)"]
        );
        assert!(messages(&x, Value::Float(0.5)).is_empty());
    }

    #[test]
    fn lengths_count_characters_and_patterns_search() {
        let len = compiled("minLength: 1\nmaxLength: 3\n");
        assert!(
            messages(&len, Value::Str("héé".into())).is_empty(),
            "3 characters, 5 bytes"
        );
        assert_eq!(messages(&len, Value::Str("abcd".into())).len(), 1);
        let c = compiled("minLength: 1\npattern: '^[a-z]+$'\n");
        assert_eq!(
            messages(&c, Value::Str(String::new())).len(),
            2,
            "too short and no match"
        );
        assert!(messages(&c, Value::Str("abc".into())).is_empty());
        let search = compiled("pattern: 'b'\n");
        assert!(
            messages(&search, Value::Str("abc".into())).is_empty(),
            "unanchored like Go"
        );
    }

    #[test]
    fn item_and_property_counts_are_bounded() {
        let c = compiled("minItems: 1\nmaxItems: 2\n");
        assert_eq!(
            messages(&c, Value::Seq(vec![])),
            ["f has 0 items, the CRD wants at least 1"]
        );
        let m = compiled("maxProperties: 0\n");
        assert_eq!(messages(&m, Value::Map(vec![])).len(), 0);
    }

    #[test]
    fn formats_are_checked_by_value_type() {
        let c = compiled("format: int32\n");
        assert_eq!(messages(&c, Value::Int(1 << 40)).len(), 1);
        assert!(
            messages(&c, Value::Str("50%".into())).is_empty(),
            "int-or-string"
        );
        let d = compiled("format: date-time\n");
        assert_eq!(messages(&d, Value::Str("noon".into())).len(), 1);
        assert!(
            Constraints::compile(&parse_documents("format: double\n").unwrap()[0])
                .unwrap()
                .is_none()
        );
    }
}
