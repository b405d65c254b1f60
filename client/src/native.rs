//! A tokio driver (feature `native`, not wasm32): runs a [`WsClientV2`] on tokio-tungstenite
//! sockets and tokio timers, for native programs, load tests and the chaos test.
//!
//! The client is single-threaded (`Rc`), so everything runs on a `tokio::task::LocalSet`. The
//! socket and timer tasks never call the client: they post [`DriverEvent`]s to a channel that
//! [`Driver::run`] drains, which keeps every call into the client on one stack at a time.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::time::{SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as WsCloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

use crate::client::{Io, WeakClient, WsClientV2};
use crate::core::{Config, Instant, SocketId};

/// What the socket and timer tasks report.
#[derive(Debug)]
enum DriverEvent {
    Opened(SocketId),
    Message(SocketId, String),
    Closed(SocketId, u16, String),
    Timer(u64),
    Flush,
}

enum Command {
    Send(String),
    Close(u16, String),
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

struct NativeIo {
    events: mpsc::UnboundedSender<DriverEvent>,
    sockets: RefCell<SocketTasks>,
    timer: RefCell<Option<JoinHandle<()>>>,
    timer_generation: Cell<u64>,
    flush_scheduled: Rc<Cell<bool>>,
    opened_at: RefCell<Vec<Instant>>,
}

/// Milliseconds since the Unix epoch.
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Io for NativeIo {
    fn now(&self) -> Instant {
        Instant(now_ms())
    }

    fn open(&self, socket: SocketId, url: &str) {
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

    fn close(&self, socket: SocketId, code: u16, reason: &str) {
        if let Some((tx, _)) = self.sockets.borrow_mut().remove(&socket) {
            // The task sends the close frame and ends; it reports nothing the core still wants.
            let _ = tx.send(Command::Close(code, reason.to_owned()));
        }
    }

    fn set_timer(&self, at: Option<Instant>) {
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

    fn schedule_flush(&self) {
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
    let mut ws = match tokio_tungstenite::connect_async(url.as_str()).await {
        Ok((ws, _)) => ws,
        Err(_) => {
            let _ = events.send(DriverEvent::Closed(id, 1006, "connect failed".into()));
            return;
        }
    };
    let _ = events.send(DriverEvent::Opened(id));
    loop {
        tokio::select! {
            command = commands.recv() => match command {
                Some(Command::Send(text)) => {
                    if ws.send(Message::text(text)).await.is_err() {
                        let _ = events.send(DriverEvent::Closed(id, 1006, "send failed".into()));
                        return;
                    }
                }
                Some(Command::Close(code, reason)) => {
                    let frame = CloseFrame { code: WsCloseCode::from(code), reason: reason.into() };
                    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), ws.close(Some(frame))).await;
                    return;
                }
                None => return,
            },
            incoming = ws.next() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    let _ = events.send(DriverEvent::Message(id, text.to_string()));
                }
                Some(Ok(Message::Binary(_))) => {
                    let _ = events.send(DriverEvent::Message(id, "<binary frame>".into()));
                }
                Some(Ok(Message::Close(frame))) => {
                    let (code, reason) = frame.map_or((1005, String::new()), |f| (u16::from(f.code), f.reason.to_string()));
                    let _ = events.send(DriverEvent::Closed(id, code, reason));
                    return;
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => {
                    let _ = events.send(DriverEvent::Closed(id, 1006, String::new()));
                    return;
                }
            },
        }
    }
}

/// Delivers the driver's events to its client. Run it on the same `LocalSet` as the client.
pub struct Driver {
    client: WeakClient,
    events: mpsc::UnboundedReceiver<DriverEvent>,
    flush_scheduled: Rc<Cell<bool>>,
    generation: Rc<dyn Fn() -> u64>,
}

impl Driver {
    /// Runs until the client is dropped.
    pub async fn run(mut self) {
        while let Some(event) = self.events.recv().await {
            let Some(client) = self.client.upgrade() else {
                return;
            };
            match event {
                DriverEvent::Opened(id) => client.handle_socket_opened(id),
                DriverEvent::Message(id, text) => client.handle_socket_message(id, &text),
                DriverEvent::Closed(id, code, reason) => {
                    client.handle_socket_closed(id, code, &reason)
                }
                DriverEvent::Timer(generation) => {
                    if generation == (self.generation)() {
                        client.handle_timeout();
                    }
                }
                DriverEvent::Flush => {
                    self.flush_scheduled.set(false);
                    client.flush();
                }
            }
        }
    }
}

/// A handle to the driver's resource counts.
#[derive(Clone)]
pub struct DriverProbe(Rc<dyn Fn() -> DriverStats>);

impl DriverProbe {
    /// The counts now.
    pub fn stats(&self) -> DriverStats {
        (self.0)()
    }
}

/// A client on tokio sockets and timers, its driver (spawn `driver.run()` on the same
/// `LocalSet`), and a probe of the driver's resources. Call `connect()` to start.
pub fn client(config: Config, seed: u64) -> (WsClientV2, Driver, DriverProbe) {
    let (tx, rx) = mpsc::unbounded_channel();
    let flush_scheduled = Rc::new(Cell::new(false));
    let shared_io: Rc<RefCell<Option<Rc<NativeIoView>>>> = Rc::default();
    let slot = shared_io.clone();
    let flush = flush_scheduled.clone();
    let client = WsClientV2::with_io(config, seed, move |_| {
        let io = Rc::new(NativeIo {
            events: tx,
            sockets: RefCell::default(),
            timer: RefCell::new(None),
            timer_generation: Cell::new(0),
            flush_scheduled: flush,
            opened_at: RefCell::new(Vec::new()),
        });
        *slot.borrow_mut() = Some(Rc::new(NativeIoView(Rc::downgrade(&io))));
        Box::new(SharedIo(io))
    });
    let view = shared_io.borrow().clone().expect("the io was built");
    let gen_view = view.clone();
    let driver = Driver {
        client: client.downgrade(),
        events: rx,
        flush_scheduled,
        generation: Rc::new(move || gen_view.with(|io| io.timer_generation.get()).unwrap_or(0)),
    };
    let probe = DriverProbe(Rc::new(move || {
        view.with(|io| DriverStats {
            sockets: io
                .sockets
                .borrow()
                .values()
                .filter(|(_, t)| !t.is_finished())
                .count(),
            timers: io
                .timer
                .borrow()
                .as_ref()
                .map_or(0, |t| usize::from(!t.is_finished())),
            opened_at: io.opened_at.borrow().clone(),
        })
        .unwrap_or_default()
    }));
    (client, driver, probe)
}

/// The `Io` the client owns; the driver and the probe only look through weak views.
struct SharedIo(Rc<NativeIo>);

impl Io for SharedIo {
    fn now(&self) -> Instant {
        self.0.now()
    }
    fn open(&self, socket: SocketId, url: &str) {
        self.0.open(socket, url)
    }
    fn send(&self, socket: SocketId, text: &str) {
        self.0.send(socket, text)
    }
    fn close(&self, socket: SocketId, code: u16, reason: &str) {
        self.0.close(socket, code, reason)
    }
    fn set_timer(&self, at: Option<Instant>) {
        self.0.set_timer(at)
    }
    fn schedule_flush(&self) {
        self.0.schedule_flush()
    }
}

struct NativeIoView(std::rc::Weak<NativeIo>);

impl NativeIoView {
    fn with<R>(&self, f: impl FnOnce(&NativeIo) -> R) -> Option<R> {
        self.0.upgrade().map(|io| f(&io))
    }
}
