//! What the bot says when a message earns no fact: small pools of generic, in-character
//! lines shared by every scenario, so no pool line can hold a hidden fact.

use super::trust::Cause;

/// Which pool a reply came from (or that it revealed a fact).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReplyKind {
    /// The fact's `bot.line`.
    Reveal,
    /// The seller pitched or asked for a demo before the buyer's deeper story was out.
    Nudge,
    /// The seller cited another company.
    NameDrop,
    /// Trust is below [`super::GUARDED_BELOW`]; the line says why.
    Guarded,
    /// More than two questions, or a list of topics, in one message.
    Questionnaire,
    /// A yes/no question that asks for no fact: a short answer.
    Short,
    /// A question that asks for none of the facts, or has no topic at all.
    Vague,
    /// Asked for more, or about a fact already told, when there is nothing more.
    Covered,
    /// A fact matches but trust is not there yet.
    NotYetTrusted,
    /// A fact matches but the facts it builds on are not out yet.
    NotYetConnected,
    /// A play-back without a question.
    Confirm,
    /// Empathy without a question.
    Thanks,
    /// Any other statement.
    Listening,
}

/// The bot's comment in the recap phase, by how heard it felt (index = heard - 1).
pub const FEEDBACK_COMMENTS: [&str; 5] = [
    "It felt like a sales pitch from start to finish. I didn't feel listened to.",
    "You asked some questions, but mostly you seemed to be waiting to talk about your product.",
    "Some of it landed. I'd have said more if you'd followed up on what I told you.",
    "You listened and asked good questions. I told you more than I expected to.",
    "I felt properly heard. You understood what this is really about for me.",
];

/// The lines a reply of `kind` is drawn from; a guarded reply names what last cost trust.
pub fn pool(kind: ReplyKind, last_drop: Option<Cause>) -> &'static [&'static str] {
    match kind {
        ReplyKind::Reveal => &[],
        ReplyKind::Nudge => &[
            "Hang on. Why do you think we need that at all?",
            "You're already selling, and you hardly know us yet. What makes you think this is our problem?",
            "I haven't said we need anything. What have you heard that makes you so sure?",
            "Let's not jump ahead. Do you actually know what's going on here?",
        ],
        ReplyKind::NameDrop => &[
            "Good for them. We're not them, though.",
            "I don't know those people, and they don't know us.",
            "Every place is different. I'd rather talk about this one.",
            "Other people's stories don't tell me much about mine.",
        ],
        ReplyKind::Guarded => match last_drop {
            Some(Cause::EarlyPitch | Cause::LatePitch) => &[
                "This is starting to sound like a sales call, so I'll keep it short.",
                "I'd rather not go into that while you're still selling to me.",
                "Honestly? You've told me more about your product than you've asked about me.",
            ],
            Some(Cause::NameDrop) => &[
                "You keep telling me about other people. I'll keep this brief.",
                "I'm not sure you're interested in us in particular, so I'll leave it there.",
                "All these other firms... I'll pass on that one.",
            ],
            Some(Cause::RapidFire | Cause::Questionnaire) => &[
                "That's a lot of questions in a row. It feels like filling in a form.",
                "You're firing questions faster than I can answer. It depends.",
                "I'm not sure where all these yes-or-no questions are going.",
            ],
            _ => &[
                "I'd rather not get into that.",
                "Let's leave that for now.",
                "I don't think I want to go there yet.",
            ],
        },
        ReplyKind::Questionnaire => &[
            "That's a lot of questions at once. Which one do you actually want answered?",
            "Slow down. One thing at a time, please.",
            "I can't answer all of that in one go. Pick one.",
        ],
        ReplyKind::Short => &[
            "It depends.",
            "More or less.",
            "Sometimes, yes.",
            "Not in so many words.",
            "Hard to say yes or no to that.",
            "I suppose so, in a way.",
        ],
        ReplyKind::Vague => &[
            "That's a broad one. Where do you want me to start?",
            "Oh, this and that. It's been a busy year.",
            "Depends what you mean, really.",
            "Fine, mostly. Nothing I'd call unusual.",
        ],
        ReplyKind::Covered => &[
            "I think I've told you what there is on that.",
            "Nothing more to add there, really.",
            "Not much to say about that one.",
            "That's about it on that front.",
        ],
        ReplyKind::NotYetTrusted => &[
            "That's not something I'd share with someone I've only just met.",
            "Maybe. Let's see how this conversation goes first.",
            "There's more to it, but I don't know you well enough yet.",
            "I'll keep that to myself for now, if you don't mind.",
        ],
        ReplyKind::NotYetConnected => &[
            "Hard to answer that before we've talked about the basics.",
            "That depends on things we haven't got into yet.",
            "I'm not sure how to answer that without more of the background.",
        ],
        ReplyKind::Confirm => &[
            "Yes, that's about the size of it.",
            "That's fair, yes.",
            "Pretty much, yes.",
        ],
        ReplyKind::Thanks => &[
            "It has its moments.",
            "Thanks. It does wear on you.",
            "It's not the end of the world, but it's tiring.",
        ],
        ReplyKind::Listening => &["Okay.", "Right.", "Go on.", "Mm-hm."],
    }
}
