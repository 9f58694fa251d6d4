//! What a question draws out without an example of its own: the buyer's opening story
//! for an open question about how things stand, and the one fact a clear question of
//! some aim (a goal, a decision, a concern) answers. A buyer asked "Where do you want the
//! shops to be in two years?" tells their goal, however the author's examples put it.

use super::prototypes::Aim;
use super::{fits, Calibration, FactMatch, SentenceReading};
use crate::reader::text::{self, Sentence};
use crate::scenario::{Depth, FactId, QuestionKind, Scenario};

/// An open question about how things stand, earning no fact by its examples, draws the
/// first surface fact still untold that such a question reveals: what a buyer says to
/// "walk me through a normal week".
pub(super) fn by_opening(
    scenario: &Scenario,
    asked: &[&SentenceReading],
    revealed: &[FactId],
    cal: &Calibration,
) -> Option<FactMatch> {
    let (s, near) = asked.iter().find_map(|s| {
        let near = s.fact.as_ref()?;
        let aim = s.aim.as_ref()?;
        let open = text::form(&Sentence {
            text: s.text.clone(),
            asks: true,
        }) == Some(text::Form::Open);
        (open
            && matches!(aim.aim, Aim::Situation | Aim::Problem)
            && near.cosine >= cal.topic_floor
            && near.small_talk.is_none())
        .then_some((s, near))
    })?;
    let fact = scenario.facts.iter().find(|f| {
        f.depth == Depth::Surface
            && !revealed.contains(&f.id)
            && f.requires.iter().all(|r| revealed.contains(r))
            && f.bot
                .asks
                .iter()
                .any(|k| matches!(k, QuestionKind::Situation | QuestionKind::Problem))
    })?;
    let example = s
        .aim
        .as_ref()
        .and_then(|a| a.example.clone())
        .unwrap_or_else(|| near.example.clone());
    Some(FactMatch {
        invitation: true,
        ..drawn(&fact.id, example, near.cosine, cal.topic_floor, near)
    })
}

/// A question whose aim is clear ([`Calibration::aim_invite`]), not small talk, and that
/// earns no fact by its examples draws the fact that aim answers, when exactly one such
/// fact is still untold and what it rests on is out. Situation and problem questions are
/// left to [`by_opening`] and the examples: many facts answer them.
pub(super) fn by_aim(
    scenario: &Scenario,
    asked: &[&SentenceReading],
    revealed: &[FactId],
    cal: &Calibration,
) -> Option<FactMatch> {
    asked.iter().find_map(|s| {
        let near = s.fact.as_ref()?;
        let aim = s.aim.as_ref()?;
        let clear = aim.score >= cal.aim_invite
            && near.small_talk.is_none()
            && !matches!(
                aim.aim,
                Aim::Situation | Aim::Problem | Aim::MoreToSay | Aim::Other
            );
        if !clear {
            return None;
        }
        let mut fitting = scenario.facts.iter().filter(|f| {
            fits(aim.aim, f.kind)
                && !revealed.contains(&f.id)
                && f.requires.iter().all(|r| revealed.contains(r))
        });
        let fact = fitting.next()?;
        if fitting.next().is_some() {
            return None;
        }
        Some(FactMatch {
            by_aim: Some(aim.aim),
            ..drawn(
                &fact.id,
                aim.example.clone()?,
                aim.score,
                cal.aim_invite,
                near,
            )
        })
    })
}

/// A fact drawn without an example of its own: accepted, at `score` against `threshold`,
/// keeping what the nearest example said of the question.
fn drawn(
    fact: &FactId,
    example: String,
    score: f32,
    threshold: f32,
    near: &FactMatch,
) -> FactMatch {
    FactMatch {
        fact: fact.clone(),
        example,
        score,
        runner_up: None,
        threshold,
        lead_needed: 0.0,
        accepted: true,
        with_context: near.with_context,
        cosine: near.cosine,
        aligned: None,
        aim_bonus: 0.0,
        follow_bonus: 0.0,
        invitation: false,
        by_aim: None,
        small_talk: None,
    }
}
