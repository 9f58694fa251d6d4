//! Uncover: a real-time server for practising sales discovery in pairs.
//!
//! A seller and a buyer are paired in a room; the buyer holds a hidden story of facts
//! and marks each one revealed when the seller earns it; when the round ends both see
//! how much of the story was uncovered, and why.
//!
//! # Layout
//! - [`config`]: command line and environment options.
//! - [`protocol`]: the websocket messages, `ClientMsg` in and `ServerMsg` out.
//! - [`scenario`]: the scenario file format, loader and validator (`scenario/parse.rs`
//!   reads and locates one file, `scenario/checks.rs` holds the semantic checks).
//! - [`console`]: what the trainer's console is sent (lobby, plan, live cards, room debrief).
//! - [`room`]: one round as an event-sourced state machine (pure, no I/O).
//! - [`explain`]: `uncover explain`: how one seller message is read, fact by fact.
//! - [`hub`]: participants, matchmaking, pair links, workshop codes, the room registry
//!   (`hub/participant.rs` one participant and the name rules, `hub/lobby.rs` the lobby).
//! - [`room_task`]: the task that owns one room: events, views, clock, live reports
//!   (`room_task/`: `handle.rs` commands, `live.rs` the live card, `bot_seat.rs` the bot).
//! - [`workshop`]: a facilitated session's task: lobby, pairing, rounds, room debrief
//!   (`workshop/`: `state.rs` pure state, `members.rs`, `rounds.rs`, console `views.rs`).
//! - [`bot`]: the bot buyer, a documented rule engine that plays a scenario's hidden story.
//! - [`recovery`]: rebuilding participants, sessions and rooms from the event log at start.
//! - [`pairing`]: pairing a workshop round (no repeat partners, roles swapped, odd one out).
//! - [`meaning`]: what a line means for one scenario: facts asked for, question aims, recap facts.
//! - [`metrics`]: Prometheus counters and gauges behind `/metrics`.
//! - [`outbox`]: a participant's numbered, bounded outbound queue.
//! - [`chat_frame`]: a chat line's JSON, its text escaped once for the log and every frame.
//! - [`ws`]: the websocket connection: the handshake (`ws/handshake.rs`), then one task
//!   that reads the socket and writes its bounded outbound queue (`ws/socket_io.rs`);
//!   the socket beneath reads each frame whole, in one system call (`ws/whole_reads.rs`).
//! - [`listener`]: the listening socket, which closes connections that send no request.
//! - [`api`]: the trainer's HTTP endpoints: session export (CSV, JSON) and join QR code.
//! - [`web`]: static web client, health check, public scenario list.
//! - [`scoring`]: the debrief: headline, fact outcomes, captured share.
//! - [`capture`]: words, stems and whole-word phrase matching (pitch words, name-drops).
//! - [`behaviour`]: behaviour figures read off the transcript.
//! - [`clock`]: wall-clock milliseconds that follow tokio's (pausable) clock.
//! - [`reader`]: turning a line of text into meaning: sentences, embeddings, token
//!   alignment, nearest examples.
//! - [`store`]: the durable event log (a journal settled into SQLite, or memory) that
//!   restarts rebuild from.

pub mod api;
pub mod behaviour;
pub mod bot;
pub mod capture;
pub mod chat_frame;
pub mod clock;
pub mod config;
pub mod console;
pub mod explain;
pub mod hub;
pub mod listener;
pub mod meaning;
pub mod metrics;
pub mod outbox;
pub mod pairing;
pub mod protocol;
pub mod reader;
pub mod recovery;
pub mod room;
pub mod room_task;
pub mod scenario;
pub mod scoring;
pub mod store;
pub mod web;
pub mod workshop;
pub mod ws;

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::routing::{delete, get};
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::hub::{Hub, HubConfig};
use crate::scenario::Library;
use crate::store::{EventLog, MemoryLog};

/// How often the server notes that it is alive (see [`EventLog::mark_alive`]): after a
/// crash, running phases get back the time since the last note, so they keep their
/// remaining time to within this much.
const ALIVE_EVERY: Duration = Duration::from_millis(500);
/// How often retention and the registry of dropped participants are tidied.
const UPKEEP_EVERY: Duration = Duration::from_secs(60);
/// How long a stopping server waits for its websockets to close. Each gets
/// [`ws::CLOSE_TIMEOUT`] for its task to send what is queued and the close frame; a
/// peer that has not read them by then is not reading.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Options beyond the scenarios and the store.
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    pub hub: HubConfig,
    /// Extra origins allowed to open websockets (for a reverse proxy's public name).
    pub allowed_origins: Vec<String>,
    /// Sessions and rounds untouched for longer are purged from the log; none keeps all.
    pub retention: Option<Duration>,
    /// How fast one connection may send messages.
    pub message_rate: ws::MessageRate,
}

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub hub: Arc<Hub>,
    pub guards: Arc<ws::Guards>,
    /// Flips to true when the server begins shutting down; every connection watches it.
    pub closing: watch::Receiver<bool>,
    closing_tx: Arc<watch::Sender<bool>>,
    /// One receiver per open websocket, dropped when it has closed: the HTTP server's
    /// graceful shutdown stops tracking a connection once it is upgraded, so [`run`]
    /// waits on these before flushing the log and returning.
    open_sockets: Arc<watch::Sender<()>>,
    retention: Option<Duration>,
}

impl AppState {
    /// A server that keeps its events in memory, with default options.
    pub fn new(library: Library) -> Self {
        Self::with_lan_urls(library, Vec::new())
    }

