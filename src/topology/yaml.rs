//! A YAML tree that remembers where every node came from.
//!
//! Lint talks about fields ("`spec.http[0].route[1].weight` at line 42"), so the
//! loader keeps one [`Node`] tree per document with the line and column of every
//! key and value. Typed views (k8s-openapi structs, our CRD structs) are built
//! from this tree, and any field path can be turned back into a position.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// A 1-based line and column inside one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize)]
pub struct Pos {
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

impl Pos {
    /// A position from serde-saphyr's location (0 when unknown).
    pub fn from_location(loc: &serde_saphyr::Location) -> Pos {
        Pos {
            line: u32::try_from(loc.line()).unwrap_or(u32::MAX),
            column: u32::try_from(loc.column()).unwrap_or(u32::MAX),
        }
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// One YAML value with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Where the value starts.
    pub pos: Pos,
    /// The value itself.
    pub value: Value,
}

/// A mapping key with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    /// Where the key starts.
    pub pos: Pos,
    /// The key as text (non-string keys are rendered).
    pub name: String,
}

/// The YAML data model after tag resolution (YAML 1.2 core schema).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`, `~` or empty.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer that fits i64 (or a u64 above i64::MAX, stored as f64 is lossy, so kept here).
    Int(i64),
    /// A float.
    Float(f64),
    /// A string (quoted or plain).
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in document order.
    Map(Vec<(Key, Node)>),
}

/// One step of a field path: a mapping key or a sequence index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathSeg {
    /// A mapping key.
    Key(String),
    /// A sequence index.
    Index(usize),
}

impl From<&str> for PathSeg {
    fn from(s: &str) -> Self {
        PathSeg::Key(s.to_owned())
    }
}

impl From<usize> for PathSeg {
    fn from(i: usize) -> Self {
        PathSeg::Index(i)
    }
}

/// Renders a path the way users write it: `spec.http[0].route[1].weight`.
pub fn display_path(path: &[PathSeg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            PathSeg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            PathSeg::Index(i) => {
                out.push('[');
                out.push_str(&i.to_string());
                out.push(']');
            }
        }
    }
    out
}

impl Node {
    /// The child under a mapping key.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k.name == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The key node of a mapping entry (for "this key is unknown" diagnostics).
    pub fn key(&self, key: &str) -> Option<&Key> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k.name == key).map(|(k, _)| k),
            _ => None,
        }
    }

    /// The value as a string, when it is one.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Follows a path; `None` when any step is missing.
    pub fn at(&self, path: &[PathSeg]) -> Option<&Node> {
        let mut node = self;
        for seg in path {
            node = match (seg, &node.value) {
                (PathSeg::Key(k), Value::Map(_)) => node.get(k)?,
                (PathSeg::Index(i), Value::Seq(items)) => items.get(*i)?,
                _ => return None,
            };
        }
        Some(node)
    }

    /// Position of the deepest node along `path` that exists. Pointing at a
    /// key is more useful than at its value when the value is a block, so a
    /// final key step reports the key's own position.
    pub fn locate(&self, path: &[PathSeg]) -> Pos {
        let mut node = self;
        let mut pos = self.pos;
        for seg in path {
            match (seg, &node.value) {
                (PathSeg::Key(k), Value::Map(entries)) => {
                    match entries.iter().find(|(key, _)| &key.name == k) {
                        Some((key, child)) => {
                            pos = key.pos;
                            node = child;
                        }
                        None => return pos,
                    }
                }
                (PathSeg::Index(i), Value::Seq(items)) => match items.get(*i) {
                    Some(child) => {
                        pos = child.pos;
                        node = child;
                    }
                    None => return pos,
                },
                _ => return pos,
            }
        }
        pos
    }

    /// Converts to JSON for typed deserialization (k8s-openapi and our CRD
    /// structs deserialize from `serde_json::Value`).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Str(s) => J::String(s.clone()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.name.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// A short name of the YAML type, for messages.
    pub fn type_name(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) => "integer",
            Value::Float(_) => "number",
            Value::Str(_) => "string",
            Value::Seq(_) => "array",
            Value::Map(_) => "object",
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<Value>::deserialize(deserializer)?;
        Ok(Node {
            pos: Pos::from_location(&spanned.referenced),
            value: spanned.value,
        })
    }
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<KeyText>::deserialize(deserializer)?;
        Ok(Key {
            pos: Pos::from_location(&spanned.referenced),
            name: spanned.value.0,
        })
    }
}

