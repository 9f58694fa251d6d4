//! The websocket protocol: JSON messages tagged by `type`, named by direction.
//!
//! Clients send [`ClientMsg`]; the server sends [`ServerFrame`]s, each a [`ServerMsg`]
//! numbered per participant by `seq` (1, 2, 3…) so a client can tell what it has seen.
//! `docs/protocol.md` describes every message with an example.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::console::{ConsoleState, LiveRoom, RoundResults};
use crate::scenario::{Depth, Difficulty, FactId, FactKind, Scenario, ScenarioId, Timings};
use crate::scoring::Debrief;

/// Bumped on any change a deployed client would misread.
pub const PROTOCOL_VERSION: u32 = 1;
/// Long enough for a considered paragraph, short enough that nobody pastes a document.
pub const MAX_CHAT_CHARS: usize = 2_000;
/// A recap is a few paragraphs at most.
pub const MAX_RECAP_CHARS: usize = 4_000;
/// Private notes may grow over a round, but not without bound.
pub const MAX_NOTES_CHARS: usize = 8_000;
/// Names show on cards and projector tiles; longer ones break layouts.
pub const MAX_NAME_CHARS: usize = 40;
/// The buyer's comment on how heard they felt.
pub const MAX_COMMENT_CHARS: usize = 1_000;

/// A participant, unique for the server's lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ParticipantId(pub u64);

/// A room: one pair (seller and buyer) playing one round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RoomId(pub u64);

/// A facilitated workshop session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SessionId(pub u64);

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s{}", self.0)
    }
}

impl fmt::Display for ParticipantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "p{}", self.0)
    }
}
impl fmt::Display for RoomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "r{}", self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Seller,
    Buyer,
}

impl Role {
    pub fn other(self) -> Role {
        match self {
            Role::Seller => Role::Buyer,
            Role::Buyer => Role::Seller,
        }
    }
}

/// The phases of a round, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Both read their brief; ends on the timer or when both are ready.
    Briefing,
    /// The pair converses; ends on the timer or when either ends it.
    Conversation,
    /// The seller writes a recap, the buyer rates how heard they felt.
    Recap,
    /// The hidden story is shown to both.
    Debrief,
}

/// How a pair converses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Text chat in the app; the transcript feeds the behaviour figures.
    #[default]
    Chat,
    /// The pair talks aloud; the app carries briefs, reveals, notes, timer and debrief.
    Spoken,
}

/// What happens to the odd trainee out when a workshop round is paired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OddOneOut {
    /// They sell to the bot buyer.
    #[default]
    Bot,
    /// They observe a pair with the observer checklist.
    Observe,
}

/// A trainer's control over a running round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HostAction {
    /// Stop the clock.
    Pause,
    /// Restart the clock where it stopped.
    Resume,
    /// Add time to the current phase.
    Extend { seconds: u32 },
    /// End the current phase now, as if its time had run out.
    End,
    /// End the round now: every phase left is skipped and the pair goes to its debrief.
    EndRound,
}

/// One pair in a workshop round plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedPair {
    pub seller: ParticipantId,
    /// None: the bot buyer plays the buyer.
    pub buyer: Option<ParticipantId>,
    #[serde(default)]
    pub observers: Vec<ParticipantId>,
    pub scenario: ScenarioId,
}

