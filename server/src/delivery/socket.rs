//! One WebSocket's lifecycle after the upgrade: it reads and writes at once until either ends
//! or its close signal fires. The reader hands text frames to the [`Inbound`] above, and
//! enforces the frame size, the token bucket (every frame: the socket is read through a
//! [`Metered`] stream) and the idle timeout,
//! queues the heartbeats and maps protocol violations to their close codes; the writer writes
//! what the send queue holds, each write within the write timeout. Neither waits for the
//! other, so a socket that cannot be written to is still timed out. At the end the connection
//! is unregistered, its [`Inbound`] told, its close frame sent within a bounded time and the
//! socket dropped, freeing its queue.

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use std::future::Future;
use tokio::sync::mpsc;
use tokio::time::{interval_at, sleep_until, Instant as TokioInstant, MissedTickBehavior};
use tokio_tungstenite::WebSocketStream;
use tracing::Instrument;
use tungstenite::{Message, Utf8Bytes};

use tether_wire::CloseCode;

use super::closing::close_handshake;
pub use super::closing::{reject_over_user_cap, reject_unauthorized};
use super::meter::{is_flooded, Metered};
use super::preview::preview;
use super::{CloseSignal, DropReason, Ending, Outbound, SendQueue, Sockets};

/// An upgraded WebSocket, read through its frame meter.
pub type WebSocket = WebSocketStream<Metered<TokioIo<Upgraded>>>;

/// Frames queued after the first one that are written before a flush.
const WRITE_BATCH: usize = 64;

/// The close code for invalid UTF-8 in a text frame (RFC 6455, 7.4.1).
const INVALID_PAYLOAD: u16 = 1007;

/// The close code for a protocol violation (RFC 6455, 7.4.1).
const PROTOCOL_ERROR: u16 = 1002;

/// What the layer above does with a connection's inbound frames.
pub trait Inbound: Send + Sized {
    /// Handles one text frame; an [`Ending`] ends the connection. The next frame is read only
    /// once this resolves, so frames are handled in order.
    fn on_text(&mut self, text: &str) -> impl Future<Output = Option<Ending>> + Send;
    /// Handles one binary frame (the protocol is text only).
    fn on_binary(&mut self);
    /// The connection ended: the socket is gone and nothing more will be queued to it.
    fn on_end(self) -> impl Future<Output = ()> + Send;
}

/// The server's heartbeat frame, queued every ping interval.
pub type PingFrame = fn() -> Utf8Bytes;

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

/// What one inbound message asks of the reader.
enum Step {
    /// Keep reading.
    Continue,
    /// Hand this text frame to the [`Inbound`].
    Text(Utf8Bytes),
    /// End the connection.
    Exit(Exit),
}

/// The reading half of a connection, with everything it enforces.
struct Reader<'a, I> {
    stream: &'a mut SplitStream<WebSocket>,
    inbound: &'a mut I,
    queue: &'a SendQueue,
    sockets: &'a Sockets,
    ping: PingFrame,
    last_heard: TokioInstant,
}

/// The writing half of a connection.
struct Writer<'a> {
    sink: &'a mut SplitSink<WebSocket, Message>,
    outgoing: &'a mut mpsc::Receiver<Outbound>,
    queue: &'a SendQueue,
    sockets: &'a Sockets,
}

/// Serves a socket whose connection [`Sockets::open`] registered (`queue`, `outgoing`) until it
/// ends, handing its frames to `inbound` and queuing `ping()` every ping interval. Everything
/// it logs is in a `socket` span naming the connection and the user.
pub async fn serve<I: Inbound>(
    sockets: &Sockets,
    socket: WebSocket,
    (queue, outgoing): (SendQueue, mpsc::Receiver<Outbound>),
    inbound: I,
    ping: PingFrame,
) {
    let span = tracing::info_span!("socket", conn = queue.id(), user = %queue.user());
    run(sockets, socket, queue, outgoing, inbound, ping)
        .instrument(span)
        .await;
}

async fn run<I: Inbound>(
    sockets: &Sockets,
    socket: WebSocket,
    queue: SendQueue,
    mut outgoing: mpsc::Receiver<Outbound>,
    mut inbound: I,
    ping: PingFrame,
) {
    tracing::info!(
        extended = queue.extended(),
        binary = queue.binary(),
        "connection opened"
    );
    let signal = queue.signal().clone();
    let (mut sink, mut stream) = socket.split();
    let exit = {
        let reader = Reader {
            stream: &mut stream,
            inbound: &mut inbound,
            queue: &queue,
            sockets,
            ping,
            last_heard: TokioInstant::now(),
        };
        let writer = Writer {
            sink: &mut sink,
            outgoing: &mut outgoing,
            queue: &queue,
            sockets,
        };
        tokio::select! {
            exit = reader.run() => exit,
            exit = writer.run() => exit,
            () = signal.requested() => requested_exit(&signal),
        }
    };
    sockets.registry.remove(queue.id());
    inbound.on_end().await;
    outgoing.close();
    drop(outgoing);
    queue.discard_all();
    match sink.reunite(stream) {
        Ok(socket) => finish(socket, exit, sockets).await,
        Err(_) => tracing::error!("the halves of a socket did not reunite"),
    }
    sockets.stats.connection_closed(queue.user());
}

