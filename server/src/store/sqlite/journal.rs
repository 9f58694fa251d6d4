//! The server's commit point for appends: `<data>.journal` and `<data>.journal2`, files
//! each batch of events is appended to with one `write` before they are answered (see
//! `commits.rs`). The events reach the SQLite file later, many at a time ("settling", see
//! `writer/settle.rs`), after which their file is emptied; the next open settles whatever
//! a crash left in either.
//!
//! A `write` that returned is in the kernel's page cache, so it survives the server being
//! killed, as a commit to SQLite's WAL at `synchronous = NORMAL` does, and neither
//! survives a power cut. What it saves is SQLite's work on every commit: each one wrote
//! and checksummed whole pages in two system calls each, and the checkpoint read them
//! back (docs/benchmarks.md, "Fourteenth round").
//!
//! Each record is `length (u32) · crc32 (u32) · payload`, little-endian, the payload being
//! `id (i64) · at_ms (i64) · stream length (u32) · stream · body`. A crash can cut only
//! a file's last record short (one batch is written at a time, appending); reading stops at the first
//! record whose length runs past the end or whose checksum is wrong, and the rest of the
//! file is reported and dropped. Nothing after it was answered: the batch's `write` had
//! not returned.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// Bytes before a record's payload: its length and its checksum.
const HEADER: usize = 8;
/// Bytes of a payload before the stream's name: id, time and the name's length.
const FIXED: usize = 20;
/// The longest payload a reader accepts. Events are bounded far below this (a chat line
/// is at most a few KiB, a scenario snapshot a few hundred); a length past it can only be
/// damage, and reading it would allocate whatever the damage says.
const MAX_PAYLOAD: usize = 64 * 1024 * 1024;

/// One event as the journal holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Record {
    pub id: i64,
    pub at_ms: i64,
    pub stream: String,
    pub body: String,
}

/// What [`read`] found in a journal.
#[derive(Debug, Default)]
pub(super) struct Contents {
    pub records: Vec<Record>,
    /// Bytes after the last whole record: a write cut short by a crash, or damage.
    pub dropped_bytes: usize,
}

/// `<data>.journal` beside the log at `path`.
pub(super) fn journal_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".journal");
    PathBuf::from(name)
}

/// The journal's two files beside the log at `path`: `<data>.journal`, which appends go
/// to first, and `<data>.journal2` (see `commits.rs`).
pub(super) fn journal_paths(path: &Path) -> [PathBuf; 2] {
    let first = journal_path(path);
    let mut second = first.as_os_str().to_owned();
    second.push("2");
    [first, PathBuf::from(second)]
}

/// Reads every whole record of the journal at `path`; a missing file holds none.
pub(super) fn read(path: &Path) -> io::Result<Contents> {
    let mut bytes = Vec::new();
    match File::open(path) {
        Ok(mut file) => file.read_to_end(&mut bytes)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Contents::default()),
        Err(e) => return Err(e),
    };
    Ok(decode(&bytes))
}

/// The whole records at the start of `bytes`, in order.
fn decode(bytes: &[u8]) -> Contents {
    let mut contents = Contents::default();
    let mut at = 0;
    while let Some((record, used)) = decode_one(&bytes[at..]) {
        contents.records.push(record);
        at += used;
    }
    contents.dropped_bytes = bytes.len() - at;
    contents
}

/// The record at the start of `bytes` and the bytes it takes, if it is whole and sound.
fn decode_one(bytes: &[u8]) -> Option<(Record, usize)> {
    let length = usize::try_from(u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?)).ok()?;
    let crc = u32::from_le_bytes(bytes.get(4..HEADER)?.try_into().ok()?);
    if !(FIXED..=MAX_PAYLOAD).contains(&length) {
        return None;
    }
    let payload = bytes.get(HEADER..HEADER + length)?;
    if crc32fast::hash(payload) != crc {
        return None;
    }
    let id = i64::from_le_bytes(payload[..8].try_into().ok()?);
    let at_ms = i64::from_le_bytes(payload[8..16].try_into().ok()?);
    let stream_len =
        usize::try_from(u32::from_le_bytes(payload[16..FIXED].try_into().ok()?)).ok()?;
    let stream = payload.get(FIXED..FIXED.checked_add(stream_len)?)?;
    let body = &payload[FIXED + stream_len..];
    let record = Record {
        id,
        at_ms,
        stream: String::from_utf8(stream.to_vec()).ok()?,
        body: String::from_utf8(body.to_vec()).ok()?,
    };
    Some((record, HEADER + length))
}

