//! [`TetherServer`] and its [`Builder`]: an app's hooks, limits and broker in, an axum route
//! to mount at any path and a [`Publisher`] out.

use axum::routing::{get, MethodRouter};
use axum::Router;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio_util::task::TaskTracker;

use crate::app::{Authenticate, Authorize, Hooks, Observe, RequestHandler, Snapshots};
use crate::broker::{Broker, MemoryBroker, NodeTopics};
use crate::delivery::{Sockets, Stats};
use crate::hub::Hub;
use crate::limits::Limits;
use crate::origin::OriginPolicy;
use crate::publisher::Publisher;
use crate::session::Context;
use crate::upgrade::{upgrade, Upgrade};

/// Builds a [`TetherServer`] from an app's hooks. Start it with [`TetherServer::builder`].
pub struct Builder<A: Authenticate> {
    authenticate: A,
    hooks: Hooks<A::User>,
    limits: Limits,
    broker: Option<Arc<dyn Broker>>,
    extensions: bool,
    origins: Vec<String>,
}

impl<A: Authenticate> std::fmt::Debug for Builder<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("hooks", &self.hooks)
            .field("limits", &self.limits)
            .field("extensions", &self.extensions)
            .field("origins", &self.origins)
            .finish_non_exhaustive()
    }
}

impl<A: Authenticate> Builder<A> {
    /// The server's limits (default: [`Limits::default`]).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The broker (default: a [`MemoryBroker`] within the limits). One broker serves one
    /// server: building starts it with this server's hub. Take publishers from the server
    /// ([`TetherServer::publisher`]), or make them from the same broker ([`Publisher::new`]).
    pub fn broker(mut self, broker: Arc<dyn Broker>) -> Self {
        self.broker = Some(broker);
        self
    }

    /// Whether clients that ask for tether's extensions (`tether=1`) get them (default: yes).
    /// Off, every client is served the origin contract: no acknowledgements, no `seq`, no
    /// replay.
    pub fn extensions(mut self, on: bool) -> Self {
        self.extensions = on;
        self
    }

    /// Browser origins allowed besides the loopback ones (compared exactly).
    pub fn allowed_origins(mut self, origins: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.origins = origins.into_iter().map(Into::into).collect();
        self
    }

    /// Who may hold which topic (default: everyone, every topic).
    pub fn authorize(mut self, authorize: impl Authorize<A::User>) -> Self {
        self.hooks.set_authorize(authorize);
        self
    }

    /// The topics' snapshots (default: none).
    pub fn snapshots(mut self, snapshots: impl Snapshots<A::User>) -> Self {
        self.hooks.set_snapshots(snapshots);
        self
    }

    /// The handler of client requests of `type` `kind` (others get `UNKNOWN_TYPE`).
    pub fn on_request(
        mut self,
        kind: impl Into<String>,
        handler: impl RequestHandler<A::User>,
    ) -> Self {
        self.hooks.set_request(kind, handler);
        self
    }

    /// An observer of subscriptions (default: none): how each topic of a `subscribe` was
    /// answered, and when a connection let go of topics.
    pub fn observe(mut self, observer: impl Observe<A::User>) -> Self {
        self.hooks.set_observer(observer);
        self
    }

    /// The server. Its broker starts handing publications to this node's hub now.
    pub fn build(self) -> TetherServer {
        let limits = self.limits;
        let broker = self
            .broker
            .unwrap_or_else(|| Arc::new(MemoryBroker::new(&limits)));
        let hub = Arc::new(Hub::new(limits.queue_capacity));
        broker.start(hub.clone());
        let sockets = Arc::new(Sockets::new(limits));
        let ctx = Arc::new(Context {
            sockets: sockets.clone(),
            hub: hub.clone(),
            broker: broker.clone(),
            node_topics: NodeTopics::new(broker.clone()),
            policy: self.hooks,
        });
        let up = Arc::new(Upgrade {
            authenticate: self.authenticate,
            ctx,
            origins: OriginPolicy::new(&self.origins),
            extensions: self.extensions,
        });
        TetherServer {
            core: Arc::new(Core {
                sockets,
                hub,
                broker,
            }),
            route: get(upgrade::<A>).with_state(up),
        }
    }
}

/// What a server's handles share.
pub(crate) struct Core {
    pub(crate) sockets: Arc<Sockets>,
    pub(crate) hub: Arc<Hub>,
    pub(crate) broker: Arc<dyn Broker>,
}

/// A tether server: the WebSocket endpoint to mount in an axum app, and the handles to publish,
/// count and shut down. Cheap to clone.
#[derive(Clone)]
pub struct TetherServer {
    core: Arc<Core>,
    route: MethodRouter,
}

impl std::fmt::Debug for TetherServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TetherServer").finish_non_exhaustive()
    }
}

impl TetherServer {
    /// A builder whose connections are authenticated by `authenticate`.
    pub fn builder<A: Authenticate>(authenticate: A) -> Builder<A> {
        Builder {
            authenticate,
            hooks: Hooks::default(),
            limits: Limits::default(),
            broker: None,
            extensions: true,
            origins: Vec::new(),
        }
    }

    /// A router serving the WebSocket at `path`, to merge into the app's.
    pub fn router(&self, path: &str) -> Router {
        Router::new().route(path, self.route())
    }

    /// The WebSocket endpoint, to mount with `Router::route(path, …)` (in a router that has a
    /// state of its own, with `Router::route_service(path, …)`).
    pub fn route(&self) -> MethodRouter {
        self.route.clone()
    }

    /// A publisher through this server's broker.
    pub fn publisher(&self) -> Publisher {
        Publisher::new(self.core.broker.clone())
    }

    /// The limits.
    pub fn limits(&self) -> &Limits {
        &self.core.sockets.limits
    }

    /// The counters.
    pub fn stats(&self) -> &Arc<Stats> {
        &self.core.sockets.stats
    }

    /// How many connections of this node hold each topic that has any.
    pub fn subscriber_counts(&self) -> BTreeMap<String, usize> {
        self.core.hub.subscriber_counts()
    }

    /// Open connections on this node.
    pub fn connections(&self) -> usize {
        self.core.sockets.registry.len()
    }

    /// Starts shutting down: refuses new upgrades (503) and closes every socket with 1001.
    pub fn begin_shutdown(&self) {
        self.core.sockets.begin_shutdown();
    }

    /// The socket tasks, which shutdown waits for.
    pub fn tasks(&self) -> &TaskTracker {
        &self.core.sockets.tasks
    }

    /// The faults a test server injects (feature `faults`).
    #[cfg(feature = "faults")]
    pub fn faults(&self) -> crate::faults::Faults {
        crate::faults::Faults::new(self.core.clone())
    }
}
