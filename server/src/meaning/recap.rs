//! Which facts a seller's recap states, by meaning: each recap sentence (and each clause
//! of a long one) is matched to the nearest way the buyer put a fact. Sentences with too
//! few content words, and lists of fragments, state nothing: "son? hotels? depot?" is not
//! an understanding.
//!
//! Embeddings cannot tell "they will grow" from "they will not grow": a recap that gets a
//! fact backwards can still match it. The buyer's verdict, where given, decides; elsewhere
//! the figure is labelled as matched automatically (`docs/scoring.md`).

use serde::{Deserialize, Serialize};

use super::{index, Calibration, CALIBRATION};
use crate::reader::{self, text};
use crate::scenario::{FactId, Scenario};

/// Content words a recap sentence needs before it can state a fact.
pub const RECAP_MIN_WORDS: usize = 3;

/// A fact a recap states, and the sentence that states it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecapMatch {
    pub fact: FactId,
    /// The recap's words that matched.
    pub sentence: String,
    /// How the buyer put the fact (its text or bot line) that came nearest.
    pub nearest: String,
    pub score: f32,
    pub runner_up: Option<(FactId, f32)>,
    pub threshold: f32,
    pub lead_needed: f32,
}

impl RecapMatch {
    pub fn explain(&self) -> String {
        let lead = self.score - self.runner_up.as_ref().map_or(0.0, |r| r.1);
        format!(
            "\"{}\" is closest to \"{}\" {:.2}; needs {} and a {} lead (has {:.2})",
            self.sentence,
            self.nearest,
            self.score,
            super::threshold(self.threshold),
            super::threshold(self.lead_needed),
            lead
        )
    }
}

/// The parts of a recap that may each state a fact: every sentence with enough content,
/// and the clauses of a long one ("…, but …", "…; …", "… and …").
fn parts(recap: &str) -> Vec<String> {
    let mut out = Vec::new();
    // Runs of fragments ("Third depot? Son? Pat in March?") are notes, whatever their
    // punctuation; they state nothing.
    let recap = text::without_notes(recap);
    for s in text::sentences(&recap) {
        if text::content_words(&s.text).len() < RECAP_MIN_WORDS {
            continue;
        }
        out.push(s.text.clone());
        let clauses: Vec<String> = s
            .text
            .split([',', ';', ':', '—'])
            .flat_map(|c| c.split(" but "))
            .flat_map(|c| c.split(" and "))
            .map(str::trim)
            .filter(|c| text::content_words(c).len() >= RECAP_MIN_WORDS)
            .map(str::to_string)
            .collect();
        if clauses.len() > 1 {
            out.extend(clauses);
        }
    }
    out
}

/// The texts [`read_recap`] embeds, to prepare off the relay path.
pub fn recap_texts(recap: &str) -> Vec<String> {
    parts(recap)
}

/// Facts the recap states, each with its best sentence.
pub fn read_recap(scenario: &Scenario, recap: &str) -> Vec<RecapMatch> {
    read_recap_with(scenario, recap, &CALIBRATION)
}

/// [`read_recap`] with other thresholds (calibration tools).
pub fn read_recap_with(scenario: &Scenario, recap: &str, cal: &Calibration) -> Vec<RecapMatch> {
    let r = reader::shared();
    let idx = index(scenario);
    // A sentence of fragments ("third depot, coast, son takes over, Pat in March") lists
    // cues; it states nothing.
    let listy: Vec<String> = text::sentences(recap)
        .into_iter()
        .map(|s| s.text)
        .filter(|s| text::is_list(s))
        .collect();
    let parts: Vec<String> = parts(recap)
        .into_iter()
        .filter(|p| !listy.iter().any(|l| l.contains(p.as_str())))
        .collect();
    let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
    let mut best: Vec<RecapMatch> = Vec::new();
    for (part, v) in parts.iter().zip(r.embed_all(&refs)) {
        let Some(n) = idx.statements.nearest(&v) else {
            continue;
        };
        if n.score < cal.recap_threshold || n.lead() < cal.recap_lead {
            continue;
        }
        let m = RecapMatch {
            fact: n.key.clone(),
            sentence: part.clone(),
            nearest: n.example.clone(),
            score: n.score,
            runner_up: n.runner_up.clone(),
            threshold: cal.recap_threshold,
            lead_needed: cal.recap_lead,
        };
        match best.iter_mut().find(|b| b.fact == m.fact) {
            Some(b) if b.score < m.score => *b = m,
            Some(_) => {}
            None => best.push(m),
        }
    }
    best
}
