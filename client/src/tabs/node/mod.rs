//! [`TabNode`]: one tab's end of the sharing. The decisions are [`NodeCore`]'s, a state
//! machine without I/O (`core.rs`: leadership as explicit states, the virtual socket, the
//! leader's status); this module is its shell. It feeds the core the channel's messages, the
//! lock's grant and theft, and what this tab's client does with its virtual socket, and
//! carries out the core's outputs: posting on the channel, asking for the lock (`locks.rs`),
//! starting and stopping the hub, and driving the client's virtual socket.

mod core;
mod locks;
#[cfg(test)]
mod tests;

use std::any::Any;
use std::cell::{Cell, OnceCell, RefCell};
use std::rc::{Rc, Weak};

pub use self::core::{Leadership, NodeCore, NodeOutput, Status};
use super::hub::{Hub, HubHost};
use super::link::{LinkHost, TabLink};
use super::platform::{Channel, Lock, Platform, Role, SharedHealth, Sharing, WrapIo};
use super::wire::{TabId, TabMessage};
use crate::core::{Config, ConnectionState, Millis, Replay, SocketId, TokenProvider};
use crate::driver::DriverHandle;
use crate::listeners::Listeners;
use crate::protocol::CloseCode;
use crate::AppState;

/// The longest a tab waits between pings to the leader's hub.
const LINK_PING_INTERVAL: Millis = Millis(5_000);
/// The longest a tab waits for the hub's pong.
const LINK_PONG_TIMEOUT: Millis = Millis(2_000);
/// The longest a tab waits for the hub to open its virtual socket (while the shared socket is
/// down, each time a probe shows the leader alive).
const LINK_CONNECT_TIMEOUT: Millis = Millis(3_000);

/// One tab's end of the sharing. See the module docs of `tabs`.
pub struct TabNode<P> {
    id: TabId,
    core: RefCell<NodeCore>,
    /// Set while the core's outputs are carried out: an input meanwhile only queues more.
    driving: Cell<bool>,
    platform: Rc<P>,
    settings: Config,
    token: Rc<RefCell<TokenProvider>>,
    /// The channel's and the lock's name.
    name: String,
    channel: OnceCell<Box<dyn Channel>>,
    lock: Cell<Option<Box<dyn Lock>>>,
    /// This tab's own lock, held for its life: the leader waits on it to learn the tab is gone
    /// (closed or crashed, goodbye or not).
    alive: OnceCell<Box<dyn Lock>>,
    /// The driver of this tab's client, for its virtual socket.
    driver: Cell<Option<(u64, DriverHandle)>>,
    /// Messages waiting for the timer task that posts them, and that task.
    timer_posts: Cell<Vec<TabMessage>>,
    timer: Cell<Option<Box<dyn Any>>>,
    hub: Cell<Option<Rc<Hub>>>,
    malformed: Cell<u64>,
    changes: Listeners<Sharing>,
    me: Weak<TabNode<P>>,
}

