//! The checks a scenario's shape cannot express: unique slugs, weights and examples in
//! range, requirements that name real facts and form no cycle, bot rules that fit.

use std::collections::HashMap;

use super::{
    FactId, Scenario, Seg, MAX_EXAMPLES, MAX_FACTS, MAX_PHASE_SECS, MIN_EXAMPLES, TRUST_MAX,
    WEIGHT_RANGE,
};

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