/// A mapping key of any scalar type, kept as text.
struct KeyText(String);

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        let text = match value {
            Value::Str(s) => s,
            Value::Int(i) => i.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null => "null".to_owned(),
            Value::Seq(_) | Value::Map(_) => {
                return Err(de::Error::custom("complex mapping keys are not supported"));
            }
        };
        Ok(KeyText(text))
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Value, E> {
        Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }
    fn visit_u128<E>(self, v: u128) -> Result<Value, E> {
        Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(Value::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries: Vec<(Key, Node)> = Vec::with_capacity(map.size_hint().unwrap_or(0));
        // Duplicates are found here rather than by the parser so the message
        // can name both positions; a hash index keeps huge maps linear.
        let mut seen: std::collections::HashMap<String, Pos> = std::collections::HashMap::new();
        while let Some((key, value)) = map.next_entry::<Key, Node>()? {
            if let Some(first) = seen.insert(key.name.clone(), key.pos) {
                DUPLICATE_AT.set(Some(key.pos));
                return Err(de::Error::custom(duplicate_key_message(&key, first)));
            }
            entries.push((key, value));
        }
        Ok(Value::Map(entries))
    }
}

/// Why a typed view of a YAML tree could not be built: the field's path
/// (below the value deserialized) and serde's message, quotes cut.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    /// Path of the offending field.
    pub path: Vec<PathSeg>,
    /// What serde said about it.
    pub message: String,
}

/// Deserializes `json` (a [`Node::to_json`] tree) into `T`, keeping the path
/// of the field that failed. Every typed reader of YAML goes through here.
pub fn deserialize_typed<T: serde::de::DeserializeOwned>(
    json: serde_json::Value,
) -> Result<T, FieldError> {
    serde_path_to_error::deserialize(json).map_err(|err| FieldError {
        path: err
            .path()
            .iter()
            .filter_map(|seg| match seg {
                serde_path_to_error::Segment::Seq { index } => Some(PathSeg::Index(*index)),
                serde_path_to_error::Segment::Map { key } => Some(PathSeg::Key(key.clone())),
                serde_path_to_error::Segment::Enum { .. }
                | serde_path_to_error::Segment::Unknown => None,
            })
            .collect(),
        message: crate::spec::cut_quoted(&err.inner().to_string()),
    })
}

thread_local! {
    /// Where the duplicate key that stopped the parse sits: serde-saphyr
    /// locates a visitor's error at the enclosing mapping (or nowhere), and
    /// the user wants the repeated key's own line.
    static DUPLICATE_AT: std::cell::Cell<Option<Pos>> = const { std::cell::Cell::new(None) };
}

/// The words for a repeated mapping key (YAML requires unique keys).
fn duplicate_key_message(key: &Key, first: Pos) -> String {
    format!(
        "duplicate key `{}` at line {}, first at line {}",
        crate::spec::quote(&key.name),
        key.pos.line,
        first.line
    )
}

/// A YAML syntax error with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    /// Where the parser stopped (0:0 when it could not say).
    pub pos: Pos,
    /// The parser's message, without source snippet.
    pub message: String,
}

/// Parses every document of a multi-document YAML text. Empty documents
/// (a lone `---`, comments only) are skipped. A large text is cut at
/// document markers and its parts parsed on every core, since parsing is
/// most of a large bundle's load time (issue 10 item 13); positions and the
/// first error are those of a parse in one piece.
pub fn parse_documents(text: &str) -> Result<Vec<Node>, SyntaxError> {
    let parts = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunks = document_chunks(text, parts);
    if chunks.len() < 2 {
        return parse_chunk(text);
    }
    let parse_part = |(lines_before, chunk): (u32, &str)| {
        let mut parsed = parse_chunk(chunk);
        match &mut parsed {
            Ok(nodes) => nodes.iter_mut().for_each(|n| n.shift_lines(lines_before)),
            Err(err) => err.pos.shift_lines(lines_before),
        }
        parsed
    };
    let parsed = crate::parallel::map_ordered(chunks, 2, parse_part);
    // In text order: the first part that fails is the error a parse in one
    // piece reports (documents share no state: anchors end with theirs).
    let mut nodes = Vec::new();
    for part in parsed {
        nodes.extend(part?);
    }
    Ok(nodes)
}

/// Texts shorter than this are parsed in one piece.
const PARALLEL_PARSE_BYTES: usize = 1 << 20;

/// Cuts `text` into up to `parts` runs of whole documents, each with the
/// number of lines before it. Cuts are made only before a line that starts
/// with the `---` marker, which YAML 1.2 forbids inside any content (spec
/// 9.1, `c-forbidden`), so no scalar is split. A text with directives
/// (`%YAML`, `%TAG`, which belong to the document after them) is not cut.
fn document_chunks(text: &str, parts: usize) -> Vec<(u32, &str)> {
    if parts < 2
        || text.len() < PARALLEL_PARSE_BYTES
        || text.starts_with('%')
        || text.contains("\n%")
    {
        return vec![(0, text)];
    }
    let mut cuts = vec![0];
    for k in 1..parts {
        let from = (text.len() * k / parts).max(*cuts.last().unwrap_or(&0));
        if let Some(cut) = next_document_marker(text, from)
            && cut > *cuts.last().unwrap_or(&0)
        {
            cuts.push(cut);
        }
    }
    cuts.push(text.len());
    let mut lines = 0u32;
    let mut out = Vec::new();
    for pair in cuts.windows(2) {
        let chunk = &text[pair[0]..pair[1]];
        out.push((lines, chunk));
        let in_chunk = chunk.bytes().filter(|&b| b == b'\n').count();
        lines = lines.saturating_add(u32::try_from(in_chunk).unwrap_or(u32::MAX));
    }
    out
}

