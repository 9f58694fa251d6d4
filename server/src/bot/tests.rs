//! Tests for the bot buyer: how it reads messages, how trust moves, what it reveals and
//! says, that every bundled scenario rewards a patient seller and not a pitching one, and
//! the bot's rooms (solo practice and the matchmaking offer) on tokio's paused clock.

use std::sync::Arc;

use proptest::prelude::*;

use super::*;
use crate::scenario::{Library, Scenario};
use crate::scoring::percent;

fn library() -> Library {
    Library::bundled().expect("bundled scenarios are valid")
}

fn distributor() -> Arc<Scenario> {
    library()
        .get(&crate::scenario::ScenarioId("distributor-inventory".into()))
        .expect("the distributor scenario is bundled")
        .clone()
}

/// A conversation with the bot, recorded the way a room records it.
struct Round {
    scenario: Arc<Scenario>,
    bot: Bot,
    transcript: Vec<TranscriptLine>,
    reveals: Vec<Reveal>,
    turns: Vec<BotTurn>,
}

impl Round {
    fn new(scenario: Arc<Scenario>, seed: u64) -> Self {
        let mut bot = Bot::new(scenario.clone(), seed);
        let opening = bot.opening_line();
        let mut round = Self {
            scenario,
            bot,
            transcript: Vec::new(),
            reveals: Vec::new(),
            turns: Vec::new(),
        };
        round.push(Role::Buyer, opening);
        round
    }

    fn push(&mut self, from: Role, text: String) -> u32 {
        let index = self.transcript.len() as u32;
        self.transcript.push(TranscriptLine {
            index,
            from,
            text,
            at_ms: u64::from(index) * 1_000,
        });
        index
    }

    fn say(&mut self, text: &str) -> BotTurn {
        let index = self.push(Role::Seller, text.to_string());
        let turn = self.bot.hear(text);
        self.push(Role::Buyer, turn.reply.clone());
        if let Some(fact) = &turn.reveal {
            self.reveals.push(Reveal {
                fact: fact.clone(),
                at_ms: u64::from(index) * 1_000,
                earned_by: Some(index),
            });
        }
        self.turns.push(turn.clone());
        turn
    }

    fn uncovered_percent(&self) -> u32 {
        let got: u32 = self
            .reveals
            .iter()
            .filter_map(|r| self.scenario.fact(&r.fact))
            .map(|f| u32::from(f.weight))
            .sum();
        percent(got, self.scenario.total_weight())
    }

    fn trusts(&self) -> Vec<u8> {
        std::iter::once(START_TRUST)
            .chain(self.turns.iter().map(|t| t.trust))
            .collect()
    }
}

/// Generic discovery questions, three wordings per kind, for the patient seller. Nothing
/// here knows any scenario: the patient seller tests the rules, not a script.
const PATIENT_QUESTIONS: &[[&str; 3]] = &[
    [
        "To start with, what are you hoping to achieve over the next year or two?",
        "If we met again in two years and things had gone really well, what would success look like?",
        "What are your main priorities at the moment?",
    ],
    [
        "How do things work today, day to day?",
        "Could you walk me through how it's set up at the moment?",
        "What does a typical week look like for you right now?",
    ],
    [
        "What's getting in the way at the moment?",
        "Which parts of that are frustrating or not working as well as you'd like?",
        "What problems keep coming up?",
    ],
    [
        "What does that cost you when it happens?",
        "Who feels the effect of that, inside or outside the business?",
        "What happens if nothing changes?",
    ],
    [
        "Who else would be involved in deciding on a change like this?",
        "How do decisions like this usually get made, and who has the final say?",
        "Who else needs to be comfortable before anything changes?",
    ],
    [
        "When would you want something different in place?",
        "What timing are you working to? Is there a deadline?",
        "How soon does this need to be sorted?",
    ],
    [
        "How are you thinking about budget for something like this?",
        "What kind of money have you set aside for improvements like this?",
        "How do you usually fund changes like this?",
    ],
    [
        "What worries you about changing anything?",
        "What happened the last time you changed how things work?",
        "What would make you hesitate?",
    ],
    [
        "How is all of this for you personally?",
        "What does this mean to you, in your role?",
        "What's on your plate yourself at the moment?",
    ],
    [
        "Is there anything else I should know?",
        "What else is on your mind that we haven't covered?",
        "Is there something else going on that I haven't asked about?",
    ],
];

/// A patient seller: goals first, open questions of every kind, and after each thing the
/// buyer shares, empathy and a play-back of what was said.
/// Two rounds of every kind: twenty messages, about a ten-minute chat.
const PATIENT_PASSES: usize = 2;

