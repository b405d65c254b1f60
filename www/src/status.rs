//! The app's one view of the connection. [`StatusProvider`] follows the client's state and
//! keeps the derived [`Status`]; the badge and the banners read it with [`use_status`], so
//! they always show the same state, try and countdown, rendered in the same pass. While the
//! data is not live it re-renders once a second (the countdown, "until 12 s ago").

use gloo_timers::callback::Interval;
use tether_client::hooks::use_connection;
use tether_client::{ConnectionState, Instant};
use yew::prelude::*;

use crate::status_text::Status;

/// The status and the moment it is shown at.
#[derive(Clone, Copy, PartialEq)]
pub struct StatusNow {
    /// The connection as the app shows it.
    pub status: Status,
    /// Now, for the countdown and the age of the data.
    pub now: Instant,
}

/// Props of [`StatusProvider`].
#[derive(Properties, PartialEq)]
pub struct StatusProviderProps {
    /// The app.
    pub children: Html,
}

/// Provides [`StatusNow`] below a `WsProvider`.
#[component]
pub fn StatusProvider(props: &StatusProviderProps) -> Html {
    let state = use_connection();
    let memory = use_mut_ref(|| Status::new(state));
    let now = Instant(js_sys::Date::now() as u64);
    let status = {
        let mut memory = memory.borrow_mut();
        if memory.state != state {
            *memory = memory.next(state, now);
        }
        *memory
    };
    use_ticking(status.state != ConnectionState::Open);
    html! {
        <ContextProvider<StatusNow> context={StatusNow { status, now }}>
            { props.children.clone() }
        </ContextProvider<StatusNow>>
    }
}

/// The status from the nearest [`StatusProvider`]. Panics outside one: a wiring bug.
#[hook]
pub fn use_status() -> StatusNow {
    use_context::<StatusNow>().expect("use_status must be called below a StatusProvider")
}

/// Re-renders once a second while `ticking`, and not otherwise.
#[hook]
fn use_ticking(ticking: bool) {
    let update = use_force_update();
    let interval = use_mut_ref(|| None::<Interval>);
    use_effect_with(ticking, move |ticking| {
        *interval.borrow_mut() =
            ticking.then(|| Interval::new(1_000, move || update.force_update()));
        move || drop(interval.borrow_mut().take())
    });
}
