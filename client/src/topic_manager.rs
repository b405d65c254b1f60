//! `TopicManager`: routes events to handlers by topic. Each `subscribe` returns a
//! `#[must_use]` [`Subscription`] guard; dropping it removes exactly that handler. The wire
//! `subscribe` goes out with a topic's first handler and the wire `unsubscribe` with its last
//! (the core counts references and coalesces changes made in one tick into one frame).
//!
//! Each handler first receives [`TopicEvent::Subscribed`], once, when its subscription takes
//! effect (at once if the topic is already active): its view starts there. Then it receives
//! every event after that point, exactly once and in order, plus `ResyncRequired` and
//! `Refused` when they happen.
//!
//! Dispatch semantics, for handlers that change subscriptions while an event is delivered:
//! - the handlers of a topic are those registered when the event arrives;
//! - a handler dropped during dispatch (its own guard or another's) is not called after that;
//! - a handler added during dispatch first receives the next event;
//! - `send`, `close` and `subscribe` from a handler take effect after the handler returns.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use crate::client::WsClientV2;
use crate::core::topic_map::TopicMap;
use crate::core::vec_edit::remove_at;
use crate::core::{TopicEvent, TopicStatus};
use crate::protocol::Topic;

/// One registered handler.
struct Handler {
    /// Ids grow with each registration, so a topic's list is in id order.
    id: u64,
    subscribed: Cell<bool>,
    callback: Box<dyn Fn(&TopicEvent)>,
}

/// A topic's handlers, in id order. Shared, so that a dispatch holds the list it walks
/// without holding the map.
type Handlers = Rc<RefCell<Vec<Rc<Handler>>>>;

struct Inner {
    client: WsClientV2,
    handlers: RefCell<TopicMap<Handlers>>,
    /// The id of the latest handler registered.
    next_id: Cell<u64>,
}

/// The topic manager the app keeps in its [`AppState`](crate::AppState). Cheap to clone.
#[derive(Clone)]
pub struct TopicManager {
    inner: Rc<Inner>,
}

/// A registered handler. Dropping it unregisters the handler, and unsubscribes the topic on the
/// wire if it was the topic's last.
#[must_use = "the handler is removed when this guard is dropped"]
pub struct Subscription {
    manager: Weak<Inner>,
    topic: Topic,
    id: u64,
}

impl TopicManager {
    /// The manager of `client`'s events. Only `AppState` creates one: a client has exactly one.
    pub(crate) fn new(client: WsClientV2) -> TopicManager {
        let inner = Rc::new(Inner {
            client,
            handlers: RefCell::new(TopicMap::default()),
            next_id: Cell::new(0),
        });
        let weak = Rc::downgrade(&inner);
        inner
            .client
            .set_event_sink(Rc::new(move |event: &TopicEvent, index| {
                if let Some(inner) = weak.upgrade() {
                    inner.dispatch(event, index);
                }
            }));
        TopicManager { inner }
    }

    /// Calls `handler` with every event on `topic` until the returned guard is dropped.
    /// Works in any state: before the socket opens the subscription is queued.
    pub fn subscribe(
        &self,
        topic: impl Into<Topic>,
        handler: impl Fn(&TopicEvent) + 'static,
    ) -> Subscription {
        self.subscribe_from(topic.into(), None, handler)
    }

    /// [`TopicManager::subscribe`], asking for the events after `since` (the server replays
    /// them, to every handler of the topic: the caller filters).
    pub(crate) fn subscribe_from(
        &self,
        topic: Topic,
        since: Option<u64>,
        handler: impl Fn(&TopicEvent) + 'static,
    ) -> Subscription {
        let id = self.inner.next_id.get() + 1;
        self.inner.next_id.set(id);
        let list = self
            .inner
            .handlers
            .borrow_mut()
            .get_or_insert_with(&topic, Handlers::default)
            .clone();
        list.borrow_mut().push(Rc::new(Handler {
            id,
            subscribed: Cell::new(false),
            callback: Box::new(handler),
        }));
        self.inner.client.subscribe_topic_from(&topic, since);
        Subscription {
            manager: Rc::downgrade(&self.inner),
            topic,
            id,
        }
    }

