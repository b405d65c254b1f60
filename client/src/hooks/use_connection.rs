//! `use_connection`: the connection state and metrics, re-rendering on every state change and
//! once a second for the counters.

use gloo_timers::callback::Interval;
use yew::prelude::*;

use super::owned::use_owned;
use super::use_ws;
use crate::core::{ConnectionState, Metrics};
use crate::ListenerGuard;

/// What [`use_connection`] returns.
#[derive(Clone, Debug, PartialEq)]
pub struct UseConnection {
    /// The state now.
    pub state: ConnectionState,
    /// The metrics now.
    pub metrics: Metrics,
}

/// The connection's state and metrics.
#[hook]
pub fn use_connection() -> UseConnection {
    let ws = use_ws();
    let update = use_force_update();
    let owned = use_owned::<(ListenerGuard, Interval)>();
    {
        let client = ws.app.client.clone();
        use_effect_with((), move |_| {
            owned.set(|| {
                let on_state = update.clone();
                let guard = client.on_state_change(move |_| on_state.force_update());
                (guard, Interval::new(1_000, move || update.force_update()))
            });
            move || owned.clear()
        });
    }
    UseConnection {
        state: ws.app.client.state(),
        metrics: ws.app.client.metrics(),
    }
}
