//! The events a room has applied, kept to rebuild a participant's view, with no record
//! per chat line.
//!
//! A room applies a few dozen events of other kinds (phases, readiness, reveals, notes,
//! the clock) and one per chat line, and keeps them all for as long as it lives. A chat
//! line's event can be read back off the transcript line it became, so a run of such
//! lines is kept as one count and every other event as it was: at the bench's 65 lines a
//! room, that is a handful of entries instead of 70 records of 64 bytes.

use super::{Millis, Room, RoomEvent};
use crate::scoring::TranscriptLine;

/// Every event a room applied, in order, for [`EventList::replay`].
#[derive(Debug, Default)]
pub struct EventList {
    entries: Vec<Entry>,
    /// The room's transcript length after the last event kept: a chat event that added
    /// more than one line (padding for lines lost before a restart) is kept whole.
    lines: usize,
}

#[derive(Debug)]
enum Entry {
    /// An event as applied; a chat event kept here has no text (the transcript has it).
    Event(RoomEvent),
    /// This many chat events in a row, each exactly [`line_event`] of the next line of
    /// the transcript.
    Lines(u32),
}

impl EventList {
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The first event kept: the room's opening.
    pub fn first(&self) -> Option<&RoomEvent> {
        match self.entries.first()? {
            Entry::Event(e) => Some(e),
            Entry::Lines(_) => None,
        }
    }

    /// Keeps `event`, which `room` has just applied (and nothing since).
    pub fn push(&mut self, event: &RoomEvent, room: &Room) {
        let before = std::mem::replace(&mut self.lines, room.transcript.len());
        let entry = match event {
            RoomEvent::Chat {
                from, at, index, ..
            } => {
                let rebuilt = room.transcript.len() == before + 1
                    && room.transcript.last().is_some_and(|line| {
                        line.from == *from
                            && *index == Some(line.index)
                            && line_at(line, room.conversation_started_at) == Some(*at)
                    });
                if rebuilt {
                    if let Some(Entry::Lines(n)) = self.entries.last_mut() {
                        if let Some(more) = n.checked_add(1) {
                            *n = more;
                            return;
                        }
                    }
                    Entry::Lines(1)
                } else {
                    Entry::Event(RoomEvent::Chat {
                        from: *from,
                        text: String::new(),
                        at: *at,
                        index: *index,
                    })
                }
            }
            other => Entry::Event(other.clone()),
        };
        crate::room::push_sparingly(&mut self.entries, entry);
    }

    /// Applies every event kept to `replay` (a room opened from the same opening), in
    /// order, and hands each to `applied` as it was committed: chat events get their
    /// text back from `transcript`, the room's own.
    pub fn replay(
        &self,
        replay: &mut Room,
        transcript: &[TranscriptLine],
        mut applied: impl FnMut(&Room, &RoomEvent),
    ) {
        for entry in &self.entries {
            match entry {
                Entry::Event(e) => {
                    let e = with_chat_text(e, transcript, replay.transcript.len());
                    replay.apply(&e);
                    applied(replay, &e);
                }
                Entry::Lines(n) => {
                    for _ in 0..*n {
                        // Only lines that rebuild exactly were counted, and the replay
                        // has applied the same events as the room had then: the line is
                        // there. Were it not, stopping beats showing lines out of place.
                        let Some(e) = transcript
                            .get(replay.transcript.len())
                            .and_then(|line| line_event(line, replay.conversation_started_at))
                        else {
                            return;
                        };
                        replay.apply(&e);
                        applied(replay, &e);
                    }
                }
            }
        }
    }

    /// Entries kept, for tests of the list's size.
    #[cfg(test)]
    pub(super) fn entries(&self) -> usize {
        self.entries.len()
    }
}

/// When a line was said, from its time into the conversation: how [`Room::apply`] made
/// `at_ms` from the event's `at`, undone. None when that cannot give the event's `at`.
fn line_at(line: &TranscriptLine, conversation_started_at: Option<Millis>) -> Option<Millis> {
    conversation_started_at?.checked_add(line.at_ms)
}

/// The chat event that became `line`, given the conversation's start at that moment.
fn line_event(line: &TranscriptLine, conversation_started_at: Option<Millis>) -> Option<RoomEvent> {
    Some(RoomEvent::Chat {
        from: line.from,
        text: line.text.to_string(),
        at: line_at(line, conversation_started_at)?,
        index: Some(line.index),
    })
}

/// `event` as it was committed: a chat event gets its text back from the transcript line
/// it became (its index, or for logs written before lines had one, the `line`th).
fn with_chat_text(event: &RoomEvent, transcript: &[TranscriptLine], line: usize) -> RoomEvent {
    match event {
        RoomEvent::Chat {
            from, at, index, ..
        } => RoomEvent::Chat {
            from: *from,
            text: transcript
                .get(index.map_or(line, |i| i as usize))
                .map(|l| l.text.to_string())
                .unwrap_or_default(),
            at: *at,
            index: *index,
        },
        other => other.clone(),
    }
}
