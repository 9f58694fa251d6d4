//! The way into a room's task: the commands it hears and the handle that queues them.

use std::future::Future;

use futures_util::FutureExt;
use tokio::sync::oneshot;

use super::Sender;
use crate::outbox::Connection;
use crate::protocol::{ClientMsg, HostAction, ParticipantId, RoomId};

/// What a room task hears.
#[derive(Debug)]
pub enum RoomCmd {
    Client {
        from: ParticipantId,
        msg: ClientMsg,
    },
    /// The participant's connection ended; their seat is held for the grace window.
    Disconnected {
        from: ParticipantId,
    },
    /// The participant is back and has been replayed what they missed.
    Reconnected {
        from: ParticipantId,
    },
    /// The participant is back but their missed frames are gone: attach `conn` and send
    /// their whole view, here, so no room event in between reaches them twice.
    Rejoin {
        from: ParticipantId,
        conn: Connection,
        last_seq: u64,
        /// Told once `conn` is attached and the view is queued on it.
        attached: oneshot::Sender<()>,
    },
    /// The room's session was deleted: stop now.
    Close,
    /// The trainer's control, from the workshop session.
    Host(HostAction),
    /// An observer's note.
    ObserverNote {
        from: ParticipantId,
        text: String,
    },
}

/// The way into a room's task.
#[derive(Debug, Clone)]
pub struct RoomHandle {
    pub id: RoomId,
    tx: Sender<RoomCmd>,
}

impl RoomHandle {
    pub fn new(id: RoomId, tx: Sender<RoomCmd>) -> Self {
        Self { id, tx }
    }

    /// Queues a command; false if the room has closed.
    ///
    /// Not an `async fn`, which would keep `cmd` twice in the future every connection
    /// holds while its line waits for room in the queue.
    pub fn send(&self, cmd: RoomCmd) -> impl Future<Output = bool> + '_ {
        self.tx.send(cmd).map(|sent| sent.is_ok())
    }

    /// Hands a reconnecting participant's connection to the room and waits until the
    /// room has attached it; gives it back if the room has closed.
    pub async fn rejoin(
        &self,
        from: ParticipantId,
        conn: Connection,
        last_seq: u64,
    ) -> Result<(), Connection> {
        let (attached, done) = oneshot::channel();
        match self
            .tx
            .send(RoomCmd::Rejoin {
                from,
                conn,
                last_seq,
                attached,
            })
            .await
        {
            // Waits for the room to attach the connection, so whatever the caller answers
            // next (an error for the client's next frame) goes out after the view, not
            // into a detached outbox whose numbering the rebuild then starts over.
            Ok(()) => {
                let _ = done.await;
                Ok(())
            }
            Err(RoomCmd::Rejoin { conn, .. }) => Err(conn),
            Err(_) => Ok(()),
        }
    }

    /// Queues a command without waiting; false if the room has closed or is flooded.
    pub fn try_send(&self, cmd: RoomCmd) -> bool {
        self.tx.try_send(cmd).is_ok()
    }

    /// Queues a command, waiting for room in the queue until `deadline`.
    pub async fn send_by(&self, cmd: RoomCmd, deadline: tokio::time::Instant) -> Queued {
        match tokio::time::timeout_at(deadline, self.tx.send(cmd)).await {
            Ok(Ok(())) => Queued::Yes,
            Ok(Err(_)) => Queued::Closed,
            Err(_) => Queued::Busy,
        }
    }
}

/// What became of a command sent with [`RoomHandle::send_by`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queued {
    Yes,
    /// The room has closed.
    Closed,
    /// The room's queue stayed full until the deadline.
    Busy,
}