fn patient_round(scenario: Arc<Scenario>) -> Round {
    let mut round = Round::new(scenario, 7);
    for pass in 0..PATIENT_PASSES {
        for wordings in PATIENT_QUESTIONS {
            let question = wordings[pass];
            let text = match round.turns.last() {
                Some(t) if t.reveal.is_some() => format!(
                    "That sounds like a lot to deal with. So what I'm hearing is: {} {question}",
                    t.reply.replace('?', ".")
                ),
                _ => question.to_string(),
            };
            round.say(&text);
        }
    }
    round
}

/// A seller who pitches at once, cites other customers, asks for a demo and fires
/// yes/no questions, with one lazy open question in the middle.
fn pitching_round(scenario: Arc<Scenario>) -> Round {
    let words = &scenario.seller.pitch_words;
    let pitch = words.first().cloned().unwrap_or_default();
    let pitch2 = words.get(1).cloned().unwrap_or_else(|| pitch.clone());
    let customer = scenario
        .seller
        .reference_customers
        .first()
        .cloned()
        .unwrap_or_else(|| "Microsoft".into());
    let script = [
        format!("Let me start by telling you about {pitch}. It's exactly what you need."),
        format!("{customer} started with us last year and loved it. Companies like yours see results fast."),
        "Can I book a demo for next week?".to_string(),
        "Do you have budget set aside this quarter?".to_string(),
        "Are you the one who signs off?".to_string(),
        format!("Would {pitch2} help you?"),
        "Is that a yes to the demo?".to_string(),
        "Do you use spreadsheets today?".to_string(),
        "What's your biggest problem?".to_string(),
        format!("Have you looked at {pitch}?"),
        "Can we get started this month?".to_string(),
        "Is there any reason not to sign today?".to_string(),
    ];
    let mut round = Round::new(scenario, 7);
    for line in &script {
        round.say(line);
    }
    round
}

// ---- Reading messages ----

#[test]
fn goal_questions_are_recognised_in_several_wordings() {
    let s = distributor();
    for q in [
        "What would success look like for you in two years?",
        "Where do you want the business to be in a couple of years?",
        "What are you trying to achieve this year?",
        "What are your goals for the next year?",
    ] {
        let r = read(&s, q, &[]);
        assert!(r.asks_kind(QuestionKind::Goal), "{q}: {r:?}");
        assert!(!r.is_yes_no(), "{q}");
    }
}

#[test]
fn each_kind_of_question_is_recognised() {
    let s = distributor();
    let cases = [
        ("How do you handle stock today?", QuestionKind::Situation),
        ("What's going wrong with the counts?", QuestionKind::Problem),
        (
            "What does it cost you when an order goes out short?",
            QuestionKind::Impact,
        ),
        (
            "Who else is involved in a decision like this?",
            QuestionKind::Decision,
        ),
        ("When do you need this in place?", QuestionKind::Timeline),
        ("How are you thinking about budget?", QuestionKind::Budget),
        ("What worries you about switching?", QuestionKind::Concern),
        (
            "How is all this landing on you personally?",
            QuestionKind::Personal,
        ),
        (
            "Is there anything else on your mind?",
            QuestionKind::AnythingElse,
        ),
        ("What else should I know?", QuestionKind::AnythingElse),
    ];
    for (q, kind) in cases {
        let r = read(&s, q, &[]);
        assert!(r.asks_kind(kind), "{q} should ask {kind:?}: {r:?}");
    }
}

#[test]
fn who_else_asks_about_the_decision_not_for_anything_else() {
    let r = read(&distributor(), "Who else has a say in this?", &[]);
    assert!(r.asks_kind(QuestionKind::Decision));
    assert!(!r.asks_kind(QuestionKind::AnythingElse));
    assert_eq!(r.question, Some(Question::Specific));
}

#[test]
fn yes_no_open_and_specific_questions_are_told_apart() {
    let s = distributor();
    assert_eq!(
        read(&s, "Do you use spreadsheets?", &[]).question,
        Some(Question::YesNo)
    );
    assert_eq!(
        read(&s, "Is budget approved?", &[]).question,
        Some(Question::YesNo)
    );
    assert_eq!(
        read(&s, "How does that work?", &[]).question,
        Some(Question::Open)
    );
    assert_eq!(
        read(&s, "Tell me about the warehouse.", &[]).question,
        Some(Question::Open)
    );
    assert_eq!(
        read(&s, "When did it start?", &[]).question,
        Some(Question::Specific)
    );
    // "Is there anything else?" has a yes/no form but invites the buyer to talk.
    assert_eq!(
        read(&s, "Is there anything else?", &[]).question,
        Some(Question::Open)
    );
    assert_eq!(read(&s, "Thanks for your time.", &[]).question, None);
}

