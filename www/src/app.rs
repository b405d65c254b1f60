//! The root: creates the app's one `AppState` (and so its one socket), provides it, and
//! switches between the dashboard and the chat without touching the socket.

use std::rc::Rc;

use tether::core::Config;
use tether::hooks::{WsContext, WsProvider};
use tether::rest::Api;
use tether::AppState;
use yew::prelude::*;

use crate::chat::{ChatView, FirstAgent};
use crate::dashboard::Dashboard;
use crate::header::Header;

/// Which view is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    /// The agents table.
    Dashboard,
    /// The chat with one agent.
    Chat {
        /// The agent; `None` until one is chosen, which opens the user's first agent.
        agent: Option<u64>,
    },
}

/// `?name=` from the page's URL.
fn query(name: &str) -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    web_sys::UrlSearchParams::new_with_str(&search)
        .ok()?
        .get(name)
}

fn context() -> WsContext {
    let token = query("token").unwrap_or_else(|| "dev-token".to_owned());
    let user = query("user").and_then(|u| u.parse().ok()).unwrap_or(1);
    let provider_token = token.clone();
    let config = Config::new("/api/ws/v2").with_token(move || Some(provider_token.clone()));
    WsContext {
        app: AppState::connect(config),
        api: Api::new("", token),
        user,
    }
}

/// The app.
#[component]
pub fn App() -> Html {
    let ws = use_memo((), |_| context());
    let view = use_state(|| View::Dashboard);
    let navigate = {
        let view = view.clone();
        Callback::from(move |v: View| view.set(v))
    };
    let body = match *view {
        View::Dashboard => html! { <Dashboard open_chat={navigate.clone()} /> },
        View::Chat { agent: Some(agent) } => html! { <ChatView {agent} back={navigate.clone()} /> },
        View::Chat { agent: None } => html! { <FirstAgent navigate={navigate.clone()} /> },
    };
    let tab = |target: View, label: &'static str, id: &'static str| {
        let navigate = navigate.clone();
        let active = match (*view, target) {
            (View::Dashboard, View::Dashboard) | (View::Chat { .. }, View::Chat { .. }) => {
                "tab active"
            }
            _ => "tab",
        };
        html! { <button class={active} data-testid={id} onclick={move |_| navigate.emit(target)}>{ label }</button> }
    };
    let last_agent = use_mut_ref(|| None::<u64>);
    if let View::Chat { agent: Some(agent) } = *view {
        *last_agent.borrow_mut() = Some(agent);
    }
    let chat_target = View::Chat {
        agent: *last_agent.borrow(),
    };
    html! {
        <WsProvider context={Rc::unwrap_or_clone(ws)}>
            <div class="shell">
                <Header />
                <nav class="tabs">
                    { tab(View::Dashboard, "Dashboard", "nav-dashboard") }
                    { tab(chat_target, "Chat", "nav-chat") }
                </nav>
                <main>{ body }</main>
            </div>
        </WsProvider>
    }
}
