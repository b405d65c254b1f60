//! The chat view: the agent's threads, the selected thread's messages with streaming replies,
//! and an input box. The thread's handler lives only while the view is mounted (`use_chat`).

use tether_client::agents::hooks::{use_agents, use_chat};
use tether_client::agents::rest::ApiError;
use tether_client::agents::{ChatEntry, Delivery};
use tether_client::protocol::agents::model::Thread;
use tether_client::ConnectionState;
use web_sys::HtmlInputElement;
use yew::platform::spawn_local;
use yew::prelude::*;

use crate::app::View;
use crate::header::OfflineBanner;
use crate::status::use_status;

/// What a view says while its `what` (say, "agents") waits to load: they load once the
/// connection is up, and not at all while signed out.
pub fn waiting_for(what: &str, state: ConnectionState) -> String {
    match state {
        ConnectionState::Open => format!("Loading {what}…"),
        ConnectionState::AuthFailed => format!("Signed out: sign in again to see your {what}."),
        _ => format!("Your {what} load once the connection is up."),
    }
}

/// Props of [`ChatView`].
#[derive(Properties, PartialEq)]
pub struct ChatViewProps {
    /// The agent whose threads are shown.
    pub agent: u64,
    /// Goes back to the dashboard.
    pub back: Callback<View>,
}

/// The agent's threads and the selected conversation.
#[component]
pub fn ChatView(props: &ChatViewProps) -> Html {
    let agents = use_agents();
    let threads = use_state(|| None::<Result<Vec<Thread>, String>>);
    let name = use_state(|| None::<String>);
    let selected = use_state(|| None::<u64>);
    {
        let (api, threads, name, selected) = (
            agents.api.clone(),
            threads.clone(),
            name.clone(),
            selected.clone(),
        );
        use_effect_with(props.agent, move |agent| {
            let agent = *agent;
            name.set(None);
            // Unmounting (or switching agents) drops the guard and aborts what is in flight.
            let (api, abort) = api.abortable();
            spawn_local(async move {
                let mut result = api.threads(agent).await;
                if let Ok(list) = &mut result {
                    if list.is_empty() {
                        if let Ok(t) = api.create_thread(agent, "First chat").await {
                            list.push(t);
                        }
                    }
                }
                if matches!(result, Err(ApiError::Aborted)) {
                    return;
                }
                if let Ok(list) = api.agents().await {
                    let found = list.agents.into_iter().find(|a| a.id == agent);
                    name.set(found.map(|a| a.display_name()));
                }
                if let Ok(list) = &result {
                    selected.set(list.first().map(|t| t.id));
                }
                threads.set(Some(result.map_err(|e| e.to_string())));
            });
            move || drop(abort)
        });
    }
    let list = match &*threads {
        None => html! { <p class="muted" data-testid="loading">{ "Loading threads…" }</p> },
        Some(Err(e)) => html! { <p class="error" role="alert">{ e }</p> },
        Some(Ok(list)) => html! {
            <ul class="threads" data-testid="threads">
                { for list.iter().map(|t| {
                    let (id, selected) = (t.id, selected.clone());
                    let class = if Some(id) == *selected { "active" } else { "" };
                    let title = t.title.clone().unwrap_or_else(|| format!("Thread {id}"));
                    html! { <li key={id}><button class={class} data-testid="thread" onclick={move |_| selected.set(Some(id))}>{ title }</button></li> }
                }) }
            </ul>
        },
    };
    let back = props.back.clone();
    html! {
        <section class="view chat" data-testid="chat">
            <OfflineBanner />
            <aside>
                <button class="link" onclick={move |_| back.emit(View::Dashboard)}>{ "← Agents" }</button>
                <h2 data-testid="chat-agent">{ name.as_deref().map_or_else(|| format!("Agent {}", props.agent), str::to_owned) }</h2>
                { list }
            </aside>
            if let Some(thread) = *selected {
                <Conversation {thread} />
            } else {
                <div class="conversation empty">{ "Pick a thread." }</div>
            }
        </section>
    }
}

/// Props of [`FirstAgent`].
#[derive(Properties, PartialEq)]
pub struct FirstAgentProps {
    /// Opens the chat of the agent found, or the dashboard.
    pub navigate: Callback<View>,
}

