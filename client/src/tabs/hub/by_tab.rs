//! [`ByTab`]: values by tab, in a vector. A leader serves a handful of tabs, so a linear
//! search does what a B-tree did, in a fraction of the code.

use crate::core::vec_edit::remove_at;
use crate::tabs::wire::TabId;

/// Values by tab, in the order the tabs came.
pub(super) struct ByTab<V>(Vec<(TabId, V)>);

impl<V> Default for ByTab<V> {
    fn default() -> Self {
        ByTab(Vec::new())
    }
}

impl<V> ByTab<V> {
    fn position(&self, tab: TabId) -> Option<usize> {
        self.0.iter().position(|(t, _)| *t == tab)
    }

    pub(super) fn get(&self, tab: TabId) -> Option<&V> {
        self.0.iter().find(|(t, _)| *t == tab).map(|(_, v)| v)
    }

    pub(super) fn get_mut(&mut self, tab: TabId) -> Option<&mut V> {
        self.0.iter_mut().find(|(t, _)| *t == tab).map(|(_, v)| v)
    }

    /// The first tab whose value passes `test`.
    pub(super) fn first(&self, test: impl Fn(&V) -> bool) -> Option<TabId> {
        self.0.iter().find(|(_, v)| test(v)).map(|(t, _)| *t)
    }

    /// Adds `tab`, which has no value yet.
    pub(super) fn push(&mut self, tab: TabId, value: V) {
        self.0.push((tab, value));
    }

    pub(super) fn remove(&mut self, tab: TabId) -> Option<V> {
        let i = self.position(tab)?;
        remove_at(&mut self.0, i).map(|(_, v)| v)
    }

    pub(super) fn values(&self) -> impl Iterator<Item = &V> {
        self.0.iter().map(|(_, v)| v)
    }
}
