//! The state every handler and connection shares: configuration, data, the tether server (its
//! publisher, counters and, for test control, its faults), the publish log, behind one cheaply
//! clonable [`ServerState`].
//!
//! A change and the events announcing it are atomic: [`ServerState::commit`] makes the change
//! and publishes its events (collected in an [`Outbox`]) while the store stays locked, so that
//! whoever reads the store and a topic's position together ([`ServerState::read_at`], the
//! snapshot hook, the REST lists with their `seq`) sees both or neither.

use std::ops::Deref;
use std::sync::{Arc, Mutex, Weak};
use tokio_util::sync::CancellationToken;

use tether_server::broker::redis::{RedisBroker, RedisConfig};
use tether_server::broker::{Broker, BrokerError, MemoryBroker};
use tether_server::{Publication, PublishError, Publisher, StreamPosition, TetherServer};
use tether_wire::Topic;

use crate::auth::Authenticator;
use crate::clock::now_ms;
use crate::config::{Config, Profile};
use crate::domain::quota::InFlight;
use crate::domain::store::Store;
use crate::domain::wire::{self, DomainEvent, Event};
use crate::hooks;
use crate::log::{LogEntry, PublishLog};
use crate::membership::MembershipLog;

/// What [`ServerState`] points to.
#[derive(Debug)]
pub struct Shared {
    /// The configuration.
    pub config: Config,
    /// Token verification.
    pub auth: Authenticator,
    /// Allowed browser origins (CORS; the library checks upgrades with the same list).
    pub origins: tether_server::origin::OriginPolicy,
    /// Agents, threads and messages.
    store: tokio::sync::Mutex<Store>,
    /// The WebSocket side: sockets, topics, counters, faults.
    pub server: TetherServer,
    /// The broker behind it, for its counters.
    pub broker: Backend,
    /// Publishes through the broker.
    pub publisher: Publisher,
    /// What was published: the tests' ground truth.
    pub log: Mutex<PublishLog>,
    /// How each subscribe was answered and when connections let go: the tests' record.
    pub membership: Mutex<MembershipLog>,
    /// Agent runs and streamed replies in flight, per user.
    pub runs: Arc<InFlight>,
    /// Cancelled when the server shuts down; background tasks stop on it.
    pub shutdown: CancellationToken,
}

/// The broker a stub runs on: in memory (the default), or Redis (`--redis-url`).
#[derive(Clone, Debug)]
pub enum Backend {
    /// One process.
    Memory(Arc<MemoryBroker>),
    /// Every stub on the same Redis shares its topics.
    Redis(Arc<RedisBroker>),
}

impl Backend {
    /// The broker `config` asks for; an error if its Redis URL is not one.
    pub fn from_config(config: &Config) -> Result<Backend, BrokerError> {
        let limits = config.limits();
        let Some(url) = &config.redis_url else {
            return Ok(Backend::Memory(Arc::new(MemoryBroker::new(&limits))));
        };
        let redis = RedisConfig {
            prefix: config.redis_prefix.clone(),
            ..RedisConfig::new(url, &limits)
        };
        Ok(Backend::Redis(Arc::new(RedisBroker::new(redis)?)))
    }

    /// The broker, to build the server on.
    pub fn broker(&self) -> Arc<dyn Broker> {
        match self {
            Backend::Memory(b) => b.clone(),
            Backend::Redis(b) => b.clone(),
        }
    }

    /// Its counters for `/api/stats`: the bytes kept for replay (in memory), or the pub/sub
    /// connections and repairs (Redis).
    pub fn stats(&self) -> serde_json::Value {
        match self {
            Backend::Memory(b) => serde_json::json!({
                "kind": "memory",
                "replay_bytes": b.replay_bytes(),
            }),
            Backend::Redis(b) => {
                let c = b.counters();
                serde_json::json!({
                    "kind": "redis",
                    "pubsub_connections": c.connections,
                    "pubsub_disconnections": c.disconnections,
                    "repairs": c.repairs,
                    "repaired": c.repaired,
                    "lost": c.lost,
                })
            }
        }
    }
}

/// The configured secret; for a configuration [`crate::serve`] would refuse, a random one, so
/// that no token verifies.
fn secret_of(config: &Config) -> String {
    config.secret().unwrap_or_else(|error| {
        tracing::error!(%error, "no usable JWT secret: every token will be refused");
        format!(
            "{:032x}{:032x}",
            rand::random::<u128>(),
            rand::random::<u128>()
        )
    })
}

/// The server's shared state, one per server, cheap to clone (an [`Arc`]).
#[derive(Clone, Debug)]
pub struct ServerState(Arc<Shared>);

impl Deref for ServerState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The events a change announces, in order; published once the change is made.
#[derive(Debug)]
pub struct Outbox {
    profile: Profile,
    events: Vec<(Topic, Event)>,
}

impl Outbox {
    /// Announces `event` on `topic` in the server's profile (nothing when the profile has no
    /// such message).
    pub fn announce(&mut self, topic: &Topic, event: &DomainEvent<'_>) {
        self.announce_to(topic, event, None);
    }