/// Messages from a client to the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMsg {
    /// First message on a connection: who is here and which protocol they speak.
    Hello { protocol: u32, name: String },
    /// First message on a new connection of someone already introduced: take their seat
    /// back with the `resume_token` from `welcome`, and get every message after `last_seq`.
    Reconnect {
        protocol: u32,
        token: String,
        #[serde(default)]
        last_seq: u64,
    },
    /// Wait for the next trainee who wants to practise; `scenario` narrows the match.
    FindPartner {
        #[serde(default)]
        scenario: Option<ScenarioId>,
    },
    /// Practise alone against the bot buyer; `scenario` picks one, else a random one.
    PractiseWithBot {
        #[serde(default)]
        scenario: Option<ScenarioId>,
    },
    /// While waiting for a partner: take the bot buyer instead (after `bot_available`).
    AcceptBot,
    /// Stop waiting for a partner (from `find_partner` or a pair link).
    CancelWaiting,
    /// Create a private link for one colleague; the room opens when they join it.
    CreatePairLink {
        #[serde(default)]
        scenario: Option<ScenarioId>,
    },
    /// Join a colleague's private pair link by its code.
    JoinPairLink { code: String },
    /// Done reading the brief; the conversation starts when both are ready.
    Ready,
    /// A chat line to the partner (conversation phase).
    Chat { text: String },
    /// Buyer: the seller has earned this fact.
    Reveal { fact: FactId },
    /// Buyer: undo a reveal marked by mistake (conversation phase).
    Unreveal { fact: FactId },
    /// Seller: private notes, saved so a reload keeps them. Replaces previous notes.
    Notes { text: String },
    /// End the conversation now for both (conversation phase).
    EndConversation,
    /// Seller: what they learned (recap phase).
    Recap { text: String },
    /// Buyer: how heard they felt, 1-5, with an optional comment (recap phase).
    Feedback {
        heard: u8,
        #[serde(default)]
        comment: String,
    },
    /// Seller, recap phase: the recap as typed so far, saved as it is typed (send it a
    /// second or so after typing stops). If the phase ends by time or by the trainer
    /// before `recap` is sent, the last non-empty draft is the recap. No reply.
    RecapDraft { text: String },
    /// Buyer, recap phase: the rating and comment chosen so far; like `recap_draft`,
    /// the last one counts as the feedback if the phase ends first. No reply.
    FeedbackDraft {
        heard: u8,
        #[serde(default)]
        comment: String,
    },
    /// Buyer, in the debrief: agree or disagree that the recap caught a fact.
    JudgeCapture { fact: FactId, agree: bool },
    /// Leave the current room (any phase); the partner is told.
    LeaveRoom,

    /// Trainee: join a workshop session by its join code.
    JoinSession { code: String },
    /// Observer: a note for the observed pair's debrief.
    ObserverNote { text: String },
    /// Workshop trainee in a round (seller, buyer or observer): call the trainer over.
    /// The hand shows on the pair's live card until the trainer answers it.
    RaiseHand,
    /// Workshop trainee: take a raised hand down again (no longer needed).
    LowerHand,

    /// Trainer: create a workshop session; you become its host.
    CreateSession {
        #[serde(default)]
        title: String,
    },
    /// Trainer: take the host seat of an existing session with its secret host token.
    HostSession { token: String },
    /// Host: propose pairs for the next round. `scenario` none picks one per pair at random.
    PlanRound {
        #[serde(default)]
        scenario: Option<ScenarioId>,
        #[serde(default)]
        channel: Channel,
        /// Phase lengths in seconds; none uses the workshop defaults.
        #[serde(default)]
        timings: Option<Timings>,
        #[serde(default)]
        odd: OddOneOut,
    },
    /// Host: replace the planned pairs before starting the round.
    SetPairs { pairs: Vec<PlannedPair> },
    /// Host: start the planned round for everyone.
    StartRound,
    /// Host: stop the clock for one room, or all rooms when `room` is none.
    Pause {
        #[serde(default)]
        room: Option<RoomId>,
    },
    /// Host: restart the clock for one room, or all.
    Resume {
        #[serde(default)]
        room: Option<RoomId>,
    },
    /// Host: add `seconds` to the current phase for one room, or all.
    Extend {
        #[serde(default)]
        room: Option<RoomId>,
        seconds: u32,
    },
    /// Host: end the current phase now for one room, or all, as if time had run out.
    EndPhase {
        #[serde(default)]
        room: Option<RoomId>,
    },
    /// Host: end the whole round now for one room, or all: whatever phase they are in,
    /// the pairs go straight to their debrief (an unwritten recap stays empty).
    EndRound {
        #[serde(default)]
        room: Option<RoomId>,
    },
    /// Host: a short message every participant sees at once.
    Broadcast { text: String },
    /// Host: you have seen (or gone over to) the pair in `room` that raised a hand; it
    /// comes down on their screens and on the live card.
    AnswerHand { room: RoomId },
    /// Host: rename a participant (names stay unique in the session).
    Rename {
        participant: ParticipantId,
        name: String,
    },
    /// Host: remove a participant from the session.
    Remove { participant: ParticipantId },
    /// Host: delete the session and everything recorded about it.
    DeleteSession,
}

