//! CEL validation rules (`x-kubernetes-validations`) of a schema node,
//! compiled once when the CRD is loaded and evaluated per value with the
//! `cel` crate, the way k8s.io/apiextensions-apiserver
//! pkg/apiserver/schema/cel/validation.go does on create:
//!
//! - `self` is the value at the node that carries the rule;
//! - a rule that names `oldSelf` is a transition rule, evaluated only on
//!   update, so `lint` (which sees objects as created) skips it;
//! - a rule that is false, or fails to evaluate (`duration('garbage')`, a
//!   missing key), rejects the object, with `messageExpression`, else
//!   `message`, else `failed rule: <rule>`; `reason` and `fieldPath` are
//!   honoured;
//! - a rule that uses a Kubernetes CEL library function the crate lacks
//!   (k8s.io/apiserver/pkg/cel/library: `url`, `isURL`, `quantity`, `ip`,
//!   `cidr`, `isSorted`, `find`, ...) cannot be evaluated: it is reported
//!   once per run as skipped (ZC4008), never as passed or failed.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use cel::objects::Key;
use cel::{Context, Env, ExecutionError, Program, Value as CelValue};

use super::model::CompileError;
use crate::topology::yaml::{Node, PathSeg, Value};

/// Functions of the Kubernetes CEL libraries (k8s.io/apiserver/pkg/cel/
/// library: urls.go, quantity.go, ip.go, cidr.go, lists.go, regex.go,
/// authz.go, semverlib.go, format.go) that the `cel` crate does not have.
/// A rule naming one is unsupported even where a short circuit would skip
/// the call for some values.
const K8S_ONLY: &[&str] = &[
    "url",
    "isURL",
    "getScheme",
    "getHost",
    "getHostname",
    "getPort",
    "getEscapedPath",
    "getQuery",
    "quantity",
    "isQuantity",
    "sign",
    "isInteger",
    "asInteger",
    "asApproximateFloat",
    "compareTo",
    "isGreaterThan",
    "isLessThan",
    "ip",
    "isIP",
    "cidr",
    "isCIDR",
    "family",
    "isUnspecified",
    "isLoopback",
    "isLinkLocalMulticast",
    "isLinkLocalUnicast",
    "isGlobalUnicast",
    "containsIP",
    "containsCIDR",
    "prefixLength",
    "masked",
    "isSorted",
    "sum",
    "find",
    "findAll",
    "authorizer",
    "semver",
    "isSemver",
    "major",
    "minor",
    "patch",
    "validate",
    "dns1123Label",
    "dns1123Subdomain",
];

/// The environment every rule is compiled and run in: the CEL standard
/// library and the strings extension (`lowerAscii`, `split`, `substring`,
/// `join`, ...), which Kubernetes also enables.
fn env() -> &'static Arc<Env> {
    static ENV: OnceLock<Arc<Env>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Env::stdlib();
        env.add_extension(cel::extensions::strings)
            .expect("the strings extension registers once");
        Arc::new(env)
    })
}

/// `reason` of a rule: the field error type the API server reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reason {
    Invalid,
    Required,
    Forbidden,
    Duplicate,
}

impl Reason {
    fn parse(text: &str) -> Option<Reason> {
        Some(match text {
            "FieldValueInvalid" => Reason::Invalid,
            "FieldValueRequired" => Reason::Required,
            "FieldValueForbidden" => Reason::Forbidden,
            "FieldValueDuplicate" => Reason::Duplicate,
            _ => return None,
        })
    }

    /// The words the API server puts before the message.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Reason::Invalid => "Invalid value",
            Reason::Required => "Required value",
            Reason::Forbidden => "Forbidden",
            Reason::Duplicate => "Duplicate value",
        }
    }
}

/// What can be done with a rule.
#[derive(Clone)]
pub(crate) enum Status {
    /// Compiled; evaluated on every value.
    Ready(Arc<Program>),
    /// Uses `oldSelf`: only evaluated on update, never by `lint`.
    Transition,
    /// Cannot be evaluated here; the reason says why.
    Unsupported(String),
}

/// One compiled `x-kubernetes-validations` entry.
#[derive(Clone)]
pub(crate) struct Rule {
    /// The `rule` text.
    pub source: Box<str>,
    pub status: Status,
    pub message: Option<Box<str>>,
    pub message_expression: Option<Arc<Program>>,
    /// `fieldPath`, relative to the value (`.spec.port` -> [spec, port]).
    pub field_path: Vec<PathSeg>,
    pub reason: Reason,
}

impl std::fmt::Debug for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let status = match &self.status {
            Status::Ready(_) => "ready",
            Status::Transition => "transition",
            Status::Unsupported(_) => "unsupported",
        };
        f.debug_struct("Rule")
            .field("source", &self.source)
            .field("status", &status)
            .finish_non_exhaustive()
    }
}

