//! [`Hub`]: the leader's multiplexer. It holds the one real socket (a tether client of its
//! own) and serves every tab's virtual socket as a server would: it acknowledges each
//! `subscribe` with the `seq` the tab continues from, forwards each event to the tabs holding
//! its topic (to each at most once, by the tab's own cursor), answers pings in order, and
//! relays requests, rewriting their ids on the way up and back.
//!
//! A topic goes on the wire once, whatever number of tabs hold it, because each tab's topic is
//! one handler on the real client's `TopicManager`. A tab that needs events from before the
//! hub's position (a tab that was behind when a new leader took over) subscribes with its
//! `since`, and the real client asks the server to replay from it: the events come again, and
//! each tab's cursor lets through only those it has not had.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::{Rc, Weak};

use super::node::TabNode;
use super::wire::{TabId, TabMessage};
use super::SharedHealth;
use crate::core::{ConnectionState, Replay};
use crate::listeners::ListenerGuard;
use crate::protocol::{CloseCode, Envelope, Topic};
use crate::{AppState, Subscription};

/// One tab's topic.
struct TabTopic {
    since: Option<u64>,
    cursor: Option<u64>,
    acked: bool,
    message_id: Option<String>,
    guard: Option<Subscription>,
}

/// One tab's virtual socket.
struct VirtualTab {
    socket: u64,
    open: bool,
    topics: BTreeMap<Topic, TabTopic>,
    /// `subscribe`s not yet acknowledged; pongs wait for them, as a server answers in order.
    unacked: usize,
    held_pongs: Vec<String>,
}

#[derive(Default)]
struct State {
    tabs: BTreeMap<TabId, VirtualTab>,
    /// The last snapshot (an event without `seq`, from a server that numbers events) per topic,
    /// for tabs that join a topic already active.
    snapshots: BTreeMap<Topic, Rc<Envelope>>,
}

/// The leader's multiplexer. See the module docs.
pub struct Hub {
    me: TabId,
    node: Weak<TabNode>,
    upstream: Rc<AppState>,
    state: RefCell<State>,
    /// The replay and health the tabs were last told of.
    told: Cell<(Replay, SharedHealth)>,
    _listener: RefCell<Option<ListenerGuard>>,
}

/// Frames to deliver to one tab.
type Outgoing = Vec<(TabId, u64, String)>;

impl Hub {
    /// A hub for the leader `me` over the real client `upstream` (connecting).
    pub(super) fn start(me: TabId, node: Weak<TabNode>, upstream: Rc<AppState>) -> Rc<Hub> {
        let hub = Rc::new(Hub {
            me,
            node,
            upstream,
            state: RefCell::default(),
            told: Cell::default(),
            _listener: RefCell::new(None),
        });
        let weak = Rc::downgrade(&hub);
        let listener = hub.upstream.client.on_state_change(move |state| {
            if let Some(hub) = weak.upgrade() {
                hub.on_upstream_state(*state);
            }
        });
        *hub._listener.borrow_mut() = Some(listener);
        let weak = Rc::downgrade(&hub);
        hub.upstream
            .client
            .set_relay_sink(Some(Rc::new(move |frame: &Rc<Envelope>| {
                if let Some(hub) = weak.upgrade() {
                    hub.on_relay(frame);
                }
            })));
        hub
    }

    /// The real client.
    pub fn upstream(&self) -> &Rc<AppState> {
        &self.upstream
    }

    /// The shared socket's state.
    pub fn state(&self) -> ConnectionState {
        self.upstream.client.state()
    }

    /// Whether the server behind the real socket replays.
    pub fn replay(&self) -> Replay {
        self.upstream.client.metrics().replay
    }

    /// The real socket's health.
    pub fn health(&self) -> SharedHealth {
        SharedHealth::of(&self.upstream.client.metrics())
    }

    /// Tabs with an open virtual socket.
    pub fn tabs(&self) -> usize {
        self.state.borrow().tabs.values().filter(|t| t.open).count()
    }

