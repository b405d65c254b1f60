//! One WebSocket's lifecycle after the upgrade: it registers, then a single loop writes what
//! its send queue holds and the heartbeats, reads and dispatches client frames, enforces the frame size, the
//! token bucket and the idle timeout, and watches the close signal. When the loop ends the
//! connection leaves its topics, sends its close frame within a bounded time and drops the
//! socket, so no zombie is left behind.

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::SinkExt;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::time::{interval_at, sleep_until, Instant as TokioInstant, MissedTickBehavior};
use tracing::Instrument;

use tether::protocol::control::Heartbeat;
use tether::protocol::{CloseCode, Control};

use crate::auth::UserId;
use crate::domain::wire;
use crate::state::ServerState;
use crate::stats::DropReason;
use crate::ws::inbound;
use crate::ws::rate_limit::TokenBucket;
use crate::ws::send_queue::{CloseSignal, ConnId, Ending, Outbound, SendQueue};
use crate::ws::session::Session;

/// Frames queued after the first one that are written before a flush.
const WRITE_BATCH: usize = 64;

/// Why the loop ended.
#[derive(Debug)]
enum Exit {
    /// The server decided: close with a code, or abort.
    Ending(Ending),
    /// The client sent a close frame, with this code if any.
    PeerClosed(Option<u16>),
    /// The socket failed or reached its end.
    Lost,
}

impl Exit {
    fn close(code: CloseCode, reason: &str) -> Self {
        Exit::Ending(Ending::Close {
            code: code.0,
            reason: reason.into(),
        })
    }
}

/// The connection's own state.
struct SocketTask {
    socket: WebSocket,
    outgoing: mpsc::Receiver<Outbound>,
    session: Session,
    signal: std::sync::Arc<CloseSignal>,
    bucket: TokenBucket,
    last_heard: TokioInstant,
}

/// Serves an authenticated socket of `user` until it ends; `extended` when it gets tether's
/// extensions. Everything it logs is in a `socket` span naming the connection and the user.
pub async fn run(socket: WebSocket, state: ServerState, user: UserId, extended: bool) {
    let id = state.registry.next_id();
    let span = tracing::info_span!("socket", conn = id, user);
    serve(socket, state, user, extended, id)
        .instrument(span)
        .await;
}

async fn serve(socket: WebSocket, state: ServerState, user: UserId, extended: bool, id: ConnId) {
    tracing::info!(extended, "connection opened");
    let (queue, outgoing) = SendQueue::new(
        id,
        user,
        state.config.queue_capacity,
        extended,
        state.stats.clone(),
    );
    state.registry.insert(queue.clone());
    state.stats.connection_opened(user);
    if state.shutdown.is_cancelled() {
        queue
            .signal()
            .close(CloseCode::GOING_AWAY.0, "server shutting down");
    }
    let mut connection = SocketTask {
        socket,
        outgoing,
        signal: queue.signal().clone(),
        session: Session::new(state.clone(), queue),
        bucket: TokenBucket::new(
            state.config.rate_burst,
            state.config.rate_per_sec,
            Instant::now(),
        ),
        last_heard: TokioInstant::now(),
    };
    let exit = connection.pump().await;
    let SocketTask {
        socket, session, ..
    } = connection;
    state.registry.remove(id);
    session.end();
    finish(socket, exit, &state).await;
    state.stats.connection_closed(user);
}

/// Closes a socket that brought no valid token with 4401, before any data frame.
pub async fn reject_unauthorized(mut socket: WebSocket, state: &ServerState) {
    let code = CloseCode::UNAUTHORIZED.0;
    state.stats.closed_with(code);
    tracing::info!(
        code,
        "connection refused: missing, invalid or expired token"
    );
    close_handshake(
        &mut socket,
        code,
        "unauthorized",
        state.config.close_timeout(),
    )
    .await;
}

impl SocketTask {
    async fn pump(&mut self) -> Exit {
        let config = &self.session.state().config;
        let (ping_every, idle_timeout) = (config.ping_interval(), config.idle_timeout());
        let mut ping = interval_at(TokioInstant::now() + ping_every, ping_every);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let signal = self.signal.clone();
        loop {
            let idle_deadline = self.last_heard + idle_timeout;
            let step = tokio::select! {
                () = signal.requested() => Some(requested_exit(&signal)),
                item = self.outgoing.recv() => self.on_outbound(item).await,
                msg = self.socket.recv() => self.on_inbound(msg),
                _ = ping.tick() => self.on_ping_tick().await,
                () = sleep_until(idle_deadline), if !signal.is_half_open() => {
                    Some(Exit::close(CloseCode::HEARTBEAT_TIMEOUT, "idle timeout"))
                }
            };
            if let Some(exit) = step {
                return exit;
            }
        }
    }

    /// Writes a queued item, with whatever else is already queued.
    async fn on_outbound(&mut self, item: Option<Outbound>) -> Option<Exit> {
        let Some(item) = item else {
            return Some(Exit::Lost);
        };
        if self.signal.is_half_open() {
            return None;
        }
        let mut frames = Vec::new();
        push_frames(&mut frames, item);
        while frames.len() < WRITE_BATCH {
            let Ok(next) = self.outgoing.try_recv() else {
                break;
            };
            push_frames(&mut frames, next);
        }
        self.write(frames).await
    }

    /// Sends the server's heartbeat, unless half-open.
    async fn on_ping_tick(&mut self) -> Option<Exit> {
        if self.signal.is_half_open() {
            return None;
        }
        let ping = wire::control_frame(&Control::Ping(Heartbeat::default()), None);
        self.write(vec![ping]).await
    }