/// Appends `record` to `out` in the journal's format.
pub(super) fn encode(out: &mut Vec<u8>, id: i64, at_ms: i64, stream: &str, body: &str) {
    let payload_len = FIXED + stream.len() + body.len();
    let start = out.len();
    out.reserve(HEADER + payload_len);
    // Lengths are bounded by the queue's own limits, far below 4 GiB.
    out.extend_from_slice(&u32::try_from(payload_len).unwrap_or(u32::MAX).to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&id.to_le_bytes());
    out.extend_from_slice(&at_ms.to_le_bytes());
    out.extend_from_slice(
        &u32::try_from(stream.len())
            .unwrap_or(u32::MAX)
            .to_le_bytes(),
    );
    out.extend_from_slice(stream.as_bytes());
    out.extend_from_slice(body.as_bytes());
    let crc = crc32fast::hash(&out[start + HEADER..]);
    out[start + 4..start + HEADER].copy_from_slice(&crc.to_le_bytes());
}

/// The open journal, appended to by the writer thread alone.
pub(super) struct Journal {
    file: File,
    path: PathBuf,
    /// Bytes of whole records in the file: where a failed write is cut back to.
    len: u64,
}

impl Journal {
    /// Opens (creating) the journal at `path` for appending; it must be empty, as the
    /// open settles and empties it first.
    pub fn open(path: &Path) -> io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let len = file.metadata()?.len();
        Ok(Self {
            file,
            path: path.to_owned(),
            len,
        })
    }

    /// Where the journal is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `records` (already encoded) in one call. On failure, a part that did get
    /// written is cut off again, so the next batch follows the last whole record.
    pub fn append(&mut self, records: &[u8]) -> io::Result<()> {
        if self.is_torn() {
            return Err(io::Error::other(
                "it ends in a record a failed write left half written",
            ));
        }
        match self.file.write_all(records) {
            Ok(()) => {
                self.len += records.len() as u64;
                Ok(())
            }
            Err(e) => {
                if let Err(cut) = self.file.set_len(self.len) {
                    // The torn record stays; the next open stops reading there, which
                    // would drop what follows, so nothing more may be appended after it.
                    tracing::error!(error = %cut, "event log journal not cut back after a failed write");
                    self.len = u64::MAX;
                }
                Err(e)
            }
        }
    }

    /// Whether a failed cut has left a torn record that later writes must not follow.
    pub fn is_torn(&self) -> bool {
        self.len == u64::MAX
    }

    /// Empties the journal once everything in it is in the SQLite file (nothing to do
    /// when it is empty already).
    pub fn clear(&mut self) -> io::Result<()> {
        if self.len == 0 {
            return Ok(());
        }
        self.file.set_len(0)?;
        self.len = 0;
        Ok(())
    }
}

