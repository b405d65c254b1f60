//! The root: `WsProvider` creates the app's one `AppState`, and the root switches between the
//! dashboard and the chat without touching the socket. The tabs of one user share one socket
//! (`Config::share_across_tabs`), unless the page says `?share=0`.

use tether_client::agents::hooks::AgentsProvider;
use tether_client::hooks::WsProvider;
use yew::prelude::*;

use tether_client::core::{Config, Millis};

use crate::chat::{ChatView, FirstAgent};
use crate::dashboard::Dashboard;
use crate::events::Events;
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

/// Who signs in and where the socket is: `?token=`, `?user=` and `?ws=` (the endpoint:
/// `/api/ws/v2` for tether's stub, `/api/ws` for an origin-contract server); `?share=0` gives
/// this tab its own socket; `?ping_ms=` sets the heartbeat; `?page=events&topics=a,b` opens
/// the events page.
#[derive(PartialEq)]
struct Session {
    url: AttrValue,
    token: AttrValue,
    user: u64,
    share: bool,
    ping_ms: Option<u64>,
    events: Option<Vec<AttrValue>>,
}

fn session() -> Session {
    Session {
        url: query("ws")
            .unwrap_or_else(|| "/api/ws/v2".to_owned())
            .into(),
        token: query("token")
            .unwrap_or_else(|| "dev-token".to_owned())
            .into(),
        user: query("user").and_then(|u| u.parse().ok()).unwrap_or(1),
        share: query("share").is_none_or(|s| s != "0"),
        ping_ms: query("ping_ms").and_then(|ms| ms.parse().ok()),
        events: (query("page").as_deref() == Some("events")).then(|| {
            query("topics")
                .unwrap_or_default()
                .split(',')
                .filter(|t| !t.is_empty())
                .map(|t| AttrValue::from(t.to_owned()))
                .collect()
        }),
    }
}

/// The tabs of one user, on one endpoint, share a socket; another user's never do. `?ping_ms=`
/// sets the heartbeat's period.
fn configure(session: &Session) -> Callback<Config, Config> {
    let share = session
        .share
        .then(|| format!("tether-demo:{}:{}", session.url, session.user));
    let ping = session.ping_ms.map(Millis);
    Callback::from(move |mut config: Config| {
        if let Some(ping) = ping {
            config.ping_interval = ping;
        }
        match &share {
            Some(name) => config.share_across_tabs(name.clone()),
            None => config,
        }
    })
}

/// The app.
#[component]
pub fn App() -> Html {
    let session = use_memo((), |_| session());
    let view = use_state(|| View::Dashboard);
    let navigate = {
        let view = view.clone();
        Callback::from(move |v: View| view.set(v))
    };
    let body = match (&session.events, *view) {
        (Some(topics), _) => html! { <Events topics={topics.clone()} /> },
        (None, View::Dashboard) => html! { <Dashboard open_chat={navigate.clone()} /> },
        (None, View::Chat { agent: Some(agent) }) => {
            html! { <ChatView {agent} back={navigate.clone()} /> }
        }
        (None, View::Chat { agent: None }) => html! { <FirstAgent navigate={navigate.clone()} /> },
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
        <WsProvider url={session.url.clone()} token={Some(session.token.clone())} configure={Some(configure(&session))}>
            <AgentsProvider user={session.user}>
                <div class="shell">
                    <Header />
                    <nav class="tabs">
                        { tab(View::Dashboard, "Dashboard", "nav-dashboard") }
                        { tab(chat_target, "Chat", "nav-chat") }
                    </nav>
                    <main>{ body }</main>
                </div>
            </AgentsProvider>
        </WsProvider>
    }
}