    /// Writes frames (counting them) and flushes; gives up when the connection is asked to end.
    async fn write(&mut self, frames: Vec<Utf8Bytes>) -> Option<Exit> {
        let stats = &self.session.state().stats;
        for frame in &frames {
            stats.frame_out();
            tracing::trace!(frame = %preview(frame), "frame out");
        }
        let socket = &mut self.socket;
        let written = async {
            for frame in frames {
                socket.feed(Message::Text(frame)).await?;
            }
            socket.flush().await
        };
        tokio::select! {
            result = written => result.err().map(|_| Exit::Lost),
            () = self.signal.requested() => Some(requested_exit(&self.signal)),
        }
    }

    /// Handles whatever the socket produced.
    fn on_inbound(&mut self, msg: Option<Result<Message, axum::Error>>) -> Option<Exit> {
        let msg = match msg {
            None => return Some(Exit::Lost),
            Some(Err(error)) if is_too_big(&error) => {
                return Some(self.drop_for(DropReason::TooBig))
            }
            Some(Err(error)) => {
                tracing::debug!(%error, "socket error");
                return Some(Exit::Lost);
            }
            Some(Ok(msg)) => msg,
        };
        self.last_heard = TokioInstant::now();
        if self.signal.is_half_open() {
            return matches!(msg, Message::Close(_)).then_some(Exit::Ending(Ending::Abort));
        }
        match msg {
            Message::Text(text) => self.on_data(text.len()).or_else(|| {
                tracing::trace!(frame = %preview(&text), "frame in");
                inbound::handle_text(&mut self.session, &text);
                None
            }),
            Message::Binary(bytes) => self.on_data(bytes.len()).or_else(|| {
                tracing::trace!(bytes = bytes.len(), "binary frame in");
                inbound::handle_binary(&mut self.session);
                None
            }),
            Message::Close(frame) => {
                let code = frame.map(|frame| frame.code);
                if let Some(code) = code {
                    self.session.state().stats.client_closed_with(code);
                }
                Some(Exit::PeerClosed(code))
            }
            Message::Ping(_) | Message::Pong(_) => None,
        }
    }

    /// Counts a data frame and applies the size limit and the token bucket.
    fn on_data(&mut self, len: usize) -> Option<Exit> {
        let state = self.session.state();
        state.stats.frame_in();
        if len > state.config.max_frame_bytes {
            return Some(self.drop_for(DropReason::TooBig));
        }
        if !self.bucket.try_take(Instant::now()) {
            return Some(self.drop_for(DropReason::Flood));
        }
        None
    }

    fn drop_for(&self, reason: DropReason) -> Exit {
        self.session.state().stats.dropped(reason);
        tracing::warn!(?reason, "closing a connection that broke a limit");
        match reason {
            DropReason::TooBig => Exit::close(CloseCode::TOO_BIG, "frame too big"),
            DropReason::Flood => Exit::close(CloseCode::POLICY, "too many frames"),
            DropReason::SlowConsumer => Exit::close(CloseCode::POLICY, "slow consumer"),
        }
    }
}

fn push_frames(frames: &mut Vec<Utf8Bytes>, item: Outbound) {
    match item {
        Outbound::Frame(frame) => frames.push(frame),
        Outbound::Batch(batch) => frames.extend(batch),
    }
}

fn requested_exit(signal: &CloseSignal) -> Exit {
    let ending = signal.ending().unwrap_or(Ending::Abort);
    match ending {
        Ending::Close { .. } if signal.is_half_open() => Exit::Ending(Ending::Abort),
        ending => Exit::Ending(ending),
    }
}

/// Whether tungstenite refused a message or frame for its size.
fn is_too_big(error: &axum::Error) -> bool {
    let source = std::error::Error::source(error);
    matches!(
        source.and_then(|e| e.downcast_ref::<tungstenite::Error>()),
        Some(tungstenite::Error::Capacity(_))
    )
}

/// Ends the socket as the loop decided.
async fn finish(mut socket: WebSocket, exit: Exit, state: &ServerState) {
    let timeout = state.config.close_timeout();
    match exit {
        Exit::Ending(Ending::Close { code, reason }) => {
            state.stats.closed_with(code);
            tracing::info!(code, %reason, "connection closed by the server");
            close_handshake(&mut socket, code, &reason, timeout).await;
        }
        Exit::PeerClosed(code) => {
            tracing::info!(code, "connection closed by the client");
            let _ = tokio::time::timeout(timeout, socket.flush()).await;
        }
        Exit::Ending(Ending::Abort) => tracing::info!("connection dropped by the server"),
        Exit::Lost => tracing::info!("connection lost"),
    }
}

/// Most of a frame that a trace line shows.
const PREVIEW_BYTES: usize = 512;

/// A frame for the log: whole when short, else its start and its length.
fn preview(text: &str) -> String {
    if text.len() <= PREVIEW_BYTES {
        return text.to_owned();
    }
    let end = (0..=PREVIEW_BYTES)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0);
    format!("{}… ({} bytes)", &text[..end], text.len())
}

/// Sends a close frame and waits for the client's, both within `timeout`.
async fn close_handshake(socket: &mut WebSocket, code: u16, reason: &str, timeout: Duration) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = tokio::time::timeout(timeout, async {
        if socket.send(Message::Close(Some(frame))).await.is_err() {
            return;
        }
        while let Some(Ok(msg)) = socket.recv().await {
            if matches!(msg, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}
