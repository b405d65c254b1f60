//! [`TabNode`]: one tab's end of the sharing. It routes the channel's messages (to its own
//! client's virtual socket, or to its hub while it leads), takes the leadership when the lock
//! is granted, and knows the shared connection's status.

mod leadership;

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

use std::rc::Weak;

use super::hub::{Hub, HubHost};
use super::link::{LinkHost, TabLink};
use super::wire::{TabId, TabMessage};
use super::{Channel, Lock, Platform, Role, SharedHealth, Sharing};
use crate::core::{Config, ConnectionState, Millis, Replay, SocketId, TokenProvider};
use crate::driver::DriverHandle;
use crate::listeners::{ListenerGuard, Listeners};
use crate::protocol::CloseCode;
use crate::AppState;

/// The longest a tab waits between pings to the leader's hub.
const LINK_PING_INTERVAL: Millis = Millis(5_000);
/// The longest a tab waits for the hub's pong.
const LINK_PONG_TIMEOUT: Millis = Millis(2_000);
/// The longest a tab waits for the hub to open its virtual socket (while the shared socket is
/// down, each time a probe shows the leader alive).
const LINK_CONNECT_TIMEOUT: Millis = Millis(3_000);

/// This tab's virtual socket.
struct Virtual {
    socket: SocketId,
    driver: DriverHandle,
    /// The leader that opened it, once one did.
    leader: Option<TabId>,
}

/// The leader's last status.
#[derive(Clone, Copy)]
struct Status {
    state: ConnectionState,
    tabs: usize,
    replay: Replay,
    health: SharedHealth,
}

/// One tab's end of the sharing. See the module docs of `tabs`.
pub struct TabNode {
    id: TabId,
    platform: Rc<dyn Platform>,
    settings: Config,
    token: Rc<RefCell<TokenProvider>>,
    /// The channel's and the lock's name.
    name: String,
    channel: RefCell<Option<Box<dyn Channel>>>,
    lock: RefCell<Option<Box<dyn Lock>>>,
    /// This tab's own lock, held for its life: the leader waits on it to learn the tab is gone
    /// (closed or crashed, goodbye or not).
    alive: RefCell<Option<Box<dyn Lock>>>,
    virtual_socket: RefCell<Option<Virtual>>,
    /// Set when this tab probed a silent leader; cleared by any word from a leader.
    probing: Cell<bool>,
    probes: Cell<u64>,
    /// Messages waiting for the timer task that posts them, and that task.
    timer_posts: RefCell<Vec<TabMessage>>,
    timer: RefCell<Option<Box<dyn Any>>>,
    hub: RefCell<Option<Rc<Hub>>>,
    status: Cell<Option<Status>>,
    malformed: Cell<u64>,
    changes: Listeners<Sharing>,
}

