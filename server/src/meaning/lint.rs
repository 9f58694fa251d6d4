//! Lints on a scenario's fact examples, which only the reader can check: each example
//! should read as its own fact, not a neighbour's, by the margin the bot needs; a fact
//! that none of its examples reaches could never be earned by a question like them.
//!
//! Each example is read against the others with itself left out, as a seller's question
//! worded like it would be read.

use super::{aim_near, index, nearest_fact, Near, CALIBRATION};
use crate::scenario::{Lint, Scenario};

/// The lints for one scenario (see the module comment).
pub fn lint(scenario: &Scenario) -> Vec<Lint> {
    let idx = index(scenario);
    let cal = CALIBRATION;
    let examples = idx.questions.examples();
    let mut out = Vec::new();
    for (fi, fact) in scenario.facts.iter().enumerate() {
        let mut reached = 0;
        let mut nearest_own = 0;
        let mut problems = Vec::new();
        for (j, e) in examples
            .iter()
            .enumerate()
            .filter(|(_, e)| e.key == fact.id)
        {
            let aim = aim_near(&e.vector, &cal);
            let Some(n) = nearest_fact(
                scenario,
                &idx,
                &e.vector,
                Near {
                    aim,
                    skip: Some(j),
                    tokens: Some(&e.tokens),
                    ..Near::default()
                },
                &cal,
            )
            .map(|n| n.near) else {
                continue;
            };
            let lead = n.lead();
            if n.key == fact.id {
                nearest_own += 1;
            }
            if n.key == fact.id && n.score >= cal.fact_threshold && lead >= cal.fact_lead {
                reached += 1;
                continue;
            }
            let n_ex = fact.examples.iter().position(|x| x == &e.text).unwrap_or(0);
            let message = if n.key != fact.id {
                format!(
                    "\"{}\" reads as fact `{}` ({:.2}, nearest \"{}\"); reword it, or the \
                     example it resembles, so each asks about one topic",
                    e.text, n.key, n.score, n.example
                )
            } else if lead < cal.fact_lead {
                format!(
                    "\"{}\" leads the next fact by only {lead:.3}; the reader needs {:.3}",
                    e.text, cal.fact_lead
                )
            } else {
                format!(
                    "\"{}\" scores only {:.2} against the fact's other examples; the reader \
                     needs {}, so questions like it may earn nothing: add an example \
                     closer to it",
                    e.text,
                    n.score,
                    super::threshold(cal.fact_threshold)
                )
            };
            problems.push(Lint {
                field: format!("facts[{fi}].examples[{n_ex}]"),
                message,
                error: false,
            });
        }
        if nearest_own == 0 && !fact.examples.is_empty() {
            out.push(Lint {
                field: format!("facts[{fi}].examples"),
                message: format!(
                    "no example of `{}` reads as this fact when read against the others, so \
                     no question like them could earn it; give it examples that ask about \
                     its topic in a few different ways",
                    fact.id
                ),
                error: true,
            });
        } else if reached == 0 && !fact.examples.is_empty() {
            out.push(Lint {
                field: format!("facts[{fi}].examples"),
                message: format!(
                    "every example of `{}` is nearest its own fact by less than the {:.2} lead \
                     the reader needs: questions like them may be read as a neighbouring fact",
                    fact.id, cal.fact_lead
                ),
                error: false,
            });
        }
        out.extend(problems);
    }
    out
}
