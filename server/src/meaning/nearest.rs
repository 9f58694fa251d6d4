//! Nearness: which fact, aim or small-talk example a sentence's vector comes nearest,
//! with the bonuses and leads that decide whether it counts.

use crate::reader::{self, text, Embedding, Reader};
use crate::scenario::{FactId, FactKind, Scenario};

use super::indexes::{aims, small_talk};
use super::{Aim, AimMatch, Calibration, ScenarioIndex, SentenceReading, SmallTalk, CALIBRATION};

/// The small-talk example a question embedded as `v` comes nearest, when it comes nearer
/// than any example of any fact, and any generic question of an aim, by
/// [`Calibration::small_talk_lead`].
pub(super) fn small_talk_near(
    idx: &ScenarioIndex,
    v: &[f32],
    cal: &Calibration,
) -> Option<SmallTalk> {
    let chat = small_talk().nearest(v)?;
    // The nearest business question: an example of a fact, or a generic question of
    // some aim ("What are you hoping to achieve this year?"), so "What are you planning
    // for next spring?" stays a goal question however near "Where are you off to this
    // summer?" it comes.
    let fact = idx.questions.nearest(v).map(|n| (n.example, n.score));
    let aim = aims().nearest(v).map(|n| (n.example, n.score));
    let (topic_example, topic_score) = [fact, aim]
        .into_iter()
        .flatten()
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap_or((String::new(), 0.0));
    (chat.score - topic_score >= cal.small_talk_lead).then_some(SmallTalk {
        example: chat.example,
        score: chat.score,
        topic_example,
        topic_score,
    })
}

/// Each part of a list-like sentence touches a topic of its own: the fact its words come
/// nearest, as a question or as the buyer would say it.
pub(super) fn touch_topics(
    idx: &ScenarioIndex,
    r: &Reader,
    sentence: &str,
    cal: &Calibration,
    touched: &mut Vec<FactId>,
) {
    let clauses = text::clauses(sentence);
    if clauses.len() < 2 {
        return;
    }
    let refs: Vec<&str> = clauses.iter().map(String::as_str).collect();
    for cv in r.embed_all(&refs) {
        let best = [idx.questions.nearest(&cv), idx.statements.nearest(&cv)]
            .into_iter()
            .flatten()
            .max_by(|a, b| a.score.total_cmp(&b.score));
        if let Some(n) = best {
            if n.score >= cal.topic_threshold && !touched.contains(&n.key) {
                touched.push(n.key);
            }
        }
    }
}

/// Whether a question with `aim` is the kind of question a fact of `kind` answers.
pub(crate) fn fits(aim: Aim, kind: FactKind) -> bool {
    matches!(
        (aim, kind),
        (Aim::Goal, FactKind::Goal)
            | (Aim::NeedPayoff, FactKind::Goal | FactKind::Impact)
            | (Aim::Problem, FactKind::Pain)
            | (Aim::Implication, FactKind::Impact)
            | (Aim::Decision, FactKind::Decision)
            | (Aim::Concern, FactKind::Concern)
            | (
                Aim::Situation,
                FactKind::Pain | FactKind::Constraint | FactKind::Personal
            )
    )
}

/// The aim of a question sentence embedded as `v`, when it is clear enough.
pub(super) fn aim_near(v: &[f32], cal: &Calibration) -> Option<Aim> {
    aims()
        .nearest(v)
        .filter(|n| n.score >= cal.aim_threshold)
        .map(|n| n.key)
}

/// The nearest fact still hidden: its best example's score, blended with how close the
/// question comes to the fact as the buyer would state it, and raised by the aim bonus
/// where the question's aim fits the fact's kind.
/// What, besides the question's vector, decides its nearest fact.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Near<'a> {
    /// The question's aim, for the aim bonus.
    pub(super) aim: Option<Aim>,
    /// Facts already out, which a question can no longer earn.
    pub(super) revealed: &'a [FactId],
    /// The fact the question follows on from, for the follow bonus.
    pub(super) follows: Option<&'a FactId>,
    /// An example left out (the lint measures each example against the others).
    pub(super) skip: Option<usize>,
    /// The question's token vectors, for [`Calibration::token_weight`].
    pub(super) tokens: Option<&'a reader::TokenVectors>,
}

