//! The chaos test's views. An *event view* is a bare handler on an agent topic that records
//! what it is told: `Subscribed` (its start point), each `run_update` by its id, and
//! `ResyncRequired`. A *history view* is the agents platform's real `ChatViewWsManager` on a
//! thread, loading its history over REST when its load gate asks, as an app's chat view does.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use serde::Deserialize;
use tether_client::agents::ChatViewWsManager;
use tether_client::{AppState, Subscription, Topic, TopicEvent};

use crate::stub::{Published, Stub};

/// What an event view was told, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mark {
    /// Its subscription took effect, after `seq` of history `epoch`.
    Subscribed {
        /// The last event before its first (tether's stub); `None` from the origin profile.
        seq: Option<u64>,
        /// The stub's history epoch when it was told.
        epoch: u64,
    },
    /// A `run_update`, by its run id.
    Event(u64),
    /// Events were missed that will not be replayed; live events continue after `seq`.
    Resync {
        /// The server's `seq` then, if it numbers events.
        seq: Option<u64>,
        /// The stub's history epoch when it was told.
        epoch: u64,
    },
}

/// Where a view's life ends, in the topic's publish log.
#[derive(Clone, Copy, Debug)]
pub struct End {
    /// The log's length when the view was told to unmount (or at the end of the run).
    pub at: usize,
}

/// A handler on an agent topic.
pub struct EventView {
    /// Index into the agent topics.
    pub topic: usize,
    /// What it was told.
    pub marks: Rc<RefCell<Vec<Mark>>>,
    /// The topic's log length when it mounted.
    pub mount_pos: usize,
    /// Whether the client was not open when it mounted.
    pub offline: bool,
    /// Its handler, until it unmounts.
    pub sub: Option<Subscription>,
    /// Where its life ends, once decided.
    pub end: Option<End>,
}

#[derive(Deserialize)]
struct RunId {
    id: u64,
}

impl EventView {
    /// Mounts a view on `name`.
    pub fn mount(
        app: &AppState,
        topic: usize,
        name: &str,
        epoch: &Rc<Cell<u64>>,
        mount_pos: usize,
    ) -> EventView {
        let marks = Rc::new(RefCell::new(Vec::new()));
        let (sink, epoch) = (marks.clone(), epoch.clone());
        let offline = !app.client.state().is_open();
        let sub = app
            .topics
            .subscribe(Topic::new(name), move |e: &TopicEvent| {
                let mark = match e {
                    TopicEvent::Subscribed { seq, .. } => Mark::Subscribed {
                        seq: *seq,
                        epoch: epoch.get(),
                    },
                    TopicEvent::ResyncRequired { seq, .. } => Mark::Resync {
                        seq: *seq,
                        epoch: epoch.get(),
                    },
                    TopicEvent::Message(m) if m.kind() == "run_update" => match m.data::<RunId>() {
                        Ok(run) => Mark::Event(run.id),
                        Err(_) => return,
                    },
                    _ => return,
                };
                sink.borrow_mut().push(mark);
            });
        EventView {
            topic,
            marks,
            mount_pos,
            offline,
            sub: Some(sub),
            end: None,
        }
    }

    /// Whether it has the last run update published before its end (or none was).
    pub fn caught_up(&self, log: &[Published]) -> bool {
        let end = self.end.map_or(log.len(), |e| e.at.min(log.len()));
        let last = log[..end]
            .iter()
            .rev()
            .find(|e| e.kind == "run_update")
            .and_then(|e| e.id);
        last.is_none_or(|id| self.seen().contains(&id))
    }

    /// The run ids it saw, in order.
    pub fn seen(&self) -> Vec<u64> {
        self.marks
            .borrow()
            .iter()
            .filter_map(|m| match m {
                Mark::Event(id) => Some(*id),
                _ => None,
            })
            .collect()
    }
}

/// The real chat manager on a thread, loading its history over REST.
pub struct HistoryView {
    /// Index into the threads.
    pub thread: usize,
    /// The manager, until it unmounts.
    pub manager: Option<Rc<ChatViewWsManager>>,
    /// How many history loads it asked for (the first, then one per resync).
    pub loads: Rc<Cell<u64>>,
    /// Whether the client was not open when it mounted.
    pub offline: bool,
    /// Where its life ends, once decided.
    pub end: Option<End>,
    /// The message ids it held when it unmounted.
    pub final_ids: Vec<u64>,
}

impl HistoryView {
    /// Mounts a chat on thread `thread_id`; its history comes from `stub` with `token`.
    pub fn mount(app: &AppState, stub: &Stub, token: &str, thread: usize, thread_id: u64) -> Self {
        let me: Rc<RefCell<Weak<ChatViewWsManager>>> = Rc::default();
        let loads = Rc::new(Cell::new(0));
        let (target, count, stub, token) =
            (me.clone(), loads.clone(), stub.clone(), token.to_owned());
        let load = move |ticket| {
            count.set(count.get() + 1);
            let (target, stub, token) = (target.clone(), stub.clone(), token.clone());
            tokio::task::spawn_local(async move {
                // REST stays up through every fault; retry a failed read anyway.
                for _ in 0..50 {
                    if let Some(h) = stub.history(&token, thread_id).await {
                        if let Some(m) = target.borrow().upgrade() {
                            m.load_history(ticket, h.messages, h.seq);
                        }
                        return;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            });
        };
        let offline = !app.client.state().is_open();
        let manager = Rc::new(ChatViewWsManager::mount(
            &app.topics,
            thread_id,
            || {},
            load,
        ));
        *me.borrow_mut() = Rc::downgrade(&manager);
        HistoryView {
            thread,
            manager: Some(manager),
            loads,
            offline,
            end: None,
            final_ids: Vec::new(),
        }
    }

    /// The message ids its model holds now, in order.
    pub fn ids(&self) -> Vec<u64> {
        self.manager.as_ref().map_or_else(Vec::new, |m| {
            m.model().entries().iter().filter_map(|e| e.id).collect()
        })
    }

    /// Unmounts, keeping what it held.
    pub fn unmount(&mut self) {
        self.final_ids = self.ids();
        self.manager = None;
    }
}
