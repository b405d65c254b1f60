//! [`HubCore`]: the hub as a state machine, without I/O. Its inputs are the `handle_*`
//! methods (a tab's message, the real socket's state, an event of one tab's topic, a reply to
//! a relayed request); its outputs wait in one queue, read with [`HubCore::poll`] in order:
//! messages for the tabs (now, or from a timer task), and commands for the real client
//! (subscribe a tab's topic, release it, send a frame up, reconnect) and for the shell (wait
//! on a tab's lock, stop waiting).
//!
//! What the core needs to know of the real client it asks through [`Upstream`], a read-only
//! view: the shell passes the real client's state machine (`Connection`), the table tests a
//! plain struct.
//!
//! The frames a tab sends are served in `serve.rs`, the real client's events are passed on by
//! each tab's cursor in `cursor.rs`.

use std::rc::Rc;

use super::by_tab::ByTab;
use crate::core::topic_map::TopicMap;
use crate::core::{ConnectionState, Replay, TopicStatus};
use crate::protocol::{CloseCode, Frame, Topic};
use crate::tabs::platform::SharedHealth;
use crate::tabs::wire::{TabId, TabMessage};

/// What the hub reads of the real client (the leader's own tether client).
pub trait Upstream {
    /// The real socket's state.
    fn state(&self) -> ConnectionState;
    /// Whether the server behind it replays.
    fn replay(&self) -> Replay;
    /// Its health.
    fn health(&self) -> SharedHealth;
    /// A topic's status on the real socket.
    fn topic_status(&self, topic: &Topic) -> Option<&TopicStatus>;
    /// The server's `seq` of `topic` in its latest acknowledgement.
    fn server_seq(&self, topic: &Topic) -> Option<u64>;
    /// The last `seq` the real client delivered on `topic`.
    fn last_seq(&self, topic: &Topic) -> Option<u64>;
    /// The server's epoch of `topic`.
    fn epoch(&self, topic: &Topic) -> Option<&str>;
}

/// One output of the hub, in the order it must happen.
#[derive(Clone, Debug, PartialEq)]
pub enum HubOutput {
    /// Post a message to the tabs.
    Post(TabMessage),
    /// Post a message from a timer task: a leader whose timers are frozen does not send it.
    PostFromTimer(TabMessage),
    /// Hold `topic` on the real client for one tab's socket, from `since`; then tell the core
    /// with [`HubCore::handle_upstream_subscribed`]. A later `Subscribe` of the same key
    /// replaces this one (subscribe the new one first, then release the old).
    Subscribe {
        /// The tab.
        tab: TabId,
        /// Its virtual socket.
        socket: u64,
        /// The topic.
        topic: Topic,
        /// Replay the events after it.
        since: Option<u64>,
    },
    /// Stop holding a topic for a tab's socket.
    Release {
        /// The tab.
        tab: TabId,
        /// Its virtual socket.
        socket: u64,
        /// The topic.
        topic: Topic,
    },
    /// Send a tab's frame on the real socket (its request id already rewritten). If it cannot
    /// be sent, tell the core with [`HubCore::handle_not_sent`].
    SendUp {
        /// The tab.
        tab: TabId,
        /// Its virtual socket.
        socket: u64,
        /// The frame.
        text: String,
        /// The tab's own request id, if the frame is a request.
        req_id: Option<String>,
    },
    /// Replace the real socket now.
    Reconnect,
    /// Wait on a tab's own lock: granted means the tab is gone ([`HubCore::handle_tab_gone`]).
    Watch(TabId),
    /// Stop waiting on a tab's lock.
    Unwatch(TabId),
}

