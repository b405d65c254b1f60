//! [`Held`]: the tabs' topics held on the real client, one guard per (tab, socket, topic).
//! Kept by topic in a [`TopicMap`], each topic with the few tabs holding it in a vector: the
//! B-tree this replaces cost the size of its code in every app that shares tabs.

use crate::core::topic_map::TopicMap;
use crate::protocol::Topic;
use crate::tabs::wire::TabId;
use crate::Subscription;

/// Each tab's guards on the real client's topics.
#[derive(Default)]
pub(super) struct Held(TopicMap<Vec<(TabId, u64, Subscription)>>);

impl Held {
    /// Keeps `guard` for `tab`'s `socket` on `topic`, returning the guard it replaces.
    pub(super) fn insert(
        &mut self,
        tab: TabId,
        socket: u64,
        topic: &Topic,
        guard: Subscription,
    ) -> Option<Subscription> {
        let holders = self.0.get_or_insert_with(topic, Vec::new);
        match holders
            .iter_mut()
            .find(|(t, s, _)| (*t, *s) == (tab, socket))
        {
            Some((_, _, held)) => Some(std::mem::replace(held, guard)),
            None => {
                holders.push((tab, socket, guard));
                None
            }
        }
    }

    /// Takes the guard of `tab`'s `socket` on `topic`, if it holds one.
    pub(super) fn remove(&mut self, tab: TabId, socket: u64, topic: &str) -> Option<Subscription> {
        let holders = self.0.get_mut(topic)?;
        let i = holders
            .iter()
            .position(|(t, s, _)| (*t, *s) == (tab, socket))?;
        let (_, _, guard) = holders.swap_remove(i);
        if holders.is_empty() {
            self.0.remove(topic);
        }
        Some(guard)
    }
}
