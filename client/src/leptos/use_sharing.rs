//! [`use_sharing`]: with one socket shared by the browser's tabs
//! ([`Config::share_across_tabs`](crate::core::Config::share_across_tabs)), this tab's role,
//! the shared connection's state and how many tabs share it, checked each period.

use ::leptos::prelude::*;

use super::mount::while_mounted;
use super::use_tether;
use crate::adapter::every;
use crate::tabs::Sharing;

/// Options of [`use_sharing_with_options`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UseSharingOptions {
    /// How often it is read, in milliseconds (default 500).
    pub period_ms: u32,
}

impl Default for UseSharingOptions {
    fn default() -> Self {
        UseSharingOptions { period_ms: 500 }
    }
}

/// This tab's part in the shared connection, read every 500 ms: `None` when this tab has its
/// own socket (sharing off, a browser without Web Locks or `BroadcastChannel`, the server).
///
/// ```
/// use leptos::prelude::*;
/// use tether_client::leptos::use_sharing;
/// use tether_client::tabs::Role;
///
/// #[component]
/// fn TabRole() -> impl IntoView {
///     let sharing = use_sharing();
///     move || match sharing.get() {
///         Some(s) if s.role == Role::Leader => format!("this tab leads {} tab(s)", s.tabs),
///         Some(s) => format!("another tab leads; {} tab(s) share the socket", s.tabs),
///         None => "own socket".to_owned(),
///     }
/// }
/// ```
pub fn use_sharing() -> Signal<Option<Sharing>> {
    use_sharing_with_options(UseSharingOptions::default())
}

/// [`use_sharing`], read every `options.period_ms`.
pub fn use_sharing_with_options(options: UseSharingOptions) -> Signal<Option<Sharing>> {
    let app = use_tether();
    let (sharing, set_sharing) = signal(app.sharing());
    while_mounted(
        || (),
        move |()| {
            let app = app.clone();
            let _ = set_sharing.try_set(app.sharing());
            every(options.period_ms, move || {
                let new = app.sharing();
                if sharing.try_with_untracked(|s| *s != new) == Some(true) {
                    let _ = set_sharing.try_set(new);
                }
            })
        },
    );
    sharing.into()
}
