//! `use_send`: a handle to send frames and make requests on the app's socket. While
//! disconnected, both wait in the outbox (for up to the configured queue timeout).

use std::rc::Rc;

use serde::Serialize;
use yew::prelude::*;

use super::use_ws;
use crate::core::{RequestError, SendError};
use crate::protocol::{EncodeError, Envelope, Frame, Topic};
use crate::WsClientV2;

/// What [`use_send`] returns. Cheap to clone; equal across renders.
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

/// A handle to send on the app's socket.
///
/// ```
/// use tether_client::hooks::use_send;
/// use yew::prelude::*;
///
/// #[component]
/// fn Like() -> Html {
///     let sender = use_send();
///     let onclick = Callback::from(move |_| {
///         let _ = sender.send("like", "post:7", &serde_json::json!({ "post": 7 }));
///     });
///     html! { <button {onclick}>{ "Like" }</button> }
/// }
/// ```
#[hook]
pub fn use_send() -> UseSend {
    UseSend {
        client: use_ws().app.client.clone(),
    }
}
