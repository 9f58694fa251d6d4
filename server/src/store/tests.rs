//! Tests of the event log: commit-before-answer, batching, deletes, retention, refusing
//! bad files, and surviving a kill -9 of the writing process.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use tokio::sync::Barrier;
use tokio::task::JoinSet;

use super::*;

/// Every event body in the log file at `path`, in order, read by a fresh open.
fn stored_bodies(path: &Path) -> Vec<String> {
    SqliteLog::open(path)
        .unwrap()
        .load_all()
        .unwrap()
        .into_iter()
        .map(|e| e.body)
        .collect()
}

/// A folder under the system temp dir, removed when the test ends. Shared with the
/// SQLite log's own unit tests.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new(name: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("uncover-store-{}-{n}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    pub(crate) fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Takes the database's write lock from another connection, stalling the log's writer
/// (as a slow disk or a backup would) until the connection is dropped.
fn hold_write_lock(path: &Path) -> Connection {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    conn
}

fn streams_and_bodies(events: &[StoredEvent]) -> Vec<(String, String)> {
    events
        .iter()
        .map(|e| (e.stream.clone(), e.body.clone()))
        .collect()
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(s, b)| ((*s).to_owned(), (*b).to_owned()))
        .collect()
}

/// Appends `(stream, at_ms, body)` in order, waiting for each commit.
async fn append_all(log: &dyn EventLog, events: &[(&str, Millis, &str)]) -> Vec<EventId> {
    let mut ids = Vec::new();
    for (stream, at_ms, body) in events {
        ids.push(
            log.append_at(stream, *at_ms, (*body).to_owned())
                .await
                .unwrap(),
        );
    }
    ids
}

