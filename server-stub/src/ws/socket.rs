//! One WebSocket's lifecycle after the upgrade: it registers, then reads and writes at once.
//! The reader dispatches client frames, enforces the frame size, the token bucket (control
//! frames included) and the idle timeout, queues the heartbeats and maps protocol violations
//! to their close codes; the writer writes what the send queue holds, each write within the
//! write timeout. Neither waits for the other, so a socket that cannot be written to is still
//! timed out. When either ends, or the close signal fires, the connection leaves its topics,
//! sends its close frame within a bounded time and drops the socket, freeing its queue.

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::time::{interval_at, sleep_until, Instant as TokioInstant, MissedTickBehavior};
use tracing::Instrument;

use tether_wire::control::Heartbeat;
use tether_wire::{CloseCode, Control};

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

/// The close code for invalid UTF-8 in a text frame (RFC 6455, 7.4.1).
const INVALID_PAYLOAD: u16 = 1007;

/// The close code for a protocol violation (RFC 6455, 7.4.1).
const PROTOCOL_ERROR: u16 = 1002;

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
    fn close(code: u16, reason: &str) -> Self {
        Exit::Ending(Ending::Close {
            code,
            reason: reason.into(),
        })
    }
}

/// The reading half of a connection, with everything it enforces.
struct Reader<'a> {
    stream: &'a mut SplitStream<WebSocket>,
    session: &'a mut Session,
    signal: &'a CloseSignal,
    bucket: TokenBucket,
    last_heard: TokioInstant,
}

/// The writing half of a connection.
struct Writer<'a> {
    sink: &'a mut SplitSink<WebSocket, Message>,
    outgoing: &'a mut mpsc::Receiver<Outbound>,
    queue: SendQueue,
    signal: &'a CloseSignal,
    state: &'a ServerState,
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
    let config = &state.config;
    let (queue, mut outgoing) = SendQueue::new(
        id,
        user,
        (config.queue_capacity, config.queue_bytes),
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
    let signal = queue.signal().clone();
    let mut session = Session::new(state.clone(), queue.clone());
    let (mut sink, mut stream) = socket.split();
    let exit = {
        let reader = Reader {
            stream: &mut stream,
            session: &mut session,
            signal: &signal,
            bucket: TokenBucket::new(config.rate_burst, config.rate_per_sec, Instant::now()),
            last_heard: TokioInstant::now(),
        };
        let writer = Writer {
            sink: &mut sink,
            outgoing: &mut outgoing,
            queue: queue.clone(),
            signal: &signal,
            state: &state,
        };
        tokio::select! {
            exit = reader.run() => exit,
            exit = writer.run() => exit,
            () = signal.requested() => requested_exit(&signal),
        }
    };
    state.registry.remove(id);
    session.end();
    outgoing.close();
    drop(outgoing);
    queue.discard_all();
    match sink.reunite(stream) {
        Ok(socket) => finish(socket, exit, &state).await,
        Err(_) => tracing::error!("the halves of a socket did not reunite"),
    }
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

impl Reader<'_> {
    async fn run(mut self) -> Exit {
        let config = &self.session.state().config;
        let (ping_every, idle_timeout) = (config.ping_interval(), config.idle_timeout());
        let mut ping = interval_at(TokioInstant::now() + ping_every, ping_every);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            let idle_deadline = self.last_heard + idle_timeout;
            let step = tokio::select! {
                msg = self.stream.next() => self.on_inbound(msg),
                _ = ping.tick() => self.on_ping_tick(),
                () = sleep_until(idle_deadline), if !self.signal.is_half_open() => {
                    Some(Exit::close(CloseCode::HEARTBEAT_TIMEOUT.0, "idle timeout"))
                }
            };
            if let Some(exit) = step {
                return exit;
            }
        }
    }

    /// Queues the server's heartbeat, unless half-open.
    fn on_ping_tick(&mut self) -> Option<Exit> {
        if !self.signal.is_half_open() {
            let ping = wire::control_frame(&Control::Ping(Heartbeat::default()), None);
            self.session.queue().deliver_frame(ping);
        }
        None
    }

    /// Handles whatever the socket produced.
    fn on_inbound(&mut self, msg: Option<Result<Message, axum::Error>>) -> Option<Exit> {
        let msg = match msg {
            None => return Some(Exit::Lost),
            Some(Err(error)) => return Some(self.on_error(&error)),
            Some(Ok(msg)) => msg,
        };
        self.last_heard = TokioInstant::now();
        if self.signal.is_half_open() {
            return matches!(msg, Message::Close(_)).then_some(Exit::Ending(Ending::Abort));
        }
        match msg {
            Message::Text(text) => self.on_data(text.len()).or_else(|| {
                tracing::trace!(frame = %preview(&text), "frame in");
                inbound::handle_text(self.session, &text);
                None
            }),
            Message::Binary(bytes) => self.on_data(bytes.len()).or_else(|| {
                tracing::trace!(bytes = bytes.len(), "binary frame in");
                inbound::handle_binary(self.session);
                None
            }),
            Message::Close(frame) => {
                let code = frame.map(|frame| frame.code);
                if let Some(code) = code {
                    self.session.state().stats.client_closed_with(code);
                }
                Some(Exit::PeerClosed(code))
            }
            // Control frames cost a token like data frames, so a ping flood is a flood.
            Message::Ping(_) | Message::Pong(_) => self.take_token(),
        }
    }

    /// Maps a read error to how the connection ends: 1009 for a message or frame over the
    /// limit, 1007 for invalid UTF-8, 1002 for other protocol violations, else lost.
    fn on_error(&self, error: &axum::Error) -> Exit {
        let source = std::error::Error::source(error);
        match source.and_then(|e| e.downcast_ref::<tungstenite::Error>()) {
            Some(tungstenite::Error::Capacity(_)) => self.drop_for(DropReason::TooBig),
            Some(tungstenite::Error::Utf8(_)) => {
                self.session.state().stats.dropped(DropReason::Protocol);
                tracing::warn!(%error, "closing a connection that sent invalid UTF-8");
                Exit::close(INVALID_PAYLOAD, "invalid UTF-8")
            }
            Some(tungstenite::Error::Protocol(
                tungstenite::error::ProtocolError::ResetWithoutClosingHandshake,
            )) => Exit::Lost,
            Some(tungstenite::Error::Protocol(violation)) => {
                self.session.state().stats.dropped(DropReason::Protocol);
                tracing::warn!(%violation, "closing a connection that broke the protocol");
                Exit::close(PROTOCOL_ERROR, "protocol error")
            }
            _ => {
                tracing::debug!(%error, "socket error");
                Exit::Lost
            }
        }
    }

    /// Counts a data frame and applies the size limit and the token bucket.
    fn on_data(&mut self, len: usize) -> Option<Exit> {
        let state = self.session.state();
        state.stats.frame_in();
        if len > state.config.max_frame_bytes {
            return Some(self.drop_for(DropReason::TooBig));
        }
        self.take_token()
    }

    fn take_token(&mut self) -> Option<Exit> {
        (!self.bucket.try_take(Instant::now())).then(|| self.drop_for(DropReason::Flood))
    }

    fn drop_for(&self, reason: DropReason) -> Exit {
        drop_for(self.session.state(), reason)
    }
}

