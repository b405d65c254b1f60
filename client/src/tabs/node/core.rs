//! [`NodeCore`]: one tab's end of the sharing as a state machine, without I/O. Its inputs are
//! the `handle_*` methods (a message on the channel, the lock granted or stolen, this tab's
//! client opening, using or closing its virtual socket, the page leaving); its outputs wait in
//! one queue, read in order with [`NodeCore::poll`].
//!
//! Leadership is one of four explicit states ([`Leadership`]):
//!
//! ```text
//!            granted                    stolen (by a tab that found this one silent)
//!   InLine ──────────▶ Leading ─────────────────────────────────────▶ InLine
//!     │ ▲                 │ another tab says it leads: step down (the lock stays asked)
//!     │ │ any word        ▼
//!     │ │ from a leader  InLine
//!     ▼ │
//!   Probing ──(the link fails again, no word)──▶ Stealing ──granted──▶ Leading
//! ```
//!
//! A follower whose link to the leader fails (no pong, or no answer to opening it) probes;
//! a live leader answers from a timer task, even with its server down. When the link fails
//! again with no answer in between, the leader's timers are frozen or stuck: take its lock.

use crate::core::{ConnectionState, Replay};
use crate::protocol::CloseCode;
use crate::tabs::platform::SharedHealth;
use crate::tabs::wire::{TabId, TabMessage};

/// The leader's last status.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Status {
    /// The shared socket's state.
    pub state: ConnectionState,
    /// Tabs sharing it.
    pub tabs: usize,
    /// Whether its server replays.
    pub replay: Replay,
    /// Its health.
    pub health: SharedHealth,
}

/// This tab's part in the leadership.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Leadership {
    /// Waiting in line for the lock (another tab leads, or none yet).
    InLine,
    /// The leader went silent: a probe is out, waiting for any word from a leader.
    Probing,
    /// The probe went unanswered: taking the lock from the silent leader.
    Stealing,
    /// This tab holds the lock: its hub owns the socket.
    Leading,
}

/// One output of the node, in the order it must happen.
#[derive(Clone, Debug, PartialEq)]
pub enum NodeOutput {
    /// Post a message to every tab, this one included (later, not inside this call).
    Post(TabMessage),
    /// Give a message to this tab's hub.
    ToHub(TabMessage),
    /// Drop any earlier request for the lock and ask again (`steal`: take it at once).
    AskLock {
        /// Take it from the tab holding it.
        steal: bool,
    },
    /// Start leading: open the real socket in a hub (before the `Leader` post that follows).
    Lead,
    /// Stop leading: the hub closes every tab's virtual socket with this code, and goes.
    StepDown(CloseCode),
    /// This tab's virtual socket opened.
    Opened(u64),
    /// This tab's virtual socket closed, with this code.
    Closed(u64, CloseCode),
    /// A frame for this tab's client.
    Text(u64, String),
    /// What this tab knows of the shared connection changed: tell its listeners.
    Changed,
}

/// This tab's virtual socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Virtual {
    socket: u64,
    /// The leader that opened it, once one did.
    leader: Option<TabId>,
}

/// One tab's end of the sharing. See the module docs.
pub struct NodeCore {
    id: TabId,
    leadership: Leadership,
    virtual_socket: Option<Virtual>,
    probes: u64,
    status: Option<Status>,
    /// The outputs waiting, oldest first (a vector: it holds a few at a time).
    out: Vec<NodeOutput>,
}

impl NodeCore {
    /// Tab `id`, in line for the lock (its first output asks for it).
    pub fn new(id: TabId) -> NodeCore {
        NodeCore {
            id,
            leadership: Leadership::InLine,
            virtual_socket: None,
            probes: 0,
            status: None,
            out: vec![NodeOutput::AskLock { steal: false }],
        }
    }

    /// The next output, in order.
    pub fn poll(&mut self) -> Option<NodeOutput> {
        (!self.out.is_empty()).then(|| self.out.remove(0))
    }

    /// This tab's part in the leadership.
    pub fn leadership(&self) -> Leadership {
        self.leadership
    }

    /// The leader's last status, once one was heard.
    pub fn status(&self) -> Option<Status> {
        self.status
    }

    /// Probes sent to a silent leader (read by the tests and the simulated browser).
    #[cfg_attr(any(target_arch = "wasm32", not(feature = "native")), allow(dead_code))]
    pub fn probes(&self) -> u64 {
        self.probes
    }

    /// The lock was granted: lead.
    pub fn handle_granted(&mut self) {
        self.leadership = Leadership::Leading;
        self.out.push(NodeOutput::Lead);
        self.post(TabMessage::Leader { tab: self.id });
    }

    /// Another tab stole the lock while this one was silent (frozen, or stuck): step down,
    /// sending the tabs to the new leader, and wait in line again.
    pub fn handle_stolen(&mut self) {
        if self.leadership == Leadership::Leading {
            self.out.push(NodeOutput::StepDown(CloseCode::RESTART));
        }
        self.leadership = Leadership::InLine;
        self.out.push(NodeOutput::Changed);
        self.out.push(NodeOutput::AskLock { steal: false });
    }