#[test]
fn a_play_back_statement_does_not_add_question_kinds() {
    let r = read(
        &distributor(),
        "So the counts are wrong. What does that cost you?",
        &[],
    );
    assert!(r.asks_kind(QuestionKind::Impact));
    assert!(!r.asks_kind(QuestionKind::Problem), "{r:?}");
}

#[test]
fn pitches_name_drops_and_demo_requests_are_spotted() {
    let s = distributor();
    let r = read(&s, "StockLine fixes that with live stock levels.", &[]);
    assert_eq!(r.pitch.as_deref(), Some("StockLine"));
    let r = read(&s, "Sysco had the same issue and loved us.", &[]);
    assert!(!r.name_drops.is_empty());
    let r = read(&s, "Could I show you how it works next week?", &[]);
    assert!(r.demo_request && r.sells());
    let r = read(&s, "What are you hoping to achieve?", &[]);
    assert!(!r.sells() && r.name_drops.is_empty());
}

#[test]
fn playing_back_the_buyers_words_counts_as_a_summary() {
    let s = distributor();
    let buyer = "The numbers in the system and the numbers on the shelf don't agree.";
    let r = read(
        &s,
        "Numbers in the system versus the shelf, got it.",
        &[buyer],
    );
    assert!(r.play_back);
    let r = read(&s, "If I understand you, the counts are off.", &[]);
    assert!(r.play_back);
    let r = read(&s, "Numbers matter.", &[buyer]);
    assert!(!r.play_back, "one shared word is not a play-back");
}

#[test]
fn empathy_is_spotted() {
    let s = distributor();
    assert!(read(&s, "That sounds exhausting.", &[]).empathy);
    assert!(read(&s, "I can imagine that wears you down.", &[]).empathy);
    assert!(!read(&s, "Okay, next question.", &[]).empathy);
}

// ---- Trust ----

fn reading(s: &Scenario, text: &str) -> Reading {
    read(s, text, &[])
}

#[test]
fn pitching_before_any_pain_or_goal_costs_more_than_after() {
    let s = distributor();
    let r = reading(&s, "Let me tell you about StockLine.");
    let mut early = TrustTracker::default();
    assert_eq!(early.hear(&r, false), vec![Cause::EarlyPitch]);
    let mut late = TrustTracker::default();
    assert_eq!(late.hear(&r, true), vec![Cause::LatePitch]);
    assert!(early.trust() < late.trust());
    assert!(late.trust() < START_TRUST);
}

#[test]
fn the_third_yes_no_question_in_a_row_is_rapid_fire() {
    let s = distributor();
    let mut t = TrustTracker::default();
    assert!(!t
        .hear(&reading(&s, "Do you use Excel?"), false)
        .contains(&Cause::RapidFire));
    assert!(!t
        .hear(&reading(&s, "Is it shared?"), false)
        .contains(&Cause::RapidFire));
    assert!(t
        .hear(&reading(&s, "Are you happy with it?"), false)
        .contains(&Cause::RapidFire));
    assert_eq!(t.last_drop(), Some(Cause::RapidFire));
    // An open question breaks the run.
    t.hear(&reading(&s, "How does that work?"), false);
    assert!(!t
        .hear(&reading(&s, "Do you like it?"), false)
        .contains(&Cause::RapidFire));
}

#[test]
fn good_habits_raise_trust_but_one_message_adds_at_most_the_cap() {
    let s = distributor();
    let mut t = TrustTracker::default();
    let causes = t.hear(
        &reading(
            &s,
            "That sounds hard. So what I'm hearing is it's a mess. What are you hoping to achieve, and is there anything else?",
        ),
        false,
    );
    assert!(causes.contains(&Cause::PlayBack) && causes.contains(&Cause::Empathy));
    assert_eq!(
        i32::from(t.trust()),
        i32::from(START_TRUST) + MAX_RISE_PER_MESSAGE
    );
}

#[test]
fn a_message_sent_twice_earns_nothing_the_second_time() {
    let s = distributor();
    let mut t = TrustTracker::default();
    let r = reading(&s, "What are you hoping to achieve?");
    t.hear(&r, false);
    let after_first = t.trust();
    assert!(after_first > START_TRUST);
    assert!(t.hear(&r, false).is_empty());
    assert_eq!(t.trust(), after_first);
}

#[test]
fn trust_stays_within_zero_and_a_hundred() {
    let s = distributor();
    let mut t = TrustTracker::default();
    for i in 0..20 {
        t.hear(
            &reading(&s, &format!("Sysco loves StockLine, demo number {i}?")),
            false,
        );
    }
    assert_eq!(t.trust(), 0);
    for i in 0..20 {
        t.hear(
            &reading(
                &s,
                &format!(
                    "That sounds hard. If I understand, goal {i}: what do you hope to achieve?"
                ),
            ),
            true,
        );
    }
    assert_eq!(t.trust(), TRUST_MAX);
}

