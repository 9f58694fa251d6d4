//! Plain HTTP: the embedded web client, the health check and the public scenario list.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use rust_embed::RustEmbed;

use crate::protocol::ScenarioSummary;
use crate::AppState;

/// The web client, embedded at build time so the binary works offline on a LAN.
#[derive(RustEmbed)]
#[folder = "../client-web/"]
struct Assets;

fn asset(path: &str) -> Response {
    match Assets::get(path) {
        Some(file) => (
            [
                (header::CONTENT_TYPE, file.metadata.mimetype().to_string()),
                // The binary is the release unit; revalidate so an upgrade shows at once.
                (header::CACHE_CONTROL, "no-cache".to_string()),
            ],
            file.data,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

pub async fn index() -> Response {
    asset("index.html")
}

/// The trainer's console. The host token travels in the URL fragment, which browsers
/// never send to the server, so it stays out of logs.
pub async fn host() -> Response {
    asset("host.html")
}

pub async fn static_file(Path(path): Path<String>) -> Response {
    asset(&path)
}

pub async fn healthz() -> &'static str {
    "ok"
}

/// Prometheus text format.
pub async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        crate::metrics::render(&state.hub),
    )
        .into_response()
}

/// What anyone may know about the loaded scenarios: never their hidden facts.
pub async fn scenarios(State(state): State<AppState>) -> Json<Vec<ScenarioSummary>> {
    Json(
        state
            .hub
            .library()
            .all()
            .iter()
            .map(|s| ScenarioSummary::from(s.as_ref()))
            .collect(),
    )
}