impl Writer<'_> {
    /// Writes what the queue holds, a batch at a time, each within the write timeout.
    async fn run(mut self) -> Exit {
        let timeout = self.state.config.write_timeout();
        loop {
            let Some(item) = self.outgoing.recv().await else {
                return Exit::Lost;
            };
            let mut bytes = item.bytes();
            let mut frames = Vec::new();
            push_frames(&mut frames, item);
            while frames.len() < WRITE_BATCH {
                let Ok(next) = self.outgoing.try_recv() else {
                    break;
                };
                bytes += next.bytes();
                push_frames(&mut frames, next);
            }
            if self.signal.is_half_open() {
                self.queue.written(bytes);
                continue;
            }
            match tokio::time::timeout(timeout, self.write(frames)).await {
                Err(_) => return drop_for(self.state, DropReason::WriteTimeout),
                Ok(Err(_)) => return Exit::Lost,
                Ok(Ok(())) => self.queue.written(bytes),
            }
        }
    }

    /// Writes frames (counting them) and flushes.
    async fn write(&mut self, frames: Vec<Utf8Bytes>) -> Result<(), axum::Error> {
        let stats = &self.state.stats;
        for frame in frames {
            stats.frame_out();
            tracing::trace!(frame = %preview(&frame), "frame out");
            self.sink.feed(Message::Text(frame)).await?;
        }
        self.sink.flush().await
    }
}

fn drop_for(state: &ServerState, reason: DropReason) -> Exit {
    state.stats.dropped(reason);
    tracing::warn!(?reason, "closing a connection that broke a limit");
    let policy = CloseCode::POLICY.0;
    match reason {
        DropReason::TooBig => Exit::close(CloseCode::TOO_BIG.0, "frame too big"),
        DropReason::Flood => Exit::close(policy, "too many frames"),
        DropReason::SlowConsumer => Exit::close(policy, "slow consumer"),
        DropReason::WriteTimeout => Exit::close(policy, "write timeout"),
        DropReason::Protocol => Exit::close(PROTOCOL_ERROR, "protocol error"),
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