#[tokio::test]
async fn an_answered_append_is_already_readable_by_another_store_on_the_same_file() {
    let dir = TempDir::new("commit");
    let path = dir.file("events.db");
    let log = SqliteLog::open(&path).unwrap();
    let ids = append_all(
        &log,
        &[
            ("session:a", 1_000, r#"{"kind":"created"}"#),
            ("session:a/room:1", 1_100, r#"{"kind":"joined"}"#),
            (
                "session:a/room:1",
                1_200,
                r#"{"kind":"chat","text":"hello"}"#,
            ),
            ("session:a/room:2", 1_300, r#"{"kind":"joined"}"#),
            ("session:a", 1_400, r#"{"kind":"phase"}"#),
        ],
    )
    .await;
    assert_eq!(ids, vec![1, 2, 3, 4, 5]);

    // The first store stays open: nothing is flushed by closing it.
    let events = SqliteLog::open(&path).unwrap().load_all().unwrap();
    let expected = vec![
        StoredEvent {
            id: 1,
            stream: "session:a".into(),
            at_ms: 1_000,
            body: r#"{"kind":"created"}"#.into(),
        },
        StoredEvent {
            id: 2,
            stream: "session:a/room:1".into(),
            at_ms: 1_100,
            body: r#"{"kind":"joined"}"#.into(),
        },
        StoredEvent {
            id: 3,
            stream: "session:a/room:1".into(),
            at_ms: 1_200,
            body: r#"{"kind":"chat","text":"hello"}"#.into(),
        },
        StoredEvent {
            id: 4,
            stream: "session:a/room:2".into(),
            at_ms: 1_300,
            body: r#"{"kind":"joined"}"#.into(),
        },
        StoredEvent {
            id: 5,
            stream: "session:a".into(),
            at_ms: 1_400,
            body: r#"{"kind":"phase"}"#.into(),
        },
    ];
    assert_eq!(events, expected);
    assert_eq!(log.load_all().unwrap(), expected);
    assert_eq!(log.stats().events, 5);
}

#[tokio::test]
async fn memory_log_returns_events_in_commit_order() {
    let log = MemoryLog::new();
    let ids = append_all(
        &log,
        &[
            ("session:m/room:1", 10, "first"),
            ("session:m", 20, "second"),
            ("session:m/room:1", 30, "third"),
        ],
    )
    .await;
    assert_eq!(ids, vec![1, 2, 3]);
    let events = log.load_all().unwrap();
    assert_eq!(
        streams_and_bodies(&events),
        owned(&[
            ("session:m/room:1", "first"),
            ("session:m", "second"),
            ("session:m/room:1", "third"),
        ])
    );
    assert_eq!(
        events.iter().map(|e| e.at_ms).collect::<Vec<_>>(),
        vec![10, 20, 30]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_share_commits_and_all_survive_reopening() {
    const TASKS: usize = 64;
    const PER_TASK: usize = 32;
    let dir = TempDir::new("batching");
    let path = dir.file("events.db");
    let log = Arc::new(SqliteLog::open(&path).unwrap());

    // Stall the writer so every task's appends are waiting together, as they would
    // behind a slow disk; the writer must then take them in large batches.
    let lock = hold_write_lock(&path);
    let all_queued = Arc::new(Barrier::new(TASKS + 1));
    let mut tasks = JoinSet::new();
    for task in 0..TASKS {
        let log = Arc::clone(&log);
        let all_queued = Arc::clone(&all_queued);
        tasks.spawn(async move {
            let stream = format!("session:busy/room:{task}");
            let pending: Vec<_> = (0..PER_TASK)
                .map(|n| log.append(&stream, format!("{task}:{n}")))
                .collect();
            all_queued.wait().await;
            let mut ids = Vec::new();
            for answer in pending {
                ids.push(answer.await.unwrap());
            }
            (task, ids)
        });
    }
    all_queued.wait().await;
    drop(lock);

    let mut ids_by_task = HashMap::new();
    while let Some(done) = tasks.join_next().await {
        let (task, ids) = done.unwrap();
        ids_by_task.insert(task, ids);
    }

    let total = (TASKS * PER_TASK) as u64;
    let stats = log.stats();
    assert_eq!(stats.events, total);
    assert!(
        stats.commits < total,
        "{} commits for {total} appends: nothing was batched",
        stats.commits
    );
    assert!(stats.largest_batch > 1);
    assert!(stats.largest_batch <= MAX_BATCH as u64);
    assert_eq!(stats.queued, 0);

    let events = SqliteLog::open(&path).unwrap().load_all().unwrap();
    assert_eq!(events.len() as u64, total);
    let id_of: HashMap<&str, EventId> = events.iter().map(|e| (e.body.as_str(), e.id)).collect();
    for (task, ids) in &ids_by_task {
        let stored: Vec<&StoredEvent> = events
            .iter()
            .filter(|e| e.stream == format!("session:busy/room:{task}"))
            .collect();
        let bodies: Vec<&str> = stored.iter().map(|e| e.body.as_str()).collect();
        let expected: Vec<String> = (0..PER_TASK).map(|n| format!("{task}:{n}")).collect();
        assert_eq!(bodies, expected, "room {task} lost or reordered events");
        for (n, id) in ids.iter().enumerate() {
            assert_eq!(id_of[format!("{task}:{n}").as_str()], *id);
        }
    }
}

/// Streams of two sessions whose names share a prefix, plus an unrelated one.
const NEIGHBOURS: &[(&str, Millis, &str)] = &[
    ("session:ab", 1, "ab created"),
    ("session:ab/room:1", 2, "ab room 1"),
    ("session:abc", 3, "abc created"),
    ("session:ab/room:2", 4, "ab room 2"),
    ("session:abc/room:1", 5, "abc room 1"),
    ("session:x", 6, "x created"),
    ("session:ab/room:1", 7, "ab room 1 again"),
];

async fn delete_removes_exactly_one_session(log: &dyn EventLog) {
    append_all(log, NEIGHBOURS).await;
    let removed = log.delete_streams("session:ab").await.unwrap();
    assert_eq!(
        removed,
        Removed {
            streams: 3,
            events: 4
        }
    );
    assert_eq!(
        streams_and_bodies(&log.load_all().unwrap()),
        owned(&[
            ("session:abc", "abc created"),
            ("session:abc/room:1", "abc room 1"),
            ("session:x", "x created"),
        ])
    );
}

#[tokio::test]
async fn deleting_a_session_removes_its_rooms_but_not_a_similarly_named_session() {
    delete_removes_exactly_one_session(&MemoryLog::new()).await;

    let dir = TempDir::new("delete");
    let path = dir.file("events.db");
    delete_removes_exactly_one_session(&SqliteLog::open(&path).unwrap()).await;
    let reopened = SqliteLog::open(&path).unwrap().load_all().unwrap();
    assert_eq!(reopened.len(), 3, "the delete did not reach the file");

    // The server's log holds the session's lines in its journal until they settle: the
    // delete must take them too, and they must not come back on the next open.
    let path = dir.file("server.db");
    delete_removes_exactly_one_session(&SqliteLog::open_exclusive(&path).unwrap()).await;
    let reopened = SqliteLog::open(&path).unwrap().load_all().unwrap();
    assert_eq!(
        reopened.len(),
        3,
        "the deleted lines came back from the journal"
    );
}

#[tokio::test]
async fn deleting_an_unknown_session_removes_nothing() {
    let log = MemoryLog::new();
    append_all(&log, NEIGHBOURS).await;
    assert_eq!(
        log.delete_streams("session:a").await.unwrap(),
        Removed::default()
    );
    assert_eq!(log.load_all().unwrap().len(), NEIGHBOURS.len());
}

/// An old session, and a session whose root is old but one room is recent.
const AGES: &[(&str, Millis, &str)] = &[
    ("session:old", 1_000, "old created"),
    ("session:live", 1_000, "live created"),
    ("session:old/room:1", 1_500, "old chat"),
    ("session:live/room:1", 1_200, "live room 1 early"),
    ("session:old", 2_000, "old closed"),
    ("session:live/room:2", 1_300, "live room 2"),
    ("session:live/room:1", 9_000, "live room 1 recent"),
];

async fn purge_keeps_recent_sessions_whole(log: &dyn EventLog) {
    append_all(log, AGES).await;
    let removed = log.purge_before(5_000).await.unwrap();
    assert_eq!(
        removed,
        Removed {
            streams: 2,
            events: 3
        }
    );
    assert_eq!(
        streams_and_bodies(&log.load_all().unwrap()),
        owned(&[
            ("session:live", "live created"),
            ("session:live/room:1", "live room 1 early"),
            ("session:live/room:2", "live room 2"),
            ("session:live/room:1", "live room 1 recent"),
        ])
    );
    // Everything is older than this: the last session goes too.
    let removed = log.purge_before(10_000).await.unwrap();
    assert_eq!(removed.events, 4);
    assert!(log.load_all().unwrap().is_empty());
}

#[tokio::test]
async fn retention_purges_whole_old_sessions_and_keeps_recent_ones_whole() {
    purge_keeps_recent_sessions_whole(&MemoryLog::new()).await;
    let dir = TempDir::new("purge");
    purge_keeps_recent_sessions_whole(&SqliteLog::open(&dir.file("events.db")).unwrap()).await;
    let server = dir.file("server.db");
    purge_keeps_recent_sessions_whole(&SqliteLog::open_exclusive(&server).unwrap()).await;
    assert!(SqliteLog::open(&server)
        .unwrap()
        .load_all()
        .unwrap()
        .is_empty());
}

async fn ids_survive_deletes(log: &dyn EventLog) {
    append_all(log, &[("session:a", 1, "a"), ("session:b", 2, "b")]).await;
    log.delete_streams("session:b").await.unwrap();
    let id = log.append_at("session:c", 3, "c".into()).await.unwrap();
    assert_eq!(id, 3, "the deleted event's id was given out again");
}

#[tokio::test]
async fn ids_are_never_reused_after_the_newest_events_are_deleted() {
    ids_survive_deletes(&MemoryLog::new()).await;
    let dir = TempDir::new("ids");
    let path = dir.file("events.db");
    ids_survive_deletes(&SqliteLog::open(&path).unwrap()).await;
    let id = SqliteLog::open(&path)
        .unwrap()
        .append_at("session:d", 4, "d".into())
        .await
        .unwrap();
    assert_eq!(id, 4, "reopening reset the id sequence");

    let path = dir.file("server.db");
    ids_survive_deletes(&SqliteLog::open_exclusive(&path).unwrap()).await;
    let id = SqliteLog::open_exclusive(&path)
        .unwrap()
        .append_at("session:d", 4, "d".into())
        .await
        .unwrap();
    assert_eq!(id, 4, "reopening the server's log reset the id sequence");
}

#[tokio::test]
async fn flush_waits_for_appends_nobody_is_waiting_on() {
    let dir = TempDir::new("flush");
    let path = dir.file("events.db");
    let log = SqliteLog::open(&path).unwrap();
    for n in 0..100 {
        // Dropping the answer does not cancel the append.
        drop(log.append("session:f", format!("{n}")));
    }
    log.flush().await.unwrap();
    let events = SqliteLog::open(&path).unwrap().load_all().unwrap();
    let bodies: Vec<String> = events.into_iter().map(|e| e.body).collect();
    let expected: Vec<String> = (0..100).map(|n| format!("{n}")).collect();
    assert_eq!(bodies, expected);
    assert_eq!(log.stats().queued, 0);
}

#[tokio::test]
async fn appends_beyond_the_queue_are_refused_while_the_disk_is_stalled() {
    let dir = TempDir::new("backlog");
    let path = dir.file("events.db");
    let options = SqliteOptions {
        max_batch: 4,
        queue_capacity: 8,
        ..SqliteOptions::default()
    };
    let log = SqliteLog::open_with(&path, options).unwrap();
    let lock = hold_write_lock(&path);
    let answers: Vec<_> = (0..20)
        .map(|n| log.append("session:slow", format!("{n}")))
        .collect();
    drop(lock);

    let mut stored = Vec::new();
    let mut refusals = Vec::new();
    for (n, answer) in answers.into_iter().enumerate() {
        match answer.await {
            Ok(_) => stored.push(format!("{n}")),
            Err(error) => refusals.push(error),
        }
    }
    assert_eq!(stored.len(), 8);
    assert_eq!(refusals.len(), 12);
    assert!(refusals
        .iter()
        .all(|e| matches!(e, StoreError::Backlogged(8))));
    assert!(refusals[0].to_string().contains("try again"));

    let bodies = stored_bodies(&path);
    assert_eq!(bodies, stored);

    // Once the disk catches up, appends are taken again.
    log.append("session:slow", "later".into()).await.unwrap();
}

#[test]
fn a_file_that_is_not_a_database_is_refused_with_its_path() {
    let dir = TempDir::new("garbage");
    let path = dir.file("notes.txt");
    std::fs::write(&path, "shopping list: milk, eggs, bread\n".repeat(200)).unwrap();
    let error = SqliteLog::open(&path).unwrap_err();
    assert_eq!(error, StoreError::NotADatabase { path: path.clone() });
    let message = error.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("not an SQLite database"), "{message}");
    // The file is left as it was.
    assert!(std::fs::read_to_string(&path)
        .unwrap()
        .starts_with("shopping list"));
}

#[test]
fn another_programs_database_is_refused_with_its_path() {
    let dir = TempDir::new("foreign");
    let path = dir.file("crm.db");
    Connection::open(&path)
        .unwrap()
        .execute_batch("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
        .unwrap();
    let message = SqliteLog::open(&path).unwrap_err().to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("another program"), "{message}");
}

#[test]
fn a_log_from_a_newer_schema_is_refused() {
    let dir = TempDir::new("newer");
    let path = dir.file("events.db");
    drop(SqliteLog::open(&path).unwrap());
    Connection::open(&path)
        .unwrap()
        .execute("UPDATE schema_version SET version = 99", [])
        .unwrap();
    let error = SqliteLog::open(&path).unwrap_err();
    assert!(
        matches!(
            error,
            StoreError::NewerSchema {
                found: 99,
                supported: 3,
                ..
            }
        ),
        "{error}"
    );
}

#[tokio::test]
async fn missing_folders_for_the_data_file_are_created() {
    let dir = TempDir::new("folders");
    let path = dir.file("var/lib/uncover/events.db");
    let log = SqliteLog::open(&path).unwrap();
    log.append("session:n", "kept".into()).await.unwrap();
    assert!(path.is_file());
    assert_eq!(log.path(), path);
}

#[test]
fn a_folder_that_cannot_be_created_is_named_in_the_error() {
    let dir = TempDir::new("blocked");
    let blocker = dir.file("occupied");
    std::fs::write(&blocker, "a file where a folder should go").unwrap();
    let error = SqliteLog::open(&blocker.join("events.db")).unwrap_err();
    assert!(matches!(error, StoreError::CreateDir { .. }), "{error}");
    assert!(error.to_string().contains(&blocker.display().to_string()));
}

#[tokio::test]
async fn the_memory_location_keeps_events_without_a_file() {
    let log = open(Path::new(MEMORY_LOCATION)).unwrap();
    log.append("session:t", "in memory".into()).await.unwrap();
    assert_eq!(log.load_all().unwrap()[0].body, "in memory");
    assert!(!Path::new(MEMORY_LOCATION).exists());
}

/// Set in the child process of the kill -9 test; names its data file.
const CRASH_CHILD_ENV: &str = "UNCOVER_STORE_CRASH_CHILD";
/// Concurrent writers in the child, so the kill lands with appends in flight.
const CRASH_WRITERS: usize = 16;
/// Acknowledgements the parent reads before killing the child.
const CRASH_ACKS_BEFORE_KILL: usize = 2_000;
/// Appends per writer after which the child stops on its own, so a parent that fails
/// before killing it cannot leave it running.
const CRASH_CHILD_LIMIT: usize = 50_000;
/// This test's name, for re-running only it in the child.
const CRASH_TEST: &str = "store::tests::every_acknowledged_event_survives_kill_9_exactly_once";
/// The same, for the server's log, which commits to its journal.
const CRASH_TEST_SERVER: &str =
    "store::tests::every_acknowledged_event_on_the_servers_log_survives_kill_9_exactly_once";
/// Set (to anything) in the child that opens the log as the server does.
const CRASH_CHILD_SERVER_ENV: &str = "UNCOVER_STORE_CRASH_CHILD_SERVER";

/// The child: writers append until killed, printing each id once its commit is answered.
fn crash_child(path: &Path) -> ! {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let log = Arc::new(if std::env::var_os(CRASH_CHILD_SERVER_ENV).is_some() {
            SqliteLog::open_exclusive(path).unwrap()
        } else {
            SqliteLog::open(path).unwrap()
        });
        // Straight to the process's stdout, past the test harness's output capture.
        let out = Arc::new(Mutex::new(std::io::stdout()));
        let mut writers = JoinSet::new();
        for writer in 0..CRASH_WRITERS {
            let log = Arc::clone(&log);
            let out = Arc::clone(&out);
            writers.spawn(async move {
                let stream = format!("session:crash/room:{writer}");
                for n in 0..CRASH_CHILD_LIMIT {
                    let body = format!("w{writer}-{n}");
                    let id = log.append(&stream, body.clone()).await.unwrap();
                    let mut out = out.lock().unwrap();
                    writeln!(out, "ack {id} {stream} {body}").unwrap();
                    out.flush().unwrap();
                }
            });
        }
        while writers.join_next().await.is_some() {}
    });
    std::process::exit(0)
}

fn parse_ack(line: &str) -> Option<(EventId, String, String)> {
    let mut words = line.strip_prefix("ack ")?.split(' ');
    let id = words.next()?.parse().ok()?;
    Some((id, words.next()?.to_owned(), words.next()?.to_owned()))
}

#[test]
fn every_acknowledged_event_survives_kill_9_exactly_once() {
    if let Some(path) = std::env::var_os(CRASH_CHILD_ENV) {
        crash_child(Path::new(&path));
    }
    kill_a_writing_child_and_check_every_acknowledgement(CRASH_TEST, false);
}

#[test]
fn every_acknowledged_event_on_the_servers_log_survives_kill_9_exactly_once() {
    if let Some(path) = std::env::var_os(CRASH_CHILD_ENV) {
        crash_child(Path::new(&path));
    }
    kill_a_writing_child_and_check_every_acknowledgement(CRASH_TEST_SERVER, true);
}

/// Runs `test` as a child appending to a log (the server's, when `server`), kills it
/// with SIGKILL mid-stream, and checks the file holds every event it acknowledged, once.
fn kill_a_writing_child_and_check_every_acknowledgement(test: &str, server: bool) {
    let dir = TempDir::new("sigkill");
    let path = dir.file("events.db");
    let mut command = Command::new(std::env::current_exe().unwrap());
    if server {
        command.env(CRASH_CHILD_SERVER_ENV, "1");
    }
    let mut child = command
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CRASH_CHILD_ENV, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acked = Vec::new();
    while acked.len() < CRASH_ACKS_BEFORE_KILL {
        match lines.next() {
            Some(Ok(line)) => acked.extend(parse_ack(&line)),
            _ => break,
        }
    }
    // On unix this is SIGKILL: no destructor, no flush, no clean close of the file.
    child.kill().unwrap();
    child.wait().unwrap();
    // Lines already in the pipe were printed after their commit: acknowledged too.
    acked.extend(lines.map_while(Result::ok).filter_map(|l| parse_ack(&l)));
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(
        acked.len() >= CRASH_ACKS_BEFORE_KILL,
        "the child stopped after {} acknowledgements:\n{stderr}",
        acked.len()
    );

    let events = SqliteLog::open(&path).unwrap().load_all().unwrap();
    let mut by_body: HashMap<&str, Vec<&StoredEvent>> = HashMap::new();
    for event in &events {
        by_body.entry(event.body.as_str()).or_default().push(event);
    }
    let duplicated: Vec<&&str> = by_body
        .iter()
        .filter(|(_, v)| v.len() > 1)
        .map(|(b, _)| b)
        .collect();
    assert!(duplicated.is_empty(), "stored twice: {duplicated:?}");
    for (id, stream, body) in &acked {
        let stored = by_body
            .get(body.as_str())
            .unwrap_or_else(|| panic!("acknowledged {body} (id {id}) was lost"));
        assert_eq!((stored[0].id, &stored[0].stream), (*id, stream));
    }
    // Each writer's events are stored in the order it sent them, with no gap.
    for writer in 0..CRASH_WRITERS {
        let stream = format!("session:crash/room:{writer}");
        let bodies: Vec<&str> = events
            .iter()
            .filter(|e| e.stream == stream)
            .map(|e| e.body.as_str())
            .collect();
        let expected: Vec<String> = (0..bodies.len())
            .map(|n| format!("w{writer}-{n}"))
            .collect();
        assert_eq!(bodies, expected);
    }
}

#[tokio::test]
async fn a_busy_log_reuses_its_wal_instead_of_growing_it() {
    let dir = TempDir::new("wal-reuse");
    let path = dir.file("events.db");
    let options = SqliteOptions {
        commit_every: std::time::Duration::ZERO,
        checkpoint_every: std::time::Duration::from_millis(1),
        ..SqliteOptions::default()
    };
    let log = SqliteLog::open_with(&path, options).unwrap();
    // One event per commit, without a pause: every commit writes at least one 1 KiB
    // page to the WAL, so 3,000 of them would leave a 3 MiB WAL if it never restarted.
    let body = "x".repeat(200);
    let started = std::time::Instant::now();
    let mut commits = 0;
    while commits < 3_000 || started.elapsed() < std::time::Duration::from_millis(200) {
        log.append(&format!("room:{}", commits % 50), body.clone())
            .await
            .unwrap();
        commits += 1;
    }
    let wal = std::fs::metadata(path.with_extension("db-wal"))
        .unwrap()
        .len();
    assert!(
        wal < 2 * 1024 * 1024,
        "the WAL grew to {wal} bytes over {commits} commits"
    );
    drop(log);
    assert_eq!(
        SqliteLog::open(&path).unwrap().load_all().unwrap().len(),
        commits
    );
}

#[tokio::test]
async fn a_log_written_by_the_first_schema_is_upgraded_and_still_deletes_whole_sessions() {
    let dir = TempDir::new("v1");
    let path = dir.file("events.db");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE schema_version (version INTEGER NOT NULL);
             INSERT INTO schema_version (version) VALUES (1);
             CREATE TABLE events (
                 id INTEGER PRIMARY KEY AUTOINCREMENT, stream TEXT NOT NULL,
                 at_ms INTEGER NOT NULL, body TEXT NOT NULL);
             CREATE INDEX events_by_stream ON events (stream, at_ms);
             INSERT INTO events (stream, at_ms, body) VALUES
                 ('session:a', 10, 'a1'), ('session:b', 11, 'b1'),
                 ('session:a/room:1', 12, 'a2'), ('session:ab', 13, 'ab1');",
        )
        .unwrap();
    }
    let log = SqliteLog::open(&path).unwrap();
    log.append("session:a/room:2", "a3".into()).await.unwrap();
    let removed = log.delete_streams("session:a").await.unwrap();
    assert_eq!(
        removed,
        Removed {
            streams: 3,
            events: 3
        }
    );
    let left: Vec<String> = log
        .load_all()
        .unwrap()
        .into_iter()
        .map(|e| e.body)
        .collect();
    assert_eq!(left, ["b1", "ab1"]);
    let index: i64 = Connection::open(&path)
        .unwrap()
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE name = 'events_by_stream'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(index, 0, "the version 1 index is dropped");
}

#[tokio::test]
async fn events_the_tree_table_missed_before_a_crash_are_still_deleted_with_their_session() {
    let dir = TempDir::new("tail");
    let path = dir.file("events.db");
    {
        let log = SqliteLog::open(&path).unwrap();
        log.append("session:t", "t1".into()).await.unwrap();
        log.append("session:u", "u1".into()).await.unwrap();
    }
    {
        // As if the process died after these commits but before it wrote `trees`.
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "INSERT INTO events (stream, at_ms, body) VALUES
                 ('session:t/room:9', 20, 't2'), ('session:v', 21, 'v1');",
        )
        .unwrap();
    }
    let log = SqliteLog::open(&path).unwrap();
    let removed = log.delete_streams("session:t").await.unwrap();
    assert_eq!(
        removed,
        Removed {
            streams: 2,
            events: 2
        }
    );
    let removed = log.delete_streams("session:v").await.unwrap();
    assert_eq!(
        removed,
        Removed {
            streams: 1,
            events: 1
        }
    );
    let left: Vec<String> = log
        .load_all()
        .unwrap()
        .into_iter()
        .map(|e| e.body)
        .collect();
    assert_eq!(left, ["u1"]);
}

