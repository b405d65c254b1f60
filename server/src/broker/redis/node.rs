//! This node's side of Redis pub/sub: the channels of the topics its clients hold, on one
//! dedicated connection, and the task that reads it and hands each publication to the node's
//! handler (its hub), once each, in `seq` order per topic.
//!
//! The task remembers, per subscribed topic, the position of the last publication it handed
//! over (at first, the topic's position when it was subscribed: its subscribers' catch-ups
//! cover what came before). A publication at or before it is a repeat and is dropped; the next
//! `seq` is handed over; a gap or another epoch means publications were missed (the pub/sub
//! connection broke, or Redis restarted), and the task *repairs* the topic from its log before
//! going on: it hands over the kept publications it missed, and if the log cannot give them
//! all (they were trimmed, or lost with Redis's data), it tells the handler, whose subscribers
//! behind are then sent `resync_required` at once rather than at the next event.
//!
//! When the connection breaks, subscribing fails fast (`Unavailable`: the session closes with
//! 1013 and the client comes back with `since`); the task reconnects with backoff,
//! subscribes every held topic again, then repairs every one of them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::PubSubSink;
use redis::Msg;
use tether_wire::Topic;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::store::{bounded, unavailable, Store};
use crate::broker::{BrokerError, BrokerHandler};
use crate::hub::Publication;
use crate::hub::StreamPosition;

/// Longest pause between two attempts to reconnect the pub/sub connection.
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// Channels per SUBSCRIBE when a reconnected node subscribes everything again.
const CHUNK: usize = 512;
/// Topics a reconnected node repairs at once (each one's publications stay in order: a topic
/// is repaired by one future, and every future runs on the node's one task).
const REPAIRS_AT_ONCE: usize = 16;

/// What the node's calls and its reading task share.
pub(super) struct Node {
    store: Store,
    client: redis::Client,
    timeout: Duration,
    ping_interval: Duration,
    /// The subscribed topics, each with the position of the last publication handed over.
    topics: Mutex<HashMap<Topic, StreamPosition>>,
    /// The pub/sub connection's sink while it is up. Its lock serializes subscription changes.
    sink: tokio::sync::Mutex<Option<PubSubSink>>,
    /// Whether the pub/sub connection is up.
    up: watch::Sender<bool>,
    handler: OnceLock<Arc<dyn BrokerHandler>>,
    /// Times the pub/sub connection was lost, and topics repaired since the start.
    pub(super) counters: Mutex<NodeCounters>,
}

/// What the node counts, for tests and operators.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NodeCounters {
    /// Times the pub/sub connection was (re)established.
    pub connections: u64,
    /// Times it was lost.
    pub disconnections: u64,
    /// Topics repaired from their log after a gap or a new epoch.
    pub repairs: u64,
    /// Publications handed over by repairs.
    pub repaired: u64,
    /// Topics whose subscribers were told to resync because the log could not repair them.
    pub lost: u64,
}

impl Node {
    pub(super) fn new(
        store: Store,
        client: redis::Client,
        timeout: Duration,
        ping_interval: Duration,
    ) -> Self {
        Node {
            store,
            client,
            timeout,
            ping_interval,
            topics: Mutex::default(),
            sink: tokio::sync::Mutex::new(None),
            up: watch::Sender::new(false),
            handler: OnceLock::new(),
            counters: Mutex::default(),
        }
    }

    fn topics(&self) -> MutexGuard<'_, HashMap<Topic, StreamPosition>> {
        self.topics.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn count(&self, f: impl FnOnce(&mut NodeCounters)) {
        f(&mut self.counters.lock().unwrap_or_else(|e| e.into_inner()));
    }

    /// Starts the reading task with `handler`, until `stop` is cancelled.
    pub(super) fn start(
        self: &Arc<Self>,
        handler: Arc<dyn BrokerHandler>,
        stop: CancellationToken,
    ) {
        if self.handler.set(handler).is_err() {
            tracing::warn!("a redis broker was started twice: the first handler stays");
            return;
        }
        let node = self.clone();
        tokio::spawn(async move { stop.run_until_cancelled(node.run()).await });
    }