    /// The page is going away: the tabs it led move to the next leader at once, and the
    /// others are told.
    pub fn handle_leave(&mut self) {
        if self.leadership == Leadership::Leading {
            self.leadership = Leadership::InLine;
            self.out.push(NodeOutput::StepDown(CloseCode::GOING_AWAY));
        }
        self.post(TabMessage::Bye { from: self.id });
    }

    /// A message on the channel (or this tab's own, posted).
    pub fn handle_message(&mut self, message: TabMessage) {
        use TabMessage as M;
        let heard_leader = matches!(message, M::Leader { .. })
            || matches!(message, M::Alive { to, .. } if to == self.id);
        if heard_leader && self.leadership == Leadership::Probing {
            self.leadership = Leadership::InLine;
        }
        match message {
            M::Open { .. }
            | M::Frame { .. }
            | M::Close { .. }
            | M::Bye { .. }
            | M::Probe { .. }
            | M::Reconnect { .. }
                if self.leadership == Leadership::Leading =>
            {
                self.out.push(NodeOutput::ToHub(message));
            }
            M::Opened { to, socket, leader } if to == self.id => {
                if let Some(v) = self.virtual_socket.as_mut().filter(|v| v.socket == socket) {
                    v.leader = Some(leader);
                    self.out.push(NodeOutput::Opened(socket));
                }
            }
            M::Closed { to, socket, code } if to == self.id => self.end(socket, CloseCode(code)),
            M::Deliver { to, socket, text }
                if to == self.id && self.virtual_socket.is_some_and(|v| v.socket == socket) =>
            {
                self.out.push(NodeOutput::Text(socket, text));
            }
            M::Leader { tab } => self.new_leader(tab),
            M::Status {
                state,
                tabs,
                replay,
                health,
                ..
            } => {
                self.status = Some(Status {
                    state,
                    tabs,
                    replay,
                    health,
                });
                self.out.push(NodeOutput::Changed);
            }
            _ => {}
        }
    }

    /// Another tab (or this one) took the lead: a virtual socket to any other leader is stale,
    /// and one still opening asks the new leader.
    fn new_leader(&mut self, leader: TabId) {
        if leader != self.id && self.leadership == Leadership::Leading {
            // Two leaders cannot both hold the lock; step down rather than split the tabs.
            self.leadership = Leadership::InLine;
            self.out.push(NodeOutput::StepDown(CloseCode::RESTART));
        }
        match self.virtual_socket {
            Some(v) if v.leader.is_some_and(|l| l != leader) => {
                self.end(v.socket, CloseCode::RESTART);
            }
            Some(Virtual {
                socket,
                leader: None,
            }) => self.post(TabMessage::Open {
                from: self.id,
                socket,
            }),
            _ => {}
        }
    }

    fn end(&mut self, socket: u64, code: CloseCode) {
        if self.virtual_socket.is_some_and(|v| v.socket == socket) {
            self.virtual_socket = None;
            self.out.push(NodeOutput::Closed(socket, code));
        }
    }

    /// This tab's client opens its virtual socket: the leader is asked for it.
    pub fn handle_open(&mut self, socket: u64) {
        self.virtual_socket = Some(Virtual {
            socket,
            leader: None,
        });
        self.post(TabMessage::Open {
            from: self.id,
            socket,
        });
    }

    /// This tab's client sends a frame.
    pub fn handle_send(&mut self, socket: u64, text: String) {
        self.post(TabMessage::Frame {
            from: self.id,
            socket,
            text,
        });
    }

    /// This tab's client closes its virtual socket; with `CLIENT_DEAD_CONNECTION`, it gave up
    /// on the leader (no pong, or no answer to opening it).
    pub fn handle_close(&mut self, socket: u64, code: CloseCode) {
        if self.virtual_socket.is_some_and(|v| v.socket == socket) {
            self.virtual_socket = None;
        }
        self.post(TabMessage::Close {
            from: self.id,
            socket,
        });
        if code == CloseCode::CLIENT_DEAD_CONNECTION {
            self.leader_silent();
        }
    }

    /// The first time, probe; when it happens again with no word from a leader in between,
    /// take its lock.
    fn leader_silent(&mut self) {
        match self.leadership {
            Leadership::Leading => {}
            Leadership::Probing => {
                self.leadership = Leadership::Stealing;
                self.out.push(NodeOutput::AskLock { steal: true });
            }
            Leadership::InLine | Leadership::Stealing => {
                self.leadership = Leadership::Probing;
                self.probes += 1;
                self.post(TabMessage::Probe { from: self.id });
            }
        }
    }

    fn post(&mut self, message: TabMessage) {
        self.out.push(NodeOutput::Post(message));
    }
}