fn err(node: &Node, message: impl Into<String>) -> CompileError {
    CompileError {
        pos: node.pos,
        message: message.into(),
    }
}

/// `.a.b['c'][0]` (the subset of JSONPath `fieldPath` allows) as path
/// segments; `None` when it is not of that form.
fn parse_field_path(text: &str) -> Option<Vec<PathSeg>> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            if end == 0 {
                return None;
            }
            out.push(PathSeg::Key(r[..end].to_owned()));
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix("['") {
            let end = r.find("']")?;
            out.push(PathSeg::Key(r[..end].to_owned()));
            rest = &r[end + 2..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            out.push(PathSeg::Index(r[..end].parse().ok()?));
            rest = &r[end + 1..];
        } else {
            return None;
        }
    }
    Some(out)
}

/// The status of a rule text, compiled once per thread: the Istio CRDs
/// repeat a few rules hundreds of times (`duration(self) >= duration('1ms')`
/// 160 times), and parsing CEL is the bulk of loading them.
fn status_of(source: &str) -> Status {
    thread_local! {
        static COMPILED: std::cell::RefCell<HashMap<Box<str>, Status>> =
            std::cell::RefCell::new(HashMap::new());
    }
    if let Some(hit) = COMPILED.with(|c| c.borrow().get(source).cloned()) {
        return hit;
    }
    let status = compile_status(source);
    COMPILED.with(|c| c.borrow_mut().insert(source.into(), status.clone()));
    status
}

fn compile_status(source: &str) -> Status {
    let program = match env().compile(source) {
        Ok(p) => p,
        Err(e) => {
            let first = e.to_string();
            let first = first.lines().next().unwrap_or("syntax error");
            return Status::Unsupported(format!("it does not parse here ({first})"));
        }
    };
    let refs = program.references();
    if refs.has_variable("oldSelf") {
        return Status::Transition;
    }
    if let Some(f) = refs.functions().into_iter().find(|f| K8S_ONLY.contains(f)) {
        return Status::Unsupported(format!(
            "it uses the Kubernetes CEL function `{f}`, which the cel crate lacks"
        ));
    }
    Status::Ready(Arc::new(program))
}

/// Compiles an `x-kubernetes-validations` list.
pub(crate) fn compile_rules(node: &Node) -> Result<Box<[Rule]>, CompileError> {
    let Value::Seq(items) = &node.value else {
        return Err(err(node, "`x-kubernetes-validations` must be a list"));
    };
    items
        .iter()
        .map(|item| {
            let text = |key: &str| -> Result<Option<&str>, CompileError> {
                match item.get(key) {
                    None => Ok(None),
                    Some(n) => n
                        .as_str()
                        .map(Some)
                        .ok_or_else(|| err(n, format!("`{key}` must be a string"))),
                }
            };
            let source =
                text("rule")?.ok_or_else(|| err(item, "a validation rule has no `rule`"))?;
            let field_path = match text("fieldPath")? {
                None => Vec::new(),
                Some(p) => parse_field_path(p)
                    .ok_or_else(|| err(item, format!("`fieldPath` {p} is not a field path")))?,
            };
            let reason = match text("reason")? {
                None => Reason::Invalid,
                Some(r) => {
                    Reason::parse(r).ok_or_else(|| err(item, format!("unknown `reason` {r}")))?
                }
            };
            Ok(Rule {
                source: source.into(),
                status: status_of(source),
                message: text("message")?.map(Into::into),
                message_expression: text("messageExpression")?
                    .and_then(|m| env().compile(m).ok())
                    .map(Arc::new),
                field_path,
                reason,
            })
        })
        .collect()
}

/// A YAML value as CEL sees it (JSON types; maps keyed by string).
pub(crate) fn to_cel(value: &Value) -> CelValue {
    match value {
        Value::Null => CelValue::Null,
        Value::Bool(b) => CelValue::Bool(*b),
        Value::Int(i) => CelValue::Int(*i),
        Value::Float(f) => CelValue::Float(*f),
        Value::Str(s) => CelValue::String(Arc::new(s.clone())),
        Value::Seq(items) => {
            CelValue::List(Arc::new(items.iter().map(|n| to_cel(&n.value)).collect()))
        }
        Value::Map(entries) => {
            let map: HashMap<Key, CelValue> = entries
                .iter()
                .map(|(k, v)| (Key::from(k.name.clone()), to_cel(&v.value)))
                .collect();
            CelValue::from(map)
        }
    }
}

/// The result of evaluating one ready rule on a value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    /// The rule holds.
    Holds,
    /// The rule is false or errs: the API server rejects the object with
    /// this message.
    Fails(String),
    /// The interpreter lacks something the rule needs.
    Unsupported(String),
}

