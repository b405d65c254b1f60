//! The single-client run's views: mounted, draining (told to unmount, catching up with what
//! was published before), and done.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use tether_client::core::Rng;
use tether_client::AppState;

use super::views::{End, EventView, HistoryView};
use super::{pick, DRAIN};
use crate::stub::Stub;

/// The views of the run: mounted, draining (told to unmount, catching up), and done.
#[derive(Default)]
pub(super) struct Live {
    pub(super) event: Vec<EventView>,
    pub(super) history: Vec<HistoryView>,
    pub(super) draining_event: Vec<(EventView, Instant)>,
    pub(super) draining_history: Vec<(HistoryView, Instant)>,
    pub(super) done_event: Vec<EventView>,
    pub(super) done_history: Vec<HistoryView>,
    /// What every event view plays, if anything.
    pub(super) sabotage: Option<super::views::Sabotage>,
}

impl Live {
    /// Maybe mounts a view, maybe tells one to unmount.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn churn(
        &mut self,
        rng: &mut Rng,
        app: &AppState,
        stub: &Stub,
        token: &Rc<RefCell<String>>,
        agent_topics: &[String],
        thread_topics: &[String],
        threads: &[u64],
        epoch: &Rc<Cell<u64>>,
    ) {
        match rng.up_to(11) {
            0..=2 => {
                let t = pick(rng, agent_topics.len());
                let at = stub.published(&agent_topics[t]).await.len();
                self.event
                    .push(EventView::mount(app, t, &agent_topics[t], epoch, at, self.sabotage));
            }
            3 => {
                let h = pick(rng, threads.len());
                self.history.push(HistoryView::mount(
                    app,
                    stub,
                    &token.borrow(),
                    h,
                    threads[h],
                ));
            }
            4..=5 if !self.event.is_empty() => {
                let mut v = self.event.swap_remove(pick(rng, self.event.len()));
                v.end = Some(End {
                    at: stub.published(&agent_topics[v.topic]).await.len(),
                });
                self.draining_event.push((v, Instant::now()));
            }
            6 if !self.history.is_empty() => {
                let mut v = self.history.swap_remove(pick(rng, self.history.len()));
                v.end = Some(End {
                    at: stub.published(&thread_topics[v.thread]).await.len(),
                });
                self.draining_history.push((v, Instant::now()));
            }
            _ => {}
        }
    }

    /// Every view still mounted ends now.
    pub(super) async fn end_all(
        &mut self,
        stub: &Stub,
        agent_topics: &[String],
        thread_topics: &[String],
    ) {
        for mut v in std::mem::take(&mut self.event) {
            v.end = Some(End {
                at: stub.published(&agent_topics[v.topic]).await.len(),
            });
            self.draining_event.push((v, Instant::now()));
        }
        for mut v in std::mem::take(&mut self.history) {
            v.end = Some(End {
                at: stub.published(&thread_topics[v.thread]).await.len(),
            });
            self.draining_history.push((v, Instant::now()));
        }
    }

    /// Unmounts the draining views that caught up with their end, or waited [`DRAIN`]. With
    /// `all`, waits until every one did.
    pub(super) async fn drain(
        &mut self,
        stub: &Stub,
        agent_topics: &[String],
        thread_topics: &[String],
        all: bool,
    ) {
        loop {
            let mut waiting = 0;
            for (mut v, since) in std::mem::take(&mut self.draining_event) {
                let log = stub.published(&agent_topics[v.topic]).await;
                if v.caught_up(&log) || since.elapsed() > DRAIN {
                    v.sub.take();
                    self.done_event.push(v);
                } else {
                    waiting += 1;
                    self.draining_event.push((v, since));
                }
            }
            for (mut v, since) in std::mem::take(&mut self.draining_history) {
                let log = stub.published(&thread_topics[v.thread]).await;
                let end = v.end.map_or(log.len(), |e| e.at);
                let last = log[..end]
                    .iter()
                    .rev()
                    .find(|e| e.kind == "thread_message")
                    .and_then(|e| e.id);
                if last.is_none_or(|id| v.ids().contains(&id)) || since.elapsed() > DRAIN {
                    v.unmount();
                    self.done_history.push(v);
                } else {
                    waiting += 1;
                    self.draining_history.push((v, since));
                }
            }
            if !all || waiting == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