/// The Chat tab before any agent was chosen: opens the user's first agent, or says there is
/// none yet.
#[component]
pub fn FirstAgent(props: &FirstAgentProps) -> Html {
    let agents = use_agents();
    let empty = use_state(|| None::<Result<(), String>>);
    {
        let (api, empty, navigate) = (agents.api.clone(), empty.clone(), props.navigate.clone());
        use_effect_with((), move |_| {
            let (api, abort) = api.abortable();
            spawn_local(async move {
                match api.agents().await {
                    Ok(list) => match list.agents.first() {
                        Some(a) => navigate.emit(View::Chat { agent: Some(a.id) }),
                        None => empty.set(Some(Ok(()))),
                    },
                    Err(ApiError::Aborted) => {}
                    Err(e) => empty.set(Some(Err(e.to_string()))),
                }
            });
            move || drop(abort)
        });
    }
    let navigate = props.navigate.clone();
    let body = match &*empty {
        None => html! { <p class="muted" data-testid="loading">{ "Loading agents…" }</p> },
        Some(Err(e)) => html! { <p class="error" role="alert">{ e }</p> },
        Some(Ok(())) => html! {
            <div class="empty" data-testid="no-agents">
                <p>{ "No agents yet, so nobody to chat with. Create one on the dashboard." }</p>
                <button onclick={move |_| navigate.emit(View::Dashboard)}>{ "Go to the dashboard" }</button>
            </div>
        },
    };
    html! {
        <section class="view" data-testid="chat">
            <OfflineBanner />
            { body }
        </section>
    }
}

/// Props of [`Conversation`].
#[derive(Properties, PartialEq)]
pub struct ConversationProps {
    /// The thread shown.
    pub thread: u64,
}

/// One thread's messages and the input box.
#[component]
pub fn Conversation(props: &ConversationProps) -> Html {
    let chat = use_chat(props.thread);
    let state = use_status().status.state;
    let online = state == ConnectionState::Open;
    let input = use_node_ref();
    let submit = {
        let (input, send) = (input.clone(), chat.send.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if let Some(el) = input.cast::<HtmlInputElement>() {
                let text = el.value().trim().to_owned();
                if !text.is_empty() {
                    send.emit(text);
                    el.set_value("");
                }
            }
        })
    };
    let entries = chat.model.entries();
    let body = if chat.loading && !chat.model.is_loaded() && chat.error.is_none() {
        html! { <p class="muted" data-testid="loading">{ waiting_for("messages", state) }</p> }
    } else if entries.is_empty() {
        html! { <p class="empty" data-testid="empty">{ "No messages yet. Say hello." }</p> }
    } else {
        html! { <ol class="messages" data-testid="messages">{ for entries.iter().map(|e| message(e, online, &chat.retry)) }</ol> }
    };
    html! {
        <div class="conversation">
            if chat.model.history_lost() {
                <p class="note" data-testid="history-lost" role="status">
                    { "The server restarted and lost its history: this conversation was reloaded \
                       with what the server has now, so earlier messages may be missing." }
                </p>
            }
            if let Some(e) = &chat.error { <p class="error" role="alert">{ e }</p> }
            { body }
            <form class="composer" onsubmit={submit}>
                <input ref={input} data-testid="chat-input" placeholder="Message the agent" aria-label="Message" maxlength="4000" />
                <button type="submit" data-testid="chat-send">{ "Send" }</button>
            </form>
        </div>
    }
}

/// One message. A pending one says whether it is on its way or waits for the connection; a
/// failed one says what happened (sent or not) and offers to retry.
fn message(e: &ChatEntry, online: bool, retry: &Callback<u64>) -> Html {
    let (state, note) = match &e.delivery {
        Delivery::Pending if online => ("pending", html! { <small>{ "sending…" }</small> }),
        Delivery::Pending => (
            "queued",
            html! { <small data-testid="queued">{ "will send when reconnected" }</small> },
        ),
        Delivery::Failed(why) => {
            let retry = retry.clone();
            let local = e.local_id;
            let onclick = move |_| {
                if let Some(local) = local {
                    retry.emit(local)
                }
            };
            (
                "failed",
                html! { <small>{ why }<button class="link" data-testid="retry-send" {onclick}>{ "Retry" }</button></small> },
            )
        }
        Delivery::Streaming => ("streaming", html! { <small class="cursor">{ "▍" }</small> }),
        Delivery::Confirmed => ("confirmed", html! {}),
    };
    html! {
        <li class={classes!("msg", e.role.clone(), state)} data-testid="message" data-role={e.role.clone()} data-delivery={state}>
            <p>{ &e.content }</p>{ note }
        </li>
    }
}
