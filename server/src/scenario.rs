//! Scenario format v1: the types a scenario TOML file deserialises into, and the
//! loader and validator that turn a folder of files into a [`Library`] or a list of
//! errors naming file, line and field.
//!
//! `docs/scenarios.md` documents every field; `docs/scenario.schema.json` is the JSON
//! Schema derived from these types (`uncover schema`).

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rust_embed::RustEmbed;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Weights are small integers so a buyer can reason about them: 1 minor, 3 essential.
pub const WEIGHT_RANGE: std::ops::RangeInclusive<u8> = 1..=3;
/// The bot's trust is a percentage-like scale; scenario authors set thresholds on it.
pub const TRUST_MAX: u8 = 100;
/// Fewer examples than this cannot cover the ways a seller might ask; more than the
/// maximum usually means two facts share one topic and should be split or sharpened.
pub const MIN_EXAMPLES: usize = 3;
pub const MAX_EXAMPLES: usize = 8;
/// Above this a round stops being discovery practice and becomes a memory test.
pub const MAX_FACTS: usize = 20;
/// A phase longer than an hour is almost certainly a typo (minutes written as seconds).
pub const MAX_PHASE_SECS: u32 = 60 * 60;

/// The scenarios shipped inside the binary, so `uncover serve` works from any folder.
#[derive(RustEmbed)]
#[folder = "../scenarios/"]
struct Bundled;

/// A scenario's id: a lowercase slug, unique within a library.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(transparent)]
pub struct ScenarioId(pub String);

/// A hidden fact's id: a lowercase slug, unique within its scenario.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(transparent)]
pub struct FactId(pub String);

impl fmt::Display for ScenarioId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Display for FactId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One role-play situation: what each side knows, and the buyer's hidden story.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Lowercase slug, e.g. `distributor-inventory`.
    pub id: ScenarioId,
    /// Shown in scenario lists and on both briefs.
    pub title: String,
    /// One or two sentences shown when choosing a scenario. Public to both roles.
    pub summary: String,
    pub difficulty: Difficulty,
    /// Suggested seconds per phase; a trainer may override them.
    pub timings: Timings,
    /// What the buyer says first, to start the conversation in character.
    pub opening_line: String,
    pub seller: SellerSide,
    pub buyer: BuyerSide,
    /// What an observer watches for (used by workshops' observer role).
    #[serde(default)]
    pub observer_checklist: Vec<String>,
    /// The hidden story. Never sent to the seller before the debrief.
    pub facts: Vec<Fact>,
}

/// How hard the buyer is to draw out, so a trainer can pick a scenario for the room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Difficulty {
    /// The buyer talks readily; good for a first round.
    Intro,
    /// The deeper story needs follow-up questions and some trust.
    Standard,
    /// The buyer is guarded or stalling; the story needs patience.
    Hard,
}

/// Suggested phase lengths in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Timings {
    /// Time to read the briefs before the conversation starts.
    pub briefing: u32,
    /// Length of the conversation itself.
    pub conversation: u32,
    /// Time for the seller to write what they learned.
    pub recap: u32,
}

/// What the seller legitimately knows before the call.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SellerSide {
    /// The seller's brief: the account, how the meeting came about, public facts.
    pub brief: String,
    /// What the seller sells, in a sentence.
    pub product: String,
    /// Words and phrases that count as pitching when the seller uses them
    /// (product names, "demo", "pricing"…). Matched case-insensitively on word boundaries.
    pub pitch_words: Vec<String>,
    /// Other customers the seller might be tempted to cite; mentioning one counts as
    /// third-party name-dropping.
    #[serde(default)]
    pub reference_customers: Vec<String>,
}

/// Who the buyer plays. Everything here is shown to the buyer only.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BuyerSide {
    /// The character's name, e.g. `Glen Ferris`.
    pub name: String,
    /// Job title and organisation.
    pub role: String,
    /// Temperament and how to play them.
    pub persona: String,
    /// The buyer's brief: situation and how to use the fact cards.
    pub brief: String,
}

/// What a fact is about, so the debrief can say which kinds of discovery a seller missed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FactKind {
    /// What the buyer wants to achieve.
    Goal,
    /// What is going wrong today.
    Pain,
    /// What the pain costs, and who feels it.
    Impact,
    /// Who decides, and how.
    Decision,
    /// A limit any answer must respect: time, money, people, rules.
    Constraint,
    /// A worry or fear about changing anything.
    Concern,
    /// The buyer as a person: their pressures, history, preferences.
    Personal,
}

