//! `TopicManager`: routes events to handlers by topic. Each `subscribe` returns a
//! `#[must_use]` [`Subscription`] guard; dropping it removes exactly that handler. The wire
//! `subscribe` goes out with a topic's first handler and the wire `unsubscribe` with its last
//! (the core counts references and coalesces changes made in one tick into one frame).
//!
//! Dispatch semantics, for handlers that change subscriptions while an event is delivered:
//! - the handlers of a topic are those registered when the event arrives;
//! - a handler dropped during dispatch (its own guard or another's) is not called after that;
//! - a handler added during dispatch first receives the next event;
//! - `send`, `close` and `subscribe` from a handler take effect after the handler returns.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::{Rc, Weak};

use crate::client::WsClientV2;
use crate::core::{TopicEvent, TopicStatus};
use crate::listeners::Listeners;
use crate::protocol::Topic;

struct Inner {
    client: WsClientV2,
    handlers: RefCell<BTreeMap<Topic, Rc<Listeners<TopicEvent>>>>,
}

/// The topic manager the app keeps in its `AppState`. Cheap to clone.
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
    /// A manager delivering the events of `client`. One client has one manager: creating
    /// another replaces the first as the client's event sink.
    pub fn new(client: WsClientV2) -> TopicManager {
        let inner = Rc::new(Inner {
            client,
            handlers: RefCell::new(BTreeMap::new()),
        });
        let weak = Rc::downgrade(&inner);
        inner
            .client
            .set_event_sink(Some(Rc::new(move |event: &TopicEvent| {
                if let Some(inner) = weak.upgrade() {
                    inner.dispatch(event);
                }
            })));
        TopicManager { inner }
    }

    /// The client this manager routes for.
    pub fn client(&self) -> &WsClientV2 {
        &self.inner.client
    }

    /// Calls `handler` with every event on `topic` until the returned guard is dropped.
    /// Works in any state: before the socket opens the subscription is queued.
    pub fn subscribe(&self, topic: Topic, handler: impl Fn(&TopicEvent) + 'static) -> Subscription {
        let listeners = self
            .inner
            .handlers
            .borrow_mut()
            .entry(topic.clone())
            .or_default()
            .clone();
        let id = listeners.add(Rc::new(handler));
        self.inner.client.subscribe_topic(&topic);
        Subscription {
            manager: Rc::downgrade(&self.inner),
            topic,
            id,
        }
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
            .get(topic)
            .map_or(0, |l| l.len())
    }

    /// How many handlers are registered in total (for leak checks).
    pub fn total_handlers(&self) -> usize {
        self.inner.handlers.borrow().values().map(|l| l.len()).sum()
    }

    /// The topics with at least one handler.
    pub fn topics(&self) -> Vec<Topic> {
        self.inner.handlers.borrow().keys().cloned().collect()
    }
}

impl Inner {
    fn dispatch(&self, event: &TopicEvent) {
        let listeners = self.handlers.borrow().get(&event.topic).cloned();
        if let Some(listeners) = listeners {
            listeners.notify(event);
        }
    }

    fn remove(&self, topic: &Topic, id: u64) {
        let removed = {
            let mut handlers = self.handlers.borrow_mut();
            let Some(listeners) = handlers.get(topic) else {
                return;
            };
            let removed = listeners.remove(id);
            if listeners.is_empty() {
                handlers.remove(topic);
            }
            removed
        };
        if removed {
            self.client.unsubscribe_topic(topic);
        }
    }
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