    /// `lan_urls`: addresses trainees on the LAN can reach this server at.
    pub fn with_lan_urls(library: Library, lan_urls: Vec<String>) -> Self {
        let options = ServerOptions {
            hub: HubConfig {
                lan_urls,
                ..HubConfig::default()
            },
            ..ServerOptions::default()
        };
        Self::build(library, Arc::new(MemoryLog::new()), options)
    }

    /// A server on `store`; call [`AppState::recover`] before serving to rebuild what
    /// the store holds.
    pub fn build(library: Library, store: Arc<dyn EventLog>, options: ServerOptions) -> Self {
        let (tx, rx) = watch::channel(false);
        let (open_sockets, _) = watch::channel(());
        Self {
            hub: Hub::with_store(Arc::new(library), store, options.hub),
            guards: Arc::new(ws::Guards::new(
                options.allowed_origins,
                options.message_rate,
            )),
            closing: rx,
            closing_tx: Arc::new(tx),
            open_sockets: Arc::new(open_sockets),
            retention: options.retention,
        }
    }

    /// Purges what retention allows, then rebuilds sessions, rooms and in-flight rounds
    /// from the event log. Must run inside a tokio runtime (it starts their tasks).
    pub async fn recover(&self) -> Result<recovery::Recovered, store::StoreError> {
        if let Some(keep) = self.retention {
            let cutoff = clock::now_ms().saturating_sub(keep.as_millis() as u64);
            self.hub.store().purge_before(cutoff).await?;
        }
        let store = self.hub.store().clone();
        let events = tokio::task::spawn_blocking(move || store.load_all())
            .await
            .map_err(|e| store::StoreError::Read(e.to_string()))??;
        let alive = self.hub.store().last_alive();
        Ok(recovery::rebuild(&self.hub, events, alive))
    }

    /// Tells every connection the server is closing.
    pub fn begin_shutdown(&self) {
        let _ = self.closing_tx.send(true);
    }

    /// Held by a websocket connection for as long as it is open.
    pub(crate) fn socket_open(&self) -> watch::Receiver<()> {
        self.open_sockets.subscribe()
    }
}

/// The HTTP and websocket routes.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/", get(web::index))
        .route("/healthz", get(web::healthz))
        .route("/metrics", get(web::metrics))
        .route("/api/scenarios", get(web::scenarios))
        .route("/api/sessions/{id}", delete(api::delete_session))
        .route("/api/sessions/{id}/export", get(api::export))
        .route("/api/sessions/{id}/qr.svg", get(api::qr))
        .route("/host", get(web::host))
        .route("/ws", get(ws::upgrade))
        .route("/{*path}", get(web::static_file))
        .with_state(state)
}

/// Retention and registry upkeep until the server closes.
async fn upkeep(state: AppState) {
    let mut closing = state.closing.clone();
    let mut tick = tokio::time::interval(UPKEEP_EVERY);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = closing.changed() => return,
        }
        state.hub.sweep_away();
        if let Some(keep) = state.retention {
            let cutoff = clock::now_ms().saturating_sub(keep.as_millis() as u64);
            state.hub.expire_sessions(cutoff);
            if let Err(e) = state.hub.store().purge_before(cutoff).await {
                tracing::warn!(error = %e, "retention purge failed");
            }
        }
    }
}

/// Serves until `shutdown` completes, then drains: connections are told and closed, and
/// the event log is flushed before this returns.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    metrics::install();
    tokio::spawn(upkeep(state.clone()));
    let stall_watch = tokio::spawn(clock::watch_stalls());
    let alive = tokio::spawn(mark_alive(state.hub.store().clone(), state.closing.clone()));
    let draining = state.clone();
    // When the drain began: from then on nobody can act, so a restart gives the rooms'
    // clocks back the drain too, not only the time the process was gone.
    let drain_began = Arc::new(AtomicU64::new(0));
    let began = Arc::clone(&drain_began);
    let graceful = async move {
        shutdown.await;
        tracing::info!("shutting down: closing connections and flushing the event log");
        began.store(clock::now_ms(), Ordering::SeqCst);
        draining.begin_shutdown();
    };
    let hub = state.hub.clone();
    let open_sockets = state.open_sockets.clone();
    let result = axum::serve(
        listener::GuardedListener::new(listener),
        app(state).into_make_service_with_connect_info::<listener::Peer>(),
    )
    .with_graceful_shutdown(graceful)
    .await;
    // Every socket has been told by now; let their writers deliver the notice and close.
    if tokio::time::timeout(DRAIN_TIMEOUT, open_sockets.closed())
        .await
        .is_err()
    {
        tracing::warn!(
            open = open_sockets.receiver_count(),
            "websockets still open after {DRAIN_TIMEOUT:?}; stopping anyway"
        );
    }
    stall_watch.abort();
    alive.abort();
    if let Err(e) = hub.store().flush().await {
        tracing::error!(error = %e, "the event log could not be flushed");
    }
    let last_served = match drain_began.load(Ordering::SeqCst) {
        0 => clock::now_ms(),
        began => began,
    };
    hub.store().mark_alive(last_served);
    result
}

/// Notes in the log, every [`ALIVE_EVERY`], that the server is running, so a restart
/// after a crash knows when it went down even if nothing happened for a while.
async fn mark_alive(store: Arc<dyn EventLog>, mut closing: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(ALIVE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = closing.changed() => return,
        }
        let store = store.clone();
        let now = clock::now_ms();
        let _ = tokio::task::spawn_blocking(move || store.mark_alive(now)).await;
    }
}
