//! Chooses the reader's thresholds on the calibration part of the labelled corpus, then
//! reports them, and the thresholds in use, on the part never tuned on.
//!
//! `cargo run --release -p uncover-tests --bin calibrate` (needs `make model`).

use uncover::meaning::{Calibration, CALIBRATION};
use uncover_tests::corpus::{self, Counts, CALIBRATE, REPORT};

fn steps(from: f32, to: f32, step: f32) -> Vec<f32> {
    let n = ((to - from) / step).round() as usize;
    (0..=n).map(|i| from + step * i as f32).collect()
}

fn show(name: &str, c: &Counts) {
    println!(
        "{name}: precision {:.3}, recall {:.3}, F1 {:.3} ({} lines, {} credited right, {} wrong or extra, {} missed)",
        c.precision(),
        c.recall(),
        c.f1(),
        c.lines,
        c.true_pos,
        c.false_pos,
        c.false_neg
    );
}

fn main() {
    if std::env::args().any(|a| a == "--misses") {
        return misses();
    }
    if std::env::args().any(|a| a == "--playbacks") {
        return playbacks();
    }
    let cal_files = corpus::load(CALIBRATE);
    let rep_files = corpus::load(REPORT);

    // Line-level thresholds: best F1 on the calibration part only (`--in-use` skips the
    // search and reports the thresholds in use).
    let search = !std::env::args().any(|a| a == "--in-use");
    let mut best: Option<(f64, Calibration)> = (!search).then_some((0.0, CALIBRATION));
    // Coordinate search from the thresholds in use: each setting in turn over its range,
    // the others held, until a pass changes nothing (a full grid of every combination
    // takes too long to rerun on every change).
    type Set = fn(&mut Calibration, f32);
    let axes: Vec<(Vec<f32>, Set)> = vec![
        (steps(0.0, 1.0, 0.25), |c, v| c.token_weight = v),
        // Not below 0.325: under it, small talk read token by token ("Did you watch any
        // of the cycling at the weekend?") earns facts and trust (`bot::tests`).
        (steps(0.325, 0.60, 0.025), |c, v| c.fact_threshold = v),
        (steps(0.0, 0.08, 0.02), |c, v| c.fact_lead = v),
        (steps(0.0, 0.20, 0.05), |c, v| c.aim_bonus = v),
        // How clear a goal, decision or concern question must be to draw the one such
        // fact still untold without an example of its own (2: never).
        (
            vec![0.40, 0.45, 0.50, 0.55, 0.60, 0.65, 0.70, 2.0],
            |c, v| c.aim_invite = v,
        ),
        (steps(0.0, 0.5, 0.1), |c, v| c.statement_weight = v),
        (steps(0.0, 0.50, 0.05), |c, v| c.follow_bonus = v),
        (vec![3.0, 4.0, 5.0, 7.0, 1000.0], |c, v| {
            c.context_below = v as usize
        }),
        // Not below 0.30: below it small talk starts to count as asking about the
        // buyer's business and earns trust, which line credits cannot see.
        (vec![0.30, 0.35, 0.40, 2.0], |c, v| c.topic_floor = v),
        // How much nearer a small-talk example than any fact's example a question must
        // come to read as small talk (infinity: never).
        (
            vec![-0.10, -0.05, 0.0, 0.05, 0.10, 0.15, 0.20, f32::INFINITY],
            |c, v| c.small_talk_lead = v,
        ),
    ];
    if search {
        let mut at = (
            corpus::line_counts(&cal_files, &CALIBRATION).f1(),
            CALIBRATION,
        );
        for _pass in 0..3 {
            let before = at.0;
            for (values, set) in &axes {
                for v in values {
                    let mut c = at.1;
                    set(&mut c, *v);
                    let f1 = corpus::line_counts(&cal_files, &c).f1();
                    if f1 > at.0 + 1e-9 {
                        at = (f1, c);
                    }
                }
            }
            if at.0 <= before + 1e-9 {
                break;
            }
        }
        // How flat the optimum is: each setting's range with the others at the chosen
        // point, on the calibration part only.
        println!("calibration-part F1 along each setting, the others as chosen:");
        for (i, (values, set)) in axes.iter().enumerate() {
            let row: Vec<String> = values
                .iter()
                .map(|v| {
                    let mut c = at.1;
                    set(&mut c, *v);
                    format!("{v}: {:.3}", corpus::line_counts(&cal_files, &c).f1())
                })
                .collect();
            println!("  setting {i}: {}", row.join(", "));
        }
        best = Some(at);
    }
    let (_, mut chosen) = best.expect("a grid");
    // Recap thresholds: best F1 over recap facts on the calibration part.
    let mut best_recap: Option<(f64, f32, f32)> = None;
    for t in steps(0.25, 0.70, 0.025).into_iter().filter(|_| search) {
        for lead in steps(0.0, 0.08, 0.01) {
            let c = Calibration {
                recap_threshold: t,
                recap_lead: lead,
                ..chosen
            };
            let mut counts = Counts::default();
            for r in corpus::recaps(&cal_files, &c) {
                counts.true_pos += r.right as u32;
                counts.false_pos += r.wrong as u32;
                counts.false_neg += (r.labelled - r.right) as u32;
            }
            let f1 = counts.f1();
            if best_recap.as_ref().is_none_or(|b| f1 > b.0 + 1e-9) {
                best_recap = Some((f1, t, lead));
            }
        }
    }
    if let Some((_, t, lead)) = best_recap {
        chosen.recap_threshold = t;
        chosen.recap_lead = lead;
    }
    println!("chosen on the calibration part: {chosen:?}");
    println!("in use (meaning::CALIBRATION): {CALIBRATION:?}");
    for (label, cal) in [("chosen", chosen), ("in use", CALIBRATION)] {
        show(
            &format!("{label}, calibration part"),
            &corpus::line_counts(&cal_files, &cal),
        );
        show(
            &format!("{label}, report part"),
            &corpus::line_counts(&rep_files, &cal),
        );
    }
    println!("\nBot rounds with the thresholds in use (uncovered %, final trust, heard):");
    for (part, files) in [("calibration", &cal_files), ("report", &rep_files)] {
        for p in corpus::play(files) {
            println!(
                "  {part:11} {:22} {:15} {:3}%  trust {:3} (max {:3})  heard {}",
                p.scenario, p.style, p.uncovered, p.trust, p.max_trust, p.heard
            );
        }
    }
    println!("\nRecaps with the thresholds in use:");
    for (part, files) in [("calibration", &cal_files), ("report", &rep_files)] {
        for r in corpus::recaps(files, &CALIBRATION) {
            println!(
                "  {part:11} {:22} {:10} {}/{} stated facts captured ({}% by weight), {} extra, {}% of the story",
                r.scenario, r.kind, r.right, r.labelled, r.share_of_labelled, r.wrong, r.share_of_story
            );
        }
    }
}

