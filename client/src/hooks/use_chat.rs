//! `use_chat`: one thread's conversation, loaded over REST and kept live by a
//! [`ChatViewWsManager`]. Changing `thread_id` swaps the manager: the new thread's events are
//! buffered until its history arrives, so nothing is lost or shown twice.

use std::rc::Rc;

use yew::platform::spawn_local;
use yew::prelude::*;

use super::owned::use_owned;
use super::use_ws;
use crate::rest::{AbortOnDrop, Api, ApiError};
use crate::views::{ChatModel, ChatViewWsManager};

/// What [`use_chat`] returns.
#[derive(Clone, PartialEq)]
pub struct UseChat {
    /// The conversation.
    pub model: ChatModel,
    /// The last REST error, if any.
    pub error: Option<String>,
    /// Sends a message (optimistically shown as pending).
    pub send: Callback<String>,
}

/// Loads the history into the manager, if it is still mounted when the answer comes: the
/// request holds only a weak reference, so an unmounted view's handler is gone at once, and
/// dropping the returned guard aborts the request.
fn load(
    api: &Api,
    manager: Rc<ChatViewWsManager>,
    error: UseStateHandle<Option<String>>,
) -> AbortOnDrop {
    let (api, abort) = api.abortable();
    let thread_id = manager.thread_id();
    let manager = Rc::downgrade(&manager);
    spawn_local(async move {
        let result = api.history(thread_id).await;
        let Some(manager) = manager.upgrade() else {
            return;
        };
        match result {
            Ok(h) => {
                manager.load_history(h.messages, h.seq);
                error.set(None);
            }
            Err(ApiError::Aborted) => {}
            Err(e) => error.set(Some(e.to_string())),
        }
    });
    abort
}

/// The live conversation of `thread_id`.
#[hook]
pub fn use_chat(thread_id: u64) -> UseChat {
    let ws = use_ws();
    let update = use_force_update();
    let error = use_state(|| None::<String>);
    let slot = use_owned::<Rc<ChatViewWsManager>>();
    let loading = use_owned::<AbortOnDrop>();
    {
        let (ws, slot, loading, error) = (ws.clone(), slot.clone(), loading.clone(), error.clone());
        use_effect_with(thread_id, move |id| {
            let manager = Rc::new(ChatViewWsManager::mount(&ws.app.topics, *id, move || {
                update.force_update()
            }));
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
    let send = {
        let slot = slot.clone();
        Callback::from(move |content: String| {
            let manager = slot.with(Rc::clone);
            if let Some(manager) = manager {
                spawn_local(async move { manager.send(content).await });
            }
        })
    };
    UseChat {
        model: manager.map(|m| m.model()).unwrap_or_default(),
        error: (*error).clone(),
        send,
    }
}
