//! `use_send`: a handle to send frames and make requests on the app's socket.

use yew::prelude::*;

use super::use_ws;
use crate::UseSend;

/// A handle to send on the app's socket ([`UseSend`]).
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
    UseSend::new(use_ws().app.client.clone())
}
