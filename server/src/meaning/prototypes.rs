//! Example sentences that stand for the kinds of question a seller asks (SPIN's
//! situation, problem, implication and need-payoff, with goal, decision and concern) and
//! for empathy. They are generic, the same for every scenario, and the reader files a
//! seller's sentence under the nearest of them.

use serde::{Deserialize, Serialize};

/// What a seller's question is after.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aim {
    /// How things are today (SPIN: situation).
    Situation,
    /// What is going wrong (SPIN: problem).
    Problem,
    /// What a problem costs, who feels it, what follows (SPIN: implication).
    Implication,
    /// What solving it would be worth (SPIN: need-payoff).
    NeedPayoff,
    /// Where the buyer wants to get to.
    Goal,
    /// Who decides and how.
    Decision,
    /// Worries and risks about changing anything.
    Concern,
    /// Whether the buyer has anything more to say.
    MoreToSay,
    /// About something else, or about the seller's own offer.
    Other,
}

impl Aim {
    /// How the debrief names it.
    pub fn label(self) -> &'static str {
        match self {
            Aim::Situation => "situation",
            Aim::Problem => "problem",
            Aim::Implication => "implication",
            Aim::NeedPayoff => "need-payoff",
            Aim::Goal => "goal",
            Aim::Decision => "decision",
            Aim::Concern => "concern",
            Aim::MoreToSay => "anything else",
            Aim::Other => "other",
        }
    }
}

/// Questions that stand for each aim.
pub const AIMS: &[(Aim, &[&str])] = &[
    (
        Aim::Situation,
        &[
            "How do things work at the moment?",
            "Walk me through a normal day for your team.",
            "How is the team set up today?",
            "What do you use for this right now?",
            "How did you come to be doing it this way?",
            "Tell me a bit about how the business runs.",
        ],
    ),
    (
        Aim::Problem,
        &[
            "What isn't working the way you'd like?",
            "Where do things tend to go wrong?",
            "What frustrates you most about how it works now?",
            "What's the hardest part of this for you?",
            "Which part of the process gives you the most trouble?",
            "What's not going well right now?",
            "What keeps going wrong?",
        ],
    ),
    (
        Aim::Implication,
        &[
            "What does that cost you when it happens?",
            "Who ends up feeling it when that goes wrong?",
            "What happens further down the line because of that?",
            "How does that affect your customers?",
            "If nothing changes, where does that leave you in a year?",
            "What knock-on effects does that have?",
            "How does that show up in the numbers?",
            "What has that led to for you?",
            "How does that go down with the people above you?",
        ],
    ),
    (
        Aim::NeedPayoff,
        &[
            "What would it mean for you if that were solved?",
            "How would it help if that problem went away?",
            "What would fixing that be worth to the business?",
            "If that worked smoothly, what would it free you up to do?",
            "If that went away tomorrow, what would change for you?",
            "What would you do with the time you got back?",
            "How would things be different once that was sorted?",
        ],
    ),
    (
        Aim::Goal,
        &[
            "Where would you like to be in a couple of years?",
            "What are you hoping to achieve this year?",
            "What would a really good outcome look like for you?",
            "What are you aiming for?",
            "What does success look like for you?",
            "What are you hoping the business looks like in a few years?",
            "Where do you see things going next for you?",
            "What would you most like to have changed by this time next year?",
            "What are your plans for the future?",
            "What's the big ambition for the business?",
            "Where do you want to take things from here?",
            "What would you love to have achieved by next year?",
        ],
    ),
    (
        Aim::Decision,
        &[
            "Who else would be involved in a decision like this?",
            "How do decisions like this get made where you are?",
            "Who has the final say?",
            "Who else will have to live with whatever you choose?",
            "Whose support would you need to go ahead?",
            "Who signs off on spending like that?",
            "Whose approval would this need?",
            "Who else gets a say before anything changes?",
            "Who would you need to bring round?",
            "Who controls the budget for this?",
            "How did the last big purchase get approved?",
        ],
    ),
    (
        Aim::Concern,
        &[
            "What worries you about making a change?",
            "What would make you hesitate?",
            "What happened the last time you tried something like this?",
            "What's the biggest risk for you in changing?",
            "What would make you nervous about going ahead?",
            "What would stop you going ahead?",
            "What makes you wary about this?",
            "What could go wrong if you changed?",
            "Whose reaction worries you most?",
            "What is holding you back?",
        ],
    ),
];

/// Statements that acknowledge how the buyer feels.
pub const EMPATHY: &[&str] = &[
    "That sounds really hard.",
    "I can imagine how stressful that must be.",
    "That must be exhausting for you.",
    "No wonder you're worried about it.",
    "That sounds frustrating.",
    "I'm sorry, that can't have been easy.",
    "That's a lot to carry on your own.",
    "I'd be wary too after something like that.",
    // Shorter and plainer ways people acknowledge a feeling, so a brief "That must sting"
    // is heard as well as a full sentence.
    "That must sting.",
    "That's a real weight on your shoulders.",
    "I can hear how much this matters to you.",
    "Anyone would be worried in your position.",
    "That's a difficult conversation to have to face.",
    "Being let down like that is hard to forget.",
    "That's a lot of pressure on you.",
    "It's clear how much you care about your people.",
    "I'd feel the same in your shoes.",
    "That must keep you up at night.",
];

/// Questions that stand for small talk: friendly, and about nothing in the buyer's
/// business. A question nearer one of these than any example of any fact asks nothing a
/// trainer would credit, however its frame ("How long…", "What did you have…") happens
/// to resemble an example's.
pub const SMALL_TALK: &[&str] = &[
    "How was your weekend?",
    "Did you get up to anything nice on Saturday?",
    "Have you got a holiday booked this year?",
    "Where are you off to this summer?",
    "What's the weather meant to be like tomorrow?",
    "Do you think the rain will hold off?",
    "Did you see the match last night?",
    "Which team do you support?",
    "Do you play any sport yourself?",
    "What did you have for lunch?",
    "Do you know a good place to eat round here?",
    "Is the coffee any good in this building?",
    "How long does it take you to get in each morning?",
    "Was the traffic bad on your way in?",
    "Is it easy to park round here?",
    "Have you watched anything good on television lately?",
    "Read any good books recently?",
    "What kind of music are you into?",
    "Have you got any pets?",
    "How old are your children?",
    "What do you do to unwind in the evenings?",
    "Any plans for the bank holiday?",
    "Have you lived in the area long?",
    "Did you catch the news this morning?",
    "Are you doing anything special for Christmas?",
    "Have you been to the new restaurant in town?",
    "Do you get much chance to travel?",
    "How are you finding this cold snap?",
];
