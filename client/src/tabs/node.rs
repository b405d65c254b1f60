//! [`TabNode`]: one tab's end of the sharing. It routes the channel's messages (to its own
//! client's virtual socket, or to its hub while it leads), takes the leadership when the lock
//! is granted, and knows the shared connection's status.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use super::hub::Hub;
use super::link::TabLink;
use super::wire::{TabId, TabMessage};
use super::{Channel, Lock, Platform, Role, SharedHealth, Sharing};
use crate::core::{Config, ConnectionState, Millis, Replay, SocketId, TokenProvider};
use crate::driver::DriverHandle;
use crate::listeners::{ListenerGuard, Listeners};
use crate::protocol::CloseCode;
use crate::AppState;

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
        // The link to the hub is local: retry it fast.
        tab_config.backoff.base = Millis(50);
        tab_config.backoff.cap = Millis(1_000);
        let link_node = Rc::downgrade(&node);
        let app = platform.tab_client(
            tab_config,
            Box::new(move |timers| {
                Box::new(TabLink {
                    timers,
                    node: link_node,
                })
            }),
        );
        *app.tab.borrow_mut() = Some(node.clone());
        let alive = platform.lock(&alive_lock(&name, id));
        alive.request(Box::new(|| {}));
        *node.alive.borrow_mut() = Some(alive);
        let lock = platform.lock(&name);
        let weak = Rc::downgrade(&node);
        lock.request(Box::new(move || {
            if let Some(node) = weak.upgrade() {
                node.become_leader();
            }
        }));
        *node.lock.borrow_mut() = Some(lock);
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

    fn receive(self: &Rc<Self>, text: &str) {
        match TabMessage::decode(text) {
            Some(message) => self.handle(message),
            None => self.malformed.set(self.malformed.get() + 1),
        }
    }

    fn handle(self: &Rc<Self>, message: TabMessage) {
        use TabMessage as M;
        match message {
            M::Open { .. }
            | M::Frame { .. }
            | M::Close { .. }
            | M::Bye { .. }
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
                    driver.handle_socket_message(SocketId(socket), &text);
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

    /// Another tab (or this one) took the lead: a virtual socket to any other leader is stale,
    /// and one still opening asks the new leader.
    fn on_new_leader(self: &Rc<Self>, leader: TabId) {
        if leader != self.id && self.hub.borrow().is_some() {
            // Two leaders cannot both hold the lock; step down rather than split the tabs.
            let hub = self.hub.borrow_mut().take();
            if let Some(hub) = hub {
                hub.close_all(CloseCode::RESTART);
            }
        }
        let pending = {
            let v = self.virtual_socket.borrow();
            match v.as_ref() {
                Some(v) if v.leader.is_some_and(|l| l != leader) => Err(v.socket.0),
                Some(v) if v.leader.is_none() => Ok(Some(v.socket.0)),
                _ => Ok(None),
            }
        };
        match pending {
            Err(stale) => self.end_virtual(stale, CloseCode::RESTART),
            Ok(Some(socket)) => self.post(TabMessage::Open {
                from: self.id,
                socket,
            }),
            Ok(None) => {}
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

    fn become_leader(self: &Rc<Self>) {
        let mut config = self.settings.settings();
        config.share = None;
        config.relay_replies = true;
        let token = self.token.clone();
        config.token = Box::new(move || (token.borrow_mut())());
        let upstream = self.platform.real_client(config);
        let hub = Hub::start(self.id, Rc::downgrade(self), upstream);
        *self.hub.borrow_mut() = Some(hub);
        self.post(TabMessage::Leader { tab: self.id });
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

    pub(super) fn close_virtual(self: &Rc<Self>, socket: SocketId) {
        let mut v = self.virtual_socket.borrow_mut();
        if v.as_ref().is_some_and(|v| v.socket == socket) {
            v.take();
        }
        drop(v);
        self.post(TabMessage::Close {
            from: self.id,
            socket: socket.0,
        });
    }

    /// Waits on `tab`'s own lock: `gone` runs (later, not inside the grant) once the browser
    /// gives it to this tab, which means `tab` closed or crashed. Drop the lock to stop
    /// waiting (and to release it once granted).
    pub(super) fn watch_tab(&self, tab: TabId, gone: Box<dyn FnOnce()>) -> Box<dyn Lock> {
        let lock = self.platform.lock(&alive_lock(&self.name, tab));
        let platform = self.platform.clone();
        lock.request(Box::new(move || platform.defer(gone)));
        lock
    }

    /// Asks the leader to replace the shared socket now.
    pub fn reconnect_shared(self: &Rc<Self>) {
        self.post(TabMessage::Reconnect { from: self.id });
    }
}

/// The name of tab `tab`'s own lock.
fn alive_lock(name: &str, tab: TabId) -> String {
    format!("{name}:tab:{tab}")
}
