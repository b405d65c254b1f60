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
use std::rc::{Rc, Weak};

use by_tab::ByTab;

use super::node::TabNode;
use super::wire::{TabId, TabMessage};
use super::Lock;
use super::SharedHealth;
use crate::core::topic_map::TopicMap;
use crate::core::{ConnectionState, Replay};
use crate::listeners::ListenerGuard;
use crate::protocol::{CloseCode, Frame};
use crate::{AppState, Subscription};

/// One tab's topic.
struct TabTopic {
    since: Option<u64>,
    /// The snapshot a tab joining an active topic gets with its acknowledgement: its `since` is
    /// the snapshot's `seq`, so the events after it are replayed.
    snapshot: Option<Rc<Frame>>,
    cursor: Option<u64>,
    acked: bool,
    message_id: Option<String>,
    guard: Option<Subscription>,
}

/// One tab's virtual socket.
struct VirtualTab {
    socket: u64,
    open: bool,
    topics: TopicMap<TabTopic>,
    /// `subscribe`s not yet acknowledged; pongs wait for them, as a server answers in order.
    unacked: usize,
    held_pongs: Vec<String>,
}

#[derive(Default)]
struct State {
    tabs: ByTab<VirtualTab>,
    /// The last snapshot (an event without `seq`, from a server that numbers events) per topic,
    /// with the server's `seq` it was taken at, for tabs that join a topic already active.
    snapshots: TopicMap<(Rc<Frame>, u64)>,
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
    /// Each other tab's own lock, waited on: granted means the tab is gone.
    watches: RefCell<ByTab<Box<dyn Lock>>>,
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
            watches: RefCell::default(),
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
            .set_relay_sink(Some(Rc::new(move |frame: &Rc<Frame>| {
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

    /// Tabs sharing the socket, this one included: every tab that asked for a virtual socket
    /// and has not gone, whether or not the real socket is open now (while it is down, the
    /// tabs wait for it).
    pub fn tabs(&self) -> usize {
        1 + self.watches.borrow().len()
    }

    /// Handles a message from a tab.
    pub(super) fn handle(self: &Rc<Self>, message: TabMessage) {
        match message {
            TabMessage::Open { from, socket } => {
                let known = self
                    .state
                    .borrow()
                    .tabs
                    .get(from)
                    .map(|t| (t.socket == socket, t.open));
                match known {
                    // Asked again (the tab heard of a new leader, which is this one): it is
                    // open already, or will be when the real socket is.
                    Some((true, true)) => {
                        self.post(TabMessage::Opened {
                            to: from,
                            socket,
                            leader: self.me,
                        });
                        return;
                    }
                    Some((true, false)) => return,
                    _ => {}
                }
                let joined = self.watch(from);
                let old = self.state.borrow_mut().tabs.insert(
                    from,
                    VirtualTab {
                        socket,
                        open: false,
                        topics: TopicMap::default(),
                        unacked: 0,
                        held_pongs: Vec::new(),
                    },
                );
                drop(old);
                if self.state().is_open() {
                    self.open_tab(from);
                } else if joined {
                    self.broadcast_status();
                }
            }
            TabMessage::Frame { from, socket, text } => self.on_frame(from, socket, &text),
            TabMessage::Close { from, socket } => {
                let gone = {
                    let mut s = self.state.borrow_mut();
                    match s.tabs.get(from) {
                        Some(t) if t.socket == socket => s.tabs.remove(from),
                        _ => None,
                    }
                };
                drop(gone);
                self.forget_unheld_snapshots();
                self.broadcast_status();
            }
            TabMessage::Bye { from } => self.tab_gone(from),
            TabMessage::Reconnect { .. } => self.upstream.client.reconnect(),
            TabMessage::Probe { from } => self.post_from_timer(TabMessage::Alive {
                to: from,
                leader: self.me,
            }),
            _ => {}
        }
    }

    /// Waits on `tab`'s own lock, once, unless it is this tab. Returns true if `tab` is new.
    fn watch(self: &Rc<Self>, tab: TabId) -> bool {
        if tab == self.me || self.watches.borrow().contains(tab) {
            return false;
        }
        let Some(node) = self.node.upgrade() else {
            return false;
        };
        let weak = Rc::downgrade(self);
        let lock = node.watch_tab(
            tab,
            Box::new(move || {
                if let Some(hub) = weak.upgrade() {
                    hub.tab_gone(tab);
                }
            }),
        );
        self.watches.borrow_mut().insert(tab, lock);
        true
    }

    /// `tab` said goodbye, or its lock came free (it crashed): its topics go.
    fn tab_gone(&self, tab: TabId) {
        let gone = self.state.borrow_mut().tabs.remove(tab);
        let watch = self.watches.borrow_mut().remove(tab);
        drop((gone, watch));
        self.forget_unheld_snapshots();
        self.broadcast_status();
    }

    /// Snapshots of topics no tab holds any more are forgotten.
    pub(super) fn forget_unheld_snapshots(&self) {
        let mut s = self.state.borrow_mut();
        let State { tabs, snapshots } = &mut *s;
        snapshots.retain(|topic, _| tabs.values().any(|t| t.topics.contains(topic.as_str())));
    }

    /// Closes every virtual socket with `code` (the leader is leaving or stepping down).
    pub(super) fn close_all(&self, code: CloseCode) {
        let watches = std::mem::take(&mut *self.watches.borrow_mut());
        drop(watches);
        let tabs = std::mem::take(&mut self.state.borrow_mut().tabs);
        for (tab, t) in tabs.iter() {
            self.post(TabMessage::Closed {
                to: tab,
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

    fn post_from_timer(&self, message: TabMessage) {
        if let Some(node) = self.node.upgrade() {
            node.post_from_timer(message);
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
            match s.tabs.get_mut(tab).filter(|t| !t.open) {
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
                .map(|(id, _)| id)
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
                    .map(|(i, _)| i)
                    .collect();
                ids.into_iter()
                    .filter_map(|i| s.tabs.remove(i).map(|t| (i, t)))
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

mod by_tab;
mod frames;
