//! The chaos test's views. An *event view* is a bare handler on an agent topic that records
//! what it is told: `Subscribed`, each `run_update` by its id, and `ResyncRequired`. A
//! *history view* is the agents platform's real `ChatViewWsManager` on a thread, loading its
//! history over REST when its load gate asks, as an app's chat view does. Each view keeps the
//! points in the stub's logs where it mounted and where it was told to unmount: its lifetime is
//! placed against the stub's records, not against what the client tells it.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use serde::Deserialize;
use tether_client::agents::ChatViewWsManager;
use tether_client::protocol::Topic;
use tether_client::{AppState, Subscription, TopicEvent};

use super::sabotage::{Played, Sabotage};
use crate::stub::{Point, Published, Stub};

/// What an event view was told, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mark {
    /// Its subscription took effect, after `seq` (what the client says; checked against the
    /// stub's record).
    Subscribed {
        /// The last event before its first (tether's stub); `None` from the origin profile.
        seq: Option<u64>,
    },
    /// A `run_update`, by its run id.
    Event(u64),
    /// Events were missed that will not be replayed; live events continue after `seq`.
    Resync {
        /// The server's `seq` then, if it numbers events.
        seq: Option<u64>,
    },
}

/// Where a run without stub logs of its own (the cross-node run) stood when a view recorded a
/// mark: the incarnation of Redis's data, and how many events it had asked to publish.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stamp {
    /// Restarts of Redis that lost its data so far.
    pub epoch: u64,
    /// Events the run had asked to publish so far (the `n` of the last one, in flight or not).
    pub published: u64,
}

/// A handler on an agent topic.
pub struct EventView {
    /// Index into the agent topics.
    pub topic: usize,
    /// What it was told.
    pub marks: Rc<RefCell<Vec<Mark>>>,
    /// Where the run stood at each mark, if it mounted with a clock (empty otherwise).
    pub stamps: Rc<RefCell<Vec<Stamp>>>,
    /// Where the stub's logs were just before it mounted.
    pub mount: Point,
    /// Whether the client was not open when it mounted.
    pub offline: bool,
    /// Its handler, until it unmounts.
    pub sub: Option<Subscription>,
    /// Where the stub's logs were when it was told to unmount (or its tab went away), once
    /// decided.
    pub end: Option<Point>,
}

#[derive(Deserialize)]
struct RunId {
    id: u64,
}

impl EventView {
    /// Mounts a view on `name` at `mount` (read from the stub just before); it records what
    /// it is told, as `sabotage` twists it if set.
    pub fn mount(
        app: &AppState,
        topic: usize,
        name: &str,
        mount: Point,
        sabotage: Option<Sabotage>,
    ) -> EventView {
        EventView::mount_with(app, topic, name, mount, sabotage, None)
    }

    /// Like [`EventView::mount`], stamping each mark with where `clock` stands then.
    pub fn mount_stamped(
        app: &AppState,
        topic: usize,
        name: &str,
        mount: Point,
        clock: &Rc<Cell<Stamp>>,
    ) -> EventView {
        EventView::mount_with(app, topic, name, mount, None, Some(clock.clone()))
    }

    fn mount_with(
        app: &AppState,
        topic: usize,
        name: &str,
        mount: Point,
        sabotage: Option<Sabotage>,
        clock: Option<Rc<Cell<Stamp>>>,
    ) -> EventView {
        let marks = Rc::new(RefCell::new(Vec::new()));
        let stamps = Rc::new(RefCell::new(Vec::new()));
        let (sink, stamp_sink) = (marks.clone(), stamps.clone());
        let played = RefCell::new(Played::default());
        let offline = !app.client.state().is_open();
        let sub = app
            .topics
            .subscribe(Topic::new(name), move |e: &TopicEvent| {
                let mark = match e {
                    TopicEvent::Subscribed { seq, .. } => Mark::Subscribed { seq: *seq },
                    TopicEvent::ResyncRequired { seq, .. } => Mark::Resync { seq: *seq },
                    TopicEvent::Message(m) if m.kind() == "run_update" => match m.data::<RunId>() {
                        Ok(run) => Mark::Event(run.id),
                        Err(_) => return,
                    },
                    _ => return,
                };
                let seq = e.message().and_then(|m| m.seq);
                let mark = match sabotage {
                    Some(sabotage) => sabotage.play(&mut played.borrow_mut(), mark, seq),
                    None => Some(mark),
                };
                if let (Some(_), Some(clock)) = (&mark, &clock) {
                    stamp_sink.borrow_mut().push(clock.get());
                }
                sink.borrow_mut().extend(mark);
            });
        EventView {
            topic,
            marks,
            stamps,
            mount,
            offline,
            sub: Some(sub),
            end: None,
        }
    }

    /// Whether it has the last run update published between its mount and its end (or none
    /// was).
    pub fn caught_up(&self, log: &[Published]) -> bool {
        let end = Point::end_in(self.end, log);
        let mounted = self.mount.index_in(log).min(end);
        let last = log[mounted..end]
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
    /// Where the stub's logs were when it was told to unmount, once decided.
    pub end: Option<Point>,
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
