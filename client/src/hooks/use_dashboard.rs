//! `use_dashboard`: the user's agents, loaded over REST and kept live by a
//! [`DashboardWsManager`] for as long as the component is mounted.

use std::cell::RefCell;
use std::rc::Rc;

use yew::platform::spawn_local;
use yew::prelude::*;

use super::use_ws;
use crate::rest::{Api, ApiError};
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

type Slot = Rc<RefCell<Option<Rc<DashboardWsManager>>>>;

fn load(api: Api, manager: Rc<DashboardWsManager>, error: UseStateHandle<Option<String>>) {
    spawn_local(async move {
        match api.agents().await {
            Ok(agents) => {
                manager.load(agents);
                error.set(None);
            }
            Err(e) => error.set(Some(e.to_string())),
        }
    });
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
    let slot: Slot = use_mut_ref(|| None);
    {
        let (ws, slot, error) = (ws.clone(), slot.clone(), error.clone());
        use_effect_with(ws.user, move |user| {
            let manager = Rc::new(DashboardWsManager::mount(
                &ws.app.topics,
                *user,
                move || update.force_update(),
            ));
            *slot.borrow_mut() = Some(manager.clone());
            load(ws.api.clone(), manager, error);
            move || {
                slot.borrow_mut().take();
            }
        });
    }
    let manager = slot.borrow().clone();
    if let Some(m) = manager.as_ref().filter(|m| m.take_stale()) {
        load(ws.api.clone(), m.clone(), error.clone());
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
