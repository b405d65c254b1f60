//! What the framework adapters share (feature `yew` or `leptos`): everything below the hooks.
//! The Yew hooks (`hooks`) and the Leptos ones (`leptos`) only turn these into their
//! framework's state and clean-ups.
//!
//! - [`UseTopicOptions`] and [`latest_value`]: which events of a topic carry its value, and
//!   the value they carry;
//! - [`UseSend`]: the handle both adapters' `use_send` return;
//! - [`every`]: a timer for the hooks that poll a snapshot (metrics, sharing).

use std::rc::Rc;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::core::{RequestError, SendError, TopicEvent};
use crate::protocol::{EncodeError, Envelope, Frame, Topic};
use crate::WsClientV2;

/// Options of `use_topic_with_options` (Yew's and Leptos's).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UseTopicOptions {
    /// The event types (`type` on the wire) that carry a value; empty means every type whose
    /// `data` decodes as the value. Name them on topics that carry several payloads, such as
    /// `agent:{id}` (`agent_state`, `agent_updated`, `run_update`, …).
    pub kinds: &'static [&'static str],
}

/// The value `event` carries for a `use_topic::<T>`: a message of a kind `options` keeps whose
/// `data` decodes as `T`. Anything else (`Subscribed`, `ResyncRequired`, a payload of
/// another shape) is `None`, and leaves the hook's value as it was.
pub(crate) fn latest_value<T: DeserializeOwned>(
    event: &TopicEvent,
    options: &UseTopicOptions,
) -> Option<T> {
    let message = event.message()?;
    if !options.kinds.is_empty() && !options.kinds.contains(&message.kind()) {
        return None;
    }
    message.data::<T>().ok()
}

/// Calls `tick` every `period_ms` until the returned timer drops.
pub(crate) fn every(
    period_ms: u32,
    tick: impl FnMut() + 'static,
) -> gloo_timers::callback::Interval {
    gloo_timers::callback::Interval::new(period_ms, tick)
}

/// What `use_send` returns (Yew's and Leptos's): sends frames and makes requests on the app's
/// socket. While disconnected, both wait in the outbox (for up to the configured queue
/// timeout). Cheap to clone; equal across renders.
#[derive(Clone)]
pub struct UseSend {
    client: WsClientV2,
}

impl PartialEq for UseSend {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.client.shared, &other.client.shared)
    }
}

/// Why a frame could not be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UseSendError {
    /// The data could not be encoded.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// The client refused it.
    #[error(transparent)]
    Send(#[from] SendError),
    /// The request failed (the error says whether it was sent).
    #[error(transparent)]
    Request(#[from] RequestError),
}

impl UseSend {
    /// The handle for `client`.
    pub(crate) fn new(client: WsClientV2) -> UseSend {
        UseSend { client }
    }

    /// Sends `data` as a frame of `kind` on `topic`.
    pub fn send(
        &self,
        kind: &str,
        topic: impl Into<Topic>,
        data: &impl Serialize,
    ) -> Result<(), UseSendError> {
        let frame = Envelope::new(kind, topic, data)?;
        Ok(self.client.send(frame)?)
    }

    /// Sends `data` as a request and waits for the reply with its `req_id`.
    pub async fn request(
        &self,
        kind: &str,
        topic: impl Into<Topic>,
        data: &impl Serialize,
    ) -> Result<Rc<Frame>, UseSendError> {
        let frame = Envelope::new(kind, topic, data)?;
        Ok(self.client.request(frame).await?)
    }

    /// The client, for anything else.
    pub fn client(&self) -> &WsClientV2 {
        &self.client
    }
}