impl<I: Inbound> Reader<'_, I> {
    async fn run(mut self) -> Exit {
        let limits = &self.sockets.limits;
        let (ping_every, idle_timeout) = (limits.ping_every(), limits.idle_after());
        let mut ping = interval_at(TokioInstant::now() + ping_every, ping_every);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let signal = self.queue.signal().clone();
        loop {
            let idle_deadline = self.last_heard + idle_timeout;
            let step = tokio::select! {
                msg = self.stream.next() => self.on_inbound(msg),
                _ = ping.tick() => self.on_ping_tick(&signal),
                () = sleep_until(idle_deadline), if !signal.is_half_open() => {
                    Step::Exit(Exit::close(CloseCode::HEARTBEAT_TIMEOUT.0, "idle timeout"))
                }
            };
            match step {
                Step::Continue => {}
                Step::Exit(exit) => return exit,
                Step::Text(text) => {
                    tracing::trace!(frame = %preview(&text), "frame in");
                    if let Some(ending) = self.inbound.on_text(&text).await {
                        return Exit::Ending(ending);
                    }
                }
            }
        }
    }

    /// Queues the server's heartbeat, unless half-open.
    fn on_ping_tick(&mut self, signal: &CloseSignal) -> Step {
        if !signal.is_half_open() {
            self.queue.deliver_frame((self.ping)());
        }
        Step::Continue
    }

    /// Handles whatever the socket produced.
    fn on_inbound(&mut self, msg: Option<Result<Message, tungstenite::Error>>) -> Step {
        let msg = match msg {
            None => return Step::Exit(Exit::Lost),
            Some(Err(error)) => return Step::Exit(self.on_error(&error)),
            Some(Ok(msg)) => msg,
        };
        self.last_heard = TokioInstant::now();
        if self.queue.signal().is_half_open() {
            return match msg {
                Message::Close(_) => Step::Exit(Exit::Ending(Ending::Abort)),
                _ => Step::Continue,
            };
        }
        match msg {
            Message::Text(text) => self.on_data(text.len()).unwrap_or(Step::Text(text)),
            Message::Binary(bytes) => self.on_data(bytes.len()).unwrap_or_else(|| {
                tracing::trace!(bytes = bytes.len(), "binary frame in");
                self.inbound.on_binary();
                Step::Continue
            }),
            Message::Close(frame) => {
                let code = frame.map(|frame| u16::from(frame.code));
                if let Some(code) = code {
                    self.sockets.stats.client_closed_with(code);
                }
                Step::Exit(Exit::PeerClosed(code))
            }
            // Every frame cost a token as it was read (the meter), control frames included.
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => Step::Continue,
        }
    }

    /// Maps a read error to how the connection ends: 1008 for frames over the rate limit,
    /// 1009 for a message or frame over the size limit, 1007 for invalid UTF-8, 1002 for other
    /// protocol violations, else lost.
    fn on_error(&self, error: &tungstenite::Error) -> Exit {
        let stats = &self.sockets.stats;
        match error {
            tungstenite::Error::Io(io) if is_flooded(io) => {
                drop_for(self.sockets, DropReason::Flood)
            }
            tungstenite::Error::Capacity(_) => drop_for(self.sockets, DropReason::TooBig),
            tungstenite::Error::Utf8(_) => {
                stats.dropped(DropReason::Protocol);
                tracing::warn!(%error, "closing a connection that sent invalid UTF-8");
                Exit::close(INVALID_PAYLOAD, "invalid UTF-8")
            }
            tungstenite::Error::Protocol(
                tungstenite::error::ProtocolError::ResetWithoutClosingHandshake,
            ) => Exit::Lost,
            tungstenite::Error::Protocol(violation) => {
                stats.dropped(DropReason::Protocol);
                tracing::warn!(%violation, "closing a connection that broke the protocol");
                Exit::close(PROTOCOL_ERROR, "protocol error")
            }
            _ => {
                tracing::debug!(%error, "socket error");
                Exit::Lost
            }
        }
    }

    /// Counts a data message and applies the size limit (the meter took its tokens).
    fn on_data(&mut self, len: usize) -> Option<Step> {
        self.sockets.stats.frame_in();
        (len > self.sockets.limits.max_frame_bytes)
            .then(|| Step::Exit(drop_for(self.sockets, DropReason::TooBig)))
    }
}

impl Writer<'_> {
    /// Writes what the queue holds, a batch at a time, each within the write timeout.
    async fn run(mut self) -> Exit {
        let timeout = self.sockets.limits.write_deadline();
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
            if self.queue.signal().is_half_open() {
                self.queue.written(bytes);
                continue;
            }
            match tokio::time::timeout(timeout, self.write(frames)).await {
                Err(_) => return drop_for(self.sockets, DropReason::WriteTimeout),
                Ok(Err(_)) => return Exit::Lost,
                Ok(Ok(())) => self.queue.written(bytes),
            }
        }
    }

    /// Writes frames (counting them) and flushes.
    async fn write(&mut self, frames: Vec<Utf8Bytes>) -> Result<(), tungstenite::Error> {
        let stats = &self.sockets.stats;
        let binary = self.queue.binary();
        for frame in frames {
            stats.frame_out();
            tracing::trace!(frame = %preview(&frame), "frame out");
            let message = match binary {
                true => Message::Binary(frame.into()),
                false => Message::Text(frame),
            };
            self.sink.feed(message).await?;
        }
        self.sink.flush().await
    }
}

fn drop_for(sockets: &Sockets, reason: DropReason) -> Exit {
    sockets.stats.dropped(reason);
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
async fn finish(mut socket: WebSocket, exit: Exit, sockets: &Sockets) {
    let timeout = sockets.limits.close_timeout;
    match exit {
        Exit::Ending(Ending::Close { code, reason }) => {
            sockets.stats.closed_with(code);
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
