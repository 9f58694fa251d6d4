//! The sentence sets a line is read against, each embedded once and kept: a scenario's
//! examples and statements with the stems only its hidden story holds, and the generic
//! sets every scenario shares (question aims, empathy, small talk).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};

use crate::reader::{self, text, Example, Index, Reader};
use crate::scenario::{FactId, Scenario};

use super::{prototypes, stems, Aim, STEMMER};

/// What the reader needs of one scenario, embedded once.
#[derive(Debug)]
pub struct ScenarioIndex {
    /// Each fact's `examples`.
    pub questions: Index<FactId>,
    /// Each fact as the buyer says it (`text` and `bot.line`), for play-backs and recaps.
    pub statements: Index<FactId>,

    /// Stems of words only the hidden story holds: in a fact's text, line or cues, and
    /// nowhere a seller may read or ask (briefs, summary, opening line, examples).
    pub hidden: HashSet<String>,
}

/// Everyday words a seller may use without knowing the story, even where a scenario's
/// hidden facts happen to be the only place that uses them ("a typical week across your
/// two sites" is a question, not a guess).
const EVERYDAY_WORDS: &[&str] = &[
    "day week month year season time today morning evening weekend spring summer autumn winter",
    "site place shop office branch building area town city",
    "people team staff customer client supplier partner family owner manager",
    "business work job money cost price order stock sale",
    // The words of asking how things get decided, paid for and felt: "Who signs off on a
    // purchase like this?" asks; it does not recite the story.
    "off out over back sign approve agree decide decision choose say final purchase buy",
    "spend budget pay afford invest plan goal hope aim worry concern risk nervous",
    "change problem issue trouble wrong happen lead cost save fix improve manage handle",
    // The commonest verbs and adjectives of English: a hidden story uses them as any
    // sentence does, so saying them recites nothing ("how would the people who have been
    // there longest feel about a new habit?").
    "think feel know want need get make take give see look come go keep start stop try use",
    "find tell ask call help show hear leave put run mean move live hold bring stay turn",
    "new old long short good bad big small great little high low early late right last first next",
    "more less most much many few whole own other same different real sure hard easy",
];

fn hidden_stems(scenario: &Scenario) -> HashSet<String> {
    let mut public: HashSet<String> = HashSet::new();
    let s = scenario;
    for t in [
        &s.title,
        &s.summary,
        &s.opening_line,
        &s.seller.brief,
        &s.seller.product,
        &s.buyer.name,
    ] {
        public.extend(stems(t));
    }
    for t in s
        .seller
        .pitch_words
        .iter()
        .chain(&s.seller.reference_customers)
    {
        public.extend(stems(t));
    }
    for f in &s.facts {
        for e in &f.examples {
            public.extend(stems(e));
        }
    }
    // Words any seller uses without knowing the story: those of the generic questions
    // and acknowledgements, and everyday words of time, place and trade.
    for t in prototypes::AIMS
        .iter()
        .flat_map(|(_, texts)| texts.iter())
        .chain(prototypes::EMPATHY)
        .chain(EVERYDAY_WORDS)
    {
        public.extend(stems(t));
    }
    // Words with no topic of their own are never content words, but their other forms
    // are: "thinks" in a fact and "thinking" in a question share the stem of "think".
    let empty: Vec<String> = text::EMPTY_WORDS.iter().map(|w| w.to_string()).collect();
    public.extend(STEMMER.with(|st| st.stem_all(&empty)));
    let mut hidden = HashSet::new();
    for f in &s.facts {
        for t in [&f.text, &f.bot.line].into_iter().chain(&f.recap_cues) {
            hidden.extend(stems(t).into_iter().filter(|w| !public.contains(w)));
        }
    }
    hidden
}

pub(super) fn aims() -> &'static Index<Aim> {
    static AIMS: OnceLock<Index<Aim>> = OnceLock::new();
    AIMS.get_or_init(|| {
        let texts: Vec<(Aim, &str)> = prototypes::AIMS
            .iter()
            .flat_map(|(aim, qs)| qs.iter().map(move |q| (*aim, *q)))
            .collect();
        build(reader::shared(), texts)
    })
}

pub(super) fn empathy() -> &'static Index<()> {
    static EMPATHY: OnceLock<Index<()>> = OnceLock::new();
    EMPATHY.get_or_init(|| sentences(prototypes::EMPATHY))
}

pub(super) fn small_talk() -> &'static Index<()> {
    static SMALL_TALK: OnceLock<Index<()>> = OnceLock::new();
    SMALL_TALK.get_or_init(|| sentences(prototypes::SMALL_TALK))
}

/// An index of generic sentences with nothing to tell them apart but their text.
fn sentences(list: &[&str]) -> Index<()> {
    build(reader::shared(), list.iter().map(|e| ((), *e)).collect())
}

fn build<K: Clone + PartialEq>(reader: &Reader, texts: Vec<(K, &str)>) -> Index<K> {
    let strs: Vec<&str> = texts.iter().map(|t| t.1).collect();
    let readings = reader.read_all(&strs);
    Index::new(
        texts
            .into_iter()
            .zip(readings)
            .map(|((key, t), reading)| Example {
                key,
                text: t.to_string(),
                vector: reading.vector,
                tokens: reading.tokens,
            })
            .collect(),
    )
}

/// Builds the generic sentence sets every scenario's reading uses (aims, empathy, small
/// talk: about 110 sentences), which are otherwise built on first use: `serve` calls it
/// before it listens, so a workshop's first debriefs do not wait for them.
pub fn warm_generic() {
    aims();
    empathy();
    small_talk();
}

/// A scenario's index, built on first use and kept (keyed by the scenario's id and the
/// text it is built from, so an edited scenario gets a new one).
pub fn index(scenario: &Scenario) -> Arc<ScenarioIndex> {
    static INDEXES: OnceLock<Mutex<HashMap<String, Arc<ScenarioIndex>>>> = OnceLock::new();
    let mut key = scenario.id.0.clone();
    for f in &scenario.facts {
        key.push('\u{1}');
        key.push_str(&f.id.0);
        for e in f.examples.iter().chain([&f.text, &f.bot.line]) {
            key.push('\u{2}');
            key.push_str(e);
        }
    }
    let map = INDEXES.get_or_init(Default::default);
    if let Some(found) = map.lock().ok().and_then(|m| m.get(&key).cloned()) {
        return found;
    }
    let r = reader::shared();
    let questions = build(
        r,
        scenario
            .facts
            .iter()
            .flat_map(|f| f.examples.iter().map(|e| (f.id.clone(), e.as_str())))
            .collect(),
    );
    let statements = build(
        r,
        scenario
            .facts
            .iter()
            .flat_map(|f| {
                [
                    (f.id.clone(), f.text.as_str()),
                    (f.id.clone(), f.bot.line.as_str()),
                ]
            })
            .collect(),
    );
    let built = Arc::new(ScenarioIndex {
        questions,
        statements,
        hidden: hidden_stems(scenario),
    });
    if let Ok(mut m) = map.lock() {
        m.insert(key, built.clone());
    }
    built
}
