//! The single-client run's views: mounted, draining (told to unmount, catching up with what
//! was published before), and done. Every mount and every end is placed in the stub's logs
//! ([`Point`]) just before it happens.

use std::time::{Duration, Instant};

use tether_client::core::Rng;

use super::views::{EventView, HistoryView};
use super::{pick, Scene, DRAIN};
use crate::stub::Point;

/// The views of the run: mounted, draining (told to unmount, catching up), and done.
#[derive(Default)]
pub(super) struct Live {
    pub(super) event: Vec<EventView>,
    pub(super) history: Vec<HistoryView>,
    pub(super) draining_event: Vec<(EventView, Instant)>,
    pub(super) draining_history: Vec<(HistoryView, Instant)>,
    pub(super) done_event: Vec<EventView>,
    pub(super) done_history: Vec<HistoryView>,
}

impl Live {
    /// Mounts an event view on agent topic `t`.
    pub(super) async fn mount_event(&mut self, scene: &Scene, t: usize) {
        let at = scene.stub.now().await;
        let name = &scene.agent_topics[t];
        let view = EventView::mount(&scene.app, t, name, at, scene.sabotage);
        self.event.push(view);
    }

    /// Mounts a history view on thread `h`.
    pub(super) fn mount_history(&mut self, scene: &Scene, h: usize) {
        let token = scene.token.borrow().clone();
        let view = HistoryView::mount(&scene.app, &scene.stub, &token, h, scene.threads[h]);
        self.history.push(view);
    }

    /// Maybe mounts a view, maybe tells one to unmount.
    pub(super) async fn churn(&mut self, rng: &mut Rng, scene: &Scene) {
        match rng.up_to(11) {
            0..=2 => {
                let t = pick(rng, scene.agent_topics.len());
                self.mount_event(scene, t).await;
            }
            3 => {
                let h = pick(rng, scene.threads.len());
                self.mount_history(scene, h);
            }
            4..=5 if !self.event.is_empty() => {
                let mut v = self.event.swap_remove(pick(rng, self.event.len()));
                v.end = Some(scene.stub.now().await);
                self.draining_event.push((v, Instant::now()));
            }
            6 if !self.history.is_empty() => {
                let mut v = self.history.swap_remove(pick(rng, self.history.len()));
                v.end = Some(scene.stub.now().await);
                self.draining_history.push((v, Instant::now()));
            }
            _ => {}
        }
    }

    /// Every view still mounted ends now.
    pub(super) async fn end_all(&mut self, scene: &Scene) {
        let now = scene.stub.now().await;
        for mut v in std::mem::take(&mut self.event) {
            v.end = Some(now);
            self.draining_event.push((v, Instant::now()));
        }
        for mut v in std::mem::take(&mut self.history) {
            v.end = Some(now);
            self.draining_history.push((v, Instant::now()));
        }
    }

    /// Unmounts the draining views that caught up with their end, or waited [`DRAIN`] (what
    /// they then miss is counted). With `all`, waits until every one did.
    pub(super) async fn drain(&mut self, scene: &Scene, all: bool) {
        loop {
            let mut waiting = 0;
            for (mut v, since) in std::mem::take(&mut self.draining_event) {
                let log = scene.stub.published(&scene.agent_topics[v.topic]).await;
                if v.caught_up(&log) || since.elapsed() > DRAIN {
                    v.sub.take();
                    self.done_event.push(v);
                } else {
                    waiting += 1;
                    self.draining_event.push((v, since));
                }
            }
            for (mut v, since) in std::mem::take(&mut self.draining_history) {
                let log = scene.stub.published(&scene.thread_topics[v.thread]).await;
                let end = Point::end_in(v.end, &log);
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
