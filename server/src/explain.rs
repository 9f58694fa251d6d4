//! `uncover explain SCENARIO "question"`: how the reader reads one seller message against
//! a scenario, fact by fact, and what the bot buyer would do with it, so an author can
//! see why a question earns what it earns.

use std::fmt::Write;
use std::sync::Arc;

use crate::bot::{explain_turn, Bot};
use crate::meaning::{self, CALIBRATION};
use crate::reader::{self, text};
use crate::scenario::Scenario;

/// The explanation, as printed.
pub fn explain(scenario: &Arc<Scenario>, message: &str) -> String {
    let mut out = String::new();
    let cal = CALIBRATION;
    let line = meaning::read_seller_line(scenario, message);
    let idx = meaning::index(scenario);
    let r = reader::shared();
    let _ = writeln!(out, "Reading {message:?} against `{}`:", scenario.id);
    for (i, s) in line.sentences.iter().enumerate() {
        let kind = match text::form(&text::Sentence {
            text: s.text.clone(),
            asks: s.asks,
        }) {
            Some(f) => format!("question, {}", format!("{f:?}").to_lowercase()),
            None => "statement".into(),
        };
        let _ = writeln!(
            out,
            "\n  sentence {}: {:?} ({kind}, {} content word(s))",
            i + 1,
            s.text,
            s.content_words
        );
        if let Some(a) = &s.aim {
            let _ = writeln!(
                out,
                "    aim: {}{}",
                a.aim.label(),
                a.example
                    .as_ref()
                    .map(|e| format!(
                        " (closest to {e:?} {:.2}; needs {})",
                        a.score,
                        meaning::threshold(cal.aim_threshold)
                    ))
                    .unwrap_or_default()
            );
        }
        if s.asks {
            let read = r.read(&s.text);
            let _ = writeln!(out, "    nearest example of each fact:");
            for (fact, score, ex) in crate::meaning::ranked_facts(&idx, &read) {
                let example = &idx.questions.examples()[ex].text;
                let _ = writeln!(out, "      {:5.2}  {:28} {example:?}", score, fact.0);
            }
        }
        if let (false, Some((fact, score))) = (s.asks, &s.restates) {
            let _ = writeln!(
                out,
                "    plays back: `{fact}` {score:.2} (counts at {:.2}, once the buyer has told it)",
                cal.play_back_threshold
            );
        }
        if let Some(e) = s.empathy {
            let _ = writeln!(
                out,
                "    empathy: {e:.2} (counts at {:.2}, and only after the buyer has told something)",
                cal.empathy_threshold
            );
        }
    }
    let _ = writeln!(out, "\n  The message:");
    let small_talk = line
        .sentences
        .iter()
        .filter_map(|s| s.fact.as_ref())
        .find(|m| m.small_talk.is_some());
    match (&line.questionnaire, &line.earns) {
        (Some(q), _) => {
            let _ = writeln!(out, "    earns nothing: {}", q.explain());
        }
        (None, Some(m)) => {
            let _ = writeln!(out, "    asks for `{}`: {}", m.fact, m.explain());
        }
        (None, None) if line.more_to_say.is_some() => {
            let _ = writeln!(out, "    asks whether there is anything else");
        }
        (None, None) if small_talk.is_some() => {
            if let Some(m) = small_talk {
                let _ = writeln!(out, "    {}", m.explain());
            }
        }
        (None, None) => {
            let _ = writeln!(
                out,
                "    asks for no fact (needs {} and a {} lead over the next fact)",
                meaning::threshold(cal.fact_threshold),
                meaning::threshold(cal.fact_lead)
            );
        }
    }
    let mut bot = Bot::new(scenario.clone(), 0);
    bot.opening_line();
    let turn = bot.hear(message);
    let _ = writeln!(
        out,
        "\n  As the first message to the bot buyer (trust starts at {}):",
        crate::bot::START_TRUST
    );
    let _ = writeln!(out, "    read as: {}", explain_turn(&turn));
    let causes: Vec<String> = turn
        .causes
        .iter()
        .map(|c| format!("{} ({:+})", c.label(), c.delta()))
        .collect();
    let _ = writeln!(
        out,
        "    trust: {} -> {}{}",
        crate::bot::START_TRUST,
        turn.trust,
        if causes.is_empty() {
            String::new()
        } else {
            format!(" ({})", causes.join(", "))
        }
    );
    match &turn.reveal {
        Some(f) => {
            let _ = writeln!(out, "    reveals `{f}`: {:?}", turn.reply);
        }
        None => {
            let _ = writeln!(out, "    replies ({:?}): {:?}", turn.kind, turn.reply);
        }
    }
    let _ = writeln!(
        out,
        "    Later in a conversation, a fact also needs its `requires` out and trust at its `bot.trust`."
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{Library, ScenarioId};

    #[test]
    fn explain_names_the_nearest_example_and_what_the_bot_does() {
        let lib = Library::bundled().expect("bundled");
        let s = lib
            .get(&ScenarioId("distributor-inventory".into()))
            .expect("scenario")
            .clone();
        let text = explain(
            &s,
            "Where would you like the business to be in a few years?",
        );
        assert!(text.contains("grow-to-third-site"), "{text}");
        assert!(text.contains("closest to"), "{text}");
        assert!(text.contains("aim: goal"), "{text}");
        assert!(
            text.contains("As the first message to the bot buyer"),
            "{text}"
        );
    }
}
