//! The root: `WsProvider` creates the app's one `AppState`, and the root switches between the
//! dashboard, the chat and the events page without touching the socket. The tabs of one user
//! share one socket (`Config::share_across_tabs`), unless the page says `?share=0`.

use tether_client::agents::hooks::AgentsProvider;
use tether_client::hooks::WsProvider;
use yew::prelude::*;

use tether_client::{Config, Millis};

use crate::chat::{ChatView, FirstAgent};
use crate::dashboard::Dashboard;
use crate::events::Events;
use crate::header::Header;
use crate::status::StatusProvider;

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
    /// The live log of the events of some topics (`?page=events&topics=a,b`).
    Events,
}

/// `?name=` from the page's URL.
fn query(name: &str) -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    web_sys::UrlSearchParams::new_with_str(&search)
        .ok()?
        .get(name)
}

/// Puts `?page=events` in the address bar while the events page is shown, and takes it out
/// otherwise, keeping every other parameter: a reload shows the same page.
fn remember_page(view: View) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let location = window.location();
    let (Ok(search), Ok(path)) = (location.search(), location.pathname()) else {
        return;
    };
    let Ok(params) = web_sys::UrlSearchParams::new_with_str(&search) else {
        return;
    };
    match view {
        View::Events => params.set("page", "events"),
        _ => params.delete("page"),
    }
    let query = String::from(params.to_string());
    let url = if query.is_empty() {
        path
    } else {
        format!("{path}?{query}")
    };
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
    }
}

/// Who signs in and where the socket is: `?token=`, `?user=` and `?ws=` (the endpoint:
/// `/api/ws/v2` for tether's stub, `/api/ws` for an origin-contract server); `?share=0` gives
/// this tab its own socket; `?resume=0` turns resuming across reloads off; `?ping_ms=` sets
/// the heartbeat; `?page=events&topics=a,b` opens
/// the events page on those topics (`user:{user}` without `topics`).
#[derive(PartialEq)]
struct Session {
    url: AttrValue,
    token: AttrValue,
    user: u64,
    share: bool,
    resume: bool,
    ping_ms: Option<u64>,
    events_page: bool,
    topics: Vec<AttrValue>,
}

fn session() -> Session {
    let user = query("user").and_then(|u| u.parse().ok()).unwrap_or(1);
    let mut topics: Vec<AttrValue> = query("topics")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| AttrValue::from(t.to_owned()))
        .collect();
    if topics.is_empty() {
        topics.push(format!("user:{user}").into());
    }
    Session {
        url: query("ws")
            .unwrap_or_else(|| "/api/ws/v2".to_owned())
            .into(),
        token: query("token")
            .unwrap_or_else(|| "dev-token".to_owned())
            .into(),
        user,
        share: query("share").is_none_or(|s| s != "0"),
        resume: query("resume").is_none_or(|s| s != "0"),
        ping_ms: query("ping_ms").and_then(|ms| ms.parse().ok()),
        events_page: query("page").as_deref() == Some("events"),
        topics,
    }
}

/// The tabs of one user, on one endpoint, share a socket; another user's never do. A reloaded
/// page resumes each topic where the page before it stopped, under a key of the user's own.
/// `?ping_ms=` sets the heartbeat's period.
fn configure(session: &Session) -> Callback<Config, Config> {
    let key = format!("tether-demo:{}:{}", session.url, session.user);
    let share = session.share.then(|| key.clone());
    let resume = session.resume.then_some(key);
    let ping = session.ping_ms.map(Millis);
    Callback::from(move |mut config: Config| {
        if let Some(ping) = ping {
            config.ping_interval = ping;
        }
        if let Some(key) = &resume {
            config = config.resume(key.clone());
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
    let view = use_state(|| {
        if session.events_page {
            View::Events
        } else {
            View::Dashboard
        }
    });
    let navigate = {
        let view = view.clone();
        Callback::from(move |v: View| {
            remember_page(v);
            view.set(v)
        })
    };
    let body = match *view {
        View::Events => html! { <Events topics={session.topics.clone()} /> },
        View::Dashboard => html! { <Dashboard open_chat={navigate.clone()} /> },
        View::Chat { agent: Some(agent) } => {
            html! { <ChatView {agent} back={navigate.clone()} /> }
        }
        View::Chat { agent: None } => html! { <FirstAgent navigate={navigate.clone()} /> },
    };
    let last_agent = use_mut_ref(|| None::<u64>);
    if let View::Chat { agent: Some(agent) } = *view {
        *last_agent.borrow_mut() = Some(agent);
    }
    let tab = |target: View, label: &'static str, id: &'static str| {
        let navigate = navigate.clone();
        let active = std::mem::discriminant(&*view) == std::mem::discriminant(&target);
        html! {
            <button class={classes!("tab", active.then_some("active"))} data-testid={id}
                    aria-current={active.then_some("page")} onclick={move |_| navigate.emit(target)}>{ label }</button>
        }
    };
    let chat_target = View::Chat {
        agent: *last_agent.borrow(),
    };
    html! {
        <WsProvider url={session.url.clone()} token={Some(session.token.clone())} configure={Some(configure(&session))}>
            <StatusProvider>
                <AgentsProvider user={session.user}>
                    <div class="shell">
                        <Header />
                        <nav class="tabs">
                            { tab(View::Dashboard, "Dashboard", "nav-dashboard") }
                            { tab(chat_target, "Chat", "nav-chat") }
                            { tab(View::Events, "Events", "nav-events") }
                        </nav>
                        <main>{ body }</main>
                    </div>
                </AgentsProvider>
            </StatusProvider>
        </WsProvider>
    }
}
