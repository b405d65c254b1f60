//! `WsProvider`: gives the app's one `AppState`, its REST client and the user id to every
//! component below it.

use std::rc::Rc;

use yew::prelude::*;

use crate::rest::Api;
use crate::AppState;

/// What the provider shares.
#[derive(Clone)]
pub struct WsContext {
    /// The app's one client and topic manager.
    pub app: Rc<AppState>,
    /// The REST API the views load from.
    pub api: Api,
    /// The signed-in user.
    pub user: u64,
}

impl PartialEq for WsContext {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.app, &other.app) && self.api == other.api && self.user == other.user
    }
}

/// Props of [`WsProvider`].
#[derive(Properties, PartialEq)]
pub struct WsProviderProps {
    /// The context to share.
    pub context: WsContext,
    /// The app.
    pub children: Html,
}

/// Provides [`WsContext`] to its children.
#[component]
pub fn WsProvider(props: &WsProviderProps) -> Html {
    html! {
        <ContextProvider<WsContext> context={props.context.clone()}>
            { props.children.clone() }
        </ContextProvider<WsContext>>
    }
}

/// The context from the nearest [`WsProvider`]. Panics outside one: that is a wiring bug.
#[hook]
pub fn use_ws() -> WsContext {
    use_context::<WsContext>().expect("use_ws must be called below a WsProvider")
}
