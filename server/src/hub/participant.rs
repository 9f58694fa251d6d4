//! Who someone is while they are known to the server: their display name (and the rules
//! a name must pass), the token that lets them resume, their outbound queue, and the
//! room, observed room and workshop seat they are linked to.

use std::sync::{Arc, Mutex};

use crate::outbox::Outbox;
use crate::protocol::{ErrorCode, ParticipantId, RoomId, ServerMsg, MAX_NAME_CHARS};
use crate::room::Millis;
use crate::room_task::RoomHandle;
use crate::workshop::SessionHandle;

/// Characters that show nothing (zero-width spaces and joiners, direction marks, soft
/// hyphens, variation selectors, fillers, tags) or control the terminal: two names that
/// differ only by them look the same on a projector.
fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{061C}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{17B4}'
                | '\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{FFF0}'..='\u{FFFB}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0000}'..='\u{E0FFF}'
        )
}

/// Checks and tidies a display name: Unicode NFKC (so full-width and composed look-alikes
/// are one name), invisible and control characters removed, runs of spaces made one.
/// Names are compared for uniqueness after this. Lengths count characters (Unicode
/// scalar values) of the tidied name.
pub fn clean_name(name: &str) -> Result<String, String> {
    use unicode_normalization::UnicodeNormalization;
    let visible: String = name.nfkc().filter(|c| !is_invisible(*c)).collect();
    let name = visible.split_whitespace().collect::<Vec<_>>().join(" ");
    let n = name.chars().count();
    if n == 0 || n > MAX_NAME_CHARS {
        return Err(format!("a name must be 1 to {MAX_NAME_CHARS} characters"));
    }
    Ok(name)
}

/// How a participant belongs to a workshop session.
#[derive(Debug, Clone)]
pub enum SessionSeat {
    Host(SessionHandle),
    Trainee(SessionHandle),
}

#[derive(Debug, Default)]
struct Links {
    room: Option<RoomHandle>,
    observing: Option<RoomHandle>,
    session: Option<SessionSeat>,
}

/// Someone introduced, connected or within their grace window.
#[derive(Debug)]
pub struct Participant {
    pub id: ParticipantId,
    name: Mutex<String>,
    /// Proves who they are when they `resume` on a new connection.
    resume_token: String,
    pub outbox: Arc<Outbox>,
    links: Mutex<Links>,
    /// When the last connection ended; none while connected.
    away_since: Mutex<Option<Millis>>,
}

impl Participant {
    /// Someone just introduced, or rebuilt from the log; connected until told otherwise.
    pub(super) fn new(
        id: ParticipantId,
        name: String,
        resume_token: String,
        outbox: Arc<Outbox>,
    ) -> Self {
        Self {
            id,
            name: Mutex::new(name),
            resume_token,
            outbox,
            links: Mutex::new(Links::default()),
            away_since: Mutex::new(None),
        }
    }

    pub fn resume_token(&self) -> &str {
        &self.resume_token
    }

    pub fn away_since(&self) -> Option<Millis> {
        self.away_since.lock().ok().and_then(|a| *a)
    }

    /// Marks the participant as without a connection since `since` (rebuilt after a restart).
    pub(crate) fn mark_away(&self, since: Millis) {
        self.set_away(Some(since));
    }

    pub(super) fn set_away(&self, since: Option<Millis>) {
        if let Ok(mut a) = self.away_since.lock() {
            *a = since;
        }
    }

    pub fn name(&self) -> String {
        self.name.lock().map(|n| n.clone()).unwrap_or_default()
    }

    pub fn set_name(&self, name: String) {
        if let Ok(mut n) = self.name.lock() {
            *n = name;
        }
    }

    fn with_links<T>(&self, f: impl FnOnce(&mut Links) -> T) -> Option<T> {
        self.links.lock().ok().map(|mut l| f(&mut l))
    }

    pub fn room(&self) -> Option<RoomHandle> {
        self.with_links(|l| l.room.clone()).flatten()
    }

    pub fn set_room(&self, handle: Option<RoomHandle>) {
        self.with_links(|l| l.room = handle);
    }

    /// Forgets the room if it is still `id` (a newer room may have replaced it).
    pub fn clear_room(&self, id: RoomId) {
        self.with_links(|l| {
            if l.room.as_ref().is_some_and(|r| r.id == id) {
                l.room = None;
            }
        });
    }

    pub fn observing(&self) -> Option<RoomHandle> {
        self.with_links(|l| l.observing.clone()).flatten()
    }

    pub fn set_observing(&self, handle: Option<RoomHandle>) {
        self.with_links(|l| l.observing = handle);
    }

    pub fn clear_observing(&self, id: RoomId) {
        self.with_links(|l| {
            if l.observing.as_ref().is_some_and(|r| r.id == id) {
                l.observing = None;
            }
        });
    }

    pub fn session(&self) -> Option<SessionSeat> {
        self.with_links(|l| l.session.clone()).flatten()
    }

    pub fn set_session(&self, seat: Option<SessionSeat>) {
        self.with_links(|l| l.session = seat);
    }

    pub fn error(&self, code: ErrorCode, message: impl Into<String>) {
        crate::metrics::rejected(crate::room_task::error_name(code));
        self.outbox.send(ServerMsg::Error {
            code,
            message: message.into(),
        });
    }
}
