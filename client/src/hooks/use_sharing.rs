//! `use_sharing`: with one socket shared by the browser's tabs
//! ([`Config::share_across_tabs`](crate::core::Config::share_across_tabs)), this tab's role, the
//! shared connection's state and how many tabs share it.

use gloo_timers::callback::Interval;
use yew::prelude::*;

use super::owned::use_owned;
use super::use_ws;
use crate::adapter::every;
use crate::tabs::Sharing;

/// This tab's part in the shared connection, read every `period_ms`; re-renders only when it
/// changed. `None` when this tab has its own socket (sharing off, or a browser without Web
/// Locks or `BroadcastChannel`).
///
/// ```
/// use tether_client::hooks::use_sharing;
/// use tether_client::tabs::Role;
/// use yew::prelude::*;
///
/// #[component]
/// fn TabRole() -> Html {
///     match use_sharing(500) {
///         Some(s) if s.role == Role::Leader => html! { <span>{ format!("this tab leads; {} tab(s) share the socket", s.tabs) }</span> },
///         Some(s) => html! { <span>{ format!("another tab leads; {} tab(s) share the socket", s.tabs) }</span> },
///         None => html! { <span>{ "own socket" }</span> },
///     }
/// }
/// ```
#[hook]
pub fn use_sharing(period_ms: u32) -> Option<Sharing> {
    let ws = use_ws();
    let sharing = use_state_eq(|| ws.app.sharing());
    let owned = use_owned::<Interval>();
    {
        let (app, setter) = (ws.app.clone(), sharing.setter());
        use_effect_with(period_ms, move |period| {
            setter.set(app.sharing());
            owned.set(|| every(*period, move || setter.set(app.sharing())));
            move || owned.clear()
        });
    }
    *sharing
}
