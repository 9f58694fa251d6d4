//! Tests of the scenario loader and validator: every kind of mistake an author can make is
//! reported with the right file, line and field; the bundled library meets the rules a
//! shipped scenario must follow; the published JSON Schema matches the code.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::*;

/// A small valid scenario; each test breaks one thing in it.
const BASE: &str = r#"# A test scenario.
id = "base"
title = "Base"
summary = "A small valid scenario."
difficulty = "intro"
opening_line = "Hello."

[timings]
briefing = 60
conversation = 300
recap = 60

[seller]
brief = "You sell widgets."
product = "Widgets."
pitch_words = ["widget"]

[buyer]
name = "Ada"
role = "Buyer, Example Ltd"
persona = "Calm."
brief = "Play it straight."

[[facts]]
id = "pain-one"
kind = "pain"
weight = 1
depth = "surface"
text = "Things break."
earned_when = "Any question about problems."
recap_cues = ["break"]
examples = ["What keeps breaking?", "What goes wrong most often?", "Where do things fail?"]
[facts.bot]
asks = ["problem"]
line = "Things break a lot."

[[facts]]
id = "goal-two"
kind = "goal"
weight = 3
depth = "deeper"
text = "We want to grow."
earned_when = "A goal question."
recap_cues = ["grow"]
examples = ["Where do you want to be next year?", "What are you aiming for?", "What does success look like?"]
requires = ["pain-one"]
[facts.bot]
asks = ["goal"]
trust = 30
line = "We want to grow."

[[facts]]
id = "hidden-three"
kind = "personal"
weight = 2
depth = "hidden"
text = "I am leaving soon."
earned_when = "Anything else?"
recap_cues = ["leaving"]
examples = ["Is there anything else?", "What haven't I asked?", "Is something else on your mind?"]
[facts.bot]
asks = ["anything_else"]
trust = 50
line = "I'm leaving soon."
"#;

const FILE: &str = "scenarios/broken.toml";

/// `BASE` with the first occurrence of `from` replaced by `to`.
fn base_with(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "test setup: `{from}` is not in BASE");
    BASE.replacen(from, to, 1)
}

/// The 1-based number of the only line of `text` containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    let hits: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(
        hits.len(),
        1,
        "test setup: `{needle}` must be on exactly one line"
    );
    hits[0]
}

/// The `n`th line (1-based) that is exactly `line`.
fn nth_line_equal_to(text: &str, line: &str, n: usize) -> usize {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.trim() == line)
        .map(|(i, _)| i + 1)
        .nth(n - 1)
        .unwrap_or_else(|| panic!("test setup: no line #{n} equal to `{line}`"))
}

fn errors_in(text: &str) -> Vec<ScenarioError> {
    match parse_scenario(Path::new(FILE), text) {
        Ok(s) => panic!("expected errors, but scenario `{}` loaded", s.id),
        Err(errors) => errors,
    }
}

/// Asserts that `text` has exactly one problem, at `line` and `field`, whose message
/// contains `says`.
fn assert_single_error(text: &str, line: usize, field: &str, says: &str) {
    let errors = errors_in(text);
    assert_eq!(errors.len(), 1, "expected one error, got {errors:#?}");
    let e = &errors[0];
    assert_eq!(e.file, PathBuf::from(FILE), "file in {e}");
    assert_eq!(e.line, line, "line in {e}");
    assert_eq!(e.field, field, "field in {e}");
    assert!(
        e.message.contains(says),
        "message of {e} should contain `{says}`"
    );
}

#[test]
fn the_test_base_scenario_is_valid() {
    let s = parse_scenario(Path::new(FILE), BASE).expect("BASE is valid");
    assert_eq!(s.facts.len(), 3);
    assert_eq!(s.facts[1].requires, vec![FactId("pain-one".into())]);
}

#[test]
fn unknown_top_level_field_is_reported_at_its_line() {
    let text = base_with(
        "difficulty = \"intro\"\n",
        "difficulty = \"intro\"\ncolour = \"blue\"\n",
    );
    assert_single_error(
        &text,
        line_of(&text, "colour"),
        "colour",
        "unknown field `colour`",
    );
}

