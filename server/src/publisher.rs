//! [`Publisher`]: how an app publishes, from anywhere (REST handlers, background tasks, another
//! service's consumer): `publish(topic, type, data)` numbers the event on its topic through the
//! broker, which keeps it for replay and hands it to every subscriber on every node.

use serde::Serialize;
use std::borrow::Cow;
use std::sync::Arc;

use tether_wire::Topic;

use crate::broker::{Broker, BrokerError};
use crate::clock::now_ms;
use crate::hub::{Event, Publication, StreamPosition};

/// Why an event was not published.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// Its `data` does not encode as JSON.
    #[error("the event's data does not encode: {0}")]
    Encode(#[from] serde_json::Error),
    /// The broker could not number or keep it: nobody got it. With
    /// [`BrokerError::Uncertain`] the call went out and its answer was lost: it was published
    /// once, or not at all.
    #[error(transparent)]
    Broker(#[from] BrokerError),
}

/// Publishes events; cheap to clone.
#[derive(Clone)]
pub struct Publisher {
    broker: Arc<dyn Broker>,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher").finish_non_exhaustive()
    }
}

impl Publisher {
    /// A publisher through `broker` (the one the server was built with).
    pub fn new(broker: Arc<dyn Broker>) -> Self {
        Publisher { broker }
    }

    /// Publishes an event of `type` `kind` with `data` on `topic`; returns it with its `seq`
    /// and epoch. An error means nobody got it, unless it says the broker's answer was lost.
    pub async fn publish(
        &self,
        topic: &Topic,
        kind: impl Into<Cow<'static, str>>,
        data: &impl Serialize,
    ) -> Result<Arc<Publication>, PublishError> {
        self.publish_event(topic, Event::new(kind, data)?).await
    }

    /// Publishes `event` (which may carry the `req_id` of the request it answers).
    pub async fn publish_event(
        &self,
        topic: &Topic,
        event: Event,
    ) -> Result<Arc<Publication>, PublishError> {
        Ok(self.broker.publish(topic.clone(), event, now_ms()).await?)
    }

    /// The current position of `topic`: the `seq` of its last event (0 before the first) and
    /// its epoch. A snapshot read while no event of its topic can be published (under the
    /// app's own lock, say) is current to it.
    pub async fn position(&self, topic: &Topic) -> Result<StreamPosition, PublishError> {
        Ok(self.broker.history(topic.clone(), None).await?.position)
    }
}
