//! What a hook registers while its view is mounted: a subscription, a listener, a timer. It
//! is registered in an effect (so in the browser only, after the view mounts), registered
//! again when the signals it reads change, and dropped when the view is cleaned up.

use ::leptos::prelude::*;
use send_wrapper::SendWrapper;

/// Runs `register(source())` when the view mounts and again whenever a signal `source` reads
/// changes (only `source` is tracked), keeping what it returns until the next run or the
/// view's clean-up, which drop it. Never runs on the server.
pub(crate) fn while_mounted<I, G>(
    source: impl Fn() -> I + 'static,
    register: impl Fn(I) -> G + 'static,
) where
    I: 'static,
    G: 'static,
{
    // The guard is not `Send`; the wrapper lets it sit in the owner's storage. It is only
    // ever set in the browser's one thread; on the server the slot stays empty.
    let slot = StoredValue::new(None::<SendWrapper<G>>);
    Effect::new(move |_| {
        let input = source();
        let guard = untrack(|| register(input));
        let old = slot.try_update_value(|s| s.replace(SendWrapper::new(guard)));
        drop(old); // after the update: dropping may call back into the client
    });
    on_cleanup(move || {
        let old = slot.try_update_value(Option::take);
        drop(old);
    });
}