/// One tab's topic.
pub(super) struct TabTopic {
    /// The `seq` the tab asked to continue from.
    pub(super) since: Option<u64>,
    /// A snapshot of the topic (an event without `seq`, from a server that numbers events), with
    /// the server's `seq` it was taken at: the last this tab's topic had once acknowledged; for
    /// a tab joining a topic already active, first a copy of another tab's, sent after its
    /// acknowledgement (its `since` is the snapshot's `seq`, so the events after it are
    /// replayed).
    pub(super) snapshot: Option<(Rc<Frame>, u64)>,
    /// The last `seq` the tab has (or was told to continue from).
    pub(super) cursor: Option<u64>,
    /// Whether the tab had its answer (acknowledgement or refusal).
    pub(super) acked: bool,
    pub(super) message_id: Option<String>,
    /// The tab's request that asked for it (its socket's count of subscribes).
    pub(super) request: u64,
}

/// One tab's virtual socket.
pub(super) struct VirtualTab {
    pub(super) socket: u64,
    pub(super) open: bool,
    pub(super) topics: TopicMap<TabTopic>,
    /// `subscribe`s not yet acknowledged; pongs wait for them, as a server answers in order.
    pub(super) unacked: usize,
    pub(super) held_pongs: Vec<String>,
    /// Subscribes received, which numbers each one's topics.
    pub(super) requests: u64,
}

/// The hub's state. See the module docs.
pub struct HubCore {
    pub(super) me: TabId,
    pub(super) tabs: ByTab<VirtualTab>,
    /// The other tabs whose lock the hub waits on: every tab that asked for a socket and has
    /// not gone.
    watched: Vec<TabId>,
    /// The replay and health the tabs were last told of.
    told: (Replay, SharedHealth),
    /// The outputs waiting, oldest first (a vector: it holds a few at a time).
    pub(super) out: Vec<HubOutput>,
}

impl HubCore {
    /// A hub for the leader `me`.
    pub fn new(me: TabId) -> HubCore {
        HubCore {
            me,
            tabs: ByTab::default(),
            watched: Vec::new(),
            told: (Replay::default(), SharedHealth::default()),
            out: Vec::new(),
        }
    }

    /// The next output, in order.
    pub fn poll(&mut self) -> Option<HubOutput> {
        (!self.out.is_empty()).then(|| self.out.remove(0))
    }

    /// Tabs sharing the socket, this one included: every tab that asked for a virtual socket
    /// and has not gone, whether or not the real socket is open now.
    pub fn tabs(&self) -> usize {
        1 + self.watched.len()
    }

    /// Handles a message from a tab (or from this one, as the channel does not echo).
    pub fn handle_message(&mut self, message: TabMessage, up: &impl Upstream) {
        match message {
            TabMessage::Open { from, socket } => self.open(from, socket, up),
            TabMessage::Frame { from, socket, text } => self.handle_frame(from, socket, &text, up),
            TabMessage::Close { from, socket } => {
                if self.tabs.get(from).is_some_and(|t| t.socket == socket) {
                    self.remove_tab(from);
                }
                self.broadcast_status(up);
            }
            TabMessage::Bye { from } => self.handle_tab_gone(from, up),
            TabMessage::Reconnect { .. } => self.out.push(HubOutput::Reconnect),
            TabMessage::Probe { from } => self.post_from_timer(TabMessage::Alive {
                to: from,
                leader: self.me,
            }),
            _ => {}
        }
    }

