//! [`provide_tether`] and [`TetherProvider`]: create the app's `AppState` once and give it to
//! every view below; [`use_tether`] reads it. The state lives in the providing owner's
//! storage and is dropped (its socket closed) when that owner is cleaned up.

use std::rc::Rc;

use ::leptos::prelude::*;

use crate::core::Config;
use crate::AppState;

/// What the provider shares: a handle to the state in the providing owner's storage (the
/// state itself is not `Send`).
#[derive(Clone, Copy)]
struct TetherContext(StoredValue<Rc<AppState>, LocalStorage>);

/// Creates the app's `AppState` from `config` and provides it to the current owner's views.
/// In the browser this opens the socket; on the server the state is inert and opens nothing.
///
/// ```
/// use leptos::prelude::*;
/// use tether_client::leptos::provide_tether;
/// use tether_client::Config;
///
/// #[component]
/// fn App() -> impl IntoView {
///     provide_tether(Config::new("/api/ws/v2").with_token(|| Some("dev-token".into())));
///     view! { <p>"every view here can use the hooks"</p> }
/// }
/// ```
pub fn provide_tether(config: Config) {
    let app = AppState::connect(config);
    provide_context(TetherContext(StoredValue::new_local(app)));
}

/// Provides the app's `AppState` to its children ([`provide_tether`] as a component). The
/// `token` is sent as `?token=` on every connection attempt; changing it reconnects with the
/// new one.
///
/// ```
/// use leptos::prelude::*;
/// use tether_client::leptos::TetherProvider;
///
/// #[component]
/// fn App() -> impl IntoView {
///     view! {
///         <TetherProvider url="/api/ws/v2" token="dev-token">
///             <p>"every view here can use the hooks"</p>
///         </TetherProvider>
///     }
/// }
/// ```
#[component]
pub fn TetherProvider(
    /// The WebSocket endpoint: `/api/ws/v2` for tether's stub, `/api/ws` for the origin
    /// backend. A relative URL resolves against the page. Read once.
    #[prop(into)]
    url: String,
    /// The token, if any.
    #[prop(optional, into)]
    token: MaybeProp<String>,
    /// The app.
    children: Children,
) -> impl IntoView {
    provide_tether(Config::new(url).with_token(move || token.try_get_untracked().flatten()));
    let app = use_context::<TetherContext>().map(|c| c.0);
    Effect::new(move |previous: Option<Option<String>>| {
        let now = token.get();
        if previous.is_some_and(|p| p != now) {
            if let Some(app) = app {
                // With tabs sharing a socket, the shared one.
                app.with_value(|app| app.retry_now());
            }
        }
        now
    });
    children()
}

/// The app's state from the nearest provider. Panics outside one: that is a wiring bug.
///
/// ```
/// use leptos::prelude::*;
/// use tether_client::leptos::use_tether;
///
/// #[component]
/// fn Retry() -> impl IntoView {
///     let app = use_tether();
///     view! { <button on:click=move |_| app.retry_now()>"Retry now"</button> }
/// }
/// ```
pub fn use_tether() -> Rc<AppState> {
    use_context::<TetherContext>()
        .expect("use_tether must be called below provide_tether or a TetherProvider")
        .0
        .get_value()
}