#[test]
fn unknown_field_inside_a_fact_names_the_fact_and_field() {
    let text = base_with("text = \"We want to grow.\"", "txt = \"We want to grow.\"");
    assert_single_error(
        &text,
        line_of(&text, "txt ="),
        "facts[1].txt",
        "unknown field `txt`, expected one of",
    );
}

#[test]
fn unknown_field_inside_bot_rules_names_the_full_path() {
    let text = base_with("trust = 50\n", "trust = 50\nmood = \"grumpy\"\n");
    assert_single_error(
        &text,
        line_of(&text, "mood"),
        "facts[2].bot.mood",
        "unknown field `mood`",
    );
}

#[test]
fn missing_top_level_field_is_named_and_concerns_the_whole_file() {
    let text = base_with("summary = \"A small valid scenario.\"\n", "");
    assert_single_error(&text, 0, "summary", "missing field `summary`");
}

#[test]
fn missing_field_in_a_fact_points_at_that_fact() {
    let text = base_with("text = \"We want to grow.\"\n", "");
    // The second `[[facts]]` header starts the fact that lacks `text`.
    assert_single_error(
        &text,
        nth_line_equal_to(&text, "[[facts]]", 2),
        "facts[1].text",
        "missing field `text`",
    );
}

#[test]
fn missing_field_in_a_section_points_at_the_section() {
    let text = base_with("recap = 60\n", "");
    assert_single_error(
        &text,
        line_of(&text, "[timings]"),
        "timings.recap",
        "missing field `recap`",
    );
}

#[test]
fn duplicate_fact_id_points_at_the_second_use() {
    let text = base_with("id = \"hidden-three\"", "id = \"pain-one\"");
    let second_use = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.trim() == "id = \"pain-one\"")
        .map(|(i, _)| i + 1)
        .nth(1)
        .expect("two uses");
    assert_single_error(
        &text,
        second_use,
        "facts[2].id",
        "duplicate fact id `pain-one` (first used by facts[0])",
    );
}

#[test]
fn duplicate_scenario_id_across_files_names_both_files() {
    let errors = Library::from_sources(vec![
        (PathBuf::from("scenarios/a.toml"), BASE.to_string()),
        (PathBuf::from("scenarios/b.toml"), BASE.to_string()),
    ])
    .expect_err("two scenarios share an id");
    assert_eq!(errors.0.len(), 1, "{errors}");
    let e = &errors.0[0];
    assert_eq!(e.file, PathBuf::from("scenarios/b.toml"));
    assert_eq!(e.line, line_of(BASE, "id = \"base\""));
    assert_eq!(e.field, "id");
    assert_eq!(
        e.message,
        "duplicate scenario id `base` (also in scenarios/a.toml)"
    );
}

#[test]
fn requirement_naming_no_fact_points_at_the_list_entry() {
    let text = base_with("requires = [\"pain-one\"]", "requires = [\"pain-won\"]");
    assert_single_error(
        &text,
        line_of(&text, "requires"),
        "facts[1].requires[0]",
        "requires `pain-won`, which names no fact",
    );
}

#[test]
fn requirement_cycle_is_reported_with_the_whole_loop() {
    let text = base_with(
        "id = \"pain-one\"\n",
        "id = \"pain-one\"\nrequires = [\"goal-two\"]\n",
    );
    assert_single_error(
        &text,
        line_of(&text, "requires = [\"goal-two\"]"),
        "facts[0].requires",
        "requirements form a cycle: `pain-one` -> `goal-two` -> `pain-one`",
    );
}

#[test]
fn fact_requiring_itself_is_reported() {
    let text = base_with("requires = [\"pain-one\"]", "requires = [\"goal-two\"]");
    assert_single_error(
        &text,
        line_of(&text, "requires"),
        "facts[1].requires[0]",
        "fact `goal-two` requires itself",
    );
}

#[test]
fn weight_out_of_range_is_reported_at_the_weight() {
    for bad in [0, 4] {
        let text = base_with("weight = 3", &format!("weight = {bad}"));
        assert_single_error(
            &text,
            line_of(&text, &format!("weight = {bad}")),
            "facts[1].weight",
            &format!("weight {bad} is out of range (1-3)"),
        );
    }
}

#[test]
fn weight_too_large_for_any_scale_is_reported_at_the_weight() {
    let text = base_with("weight = 3", "weight = 300");
    assert_single_error(
        &text,
        line_of(&text, "weight = 300"),
        "facts[1].weight",
        "300",
    );
}

