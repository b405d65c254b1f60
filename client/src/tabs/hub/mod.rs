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
//!
//! The decisions are made by [`HubCore`], a state machine without I/O (`core.rs`, with
//! `serve.rs` for a tab's frames and `cursor.rs` for the events passed down). This module is
//! its shell: it feeds the core what happens (a tab's message, the real client's state,
//! events and replies) and carries out its outputs, in order, on the real client, the tabs'
//! channel (through the [`HubHost`]) and the tabs' locks.

mod by_tab;
mod core;
mod cursor;
mod held;
mod serve;
#[cfg(test)]
mod tests;

use std::cell::{Cell, OnceCell, RefCell};
use std::rc::{Rc, Weak};

pub use self::core::{HubCore, HubOutput, Upstream};
use super::platform::{Lock, SharedHealth};
use super::wire::{TabId, TabMessage};
use crate::core::{Connection, ConnectionState, Replay, TopicStatus};
use crate::listeners::ListenerGuard;
use crate::protocol::{CloseCode, Frame, Topic};
use crate::AppState;
use held::Held;

/// What the hub needs from its tab: the tabs' channel, timer tasks, and the tabs' locks.
pub trait HubHost {
    /// Posts a message to every tab (this one included).
    fn post(&self, message: TabMessage);
    /// Posts a message from a timer task.
    fn post_from_timer(&self, message: TabMessage);
    /// Waits on `tab`'s own lock: `gone` runs once it is granted (the tab closed or
    /// crashed). Dropping the lock stops waiting.
    fn watch_tab(&self, tab: TabId, gone: Box<dyn FnOnce()>) -> Box<dyn Lock>;
}

/// The real client's state machine, as the core reads it.
impl Upstream for Connection {
    fn state(&self) -> ConnectionState {
        Connection::state(self)
    }
    fn replay(&self) -> Replay {
        Connection::replay(self)
    }
    fn health(&self) -> SharedHealth {
        let (rtt, counters) = self.rtt_and_counters();
        SharedHealth {
            rtt,
            reconnects: counters.reconnects,
            failed_attempts: counters.unproven_sockets,
        }
    }
    fn topic_status(&self, topic: &Topic) -> Option<&TopicStatus> {
        Connection::topic_status(self, topic)
    }
    fn server_seq(&self, topic: &Topic) -> Option<u64> {
        self.topic_server_seq(topic)
    }
    fn last_seq(&self, topic: &Topic) -> Option<u64> {
        Connection::last_seq(self, topic)
    }
    fn epoch(&self, topic: &Topic) -> Option<&str> {
        self.topic_epoch(topic)
    }
}

/// The leader's multiplexer. See the module docs.
pub struct Hub {
    core: RefCell<HubCore>,
    host: Box<dyn HubHost>,
    upstream: Rc<AppState>,
    subs: RefCell<Held>,
    /// Each other tab's own lock, waited on: granted means the tab is gone.
    watches: RefCell<Vec<(TabId, Box<dyn Lock>)>>,
    /// Set while the outputs are carried out: an input meanwhile only queues more.
    driving: Cell<bool>,
    me: Weak<Hub>,
    _listener: OnceCell<ListenerGuard>,
}

