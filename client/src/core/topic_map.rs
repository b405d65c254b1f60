//! [`TopicMap`]: values by topic, in a vector sorted by name. An app holds few topics (a
//! connection at most 2,048), so a binary search over one vector does what a B-tree did, in a
//! fraction of the code; and lookups take a `&str`, so a name read from a frame finds its
//! topic without building one. Each entry keeps its name's first eight bytes as a number, in
//! the names' order, so the search compares numbers and reads names only when their first
//! eight bytes are the same (on wasm32, comparing strings is a call that compares byte by
//! byte).

use super::vec_edit::{insert_at, remove_at};
use crate::protocol::Topic;

/// Values by topic, in topic order.
#[derive(Debug)]
pub(crate) struct TopicMap<V> {
    /// Each topic's [`prefix`], the topic and its value, sorted by name.
    entries: Vec<(u64, Topic, V)>,
}

impl<V> Default for TopicMap<V> {
    fn default() -> Self {
        TopicMap {
            entries: Vec::new(),
        }
    }
}

impl<V> TopicMap<V> {
    fn find(&self, name: &str) -> Result<usize, usize> {
        let (key, name) = (prefix(name), name.as_bytes());
        self.entries
            .binary_search_by(|(k, t, _)| k.cmp(&key).then_with(|| past_prefix(t, name)))
    }

    /// The value of the topic `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&V> {
        self.get_key_value(name).map(|(_, v)| v)
    }

    /// The topic `name` as held here, and its value.
    pub(crate) fn get_key_value(&self, name: &str) -> Option<(&Topic, &V)> {
        let i = self.find(name).ok()?;
        self.at(i)
    }

    /// Where the topic `name` is: for [`TopicMap::at`] and [`TopicMap::at_mut`], valid until
    /// a topic is added or removed.
    pub(crate) fn index(&self, name: &str) -> Option<usize> {
        self.find(name).ok()
    }

    /// The topic and value at `index`.
    pub(crate) fn at(&self, index: usize) -> Option<(&Topic, &V)> {
        self.entries.get(index).map(|(_, t, v)| (t, v))
    }

    /// The value at `index`, to change.
    pub(crate) fn at_mut(&mut self, index: usize) -> Option<&mut V> {
        self.entries.get_mut(index).map(|(_, _, v)| v)
    }

    /// The value of the topic `name`, to change.
    pub(crate) fn get_mut(&mut self, name: &str) -> Option<&mut V> {
        let i = self.find(name).ok()?;
        self.at_mut(i)
    }

    /// The value of `topic`, inserted with `new` if there is none.
    pub(crate) fn get_or_insert_with(&mut self, topic: &Topic, new: impl FnOnce() -> V) -> &mut V {
        let i = match self.find(topic.as_str()) {
            Ok(i) => i,
            Err(i) => {
                self.insert_new(i, topic, new());
                i
            }
        };
        &mut self.entries[i].2
    }

    /// Sets the value of `topic`, returning the one it replaces.
    #[cfg_attr(not(feature = "tabs"), allow(dead_code))]
    pub(crate) fn insert(&mut self, topic: &Topic, value: V) -> Option<V> {
        match self.find(topic.as_str()) {
            Ok(i) => self
                .entries
                .get_mut(i)
                .map(|(_, _, v)| std::mem::replace(v, value)),
            Err(i) => {
                self.insert_new(i, topic, value);
                None
            }
        }
    }

    /// Inserts `topic` with `value` at `index`, where [`TopicMap::find`] said it goes.
    fn insert_new(&mut self, index: usize, topic: &Topic, value: V) {
        let entry = (prefix(topic.as_str()), topic.clone(), value);
        insert_at(&mut self.entries, index, entry);
    }

    /// Removes the topic `name`, returning its value.
    pub(crate) fn remove(&mut self, name: &str) -> Option<V> {
        let i = self.find(name).ok()?;
        remove_at(&mut self.entries, i).map(|(_, _, v)| v)
    }

    /// Keeps the topics for which `keep` returns true.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&Topic, &mut V) -> bool) {
        self.entries.retain_mut(|(_, t, v)| keep(t, v));
    }

    /// Every topic and its value, in topic order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&Topic, &V)> {
        self.entries.iter().map(|(_, t, v)| (t, v))
    }

    /// Every value, in topic order.
    pub(crate) fn values(&self) -> impl Iterator<Item = &V> {
        self.entries.iter().map(|(_, _, v)| v)
    }

    /// Every value, to change.
    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.entries.iter_mut().map(|(_, _, v)| v)
    }

    /// True if no topic has a value.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The order of a topic and a name with the same [`prefix`]: names of eight bytes or fewer
/// differ only in length then (one is the other and zeros), longer ones by their bytes.
fn past_prefix(topic: &Topic, name: &[u8]) -> std::cmp::Ordering {
    let held = topic.as_str().as_bytes();
    if held.len() <= 8 && name.len() <= 8 {
        held.len().cmp(&name.len())
    } else {
        held.cmp(name)
    }
}

/// A name's first eight bytes (zeros past its end) as a big-endian number: two names whose
/// numbers differ are in the same order as the numbers (equal numbers need the names).
fn prefix(name: &str) -> u64 {
    let bytes = name.as_bytes();
    (0..8).fold(0, |key, i| {
        key << 8 | u64::from(bytes.get(i).copied().unwrap_or(0))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The search's order is the names' order (shared prefixes, names that are prefixes
        /// of others, and zero bytes included).
        #[test]
        fn prefixes_keep_the_names_order(
            head in "(agent:|thread:|)[a-c]{0,9}",
            a in "[a-c0-9é\\x00]{0,12}",
            b in "[a-c0-9é\\x00]{0,12}",
        ) {
            let (a, b) = (format!("{head}{a}"), format!("{head}{b}"));
            let (x, y) = (a.as_bytes(), b.as_bytes());
            let held = Topic::new(a.as_str());
            let order = prefix(&a).cmp(&prefix(&b)).then_with(|| past_prefix(&held, y));
            prop_assert_eq!(order, x.cmp(y));
        }
    }

    #[test]
    fn topics_stay_in_order_and_are_found_by_name() {
        let mut m = TopicMap::default();
        for (name, v) in [("b", 2), ("a", 1), ("c", 3), ("a", 9)] {
            *m.get_or_insert_with(&Topic::new(name), || 0) += v;
        }
        let all: Vec<(&str, i32)> = m.iter().map(|(t, v)| (t.as_str(), *v)).collect();
        assert_eq!(all, [("a", 10), ("b", 2), ("c", 3)]);
        assert_eq!(m.get("b"), Some(&2));
        assert_eq!(m.get("z"), None);
        assert_eq!(m.remove("b"), Some(2));
        m.retain(|t, _| t.as_str() != "c");
        assert_eq!(m.values().copied().collect::<Vec<_>>(), [10]);
        *m.get_mut("a").unwrap() = 0;
        assert_eq!(
            m.get_key_value("a").map(|(t, v)| (t.as_str(), *v)),
            Some(("a", 0))
        );
        assert!(!m.is_empty());
    }
}