    /// Like [`Outbox::announce`], answering the request `req_id`.
    pub fn announce_to(&mut self, topic: &Topic, event: &DomainEvent<'_>, req_id: Option<String>) {
        if let Some(event) = wire::encode(self.profile, event) {
            self.publish(topic, event.with_req_id(req_id));
        }
    }

    /// Publishes an encoded event on `topic`.
    pub fn publish(&mut self, topic: &Topic, event: Event) {
        self.events.push((topic.clone(), event));
    }
}

impl ServerState {
    /// Fresh state for `config`, with the seeded data (within a tokio runtime).
    ///
    /// # Panics
    ///
    /// If `config.redis_url` is not a Redis URL: [`ServerState::try_new`] says so instead.
    pub fn new(config: Config) -> Self {
        match ServerState::try_new(config) {
            Ok(state) => state,
            Err(error) => panic!("{error}"),
        }
    }

    /// Fresh state for `config`, with the seeded data (within a tokio runtime); an error if
    /// its Redis URL is not one.
    pub fn try_new(config: Config) -> Result<Self, BrokerError> {
        let limits = config.limits();
        let broker = Backend::from_config(&config)?;
        let auth = Authenticator::new(&secret_of(&config), config.dev);
        let state = Arc::new_cyclic(|weak: &Weak<Shared>| {
            let server = hooks::build(&config, &auth, weak.clone())
                .limits(limits)
                .broker(broker.broker())
                .allowed_origins(config.allowed_origins.clone())
                .extensions(config.profile == Profile::Tether)
                .build();
            Shared {
                auth,
                origins: tether_server::origin::OriginPolicy::new(&config.allowed_origins),
                store: tokio::sync::Mutex::new(Store::seeded(now_ms(), config.quota())),
                runs: InFlight::new(config.max_runs_per_user),
                publisher: server.publisher(),
                server,
                broker,
                log: Mutex::default(),
                membership: Mutex::default(),
                shutdown: CancellationToken::new(),
                config,
            }
        });
        Ok(ServerState(state))
    }

    /// The state a hook's weak reference points to, while the server lives.
    pub fn upgrade(weak: &Weak<Shared>) -> Option<ServerState> {
        weak.upgrade().map(ServerState)
    }

    /// Makes a change with `f` and publishes the events it announced, with the store locked
    /// throughout: a change and its events are atomic.
    pub async fn commit<R>(&self, f: impl FnOnce(&mut Store, &mut Outbox) -> R) -> R {
        self.commit_all(f).await.0
    }

    /// [`ServerState::commit`], also returning what was published.
    pub async fn commit_all<R>(
        &self,
        f: impl FnOnce(&mut Store, &mut Outbox) -> R,
    ) -> (R, Vec<Arc<Publication>>) {
        let mut store = self.store.lock().await;
        let mut outbox = Outbox {
            profile: self.config.profile,
            events: Vec::new(),
        };
        let result = f(&mut store, &mut outbox);
        let published = self.publish(outbox).await;
        drop(store);
        (result, published)
    }

    /// Publishes an outbox's events in order, logging each.
    async fn publish(&self, outbox: Outbox) -> Vec<Arc<Publication>> {
        let mut published = Vec::with_capacity(outbox.events.len());
        for (topic, event) in outbox.events {
            let (kind, id) = (event.kind.clone(), event.id);
            match self.publisher.publish_event(&topic, event.into()).await {
                Ok(publication) => {
                    let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
                    let epoch = log.epoch();
                    let (seq, ts) = (publication.seq(), publication.ts);
                    let entry = LogEntry {
                        n: 0,
                        epoch,
                        topic,
                        seq,
                        kind,
                        id,
                        ts,
                    };
                    log.record(entry, publication.epoch().as_str());
                    published.push(publication);
                }
                Err(error) => tracing::error!(%error, %topic, "an event was not published"),
            }
        }
        published
    }

    /// Runs `f` with the store alone locked.
    pub async fn read<R>(&self, f: impl FnOnce(&Store) -> R) -> R {
        let store = self.store.lock().await;
        f(&store)
    }

    /// Runs `f` with the store locked, and reads `topic`'s position meanwhile: what `f` reads
    /// is current to that position.
    pub async fn read_at<R>(
        &self,
        topic: &Topic,
        f: impl FnOnce(&Store) -> R,
    ) -> Result<(R, StreamPosition), PublishError> {
        let store = self.store.lock().await;
        let position = self.publisher.position(topic).await?;
        Ok((f(&store), position))
    }

    /// Forgets every topic's history (a restart without persistence), with the store locked so
    /// that no change is half published across it; returns how many topics had one.
    pub async fn lose_history(&self) -> usize {
        let _store = self.store.lock().await;
        match self.server.faults().lose_history().await {
            Ok(lost) => {
                self.log
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .new_epoch();
                lost
            }
            Err(error) => {
                tracing::error!(%error, "the broker could not lose its history");
                0
            }
        }
    }
}