#[test]
fn heard_follows_final_trust_in_fifths() {
    assert_eq!(heard_for(0), 1);
    assert_eq!(heard_for(19), 1);
    assert_eq!(heard_for(20), 2);
    assert_eq!(heard_for(59), 3);
    assert_eq!(heard_for(80), 5);
    assert_eq!(heard_for(100), 5);
}

// ---- Replies ----

#[test]
fn the_bot_opens_with_the_scenarios_opening_line() {
    let s = distributor();
    let mut bot = Bot::new(s.clone(), 1);
    assert_eq!(bot.opening_line(), s.opening_line.trim());
}

#[test]
fn an_earned_fact_is_told_in_its_own_words() {
    let s = distributor();
    let mut bot = Bot::new(s.clone(), 1);
    bot.opening_line();
    let turn = bot.hear("What are you hoping to achieve over the next couple of years?");
    let fact = s.fact(&FactId("grow-to-third-site".into())).unwrap();
    assert_eq!(turn.reveal.as_ref(), Some(&fact.id));
    assert_eq!(turn.reply, fact.bot.line.trim());
    assert_eq!(turn.kind, ReplyKind::Reveal);
}

#[test]
fn a_pitch_before_any_pain_gets_a_nudge_asking_why() {
    let mut bot = Bot::new(distributor(), 1);
    bot.opening_line();
    let turn = bot.hear("StockLine gives you live stock levels across both warehouses.");
    assert_eq!(turn.kind, ReplyKind::Nudge);
    assert!(turn.reveal.is_none());
    assert!(turn.trust < START_TRUST);
}

#[test]
fn at_low_trust_the_bot_is_guarded_and_says_why() {
    let mut bot = Bot::new(distributor(), 1);
    bot.opening_line();
    for q in [
        "Do you use Excel?",
        "Is it shared?",
        "Are you happy?",
        "Do you count weekly?",
        "Is it accurate?",
    ] {
        bot.hear(q);
    }
    let turn = bot.hear("Do you have a budget?");
    assert!(turn.trust < GUARDED_BELOW, "trust {}", turn.trust);
    assert_eq!(turn.kind, ReplyKind::Guarded);
    assert!(
        pool(ReplyKind::Guarded, Some(Cause::RapidFire)).contains(&turn.reply.as_str()),
        "a rapid-fire reason: {}",
        turn.reply
    );
}

#[test]
fn a_yes_no_question_never_earns_a_deeper_fact() {
    let s = distributor();
    let mut bot = Bot::new(s.clone(), 1);
    bot.opening_line();
    // Build trust first, then ask a yes/no goal question.
    bot.hear("That sounds hard. If I understand, it's been a long year.");
    let turn = bot.hear("Is growing the business a goal for you?");
    assert!(turn.reading.is_yes_no() && turn.reading.asks_kind(QuestionKind::Goal));
    assert!(turn.trust >= 30);
    assert_eq!(turn.reveal, None);
    assert_eq!(turn.kind, ReplyKind::Short);
}

#[test]
fn a_fact_waits_for_trust_and_for_its_requirements() {
    let s = distributor();
    let mut bot = Bot::new(s.clone(), 1);
    bot.opening_line();
    // son-takes-over needs trust 50; trust starts at 35.
    let turn = bot.hear("Who else would be involved in deciding?");
    assert_eq!(turn.reveal, None);
    assert_eq!(turn.kind, ReplyKind::NotYetTrusted);
    // late-deliveries needs stock-counts-wrong out first.
    let turn = bot.hear("What does it cost the business?");
    assert_eq!(turn.reveal, None);
    assert_eq!(turn.kind, ReplyKind::NotYetConnected);
}

#[test]
fn nothing_left_to_tell_is_said_plainly() {
    let s = distributor();
    let mut bot = Bot::new(s.clone(), 1);
    bot.opening_line();
    let turn = bot.hear("When do you need this done by?");
    assert_eq!(
        turn.kind,
        ReplyKind::Covered,
        "no timeline fact in this story"
    );
    let turn = bot.hear("How's the weather been?");
    assert_eq!(turn.kind, ReplyKind::Vague);
}

// ---- Every bundled scenario ----