    /// Handles a message from a tab.
    pub(super) fn handle(self: &Rc<Self>, message: TabMessage) {
        match message {
            TabMessage::Open { from, socket } => {
                let old = self.state.borrow_mut().tabs.insert(
                    from,
                    VirtualTab {
                        socket,
                        open: false,
                        topics: BTreeMap::new(),
                        unacked: 0,
                        held_pongs: Vec::new(),
                    },
                );
                drop(old);
                if self.state().is_open() {
                    self.open_tab(from);
                }
            }
            TabMessage::Frame { from, socket, text } => self.on_frame(from, socket, &text),
            TabMessage::Close { from, socket } => {
                let gone = {
                    let mut s = self.state.borrow_mut();
                    match s.tabs.get(&from) {
                        Some(t) if t.socket == socket => s.tabs.remove(&from),
                        _ => None,
                    }
                };
                drop(gone);
                self.broadcast_status();
            }
            TabMessage::Bye { from } => {
                let gone = self.state.borrow_mut().tabs.remove(&from);
                drop(gone);
                self.broadcast_status();
            }
            TabMessage::Reconnect { .. } => self.upstream.client.reconnect(),
            _ => {}
        }
    }

    /// Closes every virtual socket with `code` (the leader is leaving or stepping down).
    pub(super) fn close_all(&self, code: CloseCode) {
        let tabs = std::mem::take(&mut self.state.borrow_mut().tabs);
        for (tab, t) in &tabs {
            self.post(TabMessage::Closed {
                to: *tab,
                socket: t.socket,
                code: code.0,
            });
        }
        drop(tabs);
    }

    fn post(&self, message: TabMessage) {
        if let Some(node) = self.node.upgrade() {
            node.post(message);
        }
    }

    fn deliver(&self, out: Outgoing) {
        for (to, socket, text) in out {
            self.post(TabMessage::Deliver { to, socket, text });
        }
    }

    fn broadcast_status(&self) {
        let (replay, health) = (self.replay(), self.health());
        self.told.set((replay, health));
        self.post(TabMessage::Status {
            leader: self.me,
            state: self.state(),
            tabs: self.tabs(),
            replay,
            health,
        });
    }

    /// Tells the tabs when the server turned out to replay or not, or the health changed (a
    /// new RTT sample): checked on each event and each tab's heartbeat.
    fn broadcast_if_changed(&self) {
        if (self.replay(), self.health()) != self.told.get() {
            self.broadcast_status();
        }
    }

    fn open_tab(&self, tab: TabId) {
        let socket = {
            let mut s = self.state.borrow_mut();
            match s.tabs.get_mut(&tab).filter(|t| !t.open) {
                Some(t) => {
                    t.open = true;
                    Some(t.socket)
                }
                None => None,
            }
        };
        if let Some(socket) = socket {
            self.post(TabMessage::Opened {
                to: tab,
                socket,
                leader: self.me,
            });
            self.broadcast_status();
        }
    }

    /// The real socket opened or dropped: the tabs' virtual sockets follow it.
    fn on_upstream_state(&self, state: ConnectionState) {
        if state.is_open() {
            let waiting: Vec<TabId> = self
                .state
                .borrow()
                .tabs
                .iter()
                .filter(|(_, t)| !t.open)
                .map(|(id, _)| *id)
                .collect();
            for tab in waiting {
                self.open_tab(tab);
            }
        } else if matches!(
            state,
            ConnectionState::Reconnecting { .. }
                | ConnectionState::Offline
                | ConnectionState::AuthFailed
                | ConnectionState::Closed
                | ConnectionState::Idle
        ) {
            let code = match state {
                ConnectionState::AuthFailed => CloseCode::UNAUTHORIZED,
                _ => CloseCode::RESTART,
            };
            let open: Vec<(TabId, VirtualTab)> = {
                let mut s = self.state.borrow_mut();
                let ids: Vec<TabId> = s
                    .tabs
                    .iter()
                    .filter(|(_, t)| t.open)
                    .map(|(i, _)| *i)
                    .collect();
                ids.into_iter()
                    .filter_map(|i| s.tabs.remove(&i).map(|t| (i, t)))
                    .collect()
            };
            for (tab, t) in &open {
                self.post(TabMessage::Closed {
                    to: *tab,
                    socket: t.socket,
                    code: code.0,
                });
            }
            drop(open);
        }
        self.broadcast_status();
    }
}

mod frames;