impl ClientMsg {
    /// Messages only a workshop session's host may send.
    pub fn is_host_action(&self) -> bool {
        matches!(
            self,
            ClientMsg::PlanRound { .. }
                | ClientMsg::SetPairs { .. }
                | ClientMsg::StartRound
                | ClientMsg::Pause { .. }
                | ClientMsg::Resume { .. }
                | ClientMsg::Extend { .. }
                | ClientMsg::EndPhase { .. }
                | ClientMsg::EndRound { .. }
                | ClientMsg::Broadcast { .. }
                | ClientMsg::AnswerHand { .. }
                | ClientMsg::Rename { .. }
                | ClientMsg::Remove { .. }
                | ClientMsg::DeleteSession
        )
    }
}

/// A server message with its per-participant sequence number.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServerFrame {
    pub seq: u64,
    #[serde(flatten)]
    pub msg: ServerMsg,
}

/// Messages from the server to a client.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[allow(clippy::large_enum_variant)]
pub enum ServerMsg {
    /// Reply to `hello`: your id and the scenarios you can ask for.
    Welcome {
        protocol: u32,
        you: ParticipantId,
        name: String,
        scenarios: Vec<ScenarioSummary>,
        /// Keep this (e.g. in localStorage) to `reconnect` after a dropped connection.
        resume_token: String,
    },
    /// Reply to `reconnect`: your seat is back. With `replayed`, every message after your
    /// `last_seq` came just before this one; without it, the messages that follow rebuild
    /// your whole view (the server restarted, or you were away too long to replay).
    Reconnected {
        you: ParticipantId,
        name: String,
        replayed: bool,
    },
    /// You are in the queue for a partner.
    Waiting { scenario: Option<ScenarioId> },
    /// You have waited a while with nobody to pair with: `accept_bot` plays the bot buyer.
    BotAvailable,
    /// You are no longer waiting (you cancelled, or your link was used up).
    WaitingCancelled,
    /// Your private pair link: share `path` (relative to the server's address).
    PairLink {
        code: String,
        path: String,
        scenario: Option<ScenarioId>,
    },
    /// You are paired: your role, your partner and what you may know.
    RoomOpened {
        room: RoomId,
        role: Role,
        partner: String,
        scenario: ScenarioSummary,
        brief: Brief,
        timings: Timings,
        #[serde(default)]
        channel: Channel,
    },
    /// A phase began, or the clock changed (paused, resumed, extended). `remaining_ms`
    /// counts down from now unless `paused`; none means no timer.
    Phase {
        phase: Phase,
        remaining_ms: Option<u64>,
        #[serde(default)]
        paused: bool,
    },
    /// Your partner is ready to start the conversation.
    PartnerReady,
    /// A chat line, yours or your partner's. `index` is its place in the transcript;
    /// `at_ms` is milliseconds since the conversation began.
    Chat {
        index: u32,
        from: Role,
        text: String,
        at_ms: u64,
    },
    /// Buyer only: a fact was marked revealed, after transcript line `earned_by`.
    Revealed {
        fact: FactId,
        at_ms: u64,
        earned_by: Option<u32>,
    },
    /// Buyer only: a reveal was undone.
    Unrevealed { fact: FactId },
    /// Your notes were saved (`length` in characters).
    NotesSaved { length: u32 },
    /// Your saved notes, when your view is rebuilt after a restart.
    NotesRestored { text: String },
    /// Your partner submitted their recap (seller) or feedback (buyer).
    PartnerSubmitted { role: Role },
    /// The round is over: the hidden story, the figures and the transcript. Sent again
    /// when the buyer judges a captured fact.
    Debrief(Box<Debrief>),
    /// Your partner's connection dropped; their seat is kept for `grace_ms`.
    PartnerAway { name: String, grace_ms: u64 },
    /// Your partner is back.
    PartnerBack { name: String },
    /// Your partner left the room, or did not come back in time.
    PartnerLeft { name: String },
    /// The server is shutting down; `reconnect` in a moment.
    ServerClosing { reason: String },
    /// Something you sent was refused; nothing else changed.
    Error { code: ErrorCode, message: String },

