//! `WsProvider`: creates the app's one `AppState` from its props, once, and gives it to every
//! component below. A component body cannot open a second socket: the state lives in the
//! provider's hook state, created on its first render and closed when it unmounts.

use std::cell::RefCell;
use std::rc::Rc;

use yew::prelude::*;

use crate::core::Config;
use crate::AppState;

/// What the provider shares.
#[derive(Clone)]
pub struct WsContext {
    /// The app's one client and topic manager.
    pub app: Rc<AppState>,
    /// The token the socket authenticates with, if any: REST clients reuse it.
    pub token: Option<AttrValue>,
}

impl PartialEq for WsContext {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.app, &other.app) && self.token == other.token
    }
}

/// Props of [`WsProvider`].
#[derive(Properties, PartialEq)]
pub struct WsProviderProps {
    /// The WebSocket endpoint: `/api/ws/v2` for tether's stub, `/api/ws` for the origin
    /// backend. A relative URL resolves against the page. Read once, on the first render.
    pub url: AttrValue,
    /// The token, sent as `?token=` on every connection attempt. Changing it reconnects with
    /// the new one.
    #[prop_or_default]
    pub token: Option<AttrValue>,
    /// Adjusts the default [`Config`] (timeouts, backoff, queue size, sharing across tabs)
    /// once, on the first render. To change what it sets (another user's share name), mount a
    /// new provider: give it a `key` that changes with the user.
    #[prop_or_default]
    pub configure: Option<Callback<Config, Config>>,
    /// The app.
    pub children: Html,
}

/// Creates the app's `AppState` once and provides it as [`WsContext`].
///
/// ```
/// use tether_client::hooks::WsProvider;
/// use yew::prelude::*;
///
/// #[component]
/// fn App() -> Html {
///     html! {
///         <WsProvider url="/api/ws/v2" token={Some(AttrValue::from("dev-token"))}>
///             <p>{ "every component here can use the hooks" }</p>
///         </WsProvider>
///     }
/// }
/// ```
#[component]
pub fn WsProvider(props: &WsProviderProps) -> Html {
    let token = use_mut_ref(|| props.token.clone());
    let app = {
        let (token, url, configure) = (token.clone(), props.url.clone(), props.configure.clone());
        use_memo((), move |_| connect(&url, token, configure))
    };
    {
        let (app, cell) = ((*app).clone(), token);
        use_effect_with(props.token.clone(), move |new| {
            let changed = *cell.borrow() != *new;
            *cell.borrow_mut() = new.clone();
            if changed {
                // With tabs sharing a socket, the shared one: the leader's token provider is
                // the one that counts.
                app.retry_now();
            }
        });
    }
    let context = WsContext {
        app: (*app).clone(),
        token: props.token.clone(),
    };
    html! {
        <ContextProvider<WsContext> {context}>
            { props.children.clone() }
        </ContextProvider<WsContext>>
    }
}

fn connect(
    url: &str,
    token: Rc<RefCell<Option<AttrValue>>>,
    configure: Option<Callback<Config, Config>>,
) -> Rc<AppState> {
    let config =
        Config::new(url).with_token(move || token.borrow().as_ref().map(|t| t.to_string()));
    let config = match configure {
        Some(configure) => configure.emit(config),
        None => config,
    };
    AppState::connect(config)
}

/// The context from the nearest [`WsProvider`]. Panics outside one: that is a wiring bug.
#[hook]
pub fn use_ws() -> WsContext {
    use_context::<WsContext>().expect("use_ws must be called below a WsProvider")
}

/// The app's state from the nearest [`WsProvider`].
#[hook]
pub fn use_app() -> Rc<AppState> {
    use_ws().app
}