/// A context with `self` bound to `value`, built once for all the rules
/// of one value.
pub(crate) fn context(value: &Value) -> Context<'static, 'static> {
    let mut ctx = Context::with_env(Arc::clone(env()));
    ctx.add_variable_from_value("self", to_cel(value));
    ctx
}

/// Evaluates `program` in `ctx` (see [`context`]).
pub(crate) fn evaluate(rule: &Rule, program: &Program, ctx: &Context) -> Outcome {
    // A bug in the interpreter must not bring lint down with it.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| program.execute(ctx)));
    let Ok(result) = result else {
        return Outcome::Unsupported("the CEL interpreter failed on it".into());
    };
    match result {
        Ok(CelValue::Bool(true)) => Outcome::Holds,
        Ok(CelValue::Bool(false)) => Outcome::Fails(failure_message(rule, ctx)),
        Ok(other) => Outcome::Fails(format!(
            "rule evaluated to {:?}, not a boolean",
            other.type_of()
        )),
        // A function the crate does not define: not the object's fault.
        Err(ExecutionError::UndeclaredReference(name)) if name.as_str() != "self" => {
            Outcome::Unsupported(format!("it calls `{name}`, which the cel crate lacks"))
        }
        Err(e) => Outcome::Fails(format!(
            "{} (the rule could not be evaluated: {})",
            failure_message(rule, ctx),
            crate::spec::quote(&e.to_string())
        )),
    }
}

/// `messageExpression` when it yields a non-empty string, else `message`,
/// else the API server's `failed rule: <rule>`.
fn failure_message(rule: &Rule, ctx: &Context) -> String {
    if let Some(expr) = &rule.message_expression
        && let Ok(CelValue::String(s)) = expr.execute(ctx)
        && !s.trim().is_empty()
    {
        return s.to_string();
    }
    match &rule.message {
        Some(m) => m.to_string(),
        None => format!("failed rule: {}", crate::spec::quote(&rule.source)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::yaml::parse_documents;

    fn rules(text: &str) -> Box<[Rule]> {
        compile_rules(&parse_documents(text).unwrap()[0]).unwrap()
    }

    fn run(rule: &Rule, yaml: &str) -> Outcome {
        let Status::Ready(p) = &rule.status else {
            panic!("not ready: {rule:?}");
        };
        let node = &parse_documents(yaml).unwrap()[0];
        evaluate(rule, p, &context(&node.value))
    }

    #[test]
    fn rules_are_classified_at_compile_time() {
        let r = rules(
            "- rule: self.a > 0\n- rule: self == oldSelf\n- rule: url(self).getScheme() == 'http'\n- rule: '('\n",
        );
        assert!(matches!(r[0].status, Status::Ready(_)));
        assert!(matches!(r[1].status, Status::Transition));
        assert!(
            matches!(&r[2].status, Status::Unsupported(why) if why.contains("`url`") || why.contains("`getScheme`"))
        );
        assert!(matches!(&r[3].status, Status::Unsupported(why) if why.contains("parse")));
    }

    #[test]
    fn messages_follow_the_api_server_order() {
        let r = rules(
            "- rule: self.a > 0\n  messageExpression: \"'a is ' + string(self.a)\"\n  message: fixed\n- rule: self.a > 0\n  message: fixed\n- rule: self.a > 0\n",
        );
        assert_eq!(run(&r[0], "a: -1\n"), Outcome::Fails("a is -1".into()));
        assert_eq!(run(&r[1], "a: -1\n"), Outcome::Fails("fixed".into()));
        assert_eq!(
            run(&r[2], "a: -1\n"),
            Outcome::Fails("failed rule: self.a > 0".into())
        );
        assert_eq!(run(&r[2], "a: 1\n"), Outcome::Holds);
    }

    #[test]
    fn an_evaluation_error_rejects_the_value() {
        let r = rules("- rule: duration(self) >= duration('1ms')\n");
        assert_eq!(run(&r[0], "5s\n"), Outcome::Holds);
        assert!(
            matches!(run(&r[0], "garbage\n"), Outcome::Fails(m) if m.contains("could not be evaluated"))
        );
        assert!(matches!(run(&r[0], "0s\n"), Outcome::Fails(_)));
    }

    #[test]
    fn field_paths_and_reasons_are_read() {
        let r =
            rules("- rule: 'true'\n  fieldPath: .spec['a.b'][2]\n  reason: FieldValueForbidden\n");
        assert_eq!(
            r[0].field_path,
            [
                PathSeg::from("spec"),
                PathSeg::from("a.b"),
                PathSeg::Index(2)
            ]
        );
        assert_eq!(r[0].reason, Reason::Forbidden);
        assert!(parse_field_path("spec").is_none());
    }
}
