//! [`use_connection`]: the connection state as a signal; [`use_metrics`]: the health
//! snapshot, checked each period. With tabs sharing one socket, both report the shared
//! socket's.

use ::leptos::prelude::*;

use super::mount::while_mounted;
use super::use_tether;
use crate::adapter::every;
use crate::core::{ConnectionState, Metrics};

/// The connection state (`Idle` on the server: it never connects there).
///
/// ```
/// use leptos::prelude::*;
/// use tether_client::leptos::use_connection;
///
/// #[component]
/// fn Badge() -> impl IntoView {
///     let state = use_connection();
///     view! { <span>{move || state.get().name()}</span> }
/// }
/// ```
pub fn use_connection() -> Signal<ConnectionState> {
    let app = use_tether();
    let (state, set_state) = signal(app.state());
    while_mounted(
        || (),
        move |()| {
            let _ = set_state.try_set(app.state());
            app.on_state_change(move |s| {
                let _ = set_state.try_set(*s);
            })
        },
    );
    state.into()
}

/// Options of [`use_metrics_with_options`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UseMetricsOptions {
    /// How often the snapshot is read, in milliseconds (default 1000).
    pub period_ms: u32,
}

impl Default for UseMetricsOptions {
    fn default() -> Self {
        UseMetricsOptions { period_ms: 1_000 }
    }
}

/// The health snapshot, read every second; the signal changes only when the snapshot did.
///
/// ```
/// use leptos::prelude::*;
/// use tether_client::leptos::use_metrics;
///
/// #[component]
/// fn Health() -> impl IntoView {
///     let m = use_metrics();
///     move || m.with(|m| format!("{} frames in", m.counters.frames_in))
/// }
/// ```
pub fn use_metrics() -> Signal<Metrics> {
    use_metrics_with_options(UseMetricsOptions::default())
}

/// [`use_metrics`], read every `options.period_ms`.
pub fn use_metrics_with_options(options: UseMetricsOptions) -> Signal<Metrics> {
    let app = use_tether();
    let (metrics, set_metrics) = signal(app.metrics());
    while_mounted(
        || (),
        move |()| {
            let app = app.clone();
            every(options.period_ms, move || {
                let new = app.metrics();
                if metrics.try_with_untracked(|m| *m != new) == Some(true) {
                    let _ = set_metrics.try_set(new);
                }
            })
        },
    );
    metrics.into()
}
