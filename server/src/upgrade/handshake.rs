//! The WebSocket opening handshake over HTTP/1.1 (RFC 6455, 4.2), done here rather than by
//! axum's `WebSocketUpgrade`, so that the upgraded socket is read through the frame meter
//! ([`crate::delivery::meter`]): the rate limit then counts every frame, continuation frames
//! included, which a message-level API cannot see.
//!
//! A request that is not a WebSocket handshake is refused as axum would: 405 for a method
//! other than `GET`, 400 for a missing or wrong `Connection`, `Upgrade`,
//! `Sec-WebSocket-Version` or `Sec-WebSocket-Key`, 426 when the connection cannot be upgraded.

use axum::body::Body;
use axum::http::header::{
    CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION, UPGRADE,
};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use std::future::Future;
use tokio_tungstenite::WebSocketStream;
use tungstenite::handshake::derive_accept_key;
use tungstenite::protocol::{Role, WebSocketConfig};

use crate::delivery::meter::{FrameMeter, Metered};
use crate::delivery::socket::WebSocket;

/// A valid handshake request, ready to be accepted.
pub(crate) struct Handshake {
    on_upgrade: OnUpgrade,
    accept: HeaderValue,
}

/// Checks that `parts` ask for a WebSocket, and takes the connection's upgrade from them.
pub(crate) fn check(parts: &mut Parts) -> Result<Handshake, NotAHandshake> {
    if parts.method != Method::GET {
        return Err(refuse(
            StatusCode::METHOD_NOT_ALLOWED,
            "a WebSocket handshake is a GET",
        ));
    }
    if !lists_token(&parts.headers, CONNECTION, "upgrade") {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "Connection must include upgrade",
        ));
    }
    if !equals(&parts.headers, UPGRADE, "websocket") {
        return Err(refuse(StatusCode::BAD_REQUEST, "Upgrade must be websocket"));
    }
    if !equals(&parts.headers, SEC_WEBSOCKET_VERSION, "13") {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "Sec-WebSocket-Version must be 13",
        ));
    }
    let Some(key) = parts.headers.get(SEC_WEBSOCKET_KEY) else {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "Sec-WebSocket-Key is missing",
        ));
    };
    let accept = HeaderValue::from_str(&derive_accept_key(key.as_bytes()))
        .map_err(|_| refuse(StatusCode::BAD_REQUEST, "Sec-WebSocket-Key is invalid"))?;
    let on_upgrade = parts.extensions.remove::<OnUpgrade>().ok_or_else(|| {
        refuse(
            StatusCode::UPGRADE_REQUIRED,
            "this connection cannot be upgraded",
        )
    })?;
    Ok(Handshake { on_upgrade, accept })
}

impl Handshake {
    /// Answers `101 Switching Protocols`; once the connection is upgraded, `serve` gets the
    /// WebSocket, read through `meter`, with `config`. A connection that fails to upgrade is
    /// dropped (logged).
    pub(crate) fn accept<F, Fut>(
        self,
        config: WebSocketConfig,
        meter: FrameMeter,
        serve: F,
    ) -> Response
    where
        F: FnOnce(WebSocket) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let on_upgrade = self.on_upgrade;
        tokio::spawn(async move {
            let upgraded = match on_upgrade.await {
                Ok(upgraded) => upgraded,
                Err(error) => {
                    tracing::debug!(%error, "the connection was not upgraded");
                    return;
                }
            };
            let io = Metered::new(TokioIo::new(upgraded), meter);
            let socket = WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await;
            serve(socket).await;
        });
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(SEC_WEBSOCKET_ACCEPT, self.accept);
        response
    }
}

/// Why a request is not a WebSocket handshake: its status and a word of explanation.
#[derive(Debug)]
pub(crate) struct NotAHandshake(StatusCode, &'static str);

impl IntoResponse for NotAHandshake {
    fn into_response(self) -> Response {
        (self.0, self.1).into_response()
    }
}

fn refuse(status: StatusCode, details: &'static str) -> NotAHandshake {
    NotAHandshake(status, details)
}

/// Whether the header is `value`, in any case.
fn equals(headers: &HeaderMap, name: HeaderName, value: &str) -> bool {
    headers
        .get(name)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(value.as_bytes()))
}

/// Whether the comma-separated header lists `token`, in any case.
fn lists_token(headers: &HeaderMap, name: HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|v| {
        v.to_str()
            .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    })
}