/// Byte offset of the first line at or after `from` that is a `---`
/// document marker (followed by a space, a tab or the line end).
fn next_document_marker(text: &str, from: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut at = from;
    loop {
        let line = at + text.get(at..)?.find("\n---")? + 1;
        match bytes.get(line + 3) {
            None | Some(b'\n' | b'\r' | b' ' | b'\t') => return Some(line),
            Some(_) => at = line,
        }
    }
}

/// One run of whole documents, positions relative to its start.
fn parse_chunk(text: &str) -> Result<Vec<Node>, SyntaxError> {
    DUPLICATE_AT.set(None);
    let docs: Vec<Option<Node>> = serde_saphyr::from_multiple_with_options(text, parse_options())
        .map_err(|err| SyntaxError {
        pos: DUPLICATE_AT.take().unwrap_or_else(|| {
            err.location()
                .map(|l| Pos::from_location(&l))
                .unwrap_or_default()
        }),
        message: without_location(&first_line(&err.without_snippet().to_string())).to_owned(),
    })?;
    Ok(docs
        .into_iter()
        .flatten()
        .filter(|n| n.value != Value::Null)
        .collect())
}

impl Pos {
    /// Moves a known position `lines` down (0:0, unknown, stays).
    fn shift_lines(&mut self, lines: u32) {
        if self.line > 0 {
            self.line = self.line.saturating_add(lines);
        }
    }
}

impl Node {
    /// Moves every position of the tree `lines` down.
    fn shift_lines(&mut self, lines: u32) {
        if lines == 0 {
            return;
        }
        self.pos.shift_lines(lines);
        match &mut self.value {
            Value::Seq(items) => items.iter_mut().for_each(|n| n.shift_lines(lines)),
            Value::Map(entries) => entries.iter_mut().for_each(|(k, v)| {
                k.pos.shift_lines(lines);
                v.shift_lines(lines);
            }),
            _ => {}
        }
    }
}

/// Kubernetes manifests are read with YAML 1.2 core booleans (so a key `y`
/// or a value `on` stays a string) and budgets sized for rendered bundles of
/// many thousands of objects, keeping serde-saphyr's alias-bomb limits.
fn parse_options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_documents = 1_000_000;
    budget.max_nodes = 50_000_000;
    budget.max_events = 100_000_000;
    budget.max_reader_input_bytes = Some(1 << 30);
    budget.max_total_scalar_bytes = 1 << 30;
    // Anchors are rare in manifests; an alias bomb must fail fast (issue 10
    // hostile corpus: a million recorded events took seconds).
    budget.max_recorded_anchor_events = 100_000;
    let mut options = serde_saphyr::Options::default();
    options.strict_booleans = true;
    options.budget = Some(budget);
    options.alias_limits.max_total_replayed_events = 200_000;
    options.with_snippet = false;
    // Repeated keys reach `ValueVisitor::visit_map`, which names both lines.
    options.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::PassThrough;
    options
}