/// How far down the story sits: what a buyer volunteers, what takes a follow-up, and
/// what only comes out with trust or a direct "anything else?".
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Depth {
    /// Offered to almost any relevant question.
    Surface,
    /// Needs a follow-up question and some trust.
    Deeper,
    /// Needs real trust, the right question, or a direct "anything else?".
    Hidden,
}

/// One piece of the hidden story.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Fact {
    /// Lowercase slug, unique in the scenario.
    pub id: FactId,
    pub kind: FactKind,
    /// 1 (minor) to 3 (essential).
    #[schemars(range(min = 1, max = 3))]
    pub weight: u8,
    pub depth: Depth,
    /// The fact as the buyer would say it.
    pub text: String,
    /// Guidance for a human buyer: what the seller must do to earn this fact.
    pub earned_when: String,
    /// Words and phrases that show a recap caught this fact (stemmed before matching).
    pub recap_cues: Vec<String>,
    /// Seller questions, in the author's words, that would earn this fact (3 to 8). The
    /// reader matches a seller's question to facts by meaning, through these examples.
    #[serde(default)]
    pub examples: Vec<String>,
    /// Facts that must be revealed before this one can be.
    #[serde(default)]
    pub requires: Vec<FactId>,
    /// How the bot buyer plays this fact.
    pub bot: BotRule,
}

/// The kinds of seller question the bot buyer recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuestionKind {
    /// What the buyer wants to achieve.
    Goal,
    /// How things work today.
    Situation,
    /// What is going wrong.
    Problem,
    /// What the problem costs, who it affects.
    Impact,
    /// Who decides and how.
    Decision,
    /// When, deadlines, what happens if nothing changes.
    Timeline,
    /// Money, budget, deposits.
    Budget,
    /// Worries, risks, hesitations.
    Concern,
    /// The buyer as a person: their role, pressure, career.
    Personal,
    /// "Is there anything else?"
    AnythingElse,
}

/// Bot fields of a fact (used by the bot buyer).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BotRule {
    /// Kinds of question that can earn this fact; any one is enough.
    pub asks: Vec<QuestionKind>,
    /// Trust (0-100) the bot must have before it reveals this fact.
    #[serde(default)]
    #[schemars(range(max = 100))]
    pub trust: u8,
    /// What the bot says when it reveals this fact.
    pub line: String,
}

impl Scenario {
    pub fn fact(&self, id: &FactId) -> Option<&Fact> {
        self.facts.iter().find(|f| &f.id == id)
    }

    pub fn total_weight(&self) -> u32 {
        self.facts.iter().map(|f| u32::from(f.weight)).sum()
    }
}

/// A problem a [`Check`] found in one scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lint {
    /// Dotted path to the field, e.g. `facts[2].examples[1]`.
    pub field: String,
    pub message: String,
    /// Errors stop the load; warnings are only reported.
    pub error: bool,
}

/// A check beyond a file's shape, run on each scenario that parsed (the reader's lints on
/// fact examples, which need the model).
pub type Check<'a> = &'a dyn Fn(&Scenario) -> Vec<Lint>;