#[tokio::test]
async fn the_servers_log_keeps_no_shm_file_admits_no_other_connection_and_backs_up() {
    let dir = TempDir::new("exclusive");
    let path = dir.file("events.db");
    let log = SqliteLog::open_exclusive(&path).unwrap();
    log.append_at("room:1", 1, "saved".to_owned())
        .await
        .unwrap();
    assert!(
        !dir.file("events.db-shm").exists(),
        "the WAL index lives in memory, not in a mapped file"
    );
    let other = Connection::open(&path).unwrap();
    other
        .busy_timeout(std::time::Duration::from_millis(50))
        .unwrap();
    let read = other.query_row("SELECT COUNT(*) FROM events", [], |r| r.get::<_, i64>(0));
    assert!(read.is_err(), "another connection reads nothing: {read:?}");
    assert_eq!(log.load_all().unwrap().len(), 1);

    let copy = dir.file("copy.db");
    log.backup(&copy).await.unwrap();
    log.append_at("room:1", 2, "after the backup".to_owned())
        .await
        .unwrap();
    log.backup(&copy).await.unwrap();
    drop(log);
    let bodies = stored_bodies(&copy);
    assert_eq!(
        bodies,
        ["saved", "after the backup"],
        "a backup replaces the last"
    );
}

#[tokio::test]
async fn an_id_is_never_given_again_after_the_newest_events_are_deleted() {
    let dir = TempDir::new("ids");
    let path = dir.file("events.db");
    let newest = {
        let log = SqliteLog::open(&path).unwrap();
        log.append("session:a", "a1".into()).await.unwrap();
        let newest = log.append("session:b", "b1".into()).await.unwrap();
        log.delete_streams("session:b").await.unwrap();
        newest
    };
    let log = SqliteLog::open(&path).unwrap();
    let next = log.append("session:c", "c1".into()).await.unwrap();
    assert!(next > newest, "{next} after {newest}");
}