    /// Subscribes the node to `topics`: resolves once every publication made after it reaches
    /// the handler. Waits up to the timeout for a pub/sub connection that is down.
    pub(super) async fn subscribe(&self, topics: Vec<Topic>) -> Result<(), BrokerError> {
        let mut up = self.up.subscribe();
        let waited =
            tokio::time::timeout(self.timeout, async { up.wait_for(|up| *up).await.is_ok() }).await;
        if waited != Ok(true) {
            return Err(BrokerError::Unavailable(
                "no pub/sub connection to Redis".into(),
            ));
        }
        let mut sink = self.sink.lock().await;
        let Some(conn) = sink.as_mut() else {
            return Err(BrokerError::Unavailable(
                "no pub/sub connection to Redis".into(),
            ));
        };
        let channels: Vec<String> = topics.iter().map(|t| self.store.channel(t)).collect();
        bounded(self.timeout, conn.subscribe(&channels))
            .await
            .map_err(unavailable)?;
        let positions =
            futures_util::future::try_join_all(topics.iter().map(|t| self.store.history(t, None)))
                .await;
        match positions {
            Ok(histories) => {
                let mut held = self.topics();
                for (topic, history) in topics.into_iter().zip(histories) {
                    held.insert(topic, history.position);
                }
                Ok(())
            }
            Err(error) => {
                let _ = bounded(self.timeout, conn.unsubscribe(&channels)).await;
                Err(error)
            }
        }
    }

    /// Unsubscribes the node from `topics`.
    pub(super) async fn unsubscribe(&self, topics: Vec<Topic>) -> Result<(), BrokerError> {
        let mut sink = self.sink.lock().await;
        {
            let mut held = self.topics();
            for topic in &topics {
                held.remove(topic);
            }
        }
        // While the connection is down there is nothing to undo: it subscribes only what is held.
        let Some(conn) = sink.as_mut() else {
            return Ok(());
        };
        let channels: Vec<String> = topics.iter().map(|t| self.store.channel(t)).collect();
        bounded(self.timeout, conn.unsubscribe(&channels))
            .await
            .map_err(unavailable)
    }

    /// Connects, subscribes what is held, repairs, reads; again after each loss.
    async fn run(self: Arc<Self>) {
        let mut backoff = Duration::from_millis(50);
        loop {
            let Some(mut messages) = self.connect().await else {
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            };
            backoff = Duration::from_millis(50);
            self.count(|c| c.connections += 1);
            let held: Vec<Topic> = self.topics().keys().cloned().collect();
            let node = &self;
            let repaired = futures_util::stream::iter(held)
                .map(|topic| async move { node.repair(&topic, None).await })
                .buffer_unordered(REPAIRS_AT_ONCE)
                .fold(true, |all, ok| async move { all && ok })
                .await;
            if !repaired {
                // Connect again (and repair again) rather than leave a gap unrepaired.
                self.up.send_replace(false);
                self.sink.lock().await.take();
                tokio::time::sleep(backoff).await;
                continue;
            }
            let mut ping = tokio::time::interval(self.ping_interval);
            ping.tick().await;
            loop {
                tokio::select! {
                    message = messages.next() => match message {
                        Some(message) => self.receive(&message).await,
                        None => break,
                    },
                    _ = ping.tick() => if !self.ping().await {
                        break;
                    },
                }
            }
            self.up.send_replace(false);
            self.sink.lock().await.take();
            self.count(|c| c.disconnections += 1);
            tracing::warn!("lost the pub/sub connection to Redis: reconnecting");
        }
    }

    /// A new pub/sub connection with every held topic subscribed; its message stream.
    async fn connect(&self) -> Option<redis::aio::PubSubStream> {
        let pubsub = match bounded(self.timeout, self.client.get_async_pubsub()).await {
            Ok(pubsub) => pubsub,
            Err(error) => {
                tracing::debug!(%error, "cannot open a pub/sub connection to Redis");
                return None;
            }
        };
        let (mut conn, messages) = pubsub.split();
        let mut sink = self.sink.lock().await;
        let channels: Vec<String> = self
            .topics()
            .keys()
            .map(|t| self.store.channel(t))
            .collect();
        for chunk in channels.chunks(CHUNK) {
            if let Err(error) = bounded(self.timeout, conn.subscribe(chunk)).await {
                tracing::warn!(%error, "cannot subscribe the held topics again");
                return None;
            }
        }
        *sink = Some(conn);
        self.up.send_replace(true);
        tracing::info!(topics = channels.len(), "pub/sub connection to Redis up");
        Some(messages)
    }

