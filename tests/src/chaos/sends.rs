//! Chat messages sent while the socket is down, and their check against the stored history.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use tether_client::core::Rng;

use super::live::Live;
use super::pick;
use super::report::Sends;
use super::views::HistoryView;
use crate::stub::Stub;

/// A chat message sent while the socket was down, and when it settled.
pub(super) struct OfflineSend {
    pub(super) thread: u64,
    pub(super) content: String,
    pub(super) done: Rc<Cell<bool>>,
    pub(super) outcome: Rc<RefCell<Option<tether_client::agents::Delivery>>>,
}

/// Sends a chat message on a mounted history view while the socket is down.
pub(super) fn send_offline(rng: &mut Rng, live: &Live, sends: &Rc<RefCell<Vec<OfflineSend>>>) {
    let candidates: Vec<&HistoryView> = live
        .history
        .iter()
        .filter(|v| v.manager.is_some())
        .collect();
    if candidates.is_empty() {
        return;
    }
    let view = candidates[pick(rng, candidates.len())];
    let Some(manager) = view.manager.clone() else {
        return;
    };
    let content = format!("offline {}", sends.borrow().len() + 1);
    let (done, outcome) = (Rc::new(Cell::new(false)), Rc::new(RefCell::new(None)));
    sends.borrow_mut().push(OfflineSend {
        thread: manager.thread_id(),
        content: content.clone(),
        done: done.clone(),
        outcome: outcome.clone(),
    });
    tokio::task::spawn_local(async move {
        manager.send(content.clone()).await;
        let delivery = manager
            .model()
            .entries()
            .iter()
            .find(|e| e.content == content)
            .map(|e| e.delivery.clone());
        *outcome.borrow_mut() = delivery;
        done.set(true);
    });
}

/// Counts each offline send in its thread's stored history: never twice; once if confirmed;
/// never if it says it was not sent.
pub(super) async fn verify_sends(
    stub: &Stub,
    token: &str,
    threads: &[u64],
    sends: &[OfflineSend],
) -> Sends {
    use tether_client::agents::Delivery;
    let mut out = Sends::default();
    let mut stored = std::collections::BTreeMap::new();
    for &thread in threads {
        if let Some(h) = stub.history(token, thread).await {
            stored.insert(thread, h.messages);
        }
    }
    for send in sends {
        let copies = stored.get(&send.thread).map_or(0, |m| {
            m.iter().filter(|m| m.content == send.content).count()
        });
        out.queued += 1;
        out.duplicated += u64::from(copies > 1);
        match send.outcome.borrow().as_ref() {
            Some(Delivery::Confirmed) => {
                out.delivered += 1;
                out.wrong += u64::from(copies != 1);
            }
            Some(Delivery::Failed(why)) if why.starts_with("not sent") => {
                out.expired += 1;
                out.wrong += u64::from(copies != 0);
            }
            Some(Delivery::Failed(_)) => out.uncertain += 1,
            _ => out.unsettled += 1,
        }
    }
    out
}
