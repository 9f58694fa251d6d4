//! The websocket opening handshake (RFC 6455 section 4.2), done here rather than by
//! axum's `WebSocketUpgrade` so the connection gets tokio-tungstenite's own stream.
//! axum's wrapper sends only whole messages, and tungstenite formats each frame into a
//! write buffer that keeps its largest size for the connection's life: one 5 KB
//! `room_opened` left every buyer's connection holding 5 KB. With the stream itself the
//! writer can send a large message in fragments ([`super::socket_io`]), so the buffer
//! stays at the size of one fragment.
//!
//! Only HTTP/1.1 upgrades are taken: browsers speak websockets over HTTP/2 only with
//! TLS, which Uncover does not terminate.

use std::future::Future;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Version};
use axum::response::{IntoResponse, Response};
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;

use super::whole_reads::WholeReads;

/// The socket a connection's task owns once the handshake is done.
pub type Socket = WebSocketStream<WholeReads<TokioIo<Upgraded>>>;

/// Why a request to `/ws` is not a websocket handshake this server takes. Each is a
/// client's mistake, answered with a status and one sentence.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HandshakeError {
    #[error("websocket handshakes use GET")]
    NotGet,
    #[error("websocket handshakes need HTTP/1.1")]
    NotHttp11,
    #[error("this address only speaks websockets: the request has no 'Connection: upgrade'")]
    NoConnectionUpgrade,
    #[error("this address only speaks websockets: the request has no 'Upgrade: websocket'")]
    NoUpgradeWebsocket,
    #[error("the handshake has no Sec-WebSocket-Key")]
    NoKey,
    #[error("only websocket version 13 is spoken here")]
    WrongVersion,
    #[error("this connection cannot be upgraded")]
    NotUpgradable,
}

impl IntoResponse for HandshakeError {
    fn into_response(self) -> Response {
        let status = match self {
            Self::NotGet => StatusCode::METHOD_NOT_ALLOWED,
            Self::NotHttp11 | Self::NoConnectionUpgrade | Self::NoUpgradeWebsocket => {
                StatusCode::UPGRADE_REQUIRED
            }
            Self::NoKey | Self::WrongVersion => StatusCode::BAD_REQUEST,
            Self::NotUpgradable => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let mut response = (status, self.to_string()).into_response();
        if status == StatusCode::UPGRADE_REQUIRED {
            response
                .headers_mut()
                .insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        }
        if matches!(self, Self::WrongVersion) {
            response.headers_mut().insert(
                header::SEC_WEBSOCKET_VERSION,
                HeaderValue::from_static("13"),
            );
        }
        response
    }
}

/// A checked handshake request, not yet answered.
#[derive(Debug)]
pub struct WsUpgrade {
    key: HeaderValue,
    on_upgrade: OnUpgrade,
}

impl<S: Send + Sync> FromRequestParts<S> for WsUpgrade {
    type Rejection = HandshakeError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        check(parts.method.clone(), parts.version, &parts.headers)?;
        let key = parts
            .headers
            .get(header::SEC_WEBSOCKET_KEY)
            .cloned()
            .ok_or(HandshakeError::NoKey)?;
        let on_upgrade = parts
            .extensions
            .remove::<OnUpgrade>()
            .ok_or(HandshakeError::NotUpgradable)?;
        Ok(Self { key, on_upgrade })
    }
}

/// The checks RFC 6455 asks of a server before it answers a handshake.
fn check(method: Method, version: Version, headers: &HeaderMap) -> Result<(), HandshakeError> {
    if method != Method::GET {
        return Err(HandshakeError::NotGet);
    }
    if version != Version::HTTP_11 {
        return Err(HandshakeError::NotHttp11);
    }
    // `Connection` may list several tokens ("keep-alive, Upgrade").
    let connection_upgrade = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|token| token.trim().eq_ignore_ascii_case("upgrade"));
    if !connection_upgrade {
        return Err(HandshakeError::NoConnectionUpgrade);
    }
    let upgrade_websocket = headers
        .get(header::UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"));
    if !upgrade_websocket {
        return Err(HandshakeError::NoUpgradeWebsocket);
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_none_or(|v| v.as_bytes() != b"13")
    {
        return Err(HandshakeError::WrongVersion);
    }
    Ok(())
}

impl WsUpgrade {
    /// Answers the handshake with 101 and, once hyper hands the connection over, runs
    /// `serve` on the websocket in a task of its own. A connection that fails between the
    /// answer and the hand-over (the peer went away) is simply dropped.
    pub fn accept<C, F>(self, config: WebSocketConfig, serve: C) -> Response
    where
        C: FnOnce(Socket) -> F + Send + 'static,
        F: Future<Output = ()> + Send + 'static,
    {
        let accept = derive_accept_key(self.key.as_bytes());
        let on_upgrade = self.on_upgrade;
        tokio::spawn(async move {
            let upgraded = match on_upgrade.await {
                Ok(upgraded) => upgraded,
                Err(e) => {
                    tracing::debug!(error = %e, "websocket upgrade failed");
                    return;
                }
            };
            let socket = WebSocketStream::from_raw_socket(
                WholeReads::new(TokioIo::new(upgraded)),
                Role::Server,
                Some(config),
            )
            .await;
            // A task of its own: this one's future keeps a place for the upgrade, the
            // config and `serve` beside whatever it awaits, for as long as it runs.
            tokio::spawn(serve(socket));
        });
        let mut response = StatusCode::SWITCHING_PROTOCOLS.into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        if let Ok(accept) = HeaderValue::from_str(&accept) {
            headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.append(name, HeaderValue::from_static(value));
        }
        h
    }

    fn good() -> Vec<(header::HeaderName, &'static str)> {
        vec![
            (header::CONNECTION, "keep-alive, Upgrade"),
            (header::UPGRADE, "WebSocket"),
            (header::SEC_WEBSOCKET_VERSION, "13"),
        ]
    }

    #[test]
    fn a_browser_handshake_is_taken() {
        assert_eq!(
            check(Method::GET, Version::HTTP_11, &headers(&good())),
            Ok(())
        );
    }

    #[test]
    fn a_plain_page_request_is_told_to_upgrade() {
        let plain = headers(&[(header::CONNECTION, "keep-alive")]);
        let err = check(Method::GET, Version::HTTP_11, &plain).unwrap_err();
        assert_eq!(err, HandshakeError::NoConnectionUpgrade);
        assert_eq!(err.into_response().status(), StatusCode::UPGRADE_REQUIRED);
    }

    #[test]
    fn other_methods_versions_and_websocket_versions_are_refused() {
        let h = headers(&good());
        assert_eq!(
            check(Method::POST, Version::HTTP_11, &h),
            Err(HandshakeError::NotGet)
        );
        assert_eq!(
            check(Method::GET, Version::HTTP_10, &h),
            Err(HandshakeError::NotHttp11)
        );
        let mut old = good();
        old[2].1 = "8";
        let err = check(Method::GET, Version::HTTP_11, &headers(&old)).unwrap_err();
        assert_eq!(err, HandshakeError::WrongVersion);
        let response = err.into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            response.headers().get(header::SEC_WEBSOCKET_VERSION),
            Some(&HeaderValue::from_static("13"))
        );
    }
}
