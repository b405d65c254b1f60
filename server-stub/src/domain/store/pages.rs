//! The store's lists, a page at a time: each reads only the caller's records, through the
//! owner index, and no more than a page of them.

use std::ops::Bound;

use super::Store;
use crate::auth::UserId;
use crate::domain::records::{AgentRecord, MessageRecord, ThreadRecord};

/// Part of a thread's history.
#[derive(Debug)]
pub struct MessagePage {
    /// Oldest first.
    pub messages: Vec<MessageRecord>,
    /// The cursor of the next page (how many messages precede it), if there is one.
    pub next: Option<usize>,
}

impl Store {
    /// Up to `limit` agents of `owner` with ids after `after`, by id.
    pub fn agents_page(&self, owner: UserId, after: Option<u64>, limit: usize) -> Vec<AgentRecord> {
        let Some(owned) = self.owners.of(owner) else {
            return Vec::new();
        };
        owned
            .agents
            .range((
                after.map_or(Bound::Unbounded, Bound::Excluded),
                Bound::Unbounded,
            ))
            .take(limit)
            .filter_map(|id| self.agents.get(id).cloned())
            .collect()
    }

    /// Up to `limit` threads of `owner`'s agents (of one agent only, if given) with ids after
    /// `after`, by id.
    pub fn threads_page(
        &self,
        owner: UserId,
        agent_id: Option<u64>,
        after: Option<u64>,
        limit: usize,
    ) -> Vec<ThreadRecord> {
        let ids = match agent_id {
            Some(agent) => self.owners.threads_of_agent(agent),
            None => self.owners.of(owner).map(|o| &o.threads),
        };
        let Some(ids) = ids else {
            return Vec::new();
        };
        ids.range((
            after.map_or(Bound::Unbounded, Bound::Excluded),
            Bound::Unbounded,
        ))
        .filter_map(|id| self.threads.get(id))
        .filter(|t| self.agent(t.agent_id).is_some_and(|a| a.owner_id == owner))
        .take(limit)
        .cloned()
        .collect()
    }

    /// Up to `limit` messages of a thread's history after the first `after`, oldest first, and
    /// no more than `max_bytes` of content (at least one message, if any is left).
    pub fn messages_page(
        &self,
        thread_id: u64,
        after: usize,
        (limit, max_bytes): (usize, usize),
    ) -> MessagePage {
        let all = self.messages.get(&thread_id).map_or(&[][..], Vec::as_slice);
        let rest = all.get(after..).unwrap_or_default();
        let mut bytes = 0;
        let messages: Vec<MessageRecord> = rest
            .iter()
            .take(limit.max(1))
            .take_while(|m| {
                let first = bytes == 0;
                bytes += m.content.len().max(1);
                first || bytes <= max_bytes
            })
            .cloned()
            .collect();
        let end = after + messages.len();
        MessagePage {
            next: (end < all.len()).then_some(end),
            messages,
        }
    }
}
