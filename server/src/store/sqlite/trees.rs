//! The `trees` table: where each stream tree's events lie, kept by the writer so that
//! deleting a session or purging old ones reads only that tree's ids, never the log.

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use crate::store::{tree_root, Removed};

/// Where one stream tree's events lie in `events`, and when it last changed.
#[derive(Debug, Clone, Copy)]
pub(super) struct TreeSpan {
    first_id: i64,
    last_id: i64,
    last_at_ms: i64,
}

/// Trees changed since `trees` was last written, by root.
/// Spans by tree root, noted for every event written. foldhash, not std's SipHash:
/// the roots are the server's own names, and hashing one per line with SipHash cost
/// about 250 instructions of a line's commit.
pub(super) type DirtyTrees = foldhash::HashMap<String, TreeSpan>;

pub(super) fn note_event(dirty: &mut DirtyTrees, stream: &str, id: i64, at_ms: i64) {
    let root = tree_root(stream);
    match dirty.get_mut(root) {
        Some(span) => {
            span.first_id = span.first_id.min(id);
            span.last_id = span.last_id.max(id);
            span.last_at_ms = span.last_at_ms.max(at_ms);
        }
        None => {
            dirty.insert(
                root.to_owned(),
                TreeSpan {
                    first_id: id,
                    last_id: id,
                    last_at_ms: at_ms,
                },
            );
        }
    }
}

/// Writes the changed spans into `trees`, widening what is there.
pub(super) fn write_trees(conn: &Connection, dirty: &mut DirtyTrees) -> rusqlite::Result<()> {
    let mut upsert = conn.prepare_cached(
        "INSERT INTO trees (root, first_id, last_id, last_at_ms) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (root) DO UPDATE SET
             first_id = MIN(first_id, excluded.first_id),
             last_id = MAX(last_id, excluded.last_id),
             last_at_ms = MAX(last_at_ms, excluded.last_at_ms)",
    )?;
    for (root, span) in dirty.drain() {
        upsert.execute(params![root, span.first_id, span.last_id, span.last_at_ms])?;
    }
    Ok(())
}

/// Brings `trees` up to date with events written after its newest span: the writer writes
/// `trees` every [`TREES_EVERY`](super::TREES_EVERY), so a crash can leave that much out.
/// Reads only that tail, by id.
pub(super) fn fold_tail_into_trees(
    tx: &Transaction<'_>,
    dirty: &mut DirtyTrees,
) -> rusqlite::Result<()> {
    let known: i64 = tx.query_row("SELECT COALESCE(MAX(last_id), 0) FROM trees", [], |row| {
        row.get(0)
    })?;
    {
        let mut tail = tx.prepare("SELECT id, stream, at_ms FROM events WHERE id > ?1")?;
        let mut rows = tail.query([known])?;
        while let Some(row) = rows.next()? {
            let stream: String = row.get(1)?;
            note_event(dirty, &stream, row.get(0)?, row.get(2)?);
        }
    }
    write_trees(tx, dirty)
}

/// Deletes the stream `root` and every stream under `root/`. Only the ids of the tree
/// the streams belong to are read, so the cost follows the tree's lifetime, not the
/// size of the log.
pub(super) fn delete_tree(
    tx: &Transaction<'_>,
    dirty: &mut DirtyTrees,
    root: &str,
) -> rusqlite::Result<Removed> {
    write_trees(tx, dirty)?;
    let top = tree_root(root);
    let span: Option<(i64, i64)> = tx
        .query_row(
            "SELECT first_id, last_id FROM trees WHERE root = ?1",
            [top],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    let Some((first, last)) = span else {
        return Ok(Removed::default());
    };
    // The newest event may be among those deleted: its id stays given out.
    tx.execute(
        "UPDATE id_floor SET id = MAX(id, COALESCE((SELECT MAX(id) FROM events), 0))",
        [],
    )?;
    // Names under `root/` sort between `root/` and `root0` ('0' follows '/' in ASCII),
    // a range compared without pattern escaping.
    let below = format!("{root}/");
    let above = format!("{root}0");
    let matches = "id BETWEEN ?4 AND ?5 AND (stream = ?1 OR (stream >= ?2 AND stream < ?3))";
    let (streams, events): (i64, i64) = tx.query_row(
        &format!("SELECT COUNT(DISTINCT stream), COUNT(*) FROM events WHERE {matches}"),
        params![root, below, above, first, last],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    tx.execute(
        &format!("DELETE FROM events WHERE {matches}"),
        params![root, below, above, first, last],
    )?;
    if top == root {
        tx.execute("DELETE FROM trees WHERE root = ?1", [top])?;
    }
    Ok(Removed {
        streams: u64::try_from(streams).unwrap_or_default(),
        events: u64::try_from(events).unwrap_or_default(),
    })
}

/// Deletes every stream tree whose newest event is older than `cutoff_ms`.
pub(super) fn purge(
    tx: &Transaction<'_>,
    dirty: &mut DirtyTrees,
    cutoff_ms: i64,
) -> rusqlite::Result<Removed> {
    write_trees(tx, dirty)?;
    let stale: Vec<String> = {
        let mut select = tx.prepare("SELECT root FROM trees WHERE last_at_ms < ?1")?;
        let rows = select.query_map([cutoff_ms], |row| row.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let mut removed = Removed::default();
    for root in stale {
        let tree = delete_tree(tx, dirty, &root)?;
        removed.streams += tree.streams;
        removed.events += tree.events;
    }
    Ok(removed)
}
