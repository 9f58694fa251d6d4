//! Scenario format v1: the types a scenario TOML file deserialises into, and the
//! loader and validator that turn a folder of files into a [`Library`] or a list of
//! errors naming file, line and field. One file is read and located in
//! `scenario/parse.rs`; the checks its shape cannot express are `scenario/checks.rs`.
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

mod checks;
mod parse;

pub use checks::validate;
use parse::{line_of_path, parse_field_path};
pub use parse::{parse_scenario, Seg};

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
