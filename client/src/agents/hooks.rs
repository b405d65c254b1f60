//! The agents platform's Yew hooks (feature `yew`): [`AgentsProvider`] adds the REST client and
//! the signed-in user below a [`WsProvider`](crate::hooks::WsProvider); [`use_dashboard`] and
//! [`use_chat`] keep their view's model live. Each loads its REST snapshot when its manager asks
//! (once the topic is active, and after a resync), aborts the load when the view unmounts, and
//! re-renders on change; none has a side effect in its render body, and a render clones no
//! model (it shares the manager's `Rc`).

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use yew::platform::spawn_local;
use yew::prelude::*;

use super::chat::{ChatModel, ChatViewWsManager};
use super::dashboard::{DashboardModel, DashboardWsManager};
use super::rest::{AbortOnDrop, Api, ApiError};
use crate::hooks::{use_owned, use_ws, Owned};
use crate::live::{LoadState, LoadTicket};

/// What [`AgentsProvider`] shares.
#[derive(Clone, PartialEq)]
pub struct AgentsContext {
    /// The REST API, with the socket's token.
    pub api: Api,
    /// The signed-in user.
    pub user: u64,
}

/// Props of [`AgentsProvider`].
#[derive(Properties, PartialEq)]
pub struct AgentsProviderProps {
    /// The signed-in user (whose `user:{id}` topic the dashboard follows).
    pub user: u64,
    /// Where the REST API is; empty (the default) for the page's own origin.
    #[prop_or_default]
    pub api_base: AttrValue,
    /// The app.
    pub children: Html,
}

/// Provides [`AgentsContext`]; the token comes from the enclosing `WsProvider`.
///
/// ```
/// use tether_client::agents::hooks::AgentsProvider;
/// use tether_client::hooks::WsProvider;
/// use yew::prelude::*;
///
/// #[component]
/// fn App() -> Html {
///     html! {
///         <WsProvider url="/api/ws/v2" token={Some(AttrValue::from("dev-token"))}>
///             <AgentsProvider user={1}>
///                 <p>{ "use_dashboard() and use_chat(id) work here" }</p>
///             </AgentsProvider>
///         </WsProvider>
///     }
/// }
/// ```
#[component]
pub fn AgentsProvider(props: &AgentsProviderProps) -> Html {
    let ws = use_ws();
    let context = AgentsContext {
        api: Api::new(
            props.api_base.to_string(),
            ws.token.as_ref().map(ToString::to_string),
        ),
        user: props.user,
    };
    html! {
        <ContextProvider<AgentsContext> {context}>
            { props.children.clone() }
        </ContextProvider<AgentsContext>>
    }
}

/// The context from the nearest [`AgentsProvider`]. Panics outside one: a wiring bug.
#[hook]
pub fn use_agents() -> AgentsContext {
    use_context::<AgentsContext>().expect("use_agents must be called below an AgentsProvider")
}

/// What [`use_dashboard`] returns.
#[derive(Clone, PartialEq)]
pub struct UseDashboard {
    /// The agents.
    pub model: Rc<DashboardModel>,
    /// True until the REST list is in (or while it reloads after a resync).
    pub loading: bool,
    /// The last REST error, if any.
    pub error: Option<String>,
    /// Creates an agent with this name.
    pub create: Callback<String>,
    /// Deletes an agent.
    pub delete: Callback<u64>,
    /// Starts a run.
    pub run: Callback<u64>,
}

/// The live dashboard of the signed-in user.
///
/// ```
/// use tether_client::agents::hooks::use_dashboard;
/// use yew::prelude::*;
///
/// #[component]
/// fn Agents() -> Html {
///     let dashboard = use_dashboard();
///     html! {
///         <ul>{ for dashboard.model.agents().map(|row| html! {
///             <li>{ row.agent.display_name() }</li>
///         }) }</ul>
///     }
/// }
/// ```
#[hook]
pub fn use_dashboard() -> UseDashboard {
    let ws = use_ws();
    let agents = use_agents();
    let update = use_force_update();
    let error = use_state_eq(|| None::<String>);
    let slot = use_owned::<Rc<DashboardWsManager>>();
    let loading = use_owned::<AbortOnDrop>();
    {
        let (topics, api, slot, loading, error) = (
            ws.app.topics.clone(),
            agents.api.clone(),
            slot.clone(),
            loading.clone(),
            error.clone(),
        );
        use_effect_with(agents.user, move |user| {
            let me: Rc<RefCell<Weak<DashboardWsManager>>> = Rc::default();
            let load = rest_loader(
                api,
                loading.clone(),
                error,
                me.clone(),
                |api: Api| async move { api.agents().await },
                |manager: &DashboardWsManager, ticket, list: super::rest::AgentList| {
                    manager.load_agents(ticket, list.agents, list.seq)
                },
            );
            let manager = Rc::new(DashboardWsManager::mount(
                &topics,
                *user,
                move || update.force_update(),
                load,
            ));
            *me.borrow_mut() = Rc::downgrade(&manager);
            slot.set(|| manager);
            move || {
                loading.clear();
                slot.clear();
            }
        });
    }
    let on_created = slot.clone();
    UseDashboard {
        model: slot.with(|m| m.model()).unwrap_or_default(),
        loading: slot
            .with(|m| m.load_state() != LoadState::Live)
            .unwrap_or(true),
        error: (*error).clone(),
        create: rest_action(&agents.api, &error, move |api: Api, name: String| {
            let slot = on_created.clone();
            async move {
                let agent = api.create_agent(&name).await?;
                slot.with(|m| m.add_agent(agent));
                Ok(())
            }
        }),
        delete: rest_action(&agents.api, &error, |api: Api, id: u64| async move {
            api.delete_agent(id).await
        }),
        run: rest_action(&agents.api, &error, |api: Api, id: u64| async move {
            api.run_agent(id).await
        }),
    }
}