impl<P: Platform + 'static> TabNode<P> {
    /// This tab's app state, sharing the socket named `config.share` with the other tabs of
    /// `platform`: it connects at once, and takes the lead when the lock is granted. The
    /// platform's glue keeps the node in the state (`AppState::tab`: in the browser, as the
    /// browser's own node, so that an app links only the node's methods it calls).
    pub fn start(mut config: Config, id: TabId, platform: Rc<P>) -> (Rc<AppState>, Rc<Self>) {
        let token = Rc::new(RefCell::new(std::mem::replace(
            &mut config.token,
            Box::new(|| None),
        )));
        let name = config.share.clone().unwrap_or_default();
        let node = Rc::new_cyclic(|me| TabNode {
            id,
            core: RefCell::new(NodeCore::new(id)),
            driving: Cell::new(false),
            platform: platform.clone(),
            settings: config.settings(),
            token,
            name: name.clone(),
            channel: OnceCell::new(),
            lock: Cell::new(None),
            alive: OnceCell::new(),
            driver: Cell::new(None),
            timer_posts: Cell::new(Vec::new()),
            timer: Cell::new(None),
            hub: Cell::new(None),
            malformed: Cell::new(0),
            changes: Listeners::default(),
            me: me.clone(),
        });
        let weak = Rc::downgrade(&node);
        let channel = platform.channel(
            &name,
            Box::new(move |text| {
                if let Some(node) = weak.upgrade() {
                    node.receive(&text);
                }
            }),
        );
        let _ = node.channel.set(channel);
        let app = platform.tab_client(link_config(&config), node.link());
        let alive = platform.lock(&locks::alive_lock(&name, id));
        alive.request(Box::new(|| {}), Box::new(|| {}));
        let _ = node.alive.set(alive);
        node.drive(); // the core's first output asks for the lock
        app.client.connect();
        (app, node)
    }

    /// What replaces the tab client's socket: a link to this node.
    fn link(&self) -> WrapIo {
        let node = self.me.clone();
        Box::new(move |timers| {
            Box::new(TabLink {
                timers,
                node: Box::new(NodeHost(node)),
            })
        })
    }

    /// This tab's part in the leadership.
    pub fn leadership(&self) -> Leadership {
        self.core.borrow().leadership()
    }

    /// Channel messages that did not decode.
    pub fn malformed(&self) -> u64 {
        self.malformed.get()
    }

    /// The leader's real client, while this tab leads (for tests and the health panel).
    pub fn leader_client(&self) -> Option<Rc<AppState>> {
        self.hub().map(|h| h.upstream().clone())
    }

    /// Gives the core an input, then carries out what it asks.
    fn input(&self, f: impl FnOnce(&mut NodeCore)) {
        f(&mut self.core.borrow_mut());
        self.drive();
    }

    /// Carries out the core's outputs, in order (a nested call returns at once: the outer
    /// loop carries out what the nested input queued).
    fn drive(&self) {
        if self.driving.replace(true) {
            return;
        }
        loop {
            let next = self.core.borrow_mut().poll();
            match next {
                Some(output) => self.apply(output),
                None => break,
            }
        }
        self.driving.set(false);
    }

    fn apply(&self, output: NodeOutput) {
        match output {
            NodeOutput::Post(message) => self.post(message),
            NodeOutput::ToHub(message) => {
                let hub = self.hub();
                if let Some(hub) = hub {
                    hub.handle(message);
                }
            }
            NodeOutput::AskLock { steal } => self.ask_to_lead(steal),
            NodeOutput::Lead => self.lead(),
            NodeOutput::StepDown(code) => {
                let hub = self.hub.take();
                if let Some(hub) = hub {
                    hub.close_all(code);
                }
            }
            NodeOutput::Opened(socket) => {
                if let Some(driver) = self.driver_of(socket) {
                    driver.handle_socket_opened(SocketId(socket));
                }
            }
            NodeOutput::Closed(socket, code) => {
                if let Some(driver) = self.take_driver(socket) {
                    driver.handle_socket_closed(SocketId(socket), code, "shared connection");
                }
            }
            NodeOutput::Text(socket, text) => {
                if let Some(driver) = self.driver_of(socket) {
                    driver.handle_socket_text(SocketId(socket), text);
                }
            }
            NodeOutput::Changed => self.changes.notify(&TabEnd::sharing(self)),
        }
    }

    /// The driver of this tab's client, if its virtual socket is `socket`.
    fn driver_of(&self, socket: u64) -> Option<DriverHandle> {
        let driver = self.driver.take();
        let handle = driver
            .as_ref()
            .filter(|(s, _)| *s == socket)
            .map(|(_, d)| d.clone());
        self.driver.set(driver);
        handle
    }

    /// Takes the driver of this tab's client, if its virtual socket is `socket` (it closed).
    fn take_driver(&self, socket: u64) -> Option<DriverHandle> {
        let mut driver = self.driver.take();
        let taken = driver.take_if(|(s, _)| *s == socket).map(|(_, d)| d);
        self.driver.set(driver);
        taken
    }

    /// The hub, while this tab leads.
    fn hub(&self) -> Option<Rc<Hub>> {
        let hub = self.hub.take();
        self.hub.set(hub.clone());
        hub
    }

    /// Posts a message to every other tab, and handles it here too (later, not inside this
    /// call), as if the channel included its poster.
    fn post(&self, message: TabMessage) {
        if let Some(channel) = self.channel.get() {
            channel.post(&message.encode());
        }
        let weak = self.me.clone();
        self.platform.defer(Box::new(move || {
            if let Some(node) = weak.upgrade() {
                node.input(|core| core.handle_message(message));
            }
        }));
    }

    /// Posts `message` from a timer task (see [`Platform::later`]), after those already
    /// waiting: one task posts all that wait (messages wait only while a task is asked for).
    fn post_from_timer(&self, message: TabMessage) {
        let mut waiting = self.timer_posts.take();
        let first = waiting.is_empty();
        waiting.push(message);
        self.timer_posts.set(waiting);
        if first {
            let weak = self.me.clone();
            let task = self.platform.later(Box::new(move || {
                if let Some(node) = weak.upgrade() {
                    for message in node.timer_posts.take() {
                        node.post(message);
                    }
                }
            }));
            // Replaces the task that ran last (dropping it, outside its own run).
            self.timer.set(Some(task));
        }
    }

    fn receive(&self, text: &str) {
        match TabMessage::decode(text) {
            Some(message) => self.input(|core| core.handle_message(message)),
            None => self.malformed.set(self.malformed.get() + 1),
        }
    }
}

