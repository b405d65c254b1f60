//! `use_connection`: the connection state, re-rendering only when it changes; and
//! `use_metrics`: the health snapshot, checked each period and re-rendering only when it
//! changed. With tabs sharing one socket, both report the shared socket's state.

use gloo_timers::callback::Interval;
use yew::prelude::*;

use super::owned::use_owned;
use super::use_ws;
use crate::adapter::every;
use crate::core::{ConnectionState, Metrics};
use crate::ListenerGuard;

/// The connection state; re-renders when it changes, and only then.
///
/// ```
/// use tether_client::hooks::use_connection;
/// use yew::prelude::*;
///
/// #[component]
/// fn Badge() -> Html {
///     let state = use_connection();
///     html! { <span>{ state.name() }</span> }
/// }
/// ```
#[hook]
pub fn use_connection() -> ConnectionState {
    let ws = use_ws();
    let state = use_state_eq(|| ws.app.state());
    let owned = use_owned::<ListenerGuard>();
    {
        let (app, setter) = (ws.app.clone(), state.setter());
        use_effect_with((), move |_| {
            setter.set(app.state());
            owned.set(|| app.on_state_change(move |s| setter.set(*s)));
            move || owned.clear()
        });
    }
    *state
}

/// The health snapshot, read every `period_ms`; re-renders only when it changed (a frame,
/// an RTT sample, a state change, …).
///
/// ```
/// use tether_client::hooks::use_metrics;
/// use yew::prelude::*;
///
/// #[component]
/// fn Health() -> Html {
///     let m = use_metrics(1_000);
///     html! { <p>{ format!("{} frames in, {} reconnects", m.counters.frames_in, m.counters.reconnects) }</p> }
/// }
/// ```
#[hook]
pub fn use_metrics(period_ms: u32) -> Metrics {
    let ws = use_ws();
    let metrics = use_state_eq(|| ws.app.metrics());
    let owned = use_owned::<Interval>();
    {
        let (app, setter) = (ws.app.clone(), metrics.setter());
        use_effect_with(period_ms, move |period| {
            owned.set(|| every(*period, move || setter.set(app.metrics())));
            move || owned.clear()
        });
    }
    (*metrics).clone()
}
