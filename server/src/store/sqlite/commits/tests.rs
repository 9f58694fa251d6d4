//! Tests of the journal's commits, with no runtime: every append is written at once.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use tokio::sync::oneshot;

use super::*;
use crate::store::sqlite::queue::{self, Empty};
use crate::store::tests::TempDir;
use crate::store::EventId;

type Answered = oneshot::Receiver<Result<EventId, StoreError>>;

/// Commits on two fresh files in a folder of their own, with no runtime, so every
/// append is written at once; and the writer's end of the queue, to see nudges.
struct Setup {
    _dir: TempDir,
    paths: [PathBuf; 2],
    commits: Commits,
    writer: queue::Receiver<Request>,
    _requests: queue::Sender<Request>,
    stats: Arc<StatsCell>,
}

impl Setup {
    fn new(name: &str) -> Self {
        let dir = TempDir::new(&format!("commits-{name}"));
        let paths = journal::journal_paths(&dir.file("events.db"));
        let files = paths.clone().map(|p| Journal::open(&p).unwrap());
        let (requests, writer) = queue::channel();
        let stats = Arc::new(StatsCell::default());
        let commits = Commits::start(files, 1, requests.nudge(), Arc::clone(&stats));
        Self {
            _dir: dir,
            paths,
            commits,
            writer,
            _requests: requests,
            stats,
        }
    }

    fn append(&self, body: &str) -> Answered {
        let (done, answer) = oneshot::channel();
        self.stats.queued.fetch_add(1, Ordering::Relaxed);
        self.commits.append(Append {
            stream: Arc::from("session:s/room:1"),
            at_ms: 1_000,
            body: body.to_owned(),
            done,
        });
        answer
    }

    /// The ids in each of the two files.
    fn ids_in_files(&self) -> [Vec<i64>; 2] {
        self.paths.clone().map(|p| {
            journal::read(&p)
                .unwrap()
                .records
                .iter()
                .map(|r| r.id)
                .collect()
        })
    }

    fn nudged(&self) -> bool {
        matches!(
            self.writer.recv(Some(std::time::Duration::ZERO)),
            Err(Empty::Nudged)
        )
    }
}

fn id_of(mut answer: Answered) -> EventId {
    answer.try_recv().unwrap().unwrap()
}

fn ids(taken: &Taken) -> Vec<i64> {
    taken.events.iter().map(|e| e.id).collect()
}

#[test]
fn lines_go_to_one_file_until_a_settling_switches_and_the_settled_file_is_emptied() {
    let setup = Setup::new("switch");
    let answered: Vec<_> = ["a", "b", "c"].map(|b| setup.append(b)).into();
    assert_eq!(
        answered.into_iter().map(id_of).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(setup.ids_in_files(), [vec![1, 2, 3], vec![]]);

    let taken = setup.commits.take().unwrap();
    assert_eq!(ids(&taken), [1, 2, 3]);
    assert_eq!(id_of(setup.append("d")), 4);
    assert_eq!(
        setup.ids_in_files(),
        [vec![1, 2, 3], vec![4]],
        "a line appended while the others settle goes to the other file"
    );
    setup.commits.settled(taken);
    assert_eq!(setup.ids_in_files(), [vec![], vec![4]]);

    let taken = setup.commits.take().unwrap();
    assert_eq!(ids(&taken), [4]);
    assert_eq!(id_of(setup.append("e")), 5);
    setup.commits.settled(taken);
    assert_eq!(setup.ids_in_files(), [vec![5], vec![]]);
    assert!(!setup.commits.is_settled());
}

#[test]
fn a_settling_that_failed_leaves_its_events_for_the_next_one_in_order() {
    let setup = Setup::new("failed");
    setup.append("a");
    setup.append("b");
    let taken = setup.commits.take().unwrap();
    setup.append("c");
    setup
        .commits
        .not_settled(taken, &StoreError::Write("disk full".into()));
    assert_eq!(
        setup.ids_in_files(),
        [vec![1, 2], vec![3]],
        "nothing is emptied that is not in SQLite"
    );
    let taken = setup.commits.take().unwrap();
    assert_eq!(ids(&taken), [1, 2, 3]);
    setup.commits.settled(taken);
    assert_eq!(setup.ids_in_files(), [vec![1, 2], vec![]]);
    assert!(setup.commits.is_settled());
    assert!(setup.commits.take().is_none(), "nothing left to settle");
}

#[test]
fn many_unsettled_lines_nudge_the_writer_and_past_the_limit_wait_for_its_settling() {
    let setup = Setup::new("limit");
    for n in 0..SETTLE_SOON - 1 {
        setup.append(&n.to_string());
    }
    assert!(!setup.nudged());
    setup.append("soon");
    assert!(setup.nudged(), "the writer is asked to settle early");
    for n in SETTLE_SOON..SETTLE_LINES {
        setup.append(&n.to_string());
    }
    let mut held = setup.append("held");
    assert!(
        held.try_recv().is_err(),
        "a line past the limit waits for the settling"
    );
    let taken = setup.commits.take().unwrap();
    assert_eq!(taken.events.len(), SETTLE_LINES + 1, "and settles with it");
    assert_eq!(id_of(held), SETTLE_LINES as u64 + 1);
    setup.commits.settled(taken);
    assert!(setup.commits.is_settled());
}

#[test]
fn a_line_past_the_limit_is_refused_when_the_settling_fails() {
    let setup = Setup::new("refused");
    for n in 0..SETTLE_LINES {
        setup.append(&n.to_string());
    }
    let error = StoreError::Write("disk full".into());
    let taken = setup.commits.take().unwrap();
    setup.commits.not_settled(taken, &error);
    let mut refused = setup.append("refused");
    assert!(refused.try_recv().is_err(), "waiting for the next settling");
    let taken = setup.commits.take().unwrap();
    assert_eq!(
        taken.events.len(),
        SETTLE_LINES,
        "while settling fails, nothing more is written"
    );
    setup.commits.not_settled(taken, &error);
    assert!(matches!(refused.try_recv(), Ok(Err(StoreError::Write(_)))));
    assert_eq!(setup.stats.queued.load(Ordering::Relaxed), 0);

    let taken = setup.commits.take().unwrap();
    setup.commits.settled(taken);
    assert_eq!(id_of(setup.append("after")), SETTLE_LINES as u64 + 1);
}

#[test]
fn closed_commits_refuse_new_lines() {
    let setup = Setup::new("closed");
    setup.commits.close();
    let mut answer = setup.append("late");
    assert!(matches!(answer.try_recv(), Ok(Err(StoreError::Closed))));
    assert_eq!(setup.stats.queued.load(Ordering::Relaxed), 0);
}