impl TabNode {
    /// This tab's app state, sharing the socket named `config.share` with the other tabs of
    /// `platform`: it connects at once, and takes the lead when the lock is granted.
    pub fn start(mut config: Config, id: TabId, platform: Rc<dyn Platform>) -> Rc<AppState> {
        let token = Rc::new(RefCell::new(std::mem::replace(
            &mut config.token,
            Box::new(|| None),
        )));
        let name = config.share.clone().unwrap_or_default();
        let node = Rc::new(TabNode {
            id,
            platform: platform.clone(),
            settings: config.settings(),
            token,
            name: name.clone(),
            channel: RefCell::new(None),
            lock: RefCell::new(None),
            alive: RefCell::new(None),
            virtual_socket: RefCell::new(None),
            probing: Cell::new(false),
            probes: Cell::new(0),
            timer_posts: RefCell::new(Vec::new()),
            timer: RefCell::new(None),
            hub: RefCell::new(None),
            status: Cell::new(None),
            malformed: Cell::new(0),
            changes: Listeners::default(),
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
        *node.channel.borrow_mut() = Some(channel);
        let mut tab_config = config.settings();
        tab_config.share = None;
        // The link to the hub is local: retry it fast, and expect quick answers, so that a
        // silent (frozen) leader is noticed within about 11 s at most.
        tab_config.backoff.base = Millis(50);
        tab_config.backoff.cap = Millis(1_000);
        tab_config.ping_interval = tab_config.ping_interval.min(LINK_PING_INTERVAL);
        tab_config.pong_timeout = tab_config.pong_timeout.min(LINK_PONG_TIMEOUT);
        tab_config.connect_timeout = tab_config.connect_timeout.min(LINK_CONNECT_TIMEOUT);
        let link_node = Rc::downgrade(&node);
        let app = platform.tab_client(
            tab_config,
            Box::new(move |timers| {
                Box::new(TabLink {
                    timers,
                    node: Box::new(NodeHost(link_node)),
                })
            }),
        );
        *app.tab.borrow_mut() = Some(node.clone());
        let alive = platform.lock(&leadership::alive_lock(&name, id));
        alive.request(Box::new(|| {}), Box::new(|| {}));
        *node.alive.borrow_mut() = Some(alive);
        node.ask_to_lead(false);
        app.client.connect();
        app
    }

    /// This tab's id.
    pub fn id(&self) -> TabId {
        self.id
    }

    /// What this tab knows of the shared connection.
    pub fn sharing(&self) -> Sharing {
        let hub = self.hub.borrow().clone();
        match hub {
            Some(hub) => Sharing {
                role: Role::Leader,
                state: hub.state(),
                tabs: hub.tabs(),
                replay: hub.replay(),
                health: hub.health(),
            },
            None => {
                let status = self.status.get().unwrap_or(Status {
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

    /// Calls `callback` with what this tab knows of the shared connection whenever the leader
    /// reports a change (and when this tab takes or loses the lead), until the guard drops.
    pub fn on_change(self: &Rc<Self>, callback: impl Fn(&Sharing) + 'static) -> ListenerGuard {
        let id = self.changes.add(Rc::new(callback));
        let weak = Rc::downgrade(self);
        ListenerGuard::new(move || {
            if let Some(node) = weak.upgrade() {
                node.changes.remove(id);
            }
        })
    }

    /// Channel messages that did not decode.
    pub fn malformed(&self) -> u64 {
        self.malformed.get()
    }

    /// Probes this tab sent after a silence of the leader (each answered one was a false
    /// alarm; an unanswered one is followed by taking the lead).
    pub fn probes(&self) -> u64 {
        self.probes.get()
    }

    /// The leader's real client, while this tab leads (for tests and the health panel).
    pub fn leader_client(&self) -> Option<Rc<AppState>> {
        self.hub.borrow().as_ref().map(|h| h.upstream().clone())
    }

    /// The page is going away: the other tabs are told, and, if this tab led, its tabs'
    /// virtual sockets close so that they move to the next leader at once.
    pub fn leave(self: &Rc<Self>) {
        let hub = self.hub.borrow_mut().take();
        if let Some(hub) = hub {
            hub.close_all(CloseCode::GOING_AWAY);
        }
        self.post(TabMessage::Bye { from: self.id });
    }

    /// Posts a message to every other tab, and handles it here too (later, not inside this
    /// call), as if the channel included its poster.
    pub(super) fn post(self: &Rc<Self>, message: TabMessage) {
        if let Some(channel) = self.channel.borrow().as_ref() {
            channel.post(&message.encode());
        }
        let weak = Rc::downgrade(self);
        self.platform.defer(Box::new(move || {
            if let Some(node) = weak.upgrade() {
                node.handle(message);
            }
        }));
    }

    /// Posts `message` from a timer task (see [`Platform::later`]), after those already
    /// waiting.
    pub(super) fn post_from_timer(self: &Rc<Self>, message: TabMessage) {
        self.timer_posts.borrow_mut().push(message);
        if self.timer.borrow().is_some() {
            return;
        }
        let weak = Rc::downgrade(self);
        let timer = self.platform.later(Box::new(move || {
            if let Some(node) = weak.upgrade() {
                let fired = node.timer.borrow_mut().take();
                let messages = std::mem::take(&mut *node.timer_posts.borrow_mut());
                for message in messages {
                    node.post(message);
                }
                drop(fired);
            }
        }));
        *self.timer.borrow_mut() = Some(timer);
    }

    fn receive(self: &Rc<Self>, text: &str) {
        match TabMessage::decode(text) {
            Some(message) => self.handle(message),
            None => self.malformed.set(self.malformed.get() + 1),
        }
    }

    fn handle(self: &Rc<Self>, message: TabMessage) {
        use TabMessage as M;
        if matches!(message, M::Leader { .. })
            || matches!(message, M::Alive { to, .. } if to == self.id)
        {
            self.probing.set(false);
        }
        match message {
            M::Open { .. }
            | M::Frame { .. }
            | M::Close { .. }
            | M::Bye { .. }
            | M::Probe { .. }
            | M::Reconnect { .. } => {
                let hub = self.hub.borrow().clone();
                if let Some(hub) = hub {
                    hub.handle(message);
                }
            }
            M::Opened { to, socket, leader } if to == self.id => {
                let driver = {
                    let mut v = self.virtual_socket.borrow_mut();
                    match v.as_mut().filter(|v| v.socket.0 == socket) {
                        Some(v) => {
                            v.leader = Some(leader);
                            Some(v.driver.clone())
                        }
                        None => None,
                    }
                };
                if let Some(driver) = driver {
                    driver.handle_socket_opened(SocketId(socket));
                }
            }
            M::Closed { to, socket, code } if to == self.id => {
                self.end_virtual(socket, CloseCode(code));
            }
            M::Deliver { to, socket, text } if to == self.id => {
                let driver = self
                    .virtual_socket
                    .borrow()
                    .as_ref()
                    .filter(|v| v.socket.0 == socket)
                    .map(|v| v.driver.clone());
                if let Some(driver) = driver {
                    driver.handle_socket_text(SocketId(socket), text);
                }
            }
            M::Leader { tab } => self.on_new_leader(tab),
            M::Status {
                state,
                tabs,
                replay,
                health,
                ..
            } => {
                self.status.set(Some(Status {
                    state,
                    tabs,
                    replay,
                    health,
                }));
                self.changes.notify(&self.sharing());
            }
            _ => {}
        }
    }

    fn end_virtual(&self, socket: u64, code: CloseCode) {
        let ended = {
            let mut v = self.virtual_socket.borrow_mut();
            match v.as_ref() {
                Some(cur) if cur.socket.0 == socket => v.take(),
                _ => None,
            }
        };
        if let Some(v) = ended {
            v.driver
                .handle_socket_closed(v.socket, code, "shared connection");
        }
    }

    pub(super) fn open_virtual(self: &Rc<Self>, socket: SocketId, driver: DriverHandle) {
        *self.virtual_socket.borrow_mut() = Some(Virtual {
            socket,
            driver,
            leader: None,
        });
        self.post(TabMessage::Open {
            from: self.id,
            socket: socket.0,
        });
    }

    pub(super) fn send_virtual(self: &Rc<Self>, socket: SocketId, text: &str) {
        self.post(TabMessage::Frame {
            from: self.id,
            socket: socket.0,
            text: text.to_owned(),
        });
    }

    pub(super) fn close_virtual(self: &Rc<Self>, socket: SocketId, code: CloseCode) {
        let mut v = self.virtual_socket.borrow_mut();
        if v.as_ref().is_some_and(|v| v.socket == socket) {
            v.take();
        }
        drop(v);
        self.post(TabMessage::Close {
            from: self.id,
            socket: socket.0,
        });
        if code == CloseCode::CLIENT_DEAD_CONNECTION {
            self.leader_silent();
        }
    }

    /// Asks the leader to replace the shared socket now.
    pub fn reconnect_shared(self: &Rc<Self>) {
        self.post(TabMessage::Reconnect { from: self.id });
    }
}

/// The node as its hub and its link see it (a weak reference: neither keeps it alive).
pub(super) struct NodeHost(pub(super) Weak<TabNode>);

impl HubHost for NodeHost {
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
            None => Box::new(NoLock),
        }
    }
}

impl LinkHost for NodeHost {
    fn open(&self, socket: SocketId, driver: DriverHandle) {
        if let Some(node) = self.0.upgrade() {
            node.open_virtual(socket, driver);
        }
    }

    fn send(&self, socket: SocketId, text: &str) {
        if let Some(node) = self.0.upgrade() {
            node.send_virtual(socket, text);
        }
    }

    fn close(&self, socket: SocketId, code: CloseCode) {
        if let Some(node) = self.0.upgrade() {
            node.close_virtual(socket, code);
        }
    }
}

/// A lock never granted (the node has gone).
struct NoLock;

impl Lock for NoLock {
    fn request(&self, _: Box<dyn FnOnce()>, _: Box<dyn FnOnce()>) {}
    fn steal(&self, _: Box<dyn FnOnce()>, _: Box<dyn FnOnce()>) {}
}
