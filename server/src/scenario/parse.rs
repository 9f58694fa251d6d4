//! Reading one scenario file: TOML parsed part by part so one bad fact does not hide the
//! rest, and every problem located by line and field path for the author.

use std::path::Path;

use super::{validate, Fact, Scenario, ScenarioError};

/// Parses one file and validates it on its own.
///
/// Each fact is deserialised on its own, so a typo in one fact does not hide problems in
/// the others or in the rest of the file; the semantic checks of [`validate`] run only
/// once every part has the right shape.
pub fn parse_scenario(path: &Path, text: &str) -> Result<Scenario, Vec<ScenarioError>> {
    let err = |line: usize, field: String, message: String| ScenarioError {
        file: path.to_path_buf(),
        line,
        field,
        message,
    };
    let root = match toml::de::DeTable::parse(text) {
        Ok(root) => root,
        Err(e) => {
            let line = e.span().map(|s| line_of_offset(text, s.start)).unwrap_or(0);
            return Err(vec![err(line, String::new(), syntax_message(text, &e))]);
        }
    };
    let root_span = root.span();
    let mut table = root.into_inner();
    let mut errors = Vec::new();
    let mut facts = Vec::new();
    if let Some(entry) = table.get_mut("facts") {
        let facts_span = entry.span();
        if let toml::de::DeValue::Array(items) = entry.get_mut() {
            let items = std::mem::replace(items, toml::de::DeArray::new());
            for (i, item) in items.iter().cloned().enumerate() {
                let de = toml::de::ValueDeserializer::from(item);
                match serde_path_to_error::deserialize::<_, Fact>(de) {
                    Ok(fact) => facts.push(fact),
                    Err(e) => {
                        let (line, field, message) = locate(text, &format!("facts[{i}]"), e);
                        errors.push(err(line, field, message));
                    }
                }
            }
            *entry = toml::Spanned::new(
                facts_span,
                toml::de::DeValue::Array(toml::de::DeArray::new()),
            );
        }
    }
    let de = toml::de::ValueDeserializer::from(toml::Spanned::new(
        root_span,
        toml::de::DeValue::Table(table),
    ));
    let scenario = match serde_path_to_error::deserialize::<_, Scenario>(de) {
        Ok(s) => Some(s),
        Err(e) => {
            let (line, field, message) = locate(text, "", e);
            // Errors in file order, so the author can fix them top to bottom.
            errors.push(err(line, field, message));
            errors.sort_by_key(|e| e.line);
            None
        }
    };
    let Some(mut scenario) = scenario.filter(|_| errors.is_empty()) else {
        return Err(errors);
    };
    scenario.facts = facts;
    let problems = validate(&scenario);
    if problems.is_empty() {
        Ok(scenario)
    } else {
        let mut errors: Vec<ScenarioError> = problems
            .into_iter()
            .map(|(segs, message)| {
                let line = line_of_path(text, &segs);
                err(line, render_path(&segs), message)
            })
            .collect();
        errors.sort_by_key(|e| e.line);
        Err(errors)
    }
}

/// Line, field path and message for a deserialisation error found under `prefix`.
///
/// A missing field is reported at the table that lacks it (line 0 for the top level,
/// which concerns the file as a whole), with the missing name appended to the path.
fn locate(
    text: &str,
    prefix: &str,
    e: serde_path_to_error::Error<toml::de::Error>,
) -> (usize, String, String) {
    let inner_path = e.path().to_string();
    let mut field = prefix.to_string();
    if inner_path != "." {
        if !field.is_empty() {
            field.push('.');
        }
        field.push_str(&inner_path);
    }
    let inner = e.into_inner();
    let message = first_line(inner.message());
    if let Some(missing) = missing_field_name(&message) {
        let line = line_of_path(text, &parse_field_path(&field));
        if !field.is_empty() {
            field.push('.');
        }
        field.push_str(missing);
        return (line, field, message);
    }
    let line = inner
        .span()
        .map(|s| line_of_offset(text, s.start))
        .unwrap_or_else(|| line_of_path(text, &parse_field_path(&field)));
    (line, field, message)
}

/// `name` from serde's "missing field `name`".
fn missing_field_name(message: &str) -> Option<&str> {
    message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
}

