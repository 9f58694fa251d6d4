//! The trainer's HTTP endpoints: a session's export (CSV or JSON) and the QR code of its
//! join link. Both need the session's host token as a bearer token.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::protocol::SessionId;
use crate::workshop::{SessionExport, SessionHandle};
use crate::AppState;

/// Origins are short URLs like `http://192.168.1.20:8080`; anything longer is not one.
const MAX_ORIGIN_CHARS: usize = 200;

/// Why an API request failed. Bodies say what to do, never how the server works inside.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("send the session's host token as `Authorization: Bearer <token>`")]
    Unauthorized,
    #[error("no such session")]
    NotFound,
    #[error("{0}")]
    BadRequest(String),
    #[error("the export could not be produced")]
    Internal,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match self {
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let mut resp = (status, self.to_string()).into_response();
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        resp
    }
}

/// The session, if the request carries its host token. An unknown session and a wrong
/// token answer alike, so the endpoint cannot be used to find sessions.
fn authorised(state: &AppState, id: u64, headers: &HeaderMap) -> Result<SessionHandle, ApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(ApiError::Unauthorized)?;
    let session = state
        .hub
        .session(SessionId(id))
        .ok_or(ApiError::Unauthorized)?;
    if !session.token_matches(token) {
        return Err(ApiError::Unauthorized);
    }
    Ok(session)
}

/// `DELETE /api/sessions/{id}`: the session and everything recorded about it.
pub async fn delete_session(
    State(state): State<AppState>,
    Path(id): Path<u64>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let session = authorised(&state, id, &headers)?;
    if session.delete().await {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::Internal)
    }
}

#[derive(Debug, Deserialize)]
pub struct ExportQuery {
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    table: Option<String>,
}

/// `GET /api/sessions/{id}/export?format=csv|json[&table=participants|facts]`
pub async fn export(
    State(state): State<AppState>,
    Path(id): Path<u64>,
    Query(q): Query<ExportQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let session = authorised(&state, id, &headers)?;
    let data = session.export().await.ok_or(ApiError::NotFound)?;
    let stem = format!("uncover-session-{}", data.code);
    match q.format.as_deref().unwrap_or("json") {
        "json" => {
            let body = serde_json::to_string_pretty(&export_json(&data)?)
                .map_err(|_| ApiError::Internal)?;
            Ok(download(body, "application/json", &format!("{stem}.json")))
        }
        "csv" => {
            let table = q.table.as_deref().unwrap_or("participants");
            let body = match table {
                "participants" => participants_csv(&data),
                "facts" => facts_csv(&data),
                other => {
                    return Err(ApiError::BadRequest(format!(
                        "unknown table `{other}`; use participants or facts"
                    )))
                }
            }
            .map_err(|_| ApiError::Internal)?;
            Ok(download(
                body,
                "text/csv; charset=utf-8",
                &format!("{stem}-{table}.csv"),
            ))
        }
        other => Err(ApiError::BadRequest(format!(
            "unknown format `{other}`; use csv or json"
        ))),
    }
}

/// The session export as JSON, with each pair's `captured_automatic` beside its debrief.
/// (Each fact's `captured_automatically` is already in the debrief.) The round's
/// `results` stay exactly as the console received them.
fn export_json(data: &SessionExport) -> Result<serde_json::Value, ApiError> {
    let mut value = serde_json::to_value(data).map_err(|_| ApiError::Internal)?;
    let rounds = value.get_mut("rounds").and_then(|r| r.as_array_mut());
    for (round, json_round) in data.rounds.iter().zip(rounds.into_iter().flatten()) {
        let pairs = json_round.get_mut("pairs").and_then(|p| p.as_array_mut());
        for (pair, json_pair) in round.pairs.iter().zip(pairs.into_iter().flatten()) {
            if let Some(o) = json_pair.as_object_mut() {
                o.insert(
                    "captured_automatic".into(),
                    serde_json::Value::Bool(captured_automatic(pair.debrief.as_ref())),
                );
            }
        }
    }
    Ok(value)
}

/// Whether any fact counted in a pair's captured figure was matched by the reader alone,
/// with no buyer verdict (false while the pair is playing).
pub fn captured_automatic(debrief: Option<&crate::scoring::Debrief>) -> bool {
    debrief.is_some_and(crate::scoring::Debrief::captured_automatic)
}

fn download(body: String, mime: &str, filename: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, mime.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// One row per participant per round.
#[derive(Debug, Serialize)]
pub struct ParticipantRow<'a> {
    pub round: u32,
    pub room: u64,
    pub scenario: &'a str,
    pub participant_id: u64,
    pub name: &'a str,
    pub role: &'a str,
    pub partner: &'a str,
    pub finished: bool,
    pub uncovered_percent: u32,
    pub facts_uncovered: u32,
    pub facts_total: u32,
    pub captured_percent: u32,
    pub heard: Option<u8>,
    pub seller_word_share: u32,
    pub questions: u32,
    pub open_share: Option<u32>,
    pub pitched_before_pain: bool,
    pub asked_anything_else: bool,
    /// Some of `captured_percent` rests on the reader alone: no buyer confirmed it.
    pub captured_automatic: bool,
}