    /// Whether the connection answers a ping in time.
    async fn ping(&self) -> bool {
        let mut sink = self.sink.lock().await;
        let Some(conn) = sink.as_mut() else {
            return false;
        };
        bounded(self.timeout, conn.ping::<redis::Value>())
            .await
            .is_ok()
    }

    /// Hands one message's publication over, after repairing its topic if it is not the next.
    async fn receive(&self, message: &Msg) {
        let Some(topic) = self.store.topic_of(message.get_channel_name()) else {
            return;
        };
        let publication = std::str::from_utf8(message.get_payload_bytes())
            .ok()
            .and_then(|text| text.split_once('\n'))
            .and_then(|(epoch, frame)| {
                Publication::from_frame(frame, crate::hub::Epoch::new(epoch)).ok()
            });
        let Some(publication) = publication else {
            tracing::warn!(%topic, "a pub/sub message that is no publication: dropped");
            return;
        };
        let Some(last) = self.topics().get(&topic).cloned() else {
            return; // not held (any more)
        };
        match follows(&last, &publication) {
            Follows::Repeat => {}
            Follows::Next => self.hand_over(&topic, &Arc::new(publication)),
            Follows::Gap => {
                self.repair(&topic, Some(Arc::new(publication))).await;
            }
        }
    }

    /// Hands `publication` to the handler, and remembers its position if `topic` is held.
    fn hand_over(&self, topic: &Topic, publication: &Arc<Publication>) {
        if let Some(last) = self.topics().get_mut(topic) {
            *last = publication.position.clone();
        }
        if let Some(handler) = self.handler.get() {
            handler.handle_publication(publication);
        }
    }

    /// Hands over what `topic`'s log has after the last position handed over, then `received`
    /// if it is still new; tells the handler if the log could not fill the gap. Returns
    /// whether the log could be read.
    async fn repair(&self, topic: &Topic, received: Option<Arc<Publication>>) -> bool {
        let Some(last) = self.topics().get(topic).cloned() else {
            return true;
        };
        let mut history = self.store.history(topic, Some(last.offset)).await;
        if let Ok(h) = &history {
            if h.position.epoch != last.epoch {
                history = self.store.history(topic, Some(0)).await;
            }
        }
        let history = match history {
            Ok(history) => history,
            Err(error) => {
                // The log cannot be read: the handler's cursors announce the gap.
                tracing::warn!(%error, %topic, "cannot repair a topic from its log");
                if let Some(p) = received {
                    self.hand_over(topic, &p);
                }
                return false;
            }
        };
        self.count(|c| c.repairs += 1);
        let mut at = last;
        for publication in &history.publications {
            if follows(&at, publication) != Follows::Repeat {
                self.hand_over(topic, publication);
                at = publication.position.clone();
                self.count(|c| c.repaired += 1);
            }
        }
        if behind(&at, &history.position) {
            self.count(|c| c.lost += 1);
            tracing::warn!(%topic, "publications lost from the log: subscribers behind resync");
            if let Some(last) = self.topics().get_mut(topic) {
                *last = history.position.clone();
            }
            if let Some(handler) = self.handler.get() {
                handler.handle_lost(topic, &history.position);
            }
            at = history.position.clone();
        }
        if let Some(p) = received {
            if follows(&at, &p) != Follows::Repeat {
                self.hand_over(topic, &p);
            }
        }
        true
    }
}

/// Where a publication stands after a position.
#[derive(Debug, PartialEq, Eq)]
enum Follows {
    /// At or before it, in its epoch.
    Repeat,
    /// The next `seq`, in its epoch.
    Next,
    /// Further on, or in another epoch.
    Gap,
}

fn follows(last: &StreamPosition, p: &Publication) -> Follows {
    if *p.epoch() != last.epoch {
        Follows::Gap
    } else if p.seq() <= last.offset {
        Follows::Repeat
    } else if p.seq() == last.offset + 1 {
        Follows::Next
    } else {
        Follows::Gap
    }
}

/// Whether `at` is short of `position`: an earlier `seq`, or another epoch.
fn behind(at: &StreamPosition, position: &StreamPosition) -> bool {
    at.epoch != position.epoch || at.offset < position.offset
}