/// A TOML syntax error's message, naming the key when the problem is a repeated key.
fn syntax_message(text: &str, e: &toml::de::Error) -> String {
    let message = first_line(e.message());
    let key = e
        .span()
        .and_then(|s| text.get(s))
        .map(|k| k.trim().trim_matches(['[', ']']).trim())
        .filter(|k| !k.is_empty());
    match key {
        Some(key) if message == "duplicate key" => format!("duplicate key `{key}`"),
        _ => message,
    }
}

/// One step of a field path: a table key or an array index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(&'static str),
    Owned(String),
    Index(usize),
}

fn render_path(segs: &[Seg]) -> String {
    let mut out = String::new();
    for s in segs {
        match s {
            Seg::Key(k) => push_key(&mut out, k),
            Seg::Owned(k) => push_key(&mut out, k),
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

fn push_key(out: &mut String, k: &str) {
    if !out.is_empty() {
        out.push('.');
    }
    out.push_str(k);
}

/// Reads `facts[2].bot.asks[0]` back into segments (for serde_path_to_error paths).
pub(super) fn parse_field_path(field: &str) -> Vec<Seg> {
    let mut segs = Vec::new();
    for part in field.split('.') {
        let mut rest = part;
        if let Some(i) = rest.find('[') {
            if i > 0 {
                segs.push(Seg::Owned(rest[..i].to_string()));
            }
            rest = &rest[i..];
            while let Some(stripped) = rest.strip_prefix('[') {
                let Some(end) = stripped.find(']') else { break };
                if let Ok(n) = stripped[..end].parse() {
                    segs.push(Seg::Index(n));
                }
                rest = &stripped[end + 1..];
            }
        } else if !rest.is_empty() {
            segs.push(Seg::Owned(rest.to_string()));
        }
    }
    segs
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").trim().to_string()
}

fn line_of_offset(text: &str, offset: usize) -> usize {
    text.get(..offset.min(text.len()))
        .map(|t| t.matches('\n').count() + 1)
        .unwrap_or(1)
}

/// The line where the deepest existing part of `segs` is written; 0 if none is found.
pub(super) fn line_of_path(text: &str, segs: &[Seg]) -> usize {
    let Ok(doc) = toml_edit::Document::parse(text) else {
        return 0;
    };
    let mut best: Option<std::ops::Range<usize>> = None;
    let mut node = Node::Table(doc.as_table());
    for seg in segs {
        let next = match seg {
            Seg::Key(k) => node.key(k),
            Seg::Owned(k) => node.key(k),
            Seg::Index(i) => node.index(*i),
        };
        let Some((span, child)) = next else { break };
        if span.is_some() {
            best = span;
        }
        node = child;
    }
    best.map(|s| line_of_offset(text, s.start)).unwrap_or(0)
}

type Span = Option<std::ops::Range<usize>>;

/// A place in a parsed TOML document that a field path can step through.
#[derive(Clone, Copy)]
enum Node<'a> {
    Table(&'a toml_edit::Table),
    Item(&'a toml_edit::Item),
    Value(&'a toml_edit::Value),
}

impl<'a> Node<'a> {
    fn key(self, key: &str) -> Option<(Span, Node<'a>)> {
        let table: &dyn toml_edit::TableLike = match self {
            Node::Table(t) => t,
            Node::Item(i) => i.as_table_like()?,
            Node::Value(toml_edit::Value::InlineTable(t)) => t,
            Node::Value(_) => return None,
        };
        let (k, v) = table.get_key_value(key)?;
        Some((k.span().or_else(|| v.span()), Node::Item(v)))
    }

    fn index(self, i: usize) -> Option<(Span, Node<'a>)> {
        match self {
            Node::Item(toml_edit::Item::ArrayOfTables(a)) => {
                let t = a.get(i)?;
                Some((t.span(), Node::Table(t)))
            }
            Node::Item(toml_edit::Item::Value(toml_edit::Value::Array(arr)))
            | Node::Value(toml_edit::Value::Array(arr)) => {
                let v = arr.get(i)?;
                Some((v.span(), Node::Value(v)))
            }
            _ => None,
        }
    }
}