    /// The client this manager routes for.
    pub fn client(&self) -> &WsClientV2 {
        &self.inner.client
    }

    /// The status of a topic with at least one handler.
    pub fn status(&self, topic: &Topic) -> Option<TopicStatus> {
        self.inner.client.topic_status(topic)
    }

    /// How many handlers are registered on `topic`.
    pub fn handler_count(&self, topic: &Topic) -> usize {
        self.inner
            .handlers
            .borrow()
            .get(topic.as_str())
            .map_or(0, |list| list.borrow().len())
    }

    /// How many handlers are registered in total (for leak checks).
    pub fn total_handlers(&self) -> usize {
        let handlers = self.inner.handlers.borrow();
        handlers.values().map(|list| list.borrow().len()).sum()
    }

    /// The topics with at least one handler.
    pub fn topics(&self) -> Vec<Topic> {
        self.inner
            .handlers
            .borrow()
            .iter()
            .map(|(t, _)| t.clone())
            .collect()
    }
}

impl Inner {
    /// Calls the topic's handlers registered now (ids up to the latest), in order, each one
    /// only if it is still registered when its turn comes. Nothing is borrowed while a
    /// handler runs, and nothing is copied: each turn finds the next handler by id in the
    /// topic's list, looked up once.
    fn dispatch(&self, event: &TopicEvent, index: Option<usize>) {
        let only_new = matches!(event, TopicEvent::Subscribed { .. });
        let list = self.handlers_of(event.topic(), index);
        let Some(list) = list else {
            return;
        };
        let (last, mut called) = (self.next_id.get(), 0);
        while let Some(handler) = next_handler(&list, called, last) {
            called = handler.id;
            if !(only_new && handler.subscribed.replace(true)) {
                (handler.callback)(event);
            }
        }
    }

    /// The handlers of an event's `topic`. `index` is where the client's topic table has it:
    /// this table holds the same topics (each added by a `subscribe` here) in the same order,
    /// so the entry there is the topic's when its name is the very one the event carries (the
    /// same allocation, shared by both tables). Otherwise (a topic added or removed since, a
    /// topic held again in the tick its last handler went, whose name in the client's table
    /// is the old allocation, or no index) the topic is searched for by name.
    fn handlers_of(&self, topic: &Topic, index: Option<usize>) -> Option<Handlers> {
        let handlers = self.handlers.borrow();
        let hinted = index.and_then(|i| handlers.at(i));
        match hinted {
            Some((key, list)) if same_name(key, topic) => Some(list.clone()),
            _ => handlers.get(topic.as_str()).cloned(),
        }
    }

    fn remove(&self, topic: &Topic, id: u64) {
        let removed = {
            let mut handlers = self.handlers.borrow_mut();
            let Some(list) = handlers.get(topic.as_str()).cloned() else {
                return;
            };
            let mut list = list.borrow_mut();
            let Some(pos) = list.iter().position(|h| h.id == id) else {
                return;
            };
            let Some(handler) = remove_at(&mut list, pos) else {
                return;
            };
            if list.is_empty() {
                handlers.remove(topic.as_str());
            }
            handler
        };
        self.client.unsubscribe_topic(topic);
        drop(removed); // after the borrow: the callback's captures may call back
    }
}

/// True if `a` and `b` are clones of one `Topic` (one allocation of the name): while either
/// lives, no other topic's name is at that address.
fn same_name(a: &Topic, b: &Topic) -> bool {
    std::ptr::eq(a.as_str(), b.as_str())
}

/// The first handler in `list` with an id in `(after, last]`.
fn next_handler(list: &Handlers, after: u64, last: u64) -> Option<Rc<Handler>> {
    let list = list.borrow();
    let next = list.get(list.partition_point(|h| h.id <= after))?;
    (next.id <= last).then(|| next.clone())
}

impl Subscription {
    /// The topic this handler listens to.
    pub fn topic(&self) -> &Topic {
        &self.topic
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(inner) = self.manager.upgrade() {
            inner.remove(&self.topic, self.id);
        }
    }
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Subscription({})", self.topic)
    }
}