/// A tab's end of the sharing as its [`AppState`] holds it, whatever the platform under it (the
/// node is generic over its platform, so that its calls into the platform are direct).
pub(crate) trait TabEnd {
    /// This tab's id (for the simulated browser's tests).
    #[cfg(all(not(target_arch = "wasm32"), feature = "native"))]
    fn id(&self) -> TabId;
    /// What this tab knows of the shared connection.
    fn sharing(&self) -> Sharing;
    /// The callbacks called with what this tab knows of the shared connection whenever the
    /// leader reports a change (and when this tab takes or loses the lead).
    fn changes(&self) -> &Listeners<Sharing>;
    /// Probes this tab sent after a silence of the leader (each answered one was a false
    /// alarm; an unanswered one is followed by taking the lead).
    #[cfg(all(not(target_arch = "wasm32"), feature = "native"))]
    fn probes(&self) -> u64;
    /// The page is going away: the other tabs are told, and, if this tab led, its tabs'
    /// virtual sockets close so that they move to the next leader at once.
    fn leave(&self);
    /// Asks the leader to replace the shared socket now.
    fn reconnect_shared(&self);
}

impl<P: Platform + 'static> TabEnd for TabNode<P> {
    #[cfg(all(not(target_arch = "wasm32"), feature = "native"))]
    fn id(&self) -> TabId {
        self.id
    }

    fn sharing(&self) -> Sharing {
        let hub = self.hub();
        match hub {
            Some(hub) => Sharing {
                role: Role::Leader,
                state: hub.state(),
                tabs: hub.tabs(),
                replay: hub.replay(),
                health: hub.health(),
            },
            None => {
                let status = self.core.borrow().status().unwrap_or(Status {
                    state: ConnectionState::Connecting,
                    tabs: 0,
                    replay: Replay::Unknown,
                    health: SharedHealth::default(),
                });
                Sharing {
                    role: Role::Follower,
                    state: status.state,
                    tabs: status.tabs,
                    replay: status.replay,
                    health: status.health,
                }
            }
        }
    }

    fn changes(&self) -> &Listeners<Sharing> {
        &self.changes
    }

    #[cfg(all(not(target_arch = "wasm32"), feature = "native"))]
    fn probes(&self) -> u64 {
        self.core.borrow().probes()
    }

    fn leave(&self) {
        self.input(NodeCore::handle_leave);
    }

    fn reconnect_shared(&self) {
        self.post(TabMessage::Reconnect { from: self.id });
    }
}

/// The tab client's settings: the link to the hub is local, so it is retried fast and quick
/// answers are expected, so that a silent (frozen) leader is noticed within about 11 s.
fn link_config(config: &Config) -> Config {
    let mut tab_config = config.settings();
    tab_config.share = None;
    tab_config.backoff.base = Millis(50);
    tab_config.backoff.cap = Millis(1_000);
    tab_config.ping_interval = tab_config.ping_interval.min(LINK_PING_INTERVAL);
    tab_config.pong_timeout = tab_config.pong_timeout.min(LINK_PONG_TIMEOUT);
    tab_config.connect_timeout = tab_config.connect_timeout.min(LINK_CONNECT_TIMEOUT);
    tab_config
}

/// The node as its hub and its link see it (a weak reference: neither keeps it alive).
struct NodeHost<P>(Weak<TabNode<P>>);

impl<P: Platform + 'static> HubHost for NodeHost<P> {
    fn post(&self, message: TabMessage) {
        if let Some(node) = self.0.upgrade() {
            node.post(message);
        }
    }

    fn post_from_timer(&self, message: TabMessage) {
        if let Some(node) = self.0.upgrade() {
            node.post_from_timer(message);
        }
    }

    fn watch_tab(&self, tab: TabId, gone: Box<dyn FnOnce()>) -> Box<dyn Lock> {
        match self.0.upgrade() {
            Some(node) => node.watch_tab(tab, gone),
            None => Box::new(locks::NoLock),
        }
    }
}

impl<P: Platform + 'static> LinkHost for NodeHost<P> {
    fn open(&self, socket: SocketId, driver: DriverHandle) {
        if let Some(node) = self.0.upgrade() {
            node.driver.set(Some((socket.0, driver)));
            node.input(|core| core.handle_open(socket.0));
        }
    }

    fn send(&self, socket: SocketId, text: &str) {
        if let Some(node) = self.0.upgrade() {
            node.input(|core| core.handle_send(socket.0, text.to_owned()));
        }
    }

    fn close(&self, socket: SocketId, code: CloseCode) {
        if let Some(node) = self.0.upgrade() {
            drop(node.take_driver(socket.0));
            node.input(|core| core.handle_close(socket.0, code));
        }
    }
}
