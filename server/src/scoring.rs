//! The debrief: turns a finished round (scenario, transcript, reveals, recap, feedback)
//! into the figures both players see, each traceable to the messages that produced it.
//!
//! `docs/scoring.md` defines every figure.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::protocol::{Role, ScenarioSummary};
use crate::scenario::{Depth, FactId, FactKind, Scenario};

/// One line of the conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscriptLine {
    pub index: u32,
    pub from: Role,
    /// Boxed, not a `String`: a room keeps every line for its whole life and never
    /// changes one, so a capacity beside each is 8 bytes a line for nothing.
    pub text: Box<str>,
    /// Milliseconds since the conversation began.
    pub at_ms: u64,
}

/// A fact the buyer marked revealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reveal {
    pub fact: FactId,
    pub at_ms: u64,
    /// The last seller line before the reveal: the message that earned it.
    pub earned_by: Option<u32>,
}

/// The buyer's answer to "how heard did you feel".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Feedback {
    /// 1 (not at all) to 5 (completely).
    pub heard: u8,
    pub comment: String,
}

/// Everything a debrief is computed from.
#[derive(Debug, Clone, Copy)]
pub struct RoundRecord<'a> {
    pub scenario: &'a Scenario,
    pub seller: &'a str,
    pub buyer: &'a str,
    pub transcript: &'a [TranscriptLine],
    pub reveals: &'a [Reveal],
    pub recap: Option<&'a str>,
    pub feedback: Option<&'a Feedback>,
    /// The buyer's verdicts on recap matches, by fact.
    pub judgements: &'a HashMap<FactId, bool>,
    pub conversation_ms: u64,
    /// Bot rounds: the bot's trust and reading after each seller line.
    pub readings: &'a [TrustPoint],
}

/// The whole debrief, as sent to both players.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Debrief {
    pub scenario: ScenarioSummary,
    pub seller: String,
    pub buyer: String,
    pub headline: Headline,
    pub captured: Captured,
    pub facts: Vec<FactOutcome>,
    pub behaviour: crate::behaviour::Behaviour,
    pub transcript: Vec<TranscriptLine>,
    pub recap: Option<String>,
    pub feedback: Option<Feedback>,
    pub conversation_ms: u64,
    /// Chat, or spoken (no transcript: the behaviour figures are empty).
    #[serde(default)]
    pub channel: crate::protocol::Channel,
    /// Observers' notes on this pair.
    #[serde(default)]
    pub observer_notes: Vec<ObserverNote>,
    /// Bot rounds only: the bot's trust after each seller line, from its starting value.
    #[serde(default)]
    pub trust_curve: Vec<TrustPoint>,
}

impl Debrief {
    /// Whether any fact counted in the captured figure was matched by the reader alone,
    /// with no buyer verdict ("matched automatically, not confirmed by the buyer").
    pub fn captured_automatic(&self) -> bool {
        self.facts
            .iter()
            .any(|f| f.captured && f.captured_automatically)
    }
}

/// A note an observer wrote about the pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObserverNote {
    pub name: String,
    pub text: String,
}

/// The bot's trust after transcript line `index` (none for the starting value), and why
/// it moved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustPoint {
    pub index: Option<u32>,
    pub trust: u8,
    /// What moved trust on this line, in plain words.
    #[serde(default)]
    pub causes: Vec<String>,
    /// How the bot read the line: the fact it asked for and the working, or why it
    /// earned nothing.
    #[serde(default)]
    pub reading: Option<String>,
}

/// "Uncovered 5 of 8 facts, 62% of the story."
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Headline {
    pub facts_uncovered: u32,
    pub facts_total: u32,
    pub weight_uncovered: u32,
    pub weight_total: u32,
    /// Weighted share, rounded down: a story is never reported as more uncovered than it was.
    pub percent: u32,
    pub text: String,
}

/// How much of the story the seller's recap shows they understood.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Captured {
    pub facts_captured: u32,
    pub weight_captured: u32,
    pub weight_total: u32,
    /// Weighted share, rounded down, like the headline.
    pub percent: u32,
    pub text: String,
    /// Facts the recap caught that the buyer never revealed: a correct guess, or something
    /// the buyer said without marking it. Counted in the captured share all the same.
    #[serde(default)]
    pub captured_not_uncovered: Vec<FactId>,
    /// Facts the buyer revealed that the recap missed.
    #[serde(default)]
    pub uncovered_not_captured: Vec<FactId>,
    /// Some of the figure rests on the reader alone (no buyer verdict).
    #[serde(default)]
    pub automatic: bool,
}

/// One hidden fact's fate in this round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FactOutcome {
    pub id: FactId,
    pub kind: FactKind,
    pub depth: Depth,
    pub weight: u8,
    pub text: String,
    pub earned_when: String,
    pub uncovered: bool,
    pub at_ms: Option<u64>,
    /// The seller line that earned the reveal.
    pub earned_by: Option<TranscriptLine>,
    /// The recap sentence that states this fact, by meaning, shown as a cue so a buyer
    /// can judge it (empty when none does).
    pub matched_cues: Vec<String>,
    /// How the reader matched the recap to this fact, with its working.
    #[serde(default)]
    pub recap_reading: Option<String>,
    /// How the reader read the message that earned it, in a bot round.
    #[serde(default)]
    pub earned_reading: Option<String>,
    /// The buyer's verdict on the match, if they gave one.
    pub buyer_judgement: Option<bool>,
    /// Final: the buyer's verdict where given, else whether the reader matched a recap
    /// sentence to it; always false without a recap.
    pub captured: bool,
    /// Captured by the reader alone: no buyer confirmed it.
    #[serde(default)]
    pub captured_automatically: bool,
}