#[test]
fn a_patient_seller_uncovers_at_least_80_percent_of_every_scenario() {
    let lib = library();
    assert!(!lib.is_empty());
    let mut failures = Vec::new();
    for s in lib.all() {
        let round = patient_round(s.clone());
        let pct = round.uncovered_percent();
        if pct < 80 {
            let missed: Vec<String> = s
                .facts
                .iter()
                .filter(|f| !round.reveals.iter().any(|r| r.fact == f.id))
                .map(|f| format!("{} (asks {:?}, trust {})", f.id, f.bot.asks, f.bot.trust))
                .collect();
            failures.push(format!("{}: {pct}%, missed {}", s.id, missed.join(", ")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_pitch_first_seller_uncovers_at_most_30_percent_and_loses_trust() {
    for s in library().all() {
        let round = pitching_round(s.clone());
        let pct = round.uncovered_percent();
        assert!(pct <= 30, "{}: a pitching seller uncovered {pct}%", s.id);
        let trusts = round.trusts();
        let last = *trusts.last().unwrap();
        assert!(last < START_TRUST, "{}: trust ended at {last}", s.id);
        assert!(
            trusts[1] < trusts[0],
            "{}: the opening pitch costs trust",
            s.id
        );
    }
}

#[test]
fn the_trust_curve_rebuilt_from_the_transcript_matches_the_live_bot() {
    for s in library().all() {
        for round in [patient_round(s.clone()), pitching_round(s.clone())] {
            let curve = trust_curve(s, &round.transcript, &round.reveals);
            let rebuilt: Vec<u8> = curve.iter().map(|p| p.trust).collect();
            assert_eq!(rebuilt, round.trusts(), "{}", s.id);
            assert_eq!(curve[0].index, None);
            let seller_lines: Vec<Option<u32>> = round
                .transcript
                .iter()
                .filter(|l| l.from == Role::Seller)
                .map(|l| Some(l.index))
                .collect();
            let indexes: Vec<Option<u32>> = curve[1..].iter().map(|p| p.index).collect();
            assert_eq!(indexes, seller_lines);
        }
    }
}

#[test]
fn the_same_seed_and_messages_give_the_same_replies() {
    let script = [
        "Hi there.",
        "Do you use Excel?",
        "How's business?",
        "Do you like it?",
        "Is it busy?",
        "Okay.",
        "Right, what else?",
        "Interesting.",
        "Do you travel?",
        "How's the team?",
        "Sure.",
        "Do you count weekly?",
    ];
    let replies = |seed: u64| -> Vec<String> {
        let mut round = Round::new(distributor(), seed);
        script.iter().map(|m| round.say(m).reply).collect()
    };
    assert_eq!(replies(42), replies(42));
    assert_ne!(replies(1), replies(2), "a different seed picks other lines");
}

#[test]
fn a_bot_rebuilt_from_the_transcript_carries_on_as_the_original() {
    let s = distributor();
    let mut round = Round::new(s.clone(), 9);
    let questions: Vec<&str> = PATIENT_QUESTIONS.iter().map(|w| w[0]).collect();
    let (first, rest) = questions.split_at(4);
    for q in first {
        round.say(q);
    }
    let mut rebuilt = Bot::replayed(s, 9, &round.transcript);
    assert_eq!(rebuilt.trust(), round.bot.trust());
    assert_eq!(rebuilt.revealed(), round.bot.revealed());
    for q in rest {
        assert_eq!(rebuilt.hear(q), round.say(q), "{q}");
    }
}

// ---- Invariants over random messages ----

/// Pieces random seller messages are built from; `{pitch}` and `{customer}` become the
/// scenario's first pitch word and reference customer.
const FRAGMENTS: &[&str] = &[
    "What are you hoping to achieve?",
    "What would success look like?",
    "How do things work today?",
    "What's getting in the way?",
    "What does that cost you?",
    "Who else is involved in the decision?",
    "When do you need it?",
    "What's the budget?",
    "What worries you?",
    "How is this for you personally?",
    "Is there anything else?",
    "What else?",
    "Do you use spreadsheets?",
    "Is it working?",
    "Are you the decision maker?",
    "That sounds hard.",
    "So what I'm hearing is",
    "If I understand you,",
    "Let me tell you about {pitch}.",
    "{customer} loves us.",
    "Companies like yours buy from us.",
    "Can I book a demo?",
    "Tell me more.",
    "Why?",
    "Okay.",
    "?",
    "…",
    "¿Qué tal? ✨",
    "",
];

fn message() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => prop::sample::select(FRAGMENTS).prop_map(String::from),
        1 => "[ -~]{0,40}",
    ];
    prop::collection::vec(piece, 1..4).prop_map(|v| v.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn the_bot_only_reveals_what_the_rules_allow(
        which in 0usize..64,
        seed in any::<u64>(),
        script in prop::collection::vec(message(), 1..16),
    ) {
        let lib = library();
        let s = lib.all()[which % lib.len()].clone();
        let pitch = s.seller.pitch_words.first().cloned().unwrap_or_default();
        let customer = s.seller.reference_customers.first().cloned().unwrap_or_default();
        let mut round = Round::new(s.clone(), seed);
        let mut revealed: Vec<FactId> = Vec::new();
        let mut before = START_TRUST;
        for raw in &script {
            let text = raw.replace("{pitch}", &pitch).replace("{customer}", &customer);
            let turn = round.say(&text);
            prop_assert!(turn.trust <= TRUST_MAX);
            prop_assert!(i32::from(turn.trust) - i32::from(before) <= MAX_RISE_PER_MESSAGE);
            before = turn.trust;
            match &turn.reveal {
                Some(id) => {
                    let f = s.fact(id).expect("a real fact");
                    prop_assert!(!revealed.contains(id), "revealed twice: {}", id);
                    prop_assert!(
                        f.requires.iter().all(|r| revealed.contains(r)),
                        "{} came out before its requirements", id
                    );
                    prop_assert!(turn.trust >= f.bot.trust);
                    prop_assert!(f.bot.asks.iter().any(|k| turn.reading.asks_kind(*k)));
                    prop_assert!(!turn.reading.is_yes_no() || f.depth == Depth::Surface);
                    prop_assert_eq!(&turn.reply, f.bot.line.trim());
                    revealed.push(id.clone());
                }
                None => {
                    for f in &s.facts {
                        prop_assert!(!turn.reply.contains(f.bot.line.trim()));
                        prop_assert!(!turn.reply.contains(f.text.trim()));
                    }
                    prop_assert!(!turn.reply.is_empty());
                }
            }
        }
        let curve: Vec<u8> = trust_curve(&s, &round.transcript, &round.reveals)
            .iter()
            .map(|p| p.trust)
            .collect();
        prop_assert_eq!(curve, round.trusts());
    }
}

// ---- Bot rooms ----

mod rooms {
    //! Bot rooms through the hub, on tokio's paused clock.

    use std::sync::Arc;
    use std::time::Duration;

    use tokio::sync::{mpsc, Notify};

    use crate::bot::{BotSettings, ReplyDelay, BOT_OFFER_AFTER, START_TRUST};
    use crate::hub::{Hub, Participant};
    use crate::outbox::{Connection, Outbox, Outgoing};
    use crate::protocol::{ClientMsg, ErrorCode, Phase, Role, ServerMsg};
    use crate::room_task::RoomCmd;
    use crate::scenario::{Library, ScenarioId};

    const SCENARIO: &str = "distributor-inventory";

    struct Person {
        p: Arc<Participant>,
        rx: mpsc::Receiver<Outgoing>,
        /// Everything received so far, in order.
        seen: Vec<ServerMsg>,
    }

    impl Person {
        fn join(hub: &Arc<Hub>, name: &str) -> Self {
            let (tx, rx) = mpsc::channel(256);
            let outbox = Arc::new(Outbox::new(Connection::new(tx, Arc::new(Notify::new()))));
            Self {
                // The memory log commits at once, so this is ready when first polled.
                p: futures_util::FutureExt::now_or_never(hub.introduce(name.into(), outbox))
                    .and_then(Result::ok)
                    .expect("introduced"),
                rx,
                seen: Vec::new(),
            }
        }

        /// Lets every task run, then returns what arrived since last time.
        async fn fresh(&mut self) -> Vec<ServerMsg> {
            tokio::time::sleep(Duration::from_millis(1)).await;
            let mut out = Vec::new();
            while let Ok(Outgoing::Text(t)) = self.rx.try_recv() {
                let frame: crate::protocol::ServerFrame = serde_json::from_str(t.as_str()).unwrap();
                out.push(frame.msg);
            }
            self.seen.extend(out.iter().cloned());
            out
        }

        async fn room(&self, msg: ClientMsg) {
            let room = self.p.room().expect("in a room");
            assert!(
                room.send(RoomCmd::Client {
                    from: self.p.id,
                    msg
                })
                .await
            );
        }

        async fn chat(&self, text: &str) {
            self.room(ClientMsg::Chat { text: text.into() }).await;
        }
    }

    fn hub(delay: ReplyDelay) -> Arc<Hub> {
        let hub = Hub::new(Arc::new(Library::bundled().unwrap()), Vec::new());
        hub.set_bot_settings(BotSettings {
            reply_delay: delay,
            ..BotSettings::default()
        });
        hub
    }

    fn buyer_chats(msgs: &[ServerMsg]) -> Vec<(u32, String)> {
        msgs.iter()
            .filter_map(|m| match m {
                ServerMsg::Chat {
                    index,
                    from: Role::Buyer,
                    text,
                    ..
                } => Some((*index, text.clone())),
                _ => None,
            })
            .collect()
    }

    #[tokio::test(start_paused = true)]
    async fn a_solo_round_with_the_bot_runs_from_brief_to_debrief() {
        let hub = hub(ReplyDelay::NONE);
        let scenario = hub
            .library()
            .get(&ScenarioId(SCENARIO.into()))
            .unwrap()
            .clone();
        let mut seller = Person::join(&hub, "Sam");
        hub.lobby(
            &seller.p,
            ClientMsg::PractiseWithBot {
                scenario: Some(ScenarioId(SCENARIO.into())),
            },
        )
        .await;
        let opened = seller.fresh().await;
        match &opened[0] {
            ServerMsg::RoomOpened { role, partner, .. } => {
                assert_eq!(*role, Role::Seller);
                assert_eq!(partner, &format!("{} (bot)", scenario.buyer.name));
            }
            other => panic!("expected room_opened, got {other:?}"),
        }
        assert!(
            opened.iter().any(|m| matches!(m, ServerMsg::PartnerReady)),
            "the bot is ready at once"
        );

        seller.room(ClientMsg::Ready).await;
        let msgs = seller.fresh().await;
        assert!(msgs.iter().any(|m| matches!(
            m,
            ServerMsg::Phase {
                phase: Phase::Conversation,
                ..
            }
        )));
        assert_eq!(
            buyer_chats(&msgs),
            vec![(0, scenario.opening_line.trim().to_string())]
        );

        seller
            .chat("What are you hoping to achieve over the next couple of years?")
            .await;
        let replies = buyer_chats(&seller.fresh().await);
        let goal = scenario
            .fact(&crate::scenario::FactId("grow-to-third-site".into()))
            .unwrap();
        assert_eq!(replies, vec![(2, goal.bot.line.trim().to_string())]);

        seller.chat("StockLine would fix all of that.").await;
        seller.fresh().await;
        seller.room(ClientMsg::EndConversation).await;
        let msgs = seller.fresh().await;
        assert!(
            msgs.iter()
                .any(|m| matches!(m, ServerMsg::PartnerSubmitted { role: Role::Buyer })),
            "the bot gives its feedback when the recap starts"
        );
        seller
            .room(ClientMsg::Recap {
                text: "He wants a third depot on the coast.".into(),
            })
            .await;
        let msgs = seller.fresh().await;
        let debrief = msgs
            .iter()
            .find_map(|m| match m {
                ServerMsg::Debrief(d) => Some(d),
                _ => None,
            })
            .expect("a debrief once the recap is in");
        let earned = debrief
            .facts
            .iter()
            .find(|f| f.id == goal.id)
            .and_then(|f| f.earned_by.as_ref())
            .map(|l| l.index);
        assert_eq!(earned, Some(1), "earned by the seller's question");
        let curve: Vec<(Option<u32>, u8)> = debrief
            .trust_curve
            .iter()
            .map(|p| (p.index, p.trust))
            .collect();
        assert_eq!(
            curve.len(),
            3,
            "start, then one point per seller line: {curve:?}"
        );
        assert_eq!(curve[0], (None, START_TRUST));
        assert!(
            curve[1].1 > curve[0].1 && curve[2].1 < curve[1].1,
            "{curve:?}"
        );
        let feedback = debrief.feedback.as_ref().expect("the bot's feedback");
        assert!((1..=5).contains(&feedback.heard));
        assert!(!feedback.comment.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn the_seller_learns_nothing_hidden_before_the_debrief() {
        let hub = hub(ReplyDelay::NONE);
        let scenario = hub
            .library()
            .get(&ScenarioId(SCENARIO.into()))
            .unwrap()
            .clone();
        let mut seller = Person::join(&hub, "Sam");
        hub.lobby(
            &seller.p,
            ClientMsg::PractiseWithBot {
                scenario: Some(ScenarioId(SCENARIO.into())),
            },
        )
        .await;
        seller.room(ClientMsg::Ready).await;
        for q in super::PATIENT_QUESTIONS.iter().map(|w| w[0]) {
            seller.chat(q).await;
            seller.fresh().await;
        }
        seller.room(ClientMsg::EndConversation).await;
        seller.fresh().await;
        let said: Vec<String> = buyer_chats(&seller.seen).into_iter().map(|c| c.1).collect();
        let before_debrief = serde_json::to_string(&seller.seen).unwrap();
        assert!(!before_debrief.contains("\"revealed\""));
        assert!(!before_debrief.contains("trust_curve"));
        for f in &scenario.facts {
            assert!(
                !before_debrief.contains(&format!("\"{}\"", f.id)),
                "{}",
                f.id
            );
            assert!(!before_debrief.contains(f.text.trim()), "{}", f.id);
            let line = f.bot.line.trim();
            assert!(
                !before_debrief.contains(line) || said.iter().any(|s| s == line),
                "{} reached the seller other than as the bot's own words",
                f.id
            );
        }
        assert!(
            said.len() > super::PATIENT_QUESTIONS.len(),
            "the bot answered every line"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_bot_takes_its_time_but_answers_before_the_next_line() {
        let hub = hub(ReplyDelay::HUMAN);
        let mut seller = Person::join(&hub, "Sam");
        hub.lobby(
            &seller.p,
            ClientMsg::PractiseWithBot {
                scenario: Some(ScenarioId(SCENARIO.into())),
            },
        )
        .await;
        seller.room(ClientMsg::Ready).await;
        seller.fresh().await;
        seller.chat("How do things work today?").await;
        assert!(
            buyer_chats(&seller.fresh().await).is_empty(),
            "still typing"
        );
        // The seller writes again before the reply: the reply lands first.
        seller.chat("And how long has it been like that?").await;
        let msgs = seller.fresh().await;
        let order: Vec<(Role, u32)> = msgs
            .iter()
            .filter_map(|m| match m {
                ServerMsg::Chat { from, index, .. } => Some((*from, *index)),
                _ => None,
            })
            .collect();
        assert_eq!(order, vec![(Role::Buyer, 2), (Role::Seller, 3)]);
        tokio::time::sleep(Duration::from_secs(4)).await;
        assert_eq!(
            buyer_chats(&seller.fresh().await).len(),
            1,
            "the second answer"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_trainee_waiting_alone_is_offered_the_bot_and_can_take_it() {
        let hub = hub(ReplyDelay::NONE);
        let mut ana = Person::join(&hub, "Ana");
        hub.lobby(&ana.p, ClientMsg::FindPartner { scenario: None })
            .await;
        assert!(matches!(ana.fresh().await[..], [ServerMsg::Waiting { .. }]));

        hub.lobby(&ana.p, ClientMsg::AcceptBot).await;
        assert!(matches!(
            ana.fresh().await[..],
            [ServerMsg::Error {
                code: ErrorCode::WrongState,
                ..
            }]
        ));

        tokio::time::sleep(BOT_OFFER_AFTER).await;
        assert!(matches!(ana.fresh().await[..], [ServerMsg::BotAvailable]));
        hub.lobby(&ana.p, ClientMsg::AcceptBot).await;
        let msgs = ana.fresh().await;
        assert!(
            matches!(&msgs[0], ServerMsg::RoomOpened { role: Role::Seller, partner, .. } if partner.ends_with("(bot)")),
            "{msgs:?}"
        );
        // No longer waiting: a newcomer is not paired with Ana.
        let mut ben = Person::join(&hub, "Ben");
        hub.lobby(&ben.p, ClientMsg::FindPartner { scenario: None })
            .await;
        assert!(matches!(ben.fresh().await[..], [ServerMsg::Waiting { .. }]));
    }

    #[tokio::test(start_paused = true)]
    async fn cancelling_the_wait_withdraws_the_bot_offer() {
        let hub = hub(ReplyDelay::NONE);
        let mut ana = Person::join(&hub, "Ana");
        hub.lobby(&ana.p, ClientMsg::FindPartner { scenario: None })
            .await;
        tokio::time::sleep(BOT_OFFER_AFTER / 2).await;
        hub.lobby(&ana.p, ClientMsg::CancelWaiting).await;
        tokio::time::sleep(BOT_OFFER_AFTER).await;
        let msgs = ana.fresh().await;
        assert!(
            !msgs.iter().any(|m| matches!(m, ServerMsg::BotAvailable)),
            "{msgs:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_bot_room_closes_when_the_seller_leaves() {
        let hub = hub(ReplyDelay::NONE);
        let mut seller = Person::join(&hub, "Sam");
        hub.lobby(&seller.p, ClientMsg::PractiseWithBot { scenario: None })
            .await;
        seller.fresh().await;
        assert_eq!(hub.room_count(), 1);
        hub.leave_room(&seller.p).await;
        seller.fresh().await;
        assert_eq!(hub.room_count(), 0);
        assert!(seller.p.room().is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn practising_with_an_unknown_scenario_is_refused() {
        let hub = hub(ReplyDelay::NONE);
        let mut seller = Person::join(&hub, "Sam");
        hub.lobby(
            &seller.p,
            ClientMsg::PractiseWithBot {
                scenario: Some(ScenarioId("no-such-story".into())),
            },
        )
        .await;
        assert!(matches!(
            seller.fresh().await[..],
            [ServerMsg::Error {
                code: ErrorCode::NotFound,
                ..
            }]
        ));
    }
}
