//! Uncover: a real-time server for practising sales discovery in pairs.
//!
//! A seller and a buyer are paired in a room; the buyer holds a hidden story of facts
//! and marks each one revealed when the seller earns it; when the round ends both see
//! how much of the story was uncovered, and why.
//!
//! # Layout
//! - [`config`]: command line and environment options.
//! - [`protocol`]: the websocket messages, `ClientMsg` in and `ServerMsg` out.
//! - [`scenario`]: the scenario file format, loader and validator.
//! - [`console`]: what the trainer's console is sent (lobby, plan, live cards, room debrief).
//! - [`room`]: one round as an event-sourced state machine (pure, no I/O).
//! - [`hub`]: participants, matchmaking, pair links, workshop codes, the room registry.
//! - [`room_task`]: the task that owns one room: events, views, clock, live reports.
//! - [`workshop`]: a facilitated session's task: lobby, pairing, rounds, room debrief.
//! - [`bot`]: the bot buyer, a documented rule engine that plays a scenario's hidden story.
//! - [`pairing`]: pairing a workshop round (no repeat partners, roles swapped, odd one out).
//! - [`outbox`]: a participant's numbered, bounded outbound queue.
//! - [`ws`]: the websocket connection: reader loop and writer task.
//! - [`api`]: the trainer's HTTP endpoints: session export (CSV, JSON) and join QR code.
//! - [`web`]: static web client, health check, public scenario list.
//! - [`scoring`]: the debrief: headline, fact outcomes, captured share.
//! - [`capture`]: stemmed matching of a recap against recap cues.
//! - [`behaviour`]: behaviour figures read off the transcript.
//! - [`clock`]: wall-clock milliseconds that follow tokio's (pausable) clock.
//! - [`store`]: the durable event log (SQLite, or memory) that restarts rebuild from.

pub mod api;
pub mod behaviour;
pub mod bot;
pub mod capture;
pub mod clock;
pub mod config;
pub mod console;
pub mod hub;
pub mod outbox;
pub mod pairing;
pub mod protocol;
pub mod room;
pub mod room_task;
pub mod scenario;
pub mod scoring;
pub mod store;
pub mod web;
pub mod workshop;
pub mod ws;

use std::future::Future;
use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;

use crate::hub::Hub;
use crate::scenario::Library;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub hub: Arc<Hub>,
}

impl AppState {
    pub fn new(library: Library) -> Self {
        Self::with_lan_urls(library, Vec::new())
    }

    /// `lan_urls`: addresses trainees on the LAN can reach this server at.
    pub fn with_lan_urls(library: Library, lan_urls: Vec<String>) -> Self {
        Self {
            hub: Hub::new(Arc::new(library), lan_urls),
        }
    }
}

/// The HTTP and websocket routes.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/", get(web::index))
        .route("/healthz", get(web::healthz))
        .route("/api/scenarios", get(web::scenarios))
        .route("/api/sessions/{id}/export", get(api::export))
        .route("/api/sessions/{id}/qr.svg", get(api::qr))
        .route("/host", get(web::host))
        .route("/ws", get(ws::upgrade))
        .route("/{*path}", get(web::static_file))
        .with_state(state)
}

/// Serves until `shutdown` completes.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
}