/// Removes an empty journal, so a stopped server leaves only its database behind.
pub(super) fn remove_if_empty(path: &Path) {
    if fs::metadata(path).is_ok_and(|m| m.len() == 0) {
        let _ = fs::remove_file(path);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::store::tests::TempDir;

    fn encoded(records: &[(i64, &str, &str)]) -> Vec<u8> {
        let mut out = Vec::new();
        for &(id, stream, body) in records {
            encode(&mut out, id, 1_000 + id, stream, body);
        }
        out
    }

    #[test]
    fn records_read_back_in_order_with_their_fields() {
        let bytes = encoded(&[
            (1, "session:a", "{\"x\":1}"),
            (2, "session:a/room:1", "é ✓"),
        ]);
        let contents = decode(&bytes);
        assert_eq!(contents.dropped_bytes, 0);
        assert_eq!(
            contents.records,
            vec![
                Record {
                    id: 1,
                    at_ms: 1_001,
                    stream: "session:a".into(),
                    body: "{\"x\":1}".into()
                },
                Record {
                    id: 2,
                    at_ms: 1_002,
                    stream: "session:a/room:1".into(),
                    body: "é ✓".into()
                },
            ]
        );
    }

    #[test]
    fn a_record_cut_short_anywhere_is_dropped_and_the_ones_before_it_kept() {
        let whole = encoded(&[(1, "s", "first"), (2, "s", "second line")]);
        let first_len = encoded(&[(1, "s", "first")]).len();
        for cut in first_len..whole.len() {
            let contents = decode(&whole[..cut]);
            assert_eq!(contents.records.len(), 1, "cut at {cut}");
            assert_eq!(contents.dropped_bytes, cut - first_len);
        }
    }

    #[test]
    fn a_damaged_record_stops_the_reading_there() {
        let mut bytes = encoded(&[(1, "s", "one"), (2, "s", "two"), (3, "s", "three")]);
        let second = encoded(&[(1, "s", "one")]).len();
        bytes[second + HEADER + 2] ^= 0x40;
        let contents = decode(&bytes);
        assert_eq!(contents.records.len(), 1);
        assert_eq!(contents.dropped_bytes, bytes.len() - second);
    }

    #[test]
    fn an_absurd_length_is_damage_not_an_allocation() {
        let mut bytes = vec![0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0];
        bytes.extend_from_slice(&[0; 32]);
        let contents = decode(&bytes);
        assert!(contents.records.is_empty());
        assert_eq!(contents.dropped_bytes, 40);
    }

    /// A journal as a crash leaves it: events 1 and 2 settled (SQLite has them and
    /// the journal was not yet emptied), 3 and 4 only in the journal, 5 half written.
    #[tokio::test]
    async fn a_journal_left_by_a_crash_in_both_files_settles_on_the_next_open_once_in_id_order() {
        use crate::store::{EventLog, SqliteLog};

        let dir = TempDir::new("journal-left");
        let db = dir.file("events.db");
        {
            let log = SqliteLog::open_exclusive(&db).unwrap();
            log.append_at("session:a", 10, "one".into()).await.unwrap();
            log.append_at("session:a", 20, "two".into()).await.unwrap();
        }
        assert!(
            journal_paths(&db).iter().all(|p| !p.exists()),
            "a clean stop leaves no journal"
        );
        // The first file took 1, 2 and (after a settling that failed) 4 and the torn 5;
        // the second took 3, after 2 again from a settling that was retried.
        let mut left = Vec::new();
        encode(&mut left, 1, 10, "session:a", "one");
        encode(&mut left, 2, 20, "session:a", "two");
        encode(&mut left, 4, 40, "session:b", "four");
        let whole = left.len();
        encode(&mut left, 5, 50, "session:b", "five, never answered");
        left.truncate(whole + 11);
        let [first, second] = journal_paths(&db);
        fs::write(&first, &left).unwrap();
        let mut other = Vec::new();
        encode(&mut other, 2, 20, "session:a", "two");
        encode(&mut other, 3, 30, "session:a/room:1", "three");
        fs::write(&second, &other).unwrap();

        let log = SqliteLog::open_exclusive(&db).unwrap();
        let events: Vec<(u64, String)> = log
            .load_all()
            .unwrap()
            .into_iter()
            .map(|e| (e.id, e.body))
            .collect();
        assert_eq!(
            events,
            [(1, "one"), (2, "two"), (3, "three"), (4, "four")].map(|(i, b)| (i, b.to_owned()))
        );
        let next = log.append_at("session:c", 60, "six".into()).await.unwrap();
        assert_eq!(
            next, 5,
            "the torn record's id was never answered, so it is free"
        );
        drop(log);
        let reopened = SqliteLog::open(&db).unwrap().load_all().unwrap();
        assert_eq!(reopened.len(), 5);

        // A session whose newest events came from the journal is still deleted whole,
        // and stays deleted after another open.
        let log = SqliteLog::open_exclusive(&db).unwrap();
        let removed = log.delete_streams("session:a").await.unwrap();
        assert_eq!(
            removed.events, 3,
            "the settled lines went with their session"
        );
        drop(log);
        let left: Vec<String> = SqliteLog::open(&db)
            .unwrap()
            .load_all()
            .unwrap()
            .into_iter()
            .map(|e| e.body)
            .collect();
        assert_eq!(left, ["four", "six"]);
    }

    #[test]
    fn appends_follow_each_other_and_a_clear_starts_over() {
        let dir = TempDir::new("journal");
        let path = journal_path(&dir.file("events.db"));
        let _ = fs::remove_file(&path);
        let mut journal = Journal::open(&path).unwrap();
        journal.append(&encoded(&[(1, "s", "a")])).unwrap();
        journal.append(&encoded(&[(2, "s", "b")])).unwrap();
        assert_eq!(read(&path).unwrap().records.len(), 2);
        journal.clear().unwrap();
        journal.append(&encoded(&[(3, "s", "c")])).unwrap();
        let ids: Vec<i64> = read(&path).unwrap().records.iter().map(|r| r.id).collect();
        assert_eq!(ids, vec![3]);
        journal.clear().unwrap();
        drop(journal);
        remove_if_empty(&path);
        assert!(!path.exists());
    }
}