/// Shown beside a captured figure that no buyer confirmed.
pub const AUTOMATIC_NOTE: &str = "matched automatically, not confirmed by the buyer";

/// Integer percentage rounded down; 0 when there is nothing to share.
pub fn percent(part: u32, whole: u32) -> u32 {
    if whole == 0 {
        0
    } else {
        (u64::from(part) * 100 / u64::from(whole)) as u32
    }
}

/// Computes the debrief for a finished round.
pub fn debrief(r: RoundRecord<'_>) -> Debrief {
    // A fact revealed twice counts once, from its first reveal.
    let mut reveals: HashMap<&FactId, &Reveal> = HashMap::new();
    for v in r.reveals {
        let first = reveals.entry(&v.fact).or_insert(v);
        if v.at_ms < first.at_ms {
            *first = v;
        }
    }
    let recap_matches = r
        .recap
        .map(|text| crate::meaning::read_recap(r.scenario, text))
        .unwrap_or_default();
    let facts: Vec<FactOutcome> = r
        .scenario
        .facts
        .iter()
        .map(|f| {
            let reveal = reveals.get(&f.id);
            let matched = recap_matches.iter().find(|m| m.fact == f.id);
            let matched_cues: Vec<String> =
                matched.map(|m| m.sentence.clone()).into_iter().collect();
            // Without a recap there is nothing to judge, so stray verdicts are ignored.
            let buyer_judgement = r.recap.and_then(|_| r.judgements.get(&f.id).copied());
            let captured = buyer_judgement.unwrap_or(matched.is_some());
            let earned_reading = reveal
                .and_then(|v| v.earned_by)
                .and_then(|i| r.readings.iter().find(|p| p.index == Some(i)))
                .and_then(|p| p.reading.clone());
            FactOutcome {
                id: f.id.clone(),
                kind: f.kind,
                depth: f.depth,
                weight: f.weight,
                text: f.text.clone(),
                earned_when: f.earned_when.clone(),
                uncovered: reveal.is_some(),
                at_ms: reveal.map(|v| v.at_ms),
                earned_by: reveal
                    .and_then(|v| v.earned_by)
                    .and_then(|i| r.transcript.iter().find(|l| l.index == i))
                    .cloned(),
                matched_cues,
                recap_reading: matched.map(|m| m.explain()),
                earned_reading,
                buyer_judgement,
                captured,
                captured_automatically: captured && buyer_judgement.is_none(),
            }
        })
        .collect();

    let weight_total: u32 = facts.iter().map(|f| u32::from(f.weight)).sum();
    let facts_total = facts.len() as u32;
    let uncovered: Vec<&FactOutcome> = facts.iter().filter(|f| f.uncovered).collect();
    let weight_uncovered: u32 = uncovered.iter().map(|f| u32::from(f.weight)).sum();
    let pct = percent(weight_uncovered, weight_total);
    let headline = Headline {
        facts_uncovered: uncovered.len() as u32,
        facts_total,
        weight_uncovered,
        weight_total,
        percent: pct,
        text: format!(
            "Uncovered {} of {} facts, {}% of the story",
            uncovered.len(),
            facts_total,
            pct
        ),
    };

    let captured_facts: Vec<&FactOutcome> = facts.iter().filter(|f| f.captured).collect();
    let weight_captured: u32 = captured_facts.iter().map(|f| u32::from(f.weight)).sum();
    let cpct = percent(weight_captured, weight_total);
    let automatic = captured_facts.iter().any(|f| f.captured_automatically);
    let captured = Captured {
        facts_captured: captured_facts.len() as u32,
        weight_captured,
        weight_total,
        percent: cpct,
        text: match r.recap {
            Some(_) => format!(
                "The recap caught {} of {} facts, {}% of the story{}",
                captured_facts.len(),
                facts_total,
                cpct,
                if automatic {
                    format!(" ({AUTOMATIC_NOTE})")
                } else {
                    String::new()
                }
            ),
            None => "No recap was written".to_string(),
        },
        captured_not_uncovered: facts
            .iter()
            .filter(|f| f.captured && !f.uncovered)
            .map(|f| f.id.clone())
            .collect(),
        uncovered_not_captured: facts
            .iter()
            .filter(|f| f.uncovered && !f.captured)
            .map(|f| f.id.clone())
            .collect(),
        automatic,
    };

    let behaviour = crate::behaviour::analyse(r.scenario, r.transcript, r.reveals);

    Debrief {
        scenario: ScenarioSummary::from(r.scenario),
        seller: r.seller.to_string(),
        buyer: r.buyer.to_string(),
        headline,
        captured,
        facts,
        behaviour,
        transcript: r.transcript.to_vec(),
        recap: r.recap.map(str::to_string),
        feedback: r.feedback.cloned(),
        conversation_ms: r.conversation_ms,
        channel: crate::protocol::Channel::Chat,
        observer_notes: Vec::new(),
        trust_curve: Vec::new(),
    }
}

#[cfg(test)]
#[path = "scoring_tests.rs"]
mod transcript_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_rounds_down() {
        assert_eq!(percent(5, 8), 62);
        assert_eq!(percent(2, 3), 66);
        assert_eq!(percent(0, 0), 0);
        assert_eq!(percent(8, 8), 100);
    }
}