/// One row per fact per pair.
#[derive(Debug, Serialize)]
pub struct FactRow<'a> {
    pub round: u32,
    pub room: u64,
    pub scenario: &'a str,
    pub seller: &'a str,
    pub buyer: &'a str,
    pub fact: &'a str,
    pub kind: String,
    pub depth: String,
    pub weight: u8,
    pub uncovered: bool,
    pub at_ms: Option<u64>,
    pub earned_by: Option<&'a str>,
    pub captured: bool,
    pub buyer_judgement: Option<bool>,
    /// Captured by the reader's match alone, with no buyer verdict.
    pub captured_automatically: bool,
    /// Some of this pair's captured figure rests on the reader alone.
    pub captured_automatic: bool,
}

fn lower(v: impl Serialize) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

pub fn participants_csv(data: &SessionExport) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for round in &data.rounds {
        for (pair, result) in round.pairs.iter().zip(&round.results.pairs) {
            let automatic = captured_automatic(pair.debrief.as_ref());
            let mut row = |id: u64, name: &str, role: &'static str, partner: &str| {
                w.serialize(ParticipantRow {
                    round: round.round,
                    room: pair.room.0,
                    scenario: &pair.scenario.0,
                    participant_id: id,
                    name,
                    role,
                    partner,
                    finished: result.finished,
                    uncovered_percent: result.uncovered_percent,
                    facts_uncovered: result.facts_uncovered,
                    facts_total: result.facts_total,
                    captured_percent: result.captured_percent,
                    heard: result.heard,
                    seller_word_share: result.seller_word_share,
                    questions: result.questions,
                    open_share: result.open_share,
                    pitched_before_pain: result.pitched_before_pain,
                    asked_anything_else: result.asked_anything_else,
                    captured_automatic: automatic,
                })
            };
            row(pair.seller_id.0, &pair.seller, "seller", &pair.buyer)?;
            if let Some(b) = pair.buyer_id {
                row(b.0, &pair.buyer, "buyer", &pair.seller)?;
            }
            for name in &pair.observers {
                let id = data
                    .participants
                    .iter()
                    .find(|p| &p.name == name)
                    .map(|p| p.id.0)
                    .unwrap_or(0);
                row(id, name, "observer", &pair.seller)?;
            }
        }
    }
    finish(w)
}

pub fn facts_csv(data: &SessionExport) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for round in &data.rounds {
        for pair in &round.pairs {
            let Some(d) = &pair.debrief else { continue };
            let automatic = captured_automatic(Some(d));
            for f in &d.facts {
                w.serialize(FactRow {
                    round: round.round,
                    room: pair.room.0,
                    scenario: &pair.scenario.0,
                    seller: &pair.seller,
                    buyer: &pair.buyer,
                    fact: &f.id.0,
                    kind: lower(f.kind),
                    depth: lower(f.depth),
                    weight: f.weight,
                    uncovered: f.uncovered,
                    at_ms: f.at_ms,
                    earned_by: f.earned_by.as_ref().map(|l| &*l.text),
                    captured: f.captured,
                    buyer_judgement: f.buyer_judgement,
                    captured_automatically: f.captured && f.captured_automatically,
                    captured_automatic: automatic,
                })?;
            }
        }
    }
    finish(w)
}

fn finish(w: csv::Writer<Vec<u8>>) -> Result<String, csv::Error> {
    let bytes = w.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[derive(Debug, Deserialize)]
pub struct QrQuery {
    origin: String,
}

/// `GET /api/sessions/{id}/qr.svg?origin=http://HOST:PORT`: the join link as a QR code.
pub async fn qr(
    State(state): State<AppState>,
    Path(id): Path<u64>,
    Query(q): Query<QrQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let session = authorised(&state, id, &headers)?;
    let origin = q.origin.trim_end_matches('/');
    if origin.len() > MAX_ORIGIN_CHARS
        || !(origin.starts_with("http://") || origin.starts_with("https://"))
    {
        return Err(ApiError::BadRequest(
            "origin must be an http(s) address such as http://192.168.1.20:8080".into(),
        ));
    }
    let url = format!("{origin}/?join={}", session.code);
    let code = qrcode::QrCode::new(url.as_bytes())
        .map_err(|_| ApiError::BadRequest("that address is too long for a QR code".into()))?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(320, 320)
        .quiet_zone(true)
        .build();
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response())
}
