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
//! - [`room`]: one round as an event-sourced state machine (pure, no I/O).
//! - [`hub`]: participants, matchmaking, pair links, and the task that owns each room.
//! - [`outbox`]: a participant's numbered, bounded outbound queue.
//! - [`ws`]: the websocket connection: reader loop and writer task.
//! - [`web`]: static web client, health check, public scenario list.
//! - [`scoring`]: the debrief: headline, fact outcomes, captured share.
//! - [`capture`]: stemmed matching of a recap against recap cues.
//! - [`behaviour`]: behaviour figures read off the transcript.
//! - [`clock`]: wall-clock milliseconds that follow tokio's (pausable) clock.

pub mod behaviour;
pub mod capture;
pub mod clock;
pub mod config;
pub mod hub;
pub mod outbox;
pub mod protocol;
pub mod room;
pub mod scenario;
pub mod scoring;
pub mod web;
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
        Self {
            hub: Hub::new(Arc::new(library)),
        }
    }
}

/// The HTTP and websocket routes.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/", get(web::index))
        .route("/healthz", get(web::healthz))
        .route("/api/scenarios", get(web::scenarios))
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
