//! The reader against the labelled corpus (`tests/corpus/`): what a trainee would notice.
//! Good discovery in the seller's own words must uncover more than any way of gaming the
//! bot; spam, lists of guesses and empathy alone must earn nothing; a recap in one's own
//! words must be credited and a list of nouns must not. Line-level F1 is checked on the
//! part of the corpus the thresholds were never chosen on.
//!
//! Figures print with `cargo test -p uncover-tests --test corpus -- --nocapture`.

use std::collections::BTreeMap;

use uncover::bot::START_TRUST;
use uncover::meaning::CALIBRATION;
use uncover_tests::corpus::{self, Played, CALIBRATE, REPORT};

/// Styles that game the bot rather than discover.
const GAMING: &[&str] = &["stuffer", "cue_copier", "empathy_only", "polite_pitcher"];

fn everything() -> Vec<Played> {
    let ids: Vec<&str> = CALIBRATE.iter().chain(REPORT).copied().collect();
    corpus::play(&corpus::load(&ids))
}

fn by_scenario(played: &[Played]) -> BTreeMap<&str, Vec<&Played>> {
    let mut m: BTreeMap<&str, Vec<&Played>> = BTreeMap::new();
    for p in played {
        m.entry(p.scenario.as_str()).or_default().push(p);
    }
    m
}

#[test]
fn good_discovery_in_the_sellers_own_words_beats_every_gaming_style_in_every_scenario() {
    let played = everything();
    for (scenario, plays) in by_scenario(&played) {
        let skilled: Vec<u32> = plays
            .iter()
            .filter(|p| p.style == "skilled")
            .map(|p| p.uncovered)
            .collect();
        let best_gamer = plays
            .iter()
            .filter(|p| GAMING.contains(&p.style.as_str()))
            .map(|p| (p.uncovered, p.style.as_str()))
            .max()
            .unwrap_or((0, "none"));
        eprintln!("{scenario}: skilled {skilled:?}, best gaming style {best_gamer:?}");
        assert!(!skilled.is_empty(), "{scenario} has skilled conversations");
        for s in &skilled {
            assert!(
                *s > best_gamer.0,
                "{scenario}: a skilled seller uncovered {s}%, {} {}%",
                best_gamer.1,
                best_gamer.0
            );
        }
    }
}

#[test]
fn spam_and_empathy_alone_uncover_nothing_and_win_no_trust() {
    for p in everything() {
        match p.style.as_str() {
            "stuffer" => {
                assert!(
                    p.uncovered <= 10,
                    "{} stuffer: {}%",
                    p.scenario,
                    p.uncovered
                );
                assert!(p.max_trust <= START_TRUST, "{} stuffer", p.scenario);
            }
            "empathy_only" => {
                assert_eq!(p.uncovered, 0, "{} empathy only", p.scenario);
                assert!(
                    p.max_trust <= START_TRUST,
                    "{} empathy only won trust {}",
                    p.scenario,
                    p.max_trust
                );
            }
            _ => {}
        }
    }
}

#[test]
fn a_recap_in_ones_own_words_is_credited_and_a_list_of_nouns_is_not() {
    let ids: Vec<&str> = CALIBRATE.iter().chain(REPORT).copied().collect();
    let mut problems = Vec::new();
    for r in corpus::recaps(&corpus::load(&ids), &CALIBRATION) {
        eprintln!(
            "{} {}: {}/{} stated facts captured ({}% by weight), {} extra, {}% of the story",
            r.scenario, r.kind, r.right, r.labelled, r.share_of_labelled, r.wrong, r.share_of_story
        );
        match r.kind.as_str() {
            "paraphrase" if r.share_of_labelled < PARAPHRASE_FLOOR => problems.push(format!(
                "{}: a paraphrase captured {}%",
                r.scenario, r.share_of_labelled
            )),
            "cue_list" if r.share_of_story > CUE_LIST_CEILING => problems.push(format!(
                "{}: a list of nouns captured {}%",
                r.scenario, r.share_of_story
            )),
            _ => {}
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The recap target: an accurate paraphrase captures at least this share of what it states.
const PARAPHRASE_FLOOR: u32 = 60;

/// The recap target: a bare list of cues captures at most this share of the story.
const CUE_LIST_CEILING: u32 = 10;

/// Line-level F1 on the report part: the target, met since token alignment
/// (0.865 when measured, docs/scoring.md); below it the reader has regressed.
const REPORT_F1_FLOOR: f64 = 0.85;

#[test]
fn the_reader_credits_lines_as_a_trainer_would_on_text_it_was_not_tuned_on() {
    let report = corpus::line_counts(&corpus::load(REPORT), &CALIBRATION);
    eprintln!(
        "report part: precision {:.3}, recall {:.3}, F1 {:.3} over {} lines",
        report.precision(),
        report.recall(),
        report.f1(),
        report.lines
    );
    assert!(report.f1() >= REPORT_F1_FLOOR, "F1 {:.3}", report.f1());
}
