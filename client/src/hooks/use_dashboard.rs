//! `use_dashboard`: the user's agents, loaded over REST and kept live by a
//! [`DashboardWsManager`] for as long as the component is mounted.

use std::rc::Rc;

use yew::platform::spawn_local;
use yew::prelude::*;

use super::owned::use_owned;
use super::use_ws;
use crate::rest::{AbortOnDrop, Api, ApiError};
use crate::views::{DashboardModel, DashboardWsManager};

/// What [`use_dashboard`] returns.
#[derive(Clone, PartialEq)]
pub struct UseDashboard {
    /// The agents.
    pub model: DashboardModel,
    /// The last REST error, if any.
    pub error: Option<String>,
    /// Creates an agent with this name.
    pub create: Callback<String>,
    /// Deletes an agent.
    pub delete: Callback<u64>,
    /// Starts a run.
    pub run: Callback<u64>,
}

/// Loads the REST list into the manager, if it is still mounted when the answer comes: the
/// request holds only a weak reference, so an unmounted view's handlers are gone at once, and
/// dropping the returned guard aborts the request.
fn load(
    api: &Api,
    manager: Rc<DashboardWsManager>,
    error: UseStateHandle<Option<String>>,
) -> AbortOnDrop {
    let (api, abort) = api.abortable();
    let manager = Rc::downgrade(&manager);
    spawn_local(async move {
        let result = api.agents().await;
        let Some(manager) = manager.upgrade() else {
            return;
        };
        match result {
            Ok(agents) => {
                manager.load(agents);
                error.set(None);
            }
            Err(ApiError::Aborted) => {}
            Err(e) => error.set(Some(e.to_string())),
        }
    });
    abort
}

/// A callback running a REST call and reporting its error, if any.
fn action<A: 'static, Fut>(
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

/// The live dashboard of the signed-in user.
#[hook]
pub fn use_dashboard() -> UseDashboard {
    let ws = use_ws();
    let update = use_force_update();
    let error = use_state(|| None::<String>);
    let slot = use_owned::<Rc<DashboardWsManager>>();
    let loading = use_owned::<AbortOnDrop>();
    {
        let (ws, slot, loading, error) = (ws.clone(), slot.clone(), loading.clone(), error.clone());
        use_effect_with(ws.user, move |user| {
            let manager = Rc::new(DashboardWsManager::mount(
                &ws.app.topics,
                *user,
                move || update.force_update(),
            ));
            slot.set(|| manager.clone());
            let pending = load(&ws.api, manager, error);
            loading.set(|| pending);
            move || {
                loading.clear();
                slot.clear();
            }
        });
    }
    let manager = slot.with(Rc::clone);
    if let Some(m) = manager.as_ref().filter(|m| m.take_stale()) {
        let pending = load(&ws.api, m.clone(), error.clone());
        loading.set(|| pending); // replaces, and so aborts, an older load
    }
    UseDashboard {
        model: manager.map(|m| m.model()).unwrap_or_default(),
        error: (*error).clone(),
        create: action(&ws.api, &error, |api: Api, name: String| async move {
            api.create_agent(&name).await.map(drop)
        }),
        delete: action(&ws.api, &error, |api: Api, id: u64| async move {
            api.delete_agent(id).await
        }),
        run: action(&ws.api, &error, |api: Api, id: u64| async move {
            api.run_agent(id).await
        }),
    }
}