    /// Trainer: your session exists. `host_token` is the host seat: keep it secret.
    SessionCreated {
        session: SessionId,
        title: String,
        code: String,
        host_token: String,
        /// Where trainees join, relative to the server's address.
        join_path: String,
        /// The secret host link, relative to the server's address.
        host_path: String,
    },
    /// Host: the whole console (after taking the host seat, and after big changes).
    Console(Box<ConsoleState>),
    /// Host: one room's live card changed.
    Live(Box<LiveRoom>),
    /// Host: a round's room debrief, sent as its pairs finish and on every update.
    RoundResults(Box<RoundResults>),
    /// Trainee: you are in the session's lobby; the trainer starts the next round.
    SessionJoined {
        session: SessionId,
        title: String,
        code: String,
        name: String,
    },
    /// A message from the trainer to everyone in the session.
    Broadcast { text: String },
    /// Trainee: the trainer changed your name.
    Renamed { name: String },
    /// Trainee: the trainer removed you from the session.
    Removed,
    /// Host: the session and its data were deleted.
    SessionDeleted,
    /// Trainee in a workshop round: the pair's raised hand went up (`raised`, with who
    /// raised it) or came down (the trainer answered, or it was lowered).
    Hand { raised: bool, by: Option<String> },
    /// Trainee: joining the workshop with code `code` was refused (`reason`, in words,
    /// says what to change). Sent before the matching `error`, so a page can keep the
    /// code and show the name screen again.
    JoinRefused { code: String, reason: String },
    /// Trainee: you sit this round out as an observer of one pair. Their chat and the
    /// clock follow as `chat` and `phase`; no hidden fact until the `debrief`.
    Observing {
        room: RoomId,
        seller: String,
        buyer: String,
        scenario: ScenarioSummary,
        checklist: Vec<String>,
        channel: Channel,
    },
}

/// Why a client message was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Not JSON, or not a known message shape.
    BadMessage,
    /// The protocol version in `hello` is not one this server speaks.
    UnsupportedProtocol,
    /// The first message must be `hello`, and only once.
    NotIntroduced,
    /// A text was empty or too long, or a number out of range.
    InvalidInput,
    /// Not allowed in the current phase.
    WrongPhase,
    /// Not allowed for your role.
    WrongRole,
    /// You are not in a room (or already in one, or already waiting).
    WrongState,
    /// No such scenario, fact or pair link.
    NotFound,
    /// The frame was larger than the server accepts.
    TooLarge,
    /// Too many messages or attempts too quickly; slow down.
    RateLimited,
    /// The resume token is unknown, or its seat was released.
    ReconnectFailed,
    /// The server could not save the change; nothing happened. Try again.
    Unavailable,
    /// The trainer has paused the round: the clock is stopped and chat waits until they
    /// resume it.
    Paused,
}

/// What anyone may know about a scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScenarioSummary {
    pub id: ScenarioId,
    pub title: String,
    pub summary: String,
    pub difficulty: Difficulty,
}

impl From<&Scenario> for ScenarioSummary {
    fn from(s: &Scenario) -> Self {
        Self {
            id: s.id.clone(),
            title: s.title.clone(),
            summary: s.summary.clone(),
            difficulty: s.difficulty,
        }
    }
}

/// A role's brief. The seller's variant holds no hidden fact by construction.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "side", rename_all = "snake_case")]
pub enum Brief {
    Seller {
        brief: String,
        product: String,
        buyer_name: String,
        buyer_role: String,
    },
    Buyer {
        name: String,
        role: String,
        persona: String,
        brief: String,
        opening_line: String,
        facts: Vec<FactCard>,
    },
}

/// A hidden fact as the buyer's card shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FactCard {
    pub id: FactId,
    pub kind: FactKind,
    pub depth: Depth,
    pub weight: u8,
    pub text: String,
    pub earned_when: String,
    pub requires: Vec<FactId>,
}

impl Brief {
    pub fn seller(s: &Scenario) -> Self {
        Brief::Seller {
            brief: s.seller.brief.clone(),
            product: s.seller.product.clone(),
            buyer_name: s.buyer.name.clone(),
            buyer_role: s.buyer.role.clone(),
        }
    }

    pub fn buyer(s: &Scenario) -> Self {
        Brief::Buyer {
            name: s.buyer.name.clone(),
            role: s.buyer.role.clone(),
            persona: s.buyer.persona.clone(),
            brief: s.buyer.brief.clone(),
            opening_line: s.opening_line.clone(),
            facts: s
                .facts
                .iter()
                .map(|f| FactCard {
                    id: f.id.clone(),
                    kind: f.kind,
                    depth: f.depth,
                    weight: f.weight,
                    text: f.text.clone(),
                    earned_when: f.earned_when.clone(),
                    requires: f.requires.clone(),
                })
                .collect(),
        }
    }
}