/// A problem in a scenario file, located for the author.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    pub file: PathBuf,
    /// 1-based; 0 when the problem concerns the file as a whole.
    pub line: usize,
    /// Dotted path to the field, e.g. `facts[2].weight`; empty for whole-file problems.
    pub field: String,
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
        }
        if !self.field.is_empty() {
            write!(f, ": {}", self.field)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found while loading a library, in file order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ScenarioErrors(pub Vec<ScenarioError>);

impl fmt::Display for ScenarioErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// The loaded, validated scenarios, sorted by id.
#[derive(Debug, Clone, Default)]
pub struct Library {
    scenarios: Vec<Arc<Scenario>>,
    by_id: HashMap<ScenarioId, usize>,
}

impl Library {
    /// The scenarios embedded in the binary at build time.
    pub fn bundled() -> Result<Self, ScenarioErrors> {
        Self::from_sources(Self::bundled_sources())
    }

    /// Every `*.toml` file in `dir`.
    pub fn load_dir(dir: &Path) -> Result<Self, ScenarioErrors> {
        Self::from_sources(Self::dir_sources(dir)?)
    }

    /// The bundled scenario files, as `(path, text)`.
    pub fn bundled_sources() -> Vec<(PathBuf, String)> {
        let mut files: Vec<(PathBuf, String)> = Bundled::iter()
            .filter(|name| name.ends_with(".toml"))
            .filter_map(|name| {
                let file = Bundled::get(&name)?;
                let text = String::from_utf8_lossy(&file.data).into_owned();
                Some((PathBuf::from("scenarios").join(name.as_ref()), text))
            })
            .collect();
        files.sort();
        files
    }

    /// The `*.toml` files in `dir`, as `(path, text)`.
    pub fn dir_sources(dir: &Path) -> Result<Vec<(PathBuf, String)>, ScenarioErrors> {
        let entries = std::fs::read_dir(dir).map_err(|e| {
            ScenarioErrors(vec![ScenarioError {
                file: dir.to_path_buf(),
                line: 0,
                field: String::new(),
                message: format!("cannot read scenario folder: {e}"),
            }])
        })?;
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        paths.sort();
        let mut files = Vec::new();
        let mut errors = Vec::new();
        for path in paths {
            match std::fs::read_to_string(&path) {
                Ok(text) => files.push((path, text)),
                Err(e) => errors.push(ScenarioError {
                    file: path,
                    line: 0,
                    field: String::new(),
                    message: format!("cannot read file: {e}"),
                }),
            }
        }
        if !errors.is_empty() {
            return Err(ScenarioErrors(errors));
        }
        if files.is_empty() {
            return Err(ScenarioErrors(vec![ScenarioError {
                file: dir.to_path_buf(),
                line: 0,
                field: String::new(),
                message: "no .toml scenario files found".into(),
            }]));
        }
        Ok(files)
    }

    /// Parses and validates each `(path, text)`; collects every error before failing.
    pub fn from_sources(files: Vec<(PathBuf, String)>) -> Result<Self, ScenarioErrors> {
        Self::from_sources_checked(files, &|_| Vec::new()).map(|(lib, _)| lib)
    }

    /// [`Library::from_sources`], then `check` on each scenario that parsed: its errors
    /// fail the load like any other, its warnings come back beside the library.
    pub fn from_sources_checked(
        files: Vec<(PathBuf, String)>,
        check: Check<'_>,
    ) -> Result<(Self, Vec<ScenarioError>), ScenarioErrors> {
        let mut errors = Vec::new();
        let mut warnings = Vec::new();
        let mut scenarios: Vec<(PathBuf, String, Scenario)> = Vec::new();
        for (path, text) in files {
            match parse_scenario(&path, &text) {
                Ok(s) => {
                    for lint in check(&s) {
                        let e = ScenarioError {
                            file: path.clone(),
                            line: line_of_path(&text, &parse_field_path(&lint.field)),
                            field: lint.field,
                            message: lint.message,
                        };
                        if lint.error {
                            errors.push(e);
                        } else {
                            warnings.push(e);
                        }
                    }
                    scenarios.push((path, text, s));
                }
                Err(mut errs) => errors.append(&mut errs),
            }
        }
        let mut seen: HashMap<ScenarioId, PathBuf> = HashMap::new();
        for (path, text, s) in &scenarios {
            if let Some(first) = seen.get(&s.id) {
                errors.push(ScenarioError {
                    file: path.clone(),
                    line: line_of_path(text, &[Seg::Key("id")]),
                    field: "id".into(),
                    message: format!(
                        "duplicate scenario id `{}` (also in {})",
                        s.id,
                        first.display()
                    ),
                });
            } else {
                seen.insert(s.id.clone(), path.clone());
            }
        }
        if !errors.is_empty() {
            errors.sort_by(|a, b| a.file.cmp(&b.file).then(a.line.cmp(&b.line)));
            // Warnings still help the author fix what failed.
            errors.extend(warnings.into_iter().map(|mut w| {
                w.message = format!("(warning) {}", w.message);
                w
            }));
            return Err(ScenarioErrors(errors));
        }
        let mut scenarios: Vec<Arc<Scenario>> =
            scenarios.into_iter().map(|(_, _, s)| Arc::new(s)).collect();
        scenarios.sort_by(|a, b| a.id.cmp(&b.id));
        let by_id = scenarios
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.clone(), i))
            .collect();
        Ok((Self { scenarios, by_id }, warnings))
    }

    pub fn get(&self, id: &ScenarioId) -> Option<&Arc<Scenario>> {
        self.by_id.get(id).map(|&i| &self.scenarios[i])
    }

    pub fn all(&self) -> &[Arc<Scenario>] {
        &self.scenarios
    }

    pub fn len(&self) -> usize {
        self.scenarios.len()
    }

    pub fn is_empty(&self) -> bool {
        self.scenarios.is_empty()
    }
}

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
fn parse_field_path(field: &str) -> Vec<Seg> {
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
fn line_of_path(text: &str, segs: &[Seg]) -> usize {
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

/// Semantic checks serde cannot express. Returns `(field path, message)` pairs.
pub fn validate(s: &Scenario) -> Vec<(Vec<Seg>, String)> {
    let mut out: Vec<(Vec<Seg>, String)> = Vec::new();
    let key = Seg::Key;
    if !is_slug(&s.id.0) {
        out.push((
            vec![key("id")],
            format!(
                "id `{}` must be a lowercase slug (a-z, 0-9, '-' or '_')",
                s.id
            ),
        ));
    }
    for (name, value) in [
        ("title", &s.title),
        ("summary", &s.summary),
        ("opening_line", &s.opening_line),
    ] {
        if value.trim().is_empty() {
            out.push((vec![key(name)], format!("{name} must not be empty")));
        }
    }
    for (name, secs) in [
        ("briefing", s.timings.briefing),
        ("conversation", s.timings.conversation),
        ("recap", s.timings.recap),
    ] {
        if secs == 0 || secs > MAX_PHASE_SECS {
            out.push((
                vec![key("timings"), key(name)],
                format!("{secs} seconds is out of range (1-{MAX_PHASE_SECS})"),
            ));
        }
    }
    for (name, value) in [("brief", &s.seller.brief), ("product", &s.seller.product)] {
        if value.trim().is_empty() {
            out.push((
                vec![key("seller"), key(name)],
                format!("{name} must not be empty"),
            ));
        }
    }
    if s.seller.pitch_words.iter().all(|w| w.trim().is_empty()) {
        out.push((
            vec![key("seller"), key("pitch_words")],
            "list at least one pitch word, or pitching cannot be detected".into(),
        ));
    }
    for (name, value) in [
        ("name", &s.buyer.name),
        ("role", &s.buyer.role),
        ("persona", &s.buyer.persona),
        ("brief", &s.buyer.brief),
    ] {
        if value.trim().is_empty() {
            out.push((
                vec![key("buyer"), key(name)],
                format!("{name} must not be empty"),
            ));
        }
    }
    if s.facts.is_empty() {
        out.push((
            vec![key("facts")],
            "a scenario needs at least one hidden fact".into(),
        ));
    }
    if s.facts.len() > MAX_FACTS {
        out.push((
            vec![key("facts")],
            format!(
                "{} facts is more than the limit of {MAX_FACTS}",
                s.facts.len()
            ),
        ));
    }

    let mut ids: HashMap<&FactId, usize> = HashMap::new();
    for (i, f) in s.facts.iter().enumerate() {
        let at = |rest: &[Seg]| {
            let mut p = vec![key("facts"), Seg::Index(i)];
            p.extend_from_slice(rest);
            p
        };
        if !is_slug(&f.id.0) {
            out.push((
                at(&[key("id")]),
                format!(
                    "fact id `{}` must be a lowercase slug (a-z, 0-9, '-' or '_')",
                    f.id
                ),
            ));
        }
        if let Some(first) = ids.get(&f.id) {
            out.push((
                at(&[key("id")]),
                format!(
                    "duplicate fact id `{}` (first used by facts[{first}])",
                    f.id
                ),
            ));
        } else {
            ids.insert(&f.id, i);
        }
        if !WEIGHT_RANGE.contains(&f.weight) {
            out.push((
                at(&[key("weight")]),
                format!(
                    "weight {} is out of range ({}-{})",
                    f.weight,
                    WEIGHT_RANGE.start(),
                    WEIGHT_RANGE.end()
                ),
            ));
        }
        for (name, value) in [("text", &f.text), ("earned_when", &f.earned_when)] {
            if value.trim().is_empty() {
                out.push((at(&[key(name)]), format!("{name} must not be empty")));
            }
        }
        if f.recap_cues.iter().all(|c| c.trim().is_empty()) {
            out.push((
                at(&[key("recap_cues")]),
                "list at least one recap cue, or no recap could ever capture this fact".into(),
            ));
        }
        if f.examples.len() < MIN_EXAMPLES || f.examples.len() > MAX_EXAMPLES {
            out.push((
                at(&[key("examples")]),
                format!(
                    "list {MIN_EXAMPLES} to {MAX_EXAMPLES} seller questions that would earn this fact \
                     (has {}); the reader matches questions to facts through them",
                    f.examples.len()
                ),
            ));
        }
        for (j, e) in f.examples.iter().enumerate() {
            if e.trim().is_empty() {
                out.push((
                    at(&[key("examples"), Seg::Index(j)]),
                    "an example must not be empty".into(),
                ));
            } else if f.examples[..j].iter().any(|o| o.trim() == e.trim()) {
                out.push((
                    at(&[key("examples"), Seg::Index(j)]),
                    "this example repeats an earlier one".into(),
                ));
            }
        }
        if f.bot.asks.is_empty() {
            out.push((
                at(&[key("bot"), key("asks")]),
                "list at least one question kind, or the bot can never reveal this fact".into(),
            ));
        }
        if f.bot.trust > TRUST_MAX {
            out.push((
                at(&[key("bot"), key("trust")]),
                format!("trust {} is out of range (0-{TRUST_MAX})", f.bot.trust),
            ));
        }
        if f.bot.line.trim().is_empty() {
            out.push((
                at(&[key("bot"), key("line")]),
                "line must not be empty".into(),
            ));
        }
    }
    for (i, f) in s.facts.iter().enumerate() {
        for (j, r) in f.requires.iter().enumerate() {
            let path = vec![key("facts"), Seg::Index(i), key("requires"), Seg::Index(j)];
            if !ids.contains_key(r) {
                out.push((path, format!("requires `{r}`, which names no fact")));
            } else if r == &f.id {
                out.push((path, format!("fact `{r}` requires itself")));
            }
        }
    }
    if let Some(cycle) = requirement_cycle(s) {
        let (i, _) = cycle[0];
        let names: Vec<String> = cycle.iter().map(|(_, id)| format!("`{id}`")).collect();
        out.push((
            vec![key("facts"), Seg::Index(i), key("requires")],
            format!(
                "requirements form a cycle: {} -> `{}`",
                names.join(" -> "),
                cycle[0].1
            ),
        ));
    }
    out
}

/// The first cycle among requirements, as `(fact index, fact id)` in order; self-loops
/// are reported separately and ignored here.
fn requirement_cycle(s: &Scenario) -> Option<Vec<(usize, FactId)>> {
    let index: HashMap<&FactId, usize> = s
        .facts
        .iter()
        .enumerate()
        .map(|(i, f)| (&f.id, i))
        .collect();
    // 0 = unvisited, 1 = on the stack, 2 = done
    let mut state = vec![0u8; s.facts.len()];
    let mut stack: Vec<usize> = Vec::new();
    fn visit(
        n: usize,
        s: &Scenario,
        index: &HashMap<&FactId, usize>,
        state: &mut [u8],
        stack: &mut Vec<usize>,
    ) -> Option<Vec<usize>> {
        state[n] = 1;
        stack.push(n);
        for r in &s.facts[n].requires {
            let Some(&m) = index.get(r) else { continue };
            if m == n {
                continue;
            }
            if state[m] == 1 {
                let pos = stack.iter().position(|&x| x == m).unwrap_or(0);
                return Some(stack[pos..].to_vec());
            }
            if state[m] == 0 {
                if let Some(c) = visit(m, s, index, state, stack) {
                    return Some(c);
                }
            }
        }
        stack.pop();
        state[n] = 2;
        None
    }
    for n in 0..s.facts.len() {
        if state[n] == 0 {
            if let Some(c) = visit(n, s, &index, &mut state, &mut stack) {
                return Some(c.into_iter().map(|i| (i, s.facts[i].id.clone())).collect());
            }
        }
    }
    None
}

fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// The JSON Schema of the scenario format, pretty-printed.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(Scenario);
    let mut out = serde_json::to_string_pretty(&schema).unwrap_or_default();
    out.push('\n');
    out
}

/// Facts ordered so that every fact comes after the facts it requires (stable otherwise).
pub fn facts_in_dependency_order(s: &Scenario) -> Vec<&Fact> {
    let mut placed: HashSet<&FactId> = HashSet::new();
    let mut out = Vec::with_capacity(s.facts.len());
    while out.len() < s.facts.len() {
        let before = out.len();
        for f in &s.facts {
            if !placed.contains(&f.id) && f.requires.iter().all(|r| placed.contains(r)) {
                placed.insert(&f.id);
                out.push(f);
            }
        }
        if out.len() == before {
            break; // a cycle; validation rejects these
        }
    }
    out
}

#[cfg(test)]
#[path = "scenario_tests.rs"]
mod tests;