impl Hub {
    /// A hub for the leader `me` over the real client `upstream` (connecting).
    pub fn start(me: TabId, host: Box<dyn HubHost>, upstream: Rc<AppState>) -> Rc<Hub> {
        let hub = Rc::new_cyclic(|weak| Hub {
            core: RefCell::new(HubCore::new(me)),
            host,
            upstream,
            subs: RefCell::default(),
            watches: RefCell::default(),
            driving: Cell::new(false),
            me: weak.clone(),
            _listener: OnceCell::new(),
        });
        let weak = Rc::downgrade(&hub);
        let listener = hub.upstream.client.on_state_change(move |state| {
            if let Some(hub) = weak.upgrade() {
                hub.input(|core, up| core.handle_upstream_state(*state, up));
            }
        });
        let _ = hub._listener.set(listener);
        let weak = Rc::downgrade(&hub);
        hub.upstream
            .client
            .set_relay_sink(Some(Rc::new(move |frame: &Rc<Frame>| {
                if let Some(hub) = weak.upgrade() {
                    hub.input(|core, _| core.handle_relay(frame));
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
        self.upstream.client.read_core(Connection::replay)
    }

    /// The real socket's health.
    pub fn health(&self) -> SharedHealth {
        self.upstream.client.read_core(Upstream::health)
    }

    /// Tabs sharing the socket, this one included.
    pub fn tabs(&self) -> usize {
        self.core.borrow().tabs()
    }

    /// Handles a message from a tab.
    pub fn handle(&self, message: TabMessage) {
        self.input(|core, up| core.handle_message(message, up));
    }

    /// Closes every virtual socket with `code` (the leader is leaving or stepping down).
    pub(super) fn close_all(&self, code: CloseCode) {
        self.input(|core, _| core.close_all(code));
    }

    /// Gives the core an input, then carries out what it asks.
    fn input(&self, f: impl FnOnce(&mut HubCore, &Connection)) {
        let mut core = self.core.borrow_mut();
        self.upstream.client.read_core(|up| f(&mut core, up));
        drop(core);
        self.drive();
    }

    /// Carries out the core's outputs, in order (once: a nested call returns at once, and
    /// the outer loop carries out what the nested input queued).
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

    fn apply(&self, output: HubOutput) {
        match output {
            HubOutput::Post(message) => self.host.post(message),
            HubOutput::PostFromTimer(message) => self.host.post_from_timer(message),
            HubOutput::Subscribe {
                tab,
                socket,
                topic,
                since,
            } => self.subscribe(tab, socket, topic, since),
            HubOutput::Release { tab, socket, topic } => {
                let gone = self.subs.borrow_mut().remove(tab, socket, topic.as_str());
                drop(gone); // after the borrow: dropping a guard calls into the real client
            }
            HubOutput::SendUp {
                tab,
                socket,
                text,
                req_id,
            } => {
                if let Err(e) = self.upstream.client.send_encoded(text) {
                    let mut core = self.core.borrow_mut();
                    core.handle_not_sent(tab, socket, req_id.as_deref(), &e);
                }
            }
            HubOutput::Reconnect => self.upstream.client.reconnect(),
            HubOutput::Watch(tab) => {
                let weak = self.me.clone();
                let gone = Box::new(move || {
                    if let Some(hub) = weak.upgrade() {
                        hub.input(|core, up| core.handle_tab_gone(tab, up));
                    }
                });
                let lock = self.host.watch_tab(tab, gone);
                self.watches.borrow_mut().push((tab, lock)); // the core watches a tab once
            }
            HubOutput::Unwatch(tab) => {
                let mut watches = self.watches.borrow_mut();
                let i = watches.iter().position(|(t, _)| *t == tab);
                let lock = i.map(|i| watches.swap_remove(i));
                drop(watches);
                drop(lock); // after the borrow
            }
        }
    }

    /// Holds a tab's topic on the real client; a guard it replaces goes after.
    fn subscribe(&self, tab: TabId, socket: u64, topic: Topic, since: Option<u64>) {
        let weak = self.me.clone();
        let name = topic.clone();
        let guard = self
            .upstream
            .topics
            .subscribe_from(topic.clone(), since, move |event| {
                if let Some(hub) = weak.upgrade() {
                    hub.input(|core, up| core.handle_topic_event(tab, socket, &name, event, up));
                }
            });
        let replaced = self.subs.borrow_mut().insert(tab, socket, &topic, guard);
        drop(replaced);
        self.input(|core, up| core.handle_upstream_subscribed(tab, socket, &topic, up));
    }
}