/// The parser appends " at line L, column C" to its messages; the position
/// is reported separately, so the message drops it.
fn without_location(message: &str) -> &str {
    match message.rfind(" at line ") {
        Some(at)
            if message[at + 9..]
                .split_once(", column ")
                .is_some_and(|(l, c)| {
                    !l.is_empty()
                        && !c.is_empty()
                        && l.bytes().chain(c.bytes()).all(|b| b.is_ascii_digit())
                }) =>
        {
            &message[..at]
        }
        _ => message,
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bundle past the parallel threshold: `n` small documents.
    fn big_bundle(n: usize) -> String {
        (0..n)
            .map(|i| {
                format!(
                    "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c{i}}}\ndata:\n  text: \"quoted\\n---\\nnot a marker\"\n  block: |\n    line\n    --- indented, not a marker\n"
                )
            })
            .collect()
    }

    #[test]
    fn a_large_text_parsed_in_parts_equals_one_piece() {
        let text = big_bundle(12_000);
        assert!(text.len() > PARALLEL_PARSE_BYTES);
        let chunks = document_chunks(&text, 2);
        assert_eq!(chunks.len(), 2, "the text is cut once for two cores");
        assert!(chunks[1].1.starts_with("---\n"));
        let parts = parse_documents(&text).unwrap();
        assert_eq!(
            parts,
            parse_chunk(&text).unwrap(),
            "same nodes, same positions"
        );
        assert_eq!(parts.len(), 12_000);
    }

    #[test]
    fn an_error_in_a_later_part_has_its_one_piece_position() {
        let text = big_bundle(12_000) + "---\nkind: [unclosed\n";
        let whole = parse_chunk(&text).unwrap_err();
        let parts = parse_documents(&text).unwrap_err();
        assert_eq!(parts, whole);
        assert!(parts.pos.line > 12_000 * 9, "{:?}", parts.pos);
    }

    #[test]
    fn texts_with_directives_or_under_the_threshold_are_not_cut() {
        let text = big_bundle(12_000);
        assert_eq!(document_chunks(&text[..1000], 2).len(), 1);
        assert_eq!(document_chunks(&format!("%YAML 1.2\n{text}"), 2).len(), 1);
        let with_tag = format!(
            "{}%TAG ! tag:example.com,2000:\n{}",
            &text[..text.len() / 2],
            &text[text.len() / 2..]
        );
        assert_eq!(document_chunks(&with_tag, 2).len(), 1);
        assert_eq!(document_chunks(&text, 1).len(), 1);
    }

    #[test]
    fn keeps_positions_of_keys_and_values() {
        let docs = parse_documents("a: 1\nb:\n  - x\n  - y: \"2\"\n---\nc: true\n").unwrap();
        assert_eq!(docs.len(), 2);
        let d = &docs[0];
        assert_eq!(d.get("a").unwrap().value, Value::Int(1));
        assert_eq!(d.key("b").unwrap().pos, Pos { line: 2, column: 1 });
        let y = d.at(&["b".into(), 1.into(), "y".into()]).unwrap();
        assert_eq!(y.value, Value::Str("2".into()));
        assert_eq!(y.pos.line, 4);
        assert_eq!(
            d.locate(&["b".into(), 1.into(), "y".into()]),
            Pos { line: 4, column: 5 }
        );
        // A missing tail falls back to the deepest existing node.
        assert_eq!(d.locate(&["b".into(), 7.into()]).line, 2);
        assert_eq!(docs[1].get("c").unwrap().value, Value::Bool(true));
    }

    #[test]
    fn syntax_error_has_a_position() {
        let err = parse_documents("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(err.pos.line >= 1, "{err:?}");
        assert!(!err.message.is_empty());
    }

    /// issue 10 item 12: a repeated key is named with both of its lines, not
    /// with the parser's "DuplicateKeyPolicy" advice.
    #[test]
    fn duplicate_key_names_the_key_and_its_first_line() {
        let err = parse_documents("a: 1\nb:\n  c: 1\n  d: 2\n  c: 3\n").unwrap_err();
        assert!(
            err.message
                .contains("duplicate key `c` at line 5, first at line 3"),
            "{err:?}"
        );
        assert!(!err.message.contains("DuplicateKeyPolicy"), "{err:?}");
        assert_eq!(err.pos, Pos { line: 5, column: 3 }, "{err:?}");
        let top = parse_documents("name: a\nname: b\n").unwrap_err();
        assert_eq!(top.pos, Pos { line: 2, column: 1 }, "{top:?}");
        assert!(!err.message.ends_with("column 3"), "{err:?}");
    }

    /// A repeat of an early key or of a late key in a large map, and a large
    /// map without repeats.
    #[test]
    fn duplicates_are_found_in_large_maps_too() {
        let keys = |n: usize| (0..n).map(|i| format!("k{i}: {i}\n")).collect::<String>();
        for (repeat, first_line) in [("k3", 4), ("k15", 16), ("k16", 17), ("k30", 31)] {
            let text = format!("{}{repeat}: x\n", keys(40));
            let err = parse_documents(&text).unwrap_err();
            let want = format!("duplicate key `{repeat}` at line 41, first at line {first_line}");
            assert!(err.message.contains(&want), "{repeat}: {err:?}");
        }
        let docs = parse_documents(&keys(100)).unwrap();
        let Value::Map(entries) = &docs[0].value else {
            panic!("a map")
        };
        assert_eq!(entries.len(), 100);
    }

    #[test]
    fn empty_documents_are_skipped() {
        let docs = parse_documents("---\n# nothing\n---\na: 1\n---\n").unwrap();
        assert_eq!(docs.len(), 1);
    }

    #[test]
    fn display_path_reads_like_kubectl_explain() {
        let p = vec![
            PathSeg::from("spec"),
            "http".into(),
            0.into(),
            "name".into(),
        ];
        assert_eq!(display_path(&p), "spec.http[0].name");
    }
}