#[test]
fn trust_above_the_scale_is_reported() {
    let text = base_with("trust = 30", "trust = 101");
    assert_single_error(
        &text,
        line_of(&text, "trust = 101"),
        "facts[1].bot.trust",
        "trust 101 is out of range (0-100)",
    );
}

#[test]
fn toml_syntax_error_reports_the_line() {
    let text = base_with("title = \"Base\"", "title = \"Base");
    assert_single_error(&text, line_of(&text, "title ="), "", "string");
}

#[test]
fn repeated_key_is_named_in_the_syntax_error() {
    let text = base_with(
        "title = \"Base\"\n",
        "title = \"Base\"\ntitle = \"Again\"\n",
    );
    assert_single_error(&text, line_of(&text, "Again"), "", "duplicate key `title`");
}

#[test]
fn unknown_fact_kind_lists_the_valid_kinds() {
    let text = base_with("kind = \"goal\"", "kind = \"wish\"");
    assert_single_error(
        &text,
        line_of(&text, "wish"),
        "facts[1].kind",
        "unknown variant `wish`, expected one of `goal`, `pain`, `impact`, `decision`, \
         `constraint`, `concern`, `personal`",
    );
}

#[test]
fn unknown_question_kind_points_into_the_asks_list() {
    let text = base_with("asks = [\"goal\"]", "asks = [\"goal\", \"vibes\"]");
    assert_single_error(
        &text,
        line_of(&text, "vibes"),
        "facts[1].bot.asks[1]",
        "unknown variant `vibes`",
    );
}

#[test]
fn non_slug_ids_are_rejected() {
    let text = base_with("id = \"base\"", "id = \"Base Case\"");
    assert_single_error(
        &text,
        line_of(&text, "Base Case"),
        "id",
        "must be a lowercase slug",
    );
}

#[test]
fn problems_in_several_facts_are_all_reported_in_file_order() {
    let text = base_with("kind = \"pain\"", "kind = \"ache\"");
    let text = text.replacen("depth = \"hidden\"", "depth = \"buried\"", 1);
    let text = text.replacen("opening_line = \"Hello.\"", "opening_line = 7", 1);
    let found: Vec<(usize, String)> = errors_in(&text)
        .into_iter()
        .map(|e| (e.line, e.field))
        .collect();
    assert_eq!(
        found,
        vec![
            (line_of(&text, "opening_line"), "opening_line".to_string()),
            (line_of(&text, "ache"), "facts[0].kind".to_string()),
            (line_of(&text, "buried"), "facts[2].depth".to_string()),
        ]
    );
}

#[test]
fn semantic_problems_are_all_reported_together() {
    let text = base_with("weight = 1", "weight = 9");
    let text = text.replacen("requires = [\"pain-one\"]", "requires = [\"nobody\"]", 1);
    let text = text.replacen("recap_cues = [\"leaving\"]", "recap_cues = []", 1);
    let fields: Vec<String> = errors_in(&text).into_iter().map(|e| e.field).collect();
    assert_eq!(
        fields,
        vec![
            "facts[0].weight",
            "facts[1].requires[0]",
            "facts[2].recap_cues"
        ]
    );
}

#[test]
fn error_display_reads_file_line_field_message() {
    let e = ScenarioError {
        file: PathBuf::from("scenarios/x.toml"),
        line: 12,
        field: "facts[1].kind".into(),
        message: "unknown variant `wish`".into(),
    };
    assert_eq!(
        e.to_string(),
        "scenarios/x.toml:12: facts[1].kind: unknown variant `wish`"
    );
    let whole_file = ScenarioError {
        line: 0,
        field: String::new(),
        ..e
    };
    assert_eq!(
        whole_file.to_string(),
        "scenarios/x.toml: unknown variant `wish`"
    );
}