#[tokio::test]
async fn a_log_of_the_second_schema_keeps_counting_past_what_autoincrement_gave_out() {
    let dir = TempDir::new("v2");
    let path = dir.file("events.db");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE schema_version (version INTEGER NOT NULL);
             INSERT INTO schema_version (version) VALUES (2);
             CREATE TABLE events (
                 id INTEGER PRIMARY KEY AUTOINCREMENT, stream TEXT NOT NULL,
                 at_ms INTEGER NOT NULL, body TEXT NOT NULL);
             CREATE TABLE trees (
                 root TEXT PRIMARY KEY, first_id INTEGER NOT NULL,
                 last_id INTEGER NOT NULL, last_at_ms INTEGER NOT NULL);
             INSERT INTO events (stream, at_ms, body) VALUES
                 ('session:a', 10, 'a1'), ('session:b', 11, 'b1'), ('session:b', 12, 'b2');
             DELETE FROM events WHERE stream = 'session:b';",
        )
        .unwrap();
    }
    let log = SqliteLog::open(&path).unwrap();
    let next = log.append("session:c", "c1".into()).await.unwrap();
    assert_eq!(next, 4, "ids 2 and 3 were given out before");
    let bodies: Vec<String> = log
        .load_all()
        .unwrap()
        .into_iter()
        .map(|e| e.body)
        .collect();
    assert_eq!(bodies, ["a1", "c1"]);
}
