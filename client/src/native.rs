//! A tokio driver (feature `native`, not wasm32): runs the client on tokio-tungstenite sockets
//! and tokio timers, for native programs, load tests and the chaos test.
//!
//! The client is single-threaded (`Rc`), so everything runs on a `tokio::task::LocalSet`. The
//! socket and timer tasks never call the client: they post `DriverEvent`s to a channel that
//! [`Driver::run`] drains, which keeps every call into the client on one stack at a time. A
//! handshake the server refuses with an HTTP status is reported as such, so 401 and 403 end in
//! `AuthFailed` rather than a retry loop.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::time::{SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as WsCloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use crate::core::{Config, Instant, SocketId};
use crate::driver::{DriverHandle, Io};
use crate::protocol::CloseCode;
use crate::AppState;

/// What the socket and timer tasks report.
#[derive(Debug)]
enum DriverEvent {
    Opened(SocketId),
    Text(SocketId, String),
    Binary(SocketId, Vec<u8>),
    Closed(SocketId, CloseCode, String),
    Refused(SocketId, u16),
    Timer(u64),
    Flush,
}

enum Command {
    Send(String),
    Close(CloseCode, String),
}

/// Counts the driver's resources, for leak checks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DriverStats {
    /// Socket tasks alive.
    pub sockets: usize,
    /// Timer tasks armed (0 or 1).
    pub timers: usize,
    /// Sockets opened, each with the time it was asked for.
    pub opened_at: Vec<Instant>,
}

/// Each open socket's command channel and task.
type SocketTasks = HashMap<SocketId, (mpsc::UnboundedSender<Command>, JoinHandle<()>)>;

/// The tokio implementation of [`Io`].
struct NativeIo {
    events: mpsc::UnboundedSender<DriverEvent>,
    sockets: RefCell<SocketTasks>,
    timer: RefCell<Option<JoinHandle<()>>>,
    timer_generation: Cell<u64>,
    flush_scheduled: Cell<bool>,
    opened_at: RefCell<Vec<Instant>>,
}

/// Milliseconds since the Unix epoch.
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Io for Rc<NativeIo> {
    fn now(&self) -> Instant {
        Instant(now_ms())
    }

    fn open(&self, socket: SocketId, url: &str, _: &DriverHandle) {
        self.opened_at.borrow_mut().push(self.now());
        let (tx, rx) = mpsc::unbounded_channel();
        let task =
            tokio::task::spawn_local(run_socket(socket, url.to_owned(), rx, self.events.clone()));
        self.sockets.borrow_mut().insert(socket, (tx, task));
    }

    fn send(&self, socket: SocketId, text: &str) {
        if let Some((tx, _)) = self.sockets.borrow().get(&socket) {
            let _ = tx.send(Command::Send(text.to_owned()));
        }
    }

    fn close(&self, socket: SocketId, code: CloseCode, reason: &str) {
        if let Some((tx, _)) = self.sockets.borrow_mut().remove(&socket) {
            // The task sends the close frame and ends; it reports nothing the core still wants.
            let _ = tx.send(Command::Close(code, reason.to_owned()));
        }
    }

    fn set_timer(&self, at: Option<Instant>, _: &DriverHandle) {
        if let Some(old) = self.timer.borrow_mut().take() {
            old.abort();
        }
        let Some(at) = at else { return };
        let generation = self.timer_generation.get() + 1;
        self.timer_generation.set(generation);
        let delay = std::time::Duration::from_millis(at.0.saturating_sub(now_ms()));
        let events = self.events.clone();
        *self.timer.borrow_mut() = Some(tokio::task::spawn_local(async move {
            tokio::time::sleep(delay).await;
            let _ = events.send(DriverEvent::Timer(generation));
        }));
    }

    fn schedule_flush(&self, _: &DriverHandle) {
        if !self.flush_scheduled.replace(true) {
            let _ = self.events.send(DriverEvent::Flush);
        }
    }
}

impl Drop for NativeIo {
    fn drop(&mut self) {
        for (_, (_, task)) in self.sockets.borrow_mut().drain() {
            task.abort();
        }
        if let Some(t) = self.timer.borrow_mut().take() {
            t.abort();
        }
    }
}