/// The load function a view's gate calls: `fetch` runs on an abortable copy of `api` (a newer
/// load replaces, and so aborts, an older one), and its answer goes to the manager `target`
/// points at, if it is still mounted. An error other than the abort is reported.
fn rest_loader<M: 'static, T: 'static, Fut>(
    api: Api,
    loading: Owned<AbortOnDrop>,
    error: UseStateHandle<Option<String>>,
    target: Rc<RefCell<Weak<M>>>,
    fetch: impl Fn(Api) -> Fut + 'static,
    apply: impl Fn(&M, LoadTicket, T) + 'static,
) -> impl Fn(LoadTicket) + 'static
where
    Fut: std::future::Future<Output = Result<T, ApiError>> + 'static,
{
    let apply = Rc::new(apply);
    move |ticket: LoadTicket| {
        let (api, abort) = api.abortable();
        let (target, error, apply) = (target.clone(), error.clone(), apply.clone());
        let fut = fetch(api);
        spawn_local(async move {
            let result = fut.await;
            let Some(manager) = target.borrow().upgrade() else {
                return;
            };
            match result {
                Ok(answer) => {
                    apply(&manager, ticket, answer);
                    error.set(None);
                }
                Err(ApiError::Aborted) => {}
                Err(e) => error.set(Some(e.to_string())),
            }
        });
        loading.set(|| abort);
    }
}

/// A callback running a REST call and reporting its error, if any.
fn rest_action<A: 'static, Fut>(
    api: &Api,
    error: &UseStateHandle<Option<String>>,
    call: impl Fn(Api, A) -> Fut + 'static,
) -> Callback<A>
where
    Fut: std::future::Future<Output = Result<(), ApiError>> + 'static,
{
    let (api, error) = (api.clone(), error.clone());
    Callback::from(move |arg| {
        let (fut, error) = (call(api.clone(), arg), error.clone());
        spawn_local(async move {
            if let Err(e) = fut.await {
                error.set(Some(e.to_string()));
            }
        });
    })
}

/// What [`use_chat`] returns.
#[derive(Clone, PartialEq)]
pub struct UseChat {
    /// The conversation.
    pub model: Rc<ChatModel>,
    /// True until the history is in (or while it reloads after a resync).
    pub loading: bool,
    /// The last REST error, if any.
    pub error: Option<String>,
    /// Sends a message (shown at once as pending).
    pub send: Callback<String>,
    /// Sends a failed message again, by its local id.
    pub retry: Callback<u64>,
}

/// The live conversation of `thread_id`. Changing it swaps the manager: the new thread's
/// history loads once its subscription is active, so nothing is lost or shown twice. Messages
/// go over the socket to a server with tether's extensions, and over REST (post, then run the
/// thread) to the origin ([`posting`](super::posting)).
///
/// ```
/// use tether_client::agents::hooks::use_chat;
/// use yew::prelude::*;
///
/// #[component]
/// fn Thread() -> Html {
///     let chat = use_chat(10);
///     html! {
///         <ol>{ for chat.model.entries().iter().map(|e| html! { <li>{ &e.content }</li> }) }</ol>
///     }
/// }
/// ```
#[hook]
pub fn use_chat(thread_id: u64) -> UseChat {
    let ws = use_ws();
    let agents = use_agents();
    let update = use_force_update();
    let error = use_state_eq(|| None::<String>);
    let slot = use_owned::<Rc<ChatViewWsManager>>();
    let loading = use_owned::<AbortOnDrop>();
    {
        let (app, api, slot, loading, error) = (
            ws.app.clone(),
            agents.api.clone(),
            slot.clone(),
            loading.clone(),
            error.clone(),
        );
        use_effect_with(thread_id, move |id| {
            let topics = app.topics.clone();
            let me: Rc<RefCell<Weak<ChatViewWsManager>>> = Rc::default();
            let thread = *id;
            let (poster, run_error) = (api.clone(), error.clone());
            let load = rest_loader(
                api,
                loading.clone(),
                error,
                me.clone(),
                move |api: Api| async move { api.history(thread).await },
                |manager: &ChatViewWsManager, ticket, h: super::rest::History| {
                    manager.load_history(ticket, h.messages, h.seq)
                },
            );
            let manager = Rc::new(ChatViewWsManager::mount(
                &topics,
                thread,
                move || update.force_update(),
                load,
            ));
            manager.post_without_extensions(&app, move |thread, content| {
                let (api, error) = (poster.clone(), run_error.clone());
                Box::pin(async move {
                    let (posted, ran) = api.post_and_run(thread, &content).await;
                    if let (Ok(_), Err(e)) = (&posted, ran) {
                        error.set(Some(format!("the agent was not asked to answer: {e}")));
                    }
                    posted.map_err(|e| e.to_string())
                })
            });
            *me.borrow_mut() = Rc::downgrade(&manager);
            slot.set(|| manager);
            move || {
                loading.clear();
                slot.clear();
            }
        });
    }
    let (sender, retrier) = (slot.clone(), slot.clone());
    UseChat {
        model: slot.with(|m| m.model()).unwrap_or_default(),
        loading: slot
            .with(|m| m.load_state() != LoadState::Live)
            .unwrap_or(true),
        error: (*error).clone(),
        send: Callback::from(move |content: String| {
            if let Some(m) = sender.with(Rc::clone) {
                spawn_local(async move { m.send(content).await });
            }
        }),
        retry: Callback::from(move |local: u64| {
            if let Some(m) = retrier.with(Rc::clone) {
                spawn_local(async move { m.retry(local).await });
            }
        }),
    }
}