    fn open(&mut self, from: TabId, socket: u64, up: &impl Upstream) {
        match self.tabs.get(from).map(|t| (t.socket == socket, t.open)) {
            // Asked again (the tab heard of a new leader, which is this one): it is open
            // already, or will be when the real socket is.
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
        let joined = from != self.me && !self.watched.contains(&from);
        if joined {
            self.watched.push(from);
            self.out.push(HubOutput::Watch(from));
        }
        self.remove_tab(from);
        let tab = VirtualTab {
            socket,
            open: false,
            topics: TopicMap::default(),
            unacked: 0,
            held_pongs: Vec::new(),
            requests: 0,
        };
        self.tabs.push(from, tab); // removed above
        if up.state().is_open() {
            self.open_tab(from, up);
        } else if joined {
            self.broadcast_status(up);
        }
    }

    /// `tab` said goodbye, or its lock came free (it crashed): its topics go.
    pub fn handle_tab_gone(&mut self, tab: TabId, up: &impl Upstream) {
        self.remove_tab(tab);
        if let Some(i) = self.watched.iter().position(|t| *t == tab) {
            self.watched.swap_remove(i);
            self.out.push(HubOutput::Unwatch(tab));
        }
        self.broadcast_status(up);
    }

    /// Removes a tab's socket, releasing its topics.
    pub(super) fn remove_tab(&mut self, tab: TabId) -> Option<VirtualTab> {
        let gone = self.tabs.remove(tab)?;
        for (topic, _) in gone.topics.iter() {
            self.out.push(HubOutput::Release {
                tab,
                socket: gone.socket,
                topic: topic.clone(),
            });
        }
        Some(gone)
    }

    /// A snapshot of `topic` a tab holds, the first tab's in order, with the `seq` it was taken
    /// at. Not always the newest: a tab that joined keeps the copy it was given until a newer
    /// one reaches it after its acknowledgement, so a tab joining from that copy has more events
    /// replayed (never a wrong state: its `since` is the copy's `seq`).
    pub(super) fn snapshot(&self, topic: &str) -> Option<(Rc<Frame>, u64)> {
        self.tabs
            .values()
            .find_map(|t| t.topics.get(topic)?.snapshot.clone())
    }

    /// Closes every virtual socket with `code` (the leader is leaving or stepping down).
    pub fn close_all(&mut self, code: CloseCode) {
        for tab in std::mem::take(&mut self.watched) {
            self.out.push(HubOutput::Unwatch(tab));
        }
        self.close_tabs(true, code);
    }

    /// Closes the open virtual sockets (all of them, with `waiting` too) with `code`, releasing
    /// their topics.
    fn close_tabs(&mut self, waiting: bool, code: CloseCode) {
        // One at a time, from the first: a leader serves a handful of tabs.
        while let Some(tab) = self.tabs.first(|t| waiting || t.open) {
            if let Some(t) = self.remove_tab(tab) {
                self.post(TabMessage::Closed {
                    to: tab,
                    socket: t.socket,
                    code: code.0,
                });
            }
        }
    }

    /// The real socket opened or dropped: the tabs' virtual sockets follow it.
    pub fn handle_upstream_state(&mut self, state: ConnectionState, up: &impl Upstream) {
        if state.is_open() {
            while let Some(tab) = self.tabs.first(|t| !t.open) {
                self.open_tab(tab, up); // opens it: the next search finds the next
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
            self.close_tabs(false, code);
        }
        self.broadcast_status(up);
    }

    fn open_tab(&mut self, tab: TabId, up: &impl Upstream) {
        let Some(t) = self.tabs.get_mut(tab).filter(|t| !t.open) else {
            return;
        };
        t.open = true;
        let socket = t.socket;
        self.post(TabMessage::Opened {
            to: tab,
            socket,
            leader: self.me,
        });
        self.broadcast_status(up);
    }

    pub(super) fn post(&mut self, message: TabMessage) {
        self.out.push(HubOutput::Post(message));
    }

    pub(super) fn post_from_timer(&mut self, message: TabMessage) {
        self.out.push(HubOutput::PostFromTimer(message));
    }

    pub(super) fn push(&mut self, output: HubOutput) {
        self.out.push(output);
    }

    pub(super) fn deliver(&mut self, to: TabId, socket: u64, text: String) {
        self.post(TabMessage::Deliver { to, socket, text });
    }

    /// Tells the tabs the shared socket's status.
    pub fn broadcast_status(&mut self, up: &impl Upstream) {
        let (replay, health) = (up.replay(), up.health());
        self.told = (replay, health);
        let status = TabMessage::Status {
            leader: self.me,
            state: up.state(),
            tabs: self.tabs(),
            replay,
            health,
        };
        self.post(status);
    }

    /// Tells the tabs when the server turned out to replay or not, or the health changed (a
    /// new RTT sample): checked on each acknowledgement and each tab's heartbeat.
    pub(super) fn broadcast_if_changed(&mut self, up: &impl Upstream) {
        if (up.replay(), up.health()) != self.told {
            self.broadcast_status(up);
        }
    }
}