async fn run_socket(
    id: SocketId,
    url: String,
    mut commands: mpsc::UnboundedReceiver<Command>,
    events: mpsc::UnboundedSender<DriverEvent>,
) {
    // No Nagle: a small frame goes out at once, as a browser's WebSocket sends it.
    let mut ws = match tokio_tungstenite::connect_async_with_config(url.as_str(), None, true).await
    {
        Ok((ws, _)) => ws,
        Err(WsError::Http(response)) => {
            let _ = events.send(DriverEvent::Refused(id, response.status().as_u16()));
            return;
        }
        Err(_) => {
            let _ = events.send(DriverEvent::Closed(
                id,
                CloseCode::ABNORMAL,
                "connect failed".into(),
            ));
            return;
        }
    };
    let _ = events.send(DriverEvent::Opened(id));
    loop {
        tokio::select! {
            command = commands.recv() => match command {
                Some(Command::Send(text)) => {
                    if ws.send(Message::text(text)).await.is_err() {
                        let _ = events.send(DriverEvent::Closed(id, CloseCode::ABNORMAL, "send failed".into()));
                        return;
                    }
                }
                Some(Command::Close(code, reason)) => {
                    let frame = CloseFrame { code: WsCloseCode::from(code.0), reason: reason.into() };
                    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), ws.close(Some(frame))).await;
                    return;
                }
                None => return,
            },
            incoming = ws.next() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    let _ = events.send(DriverEvent::Text(id, text.to_string()));
                }
                Some(Ok(Message::Binary(bytes))) => {
                    let _ = events.send(DriverEvent::Binary(id, bytes.to_vec()));
                }
                Some(Ok(Message::Close(frame))) => {
                    let (code, reason) = frame.map_or((CloseCode::NO_STATUS, String::new()), |f| {
                        (CloseCode(u16::from(f.code)), f.reason.to_string())
                    });
                    let _ = events.send(DriverEvent::Closed(id, code, reason));
                    return;
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => {
                    let _ = events.send(DriverEvent::Closed(id, CloseCode::ABNORMAL, String::new()));
                    return;
                }
            },
        }
    }
}

/// Delivers the driver's events to its client. Run it on the same `LocalSet` as the client.
pub struct Driver {
    handle: DriverHandle,
    io: std::rc::Weak<NativeIo>,
    events: mpsc::UnboundedReceiver<DriverEvent>,
}

impl Driver {
    /// Runs until the client is dropped.
    pub async fn run(mut self) {
        while let Some(event) = self.events.recv().await {
            let Some(io) = self.io.upgrade() else {
                return;
            };
            let d = &self.handle;
            match event {
                DriverEvent::Opened(id) => d.handle_socket_opened(id),
                DriverEvent::Text(id, text) => d.handle_socket_text(id, text),
                DriverEvent::Binary(id, bytes) => d.handle_socket_bytes(id, bytes),
                DriverEvent::Closed(id, code, reason) => d.handle_socket_closed(id, code, &reason),
                DriverEvent::Refused(id, status) => d.handle_socket_refused(id, status),
                DriverEvent::Timer(generation) => {
                    if generation == io.timer_generation.get() {
                        d.handle_timeout();
                    }
                }
                DriverEvent::Flush => {
                    io.flush_scheduled.set(false);
                    d.handle_flush();
                }
            }
        }
    }
}

/// A handle to the driver's resource counts.
#[derive(Clone)]
pub struct DriverProbe(std::rc::Weak<NativeIo>);

impl DriverProbe {
    /// The counts now (all zero once the client is gone).
    pub fn stats(&self) -> DriverStats {
        let Some(io) = self.0.upgrade() else {
            return DriverStats::default();
        };
        let sockets = io
            .sockets
            .borrow()
            .values()
            .filter(|(_, t)| !t.is_finished())
            .count();
        let timers = io
            .timer
            .borrow()
            .as_ref()
            .map_or(0, |t| usize::from(!t.is_finished()));
        let opened_at = io.opened_at.borrow().clone();
        DriverStats {
            sockets,
            timers,
            opened_at,
        }
    }
}

/// An app state on tokio sockets and timers (not yet connected: call `client.connect()`), its
/// driver (spawn `driver.run()` on the same `LocalSet`), and a probe of the driver's resources.
pub fn app(config: Config, seed: u64) -> (Rc<AppState>, Driver, DriverProbe) {
    app_wrapped(config, seed, |io| io)
}

/// [`app`], its driver wrapped by `wrap` (which may replace the sockets, keeping the timers).
pub(crate) fn app_wrapped(
    config: Config,
    seed: u64,
    wrap: impl FnOnce(Box<dyn Io>) -> Box<dyn Io>,
) -> (Rc<AppState>, Driver, DriverProbe) {
    let (tx, events) = mpsc::unbounded_channel();
    let io = Rc::new(NativeIo {
        events: tx,
        sockets: RefCell::default(),
        timer: RefCell::new(None),
        timer_generation: Cell::new(0),
        flush_scheduled: Cell::new(false),
        opened_at: RefCell::new(Vec::new()),
    });
    let probe = DriverProbe(Rc::downgrade(&io));
    let (state, handle) = AppState::with_io(config, seed, wrap(Box::new(io.clone())));
    let driver = Driver {
        handle,
        io: Rc::downgrade(&io),
        events,
    };
    (state, driver, probe)
}