/// `calibrate --misses`: every calibration-part line the reader gets wrong, with its
/// working, and each good conversation turn by turn. Never run on the report part.
pub fn misses() {
    let files = corpus::load(CALIBRATE);
    for (scenario, file) in &files {
        for conv in &file.conversations {
            let mut bot = uncover::bot::Bot::new(scenario.clone(), 0);
            bot.opening_line();
            let preds = corpus::predicted(scenario, conv, &CALIBRATION);
            for (line, p) in conv.lines.iter().zip(preds) {
                let turn = bot.hear(&line.text);
                let r = turn.heard.line.clone();
                let wrong = p.as_ref().map(|f| f.0.as_str()) != line.credit.as_deref();
                let good = matches!(conv.style.as_str(), "textbook" | "skilled" | "blunt");
                if wrong || good {
                    let best = r
                        .sentences
                        .iter()
                        .filter_map(|s| s.fact.as_ref())
                        .max_by(|a, b| a.score.total_cmp(&b.score));
                    println!(
                        "{} {} {} | label {:?} got {:?} | {} | {:?} q={:?} trust {} {:?}\n     {}",
                        if wrong { "MISS" } else { "ok  " },
                        file.scenario,
                        conv.style,
                        line.credit,
                        p.map(|f| f.0),
                        best.map(|b| format!(
                            "{} {:.2} lead {:.2} ({})",
                            b.fact,
                            b.score,
                            b.lead(),
                            b.example
                        ))
                        .unwrap_or_default(),
                        turn.kind,
                        r.questionnaire,
                        turn.trust,
                        turn.causes,
                        line.text
                    );
                }
            }
        }
    }
}

/// `calibrate --playbacks`: every calibration-part statement made after the buyer has
/// revealed something, with its best likeness to a revealed fact as the buyer said it, by
/// sentence vectors and token by token, and the seller's style. `play_back_threshold` is
/// set from it (just above every pitching seller's statement). Never run on the report part.
pub fn playbacks() {
    let r = uncover::reader::shared();
    for (scenario, file) in &corpus::load(CALIBRATE) {
        for conv in &file.conversations {
            let mut bot = uncover::bot::Bot::new(scenario.clone(), 0);
            bot.opening_line();
            for line in &conv.lines {
                let revealed = bot.revealed().to_vec();
                let statements = uncover::reader::text::sentences(&line.text)
                    .into_iter()
                    .filter(|s| !s.asks && !revealed.is_empty());
                for s in statements {
                    let q = r.read(&s.text);
                    // (best cosine, best token likeness, the fact of the latter)
                    let mut best = (0f32, 0f32, String::new());
                    let told = scenario.facts.iter().filter(|f| revealed.contains(&f.id));
                    for f in told {
                        for t in [&f.text, &f.bot.line] {
                            let e = r.read(t);
                            best.0 = best.0.max(uncover::reader::cosine(&q.vector, &e.vector));
                            let a = uncover::reader::align(&q.tokens, &e.tokens);
                            if a > best.1 {
                                best = (best.0, a, f.id.0.clone());
                            }
                        }
                    }
                    println!(
                        "{:.2} {:.2} {:15} {:22} {} | {}",
                        best.0, best.1, conv.style, file.scenario, best.2, s.text
                    );
                }
                bot.hear(&line.text);
            }
        }
    }
}
