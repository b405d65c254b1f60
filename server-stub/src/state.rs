//! The state every handler and connection shares: configuration, data, topics, counters and
//! the registry of connections, behind one cheaply clonable [`ServerState`].

use std::ops::Deref;
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::auth::Authenticator;
use crate::clock::now_ms;
use crate::config::Config;
use crate::domain::store::Store;
use crate::http::origin_policy::OriginPolicy;
use crate::hub::{Hub, HubGuard, ReplayLimits};
use crate::stats::Stats;
use crate::ws::admission::Admission;
use crate::ws::registry::Registry;

/// What [`ServerState`] points to.
#[derive(Debug)]
pub struct Shared {
    /// The configuration.
    pub config: Config,
    /// Token verification.
    pub auth: Authenticator,
    /// Allowed browser origins.
    pub origins: OriginPolicy,
    /// Agents, threads and messages. Lock it before the hub, never after.
    store: Mutex<Store>,
    /// Topics, replay and fan-out.
    pub hub: Hub,
    /// Counters.
    pub stats: Arc<Stats>,
    /// Open connections.
    pub registry: Registry,
    /// Whether new upgrades are let in.
    pub admission: Admission,
    /// Cancelled when the server shuts down; background tasks stop on it.
    pub shutdown: CancellationToken,
    /// Tracks connection tasks so that shutdown can wait for them.
    pub tasks: TaskTracker,
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

impl ServerState {
    /// Fresh state for `config`, with the seeded data.
    pub fn new(config: Config) -> Self {
        let shared = Shared {
            auth: Authenticator::new(&secret_of(&config), config.dev),
            origins: OriginPolicy::new(&config.allowed_origins),
            store: Mutex::new(Store::seeded(now_ms())),
            hub: Hub::with_limits(
                ReplayLimits {
                    events: config.replay_capacity,
                    topic_bytes: config.replay_topic_bytes,
                    total_bytes: config.replay_total_bytes,
                },
                config.profile,
            ),
            stats: Arc::default(),
            registry: Registry::default(),
            admission: Admission::default(),
            shutdown: CancellationToken::new(),
            tasks: TaskTracker::new(),
            config,
        };
        ServerState(Arc::new(shared))
    }

    /// Runs `f` with the store and the hub both locked (in that order), so that a change and
    /// the events announcing it are atomic: whoever reads the store and a topic's `seq`
    /// together sees both or neither.
    pub fn commit<R>(&self, f: impl FnOnce(&mut Store, &mut HubGuard<'_>) -> R) -> R {
        let mut store = self.store.lock().unwrap_or_else(|e| e.into_inner());
        let mut hub = self.hub.lock();
        f(&mut store, &mut hub)
    }

    /// Runs `f` with the store alone locked.
    pub fn read<R>(&self, f: impl FnOnce(&Store) -> R) -> R {
        let store = self.store.lock().unwrap_or_else(|e| e.into_inner());
        f(&store)
    }

    /// Starts shutting down: refuses new upgrades, stops background tasks and closes every
    /// socket with 1001.
    pub fn begin_shutdown(&self) {
        self.admission.close();
        self.shutdown.cancel();
        self.registry
            .close_all(tether_wire::CloseCode::GOING_AWAY.0, "server shutting down");
    }
}