/// The text of the commonest frame a client sends, `{"type":"chat","text":"…"}` exactly
/// as the web client writes it, when that text has no escape in it: then it is the
/// bytes between the quotes, and serde (which reads an internally tagged enum by first
/// buffering the whole object) is not needed. Anything else, including any backslash,
/// control character or extra field, returns `None` and goes through serde, so both
/// paths accept and refuse exactly the same frames.
fn plain_chat(frame: &str) -> Option<&str> {
    let inner = frame
        .strip_prefix(r#"{"type":"chat","text":""#)?
        .strip_suffix(r#""}"#)?;
    let plain = !inner.bytes().fold(false, |any, b| {
        any | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    plain.then_some(inner)
}

/// Decodes a client text frame, naming the problem when it fails.
pub fn decode_client(text: &str) -> Result<ClientMsg, String> {
    if let Some(chat) = plain_chat(text) {
        return Ok(ClientMsg::Chat {
            text: chat.to_string(),
        });
    }
    // serde reads an internally tagged enum from a JSON array too (`["hello",1,"Ana"]`);
    // the protocol is objects only.
    if !text.trim_start().starts_with('{') {
        return Err("a message must be a JSON object with a `type` field".into());
    }
    serde_json::from_str::<ClientMsg>(text).map_err(|e| {
        let msg = e.to_string();
        // serde's messages end with "at line 1 column N", which helps nobody in a
        // one-line frame; keep the part that names the problem.
        match msg.find(" at line ") {
            Some(i) => msg[..i].to_string(),
            None => msg,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_tagged_messages() {
        assert_eq!(
            decode_client(r#"{"type":"chat","text":"hi"}"#),
            Ok(ClientMsg::Chat { text: "hi".into() })
        );
        assert_eq!(
            decode_client(r#"{"type":"find_partner"}"#),
            Ok(ClientMsg::FindPartner { scenario: None })
        );
    }

    #[test]
    fn a_plain_chat_frame_reads_as_serde_reads_it() {
        for frame in [
            r#"{"type":"chat","text":"hi"}"#,
            r#"{"type":"chat","text":""}"#,
            r#"{"type":"chat","text":"  spaced, é 🎉 / ok "}"#,
            r#"{"type":"chat","text":"a \"quote\" and \\ and \n"}"#,
            r#"{"type":"chat","text":"\u0041"}"#,
            r#"{"type":"chat","text":"a"b"}"#,
            r#"{"type":"chat","text":"x"} "#,
            r#"{"type":"chat","text":"x","extra":1}"#,
            "{\"type\":\"chat\",\"text\":\"tab\there\"}",
        ] {
            let serde = serde_json::from_str::<ClientMsg>(frame).map_err(|_| ());
            assert_eq!(decode_client(frame).map_err(|_| ()), serde, "{frame}");
        }
        assert!(plain_chat(r#"{"type":"chat","text":"hi"}"#).is_some());
        assert!(plain_chat(r#"{"type":"chat","text":"a \"b"}"#).is_none());
    }

    #[test]
    fn a_json_array_is_not_a_message() {
        assert!(decode_client(r#"["hello",1,"Ana"]"#).is_err());
        assert!(decode_client(r#" ["chat","hi"]"#).is_err());
    }

    #[test]
    fn unknown_type_is_named_in_the_error() {
        let err = decode_client(r#"{"type":"teleport"}"#).unwrap_err();
        assert!(err.contains("teleport"), "{err}");
    }

    proptest::proptest! {
        /// Whatever arrives, the decoder answers with a message or a reason, never a panic.
        #[test]
        fn decoding_any_text_never_panics(text in ".{0,300}") {
            let _ = decode_client(&text);
        }

        #[test]
        fn decoding_json_shaped_input_never_panics(
            kind in "[a-z_]{0,20}",
            field in "[a-z_]{0,12}",
            value in proptest::prop_oneof![
                proptest::strategy::Just("null".to_string()),
                "-?[0-9]{1,25}",
                "\"[^\"\\\\]{0,40}\"",
                proptest::strategy::Just("[1,{}]".to_string()),
                proptest::strategy::Just("{\"a\":[]}".to_string()),
            ],
        ) {
            let text = format!("{{\"type\":\"{kind}\",\"{field}\":{value}}}");
            let _ = decode_client(&text);
        }
    }

    #[test]
    fn frames_carry_seq_beside_the_tag() {
        let frame = ServerFrame {
            seq: 7,
            msg: ServerMsg::PartnerReady,
        };
        let json = serde_json::to_value(&frame).unwrap();
        assert_eq!(json["seq"], 7);
        assert_eq!(json["type"], "partner_ready");
    }
}