/// How like example `e` a question is: its sentence vector's cosine, blended with the
/// token-by-token likeness when the question's tokens are given.
pub(super) fn likeness(
    v: &[f32],
    tokens: Option<&reader::TokenVectors>,
    e: &reader::Example<FactId>,
    cal: &Calibration,
) -> f32 {
    let c = reader::cosine(v, &e.vector);
    match tokens {
        Some(t) if cal.token_weight > 0.0 => {
            (1.0 - cal.token_weight) * c + cal.token_weight * reader::align(t, &e.tokens)
        }
        _ => c,
    }
}

/// Each fact once with its best example's likeness to `question`, best first, as the
/// reader ranks them before bonuses (for `explain`).
pub fn ranked_facts(idx: &ScenarioIndex, question: &reader::Reading) -> Vec<(FactId, f32, usize)> {
    idx.questions.ranked_by(None, |e| {
        likeness(&question.vector, Some(&question.tokens), e, &CALIBRATION)
    })
}

pub(super) fn nearest_fact(
    scenario: &Scenario,
    idx: &ScenarioIndex,
    v: &[f32],
    near: Near<'_>,
    cal: &Calibration,
) -> Option<NearestFact> {
    let Near {
        aim,
        revealed,
        follows,
        skip,
        tokens,
    } = near;
    let tokens = tokens.filter(|t| cal.token_weight > 0.0 && !t.is_empty());
    let like = |e: &reader::Example<FactId>| likeness(v, tokens, e, cal);
    let w = cal.statement_weight;
    let stated = if w > 0.0 {
        idx.statements.ranked(v)
    } else {
        Vec::new()
    };

    let mut ranked: Vec<(FactId, f32, usize, f32, f32, f32)> = idx
        .questions
        .ranked_by(skip, like)
        .into_iter()
        .filter(|(f, _, _)| !revealed.contains(f))
        .map(|(f, cosine, i)| {
            let st = stated.iter().find(|x| x.0 == f).map_or(cosine, |x| x.1);
            let s = (1.0 - w) * cosine + w * st;
            let fact = scenario.fact(&f);
            let fit = aim.zip(fact).is_some_and(|(a, fact)| fits(a, fact.kind));
            let bonus = if fit { cal.aim_bonus } else { 0.0 };
            let next = follows
                .zip(fact)
                .is_some_and(|(from, fact)| fact.requires.contains(from));
            let follow = if next { cal.follow_bonus } else { 0.0 };
            (f, s + bonus + follow, i, cosine, bonus, follow)
        })
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    let (key, score, i, _, bonus, follow) = ranked.first()?.clone();
    let example = &idx.questions.examples()[i];
    Some(NearestFact {
        near: reader::Nearest {
            key,
            example: example.text.clone(),
            score,
            runner_up: ranked.get(1).map(|r| (r.0.clone(), r.1)),
        },
        // Whether a question is about the buyer's business at all stays a matter of
        // sentence vectors, as the topic floor was chosen on.
        cosine: reader::cosine(v, &example.vector),
        aligned: tokens.map(|t| reader::align(t, &example.tokens)),
        bonus,
        follow,
    })
}

/// [`nearest_fact`]'s answer: the nearest fact by its final score, with the plain
/// cosine to its example and the aim bonus that went into that score.
pub(super) struct NearestFact {
    pub(super) near: reader::Nearest<FactId>,
    pub(super) cosine: f32,
    pub(super) aligned: Option<f32>,
    pub(super) bonus: f32,
    pub(super) follow: f32,
}

pub(super) fn aim_of(s: &SentenceReading, v: &Embedding, cal: &Calibration) -> AimMatch {
    if s.more_to_say.is_some() {
        return AimMatch {
            aim: Aim::MoreToSay,
            example: None,
            score: 1.0,
        };
    }
    if s.content_words == 0 && !s.fact.as_ref().is_some_and(|f| f.with_context) {
        return AimMatch {
            aim: Aim::Other,
            example: None,
            score: 0.0,
        };
    }
    match aims().nearest(v) {
        Some(n) if n.score >= cal.aim_threshold => AimMatch {
            aim: n.key,
            example: Some(n.example),
            score: n.score,
        },
        Some(n) => AimMatch {
            aim: Aim::Other,
            example: Some(n.example),
            score: n.score,
        },
        None => AimMatch {
            aim: Aim::Other,
            example: None,
            score: 0.0,
        },
    }
}