/// The rules a scenario must meet to ship in the bundled library; the format itself
/// accepts smaller stories, but the shipped ones are what trainees learn from.
#[test]
fn bundled_scenarios_meet_the_library_rules() {
    /// Enough facts to hold a layered story, few enough to remember while playing.
    const FACTS: std::ops::RangeInclusive<usize> = 6..=10;
    /// A story of only pains and goals teaches only half of discovery.
    const MIN_KINDS: usize = 4;
    /// A recap can say a thing several ways; one cue would miss most of them.
    const MIN_CUES: usize = 3;
    const MIN_SCENARIOS: usize = 6;
    /// Trust bands by depth (docs/scenarios.md): deeper facts need some goodwill, hidden
    /// ones need more than the bot starts with.
    const SURFACE_TRUST: std::ops::RangeInclusive<u8> = 0..=20;
    const DEEPER_TRUST: std::ops::RangeInclusive<u8> = 20..=45;
    const HIDDEN_TRUST: std::ops::RangeInclusive<u8> = 40..=65;

    let library = Library::bundled().unwrap_or_else(|e| panic!("bundled scenarios: {e}"));
    assert!(
        library.len() >= MIN_SCENARIOS,
        "only {} bundled scenarios",
        library.len()
    );
    let mut problems = Vec::new();
    for s in library.all() {
        let id = &s.id;
        if !FACTS.contains(&s.facts.len()) {
            problems.push(format!("{id}: {} facts, want 6-10", s.facts.len()));
        }
        let depths: HashSet<Depth> = s.facts.iter().map(|f| f.depth).collect();
        if depths.len() != 3 {
            problems.push(format!("{id}: uses depths {depths:?}, want all three"));
        }
        let kinds: HashSet<FactKind> = s.facts.iter().map(|f| f.kind).collect();
        if kinds.len() < MIN_KINDS {
            problems.push(format!("{id}: only {} kinds of fact", kinds.len()));
        }
        if !s
            .facts
            .iter()
            .any(|f| f.bot.asks == [QuestionKind::AnythingElse])
        {
            problems.push(format!(
                "{id}: no fact earned only by asking \"anything else?\""
            ));
        }
        if s.facts.iter().all(|f| f.requires.is_empty()) {
            problems.push(format!("{id}: no fact requires another; the story is flat"));
        }
        if s.observer_checklist.is_empty() {
            problems.push(format!("{id}: no observer checklist"));
        }
        let mut cues_seen: HashSet<String> = HashSet::new();
        for f in &s.facts {
            for cue in &f.recap_cues {
                if !cues_seen.insert(cue.to_lowercase()) {
                    problems.push(format!("{id}/{}: cue `{cue}` is used by two facts", f.id));
                }
            }
            let trust_band = match f.depth {
                Depth::Surface => SURFACE_TRUST,
                Depth::Deeper => DEEPER_TRUST,
                Depth::Hidden => HIDDEN_TRUST,
            };
            if !trust_band.contains(&f.bot.trust) {
                problems.push(format!(
                    "{id}/{}: trust {} is outside {trust_band:?} for a {:?} fact",
                    f.id, f.bot.trust, f.depth
                ));
            }
            if !WEIGHT_RANGE.contains(&f.weight) {
                problems.push(format!("{id}/{}: weight {}", f.id, f.weight));
            }
            if f.recap_cues.len() < MIN_CUES {
                problems.push(format!("{id}/{}: fewer than {MIN_CUES} recap cues", f.id));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn bundled_library_is_the_scenarios_folder() {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let from_disk = Library::load_dir(&folder).unwrap_or_else(|e| panic!("{e}"));
    let bundled = Library::bundled().unwrap_or_else(|e| panic!("{e}"));
    let ids = |l: &Library| l.all().iter().map(|s| s.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&from_disk), ids(&bundled));
}

#[test]
fn published_json_schema_matches_the_code() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/scenario.schema.json");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == json_schema(),
        "{} is out of date with the scenario types; regenerate it with\n    \
         cargo run -p uncover -- schema > docs/scenario.schema.json",
        path.display()
    );
}

#[test]
fn documented_example_is_a_valid_scenario() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/scenarios.md");
    let doc = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let example = doc
        .split("## A complete example")
        .nth(1)
        .and_then(|rest| rest.split("```toml\n").nth(1))
        .and_then(|block| block.split("\n```").next())
        .expect("docs/scenarios.md has a toml block under `## A complete example`");
    let s = parse_scenario(Path::new("docs/scenarios.md"), example)
        .unwrap_or_else(|errors| panic!("the documented example is invalid: {errors:#?}"));
    assert!(s
        .facts
        .iter()
        .any(|f| f.bot.asks == [QuestionKind::AnythingElse]));
}
