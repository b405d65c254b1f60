//! The in-memory data: agents, threads and chat messages, seeded with a few of each for users
//! 1 and 2. It only holds data; who may see what is decided in `access`, and events are
//! published by the callers of the mutating methods.
//!
//! Each user's records are indexed by owner ([`owners`]), so that reading one user's records
//! never scans another's, and lists are read a page at a time. What a user stores is counted
//! against its [`Quota`]: a change past it is refused with [`Denial::Limit`].

pub mod owners;

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use crate::auth::UserId;
use crate::domain::access::Denial;
use crate::domain::quota::{Quota, Usage};
use crate::domain::records::{AgentChange, AgentRecord, MessageRecord, ThreadRecord};
use owners::Owners;

/// Agents, threads and messages, with id counters.
#[derive(Debug)]
pub struct Store {
    agents: BTreeMap<u64, AgentRecord>,
    threads: BTreeMap<u64, ThreadRecord>,
    messages: HashMap<u64, Vec<MessageRecord>>,
    owners: Owners,
    quota: Quota,
    next_agent_id: u64,
    next_thread_id: u64,
    next_message_id: u64,
    next_run_id: u64,
}

/// The agent status of a new or resting agent.
pub const IDLE: &str = "idle";

/// What a deleted agent took with it.
#[derive(Debug)]
pub struct DeletedAgent {
    /// The agent as it was.
    pub agent: AgentRecord,
    /// Its threads, deleted with it.
    pub thread_ids: Vec<u64>,
}

/// Part of a thread's history.
#[derive(Debug)]
pub struct MessagePage {
    /// Oldest first.
    pub messages: Vec<MessageRecord>,
    /// The cursor of the next page (how many messages precede it), if there is one.
    pub next: Option<usize>,
}

impl Store {
    /// The demo data: agents 1 and 3 of user 1, agent 2 of user 2, one thread each; every
    /// user's records within `quota` (the demo data is counted, never refused).
    pub fn seeded(now: u64, quota: Quota) -> Self {
        let mut store = Store {
            agents: BTreeMap::new(),
            threads: BTreeMap::new(),
            messages: HashMap::new(),
            owners: Owners::default(),
            quota: Quota::UNLIMITED,
            next_agent_id: 1,
            next_thread_id: 10,
            next_message_id: 100,
            next_run_id: 1,
        };
        let seeds = [
            (1, "Researcher", "Finds and summarises papers"),
            (2, "Planner", "Breaks goals into steps"),
            (1, "Coder", "Writes and reviews code"),
        ];
        for (owner, name, description) in seeds {
            let Ok(agent) = store.create_agent(owner, name.into(), now) else {
                continue;
            };
            if let Some(stored) = store.agents.get_mut(&agent.id) {
                stored.description = Some(description.into());
            }
            if let Ok(thread) = store.create_thread(agent.id, format!("Chat with {name}"), now) {
                let hello = format!("Hello, I am {name}.");
                let _ = store.add_message(thread.id, "assistant", hello, now);
            }
        }
        store.quota = quota;
        store
    }

    /// One agent.
    pub fn agent(&self, id: u64) -> Option<&AgentRecord> {
        self.agents.get(&id)
    }

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

    /// An agent id picked by `pick` (the first at or after it, modulo the largest), for the
    /// simulator: no scan of every agent.
    pub fn some_agent(&self, pick: u64) -> Option<u64> {
        let last = *self.agents.keys().next_back()?;
        let from = pick % last.saturating_add(1);
        self.agents
            .range(from..)
            .next()
            .or_else(|| self.agents.iter().next())
            .map(|(id, _)| *id)
    }

    /// What `owner` stores.
    pub fn usage(&self, owner: UserId) -> Usage {
        self.owners.usage(owner)
    }

    /// Creates an idle agent, within its owner's quota.
    pub fn create_agent(
        &mut self,
        owner: UserId,
        name: String,
        now: u64,
    ) -> Result<AgentRecord, Denial> {
        self.charge(owner, 1, name.len())?;
        let id = take_id(&mut self.next_agent_id);
        let agent = AgentRecord {
            id,
            owner_id: owner,
            name,
            status: IDLE.into(),
            description: None,
            last_error: None,
            created_at: now,
            updated_at: now,
            last_run_at: None,
        };
        self.owners.of_mut(owner).agents.insert(id);
        self.agents.insert(id, agent.clone());
        Ok(agent)
    }

    /// Changes an agent's name and/or status (a longer name within its owner's quota).
    pub fn update_agent(
        &mut self,
        id: u64,
        name: Option<String>,
        status: Option<String>,
        now: u64,
    ) -> Result<(AgentRecord, AgentChange), Denial> {
        let agent = self
            .agents
            .get(&id)
            .ok_or_else(|| Denial::NotFound(format!("no agent {id}")))?;
        let (owner, old) = (agent.owner_id, agent.name.len());
        if let Some(name) = &name {
            self.recharge(owner, old, name.len())?;
        }
        let Some(agent) = self.agents.get_mut(&id) else {
            unreachable!("the agent was just read")
        };
        let change = AgentChange {
            name: name.is_some(),
            status: status.is_some(),
            last_run_at: false,
        };
        if let Some(name) = name {
            agent.name = name;
        }
        if let Some(status) = status {
            agent.status = status;
        }
        agent.updated_at = now;
        Ok((agent.clone(), change))
    }

    /// Records that a run of an agent started now: its status and `last_run_at` change.
    pub fn agent_run_started(
        &mut self,
        id: u64,
        status: &str,
        now: u64,
    ) -> Option<(AgentRecord, AgentChange)> {
        let agent = self.agents.get_mut(&id)?;
        agent.status = status.into();
        agent.last_run_at = Some(now);
        agent.updated_at = now;
        let change = AgentChange {
            last_run_at: true,
            ..AgentChange::STATUS
        };
        Some((agent.clone(), change))
    }

    /// Deletes an agent with its threads and their messages, giving their share of the quota
    /// back.
    pub fn delete_agent(&mut self, id: u64) -> Option<DeletedAgent> {
        let owner = self.agents.get(&id)?.owner_id;
        let thread_ids: Vec<u64> = self
            .owners
            .threads_of_agent(id)
            .map(|t| t.iter().copied().collect())
            .unwrap_or_default();
        for thread_id in &thread_ids {
            self.delete_thread(*thread_id);
        }
        let agent = self.agents.remove(&id)?;
        self.owners.of_mut(owner).usage.remove(1, agent.name.len());
        self.owners.remove_agent(owner, id);
        Some(DeletedAgent { agent, thread_ids })
    }

    /// One thread.
    pub fn thread(&self, id: u64) -> Option<&ThreadRecord> {
        self.threads.get(&id)
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

    /// The owner of a thread's agent.
    fn thread_owner(&self, thread: &ThreadRecord) -> Option<UserId> {
        self.agent(thread.agent_id).map(|a| a.owner_id)
    }

    /// Creates a thread for an existing agent, within its owner's quota.
    pub fn create_thread(
        &mut self,
        agent_id: u64,
        title: String,
        now: u64,
    ) -> Result<ThreadRecord, Denial> {
        let owner = self
            .agent(agent_id)
            .ok_or_else(|| Denial::NotFound(format!("no agent {agent_id}")))?
            .owner_id;
        self.charge(owner, 1, title.len())?;
        let id = take_id(&mut self.next_thread_id);
        let thread = ThreadRecord {
            id,
            agent_id,
            title,
            created_at: now,
            updated_at: now,
        };
        self.owners.add_thread(owner, agent_id, id);
        self.threads.insert(id, thread.clone());
        Ok(thread)
    }

    /// Renames a thread (a longer title within its owner's quota).
    pub fn update_thread(
        &mut self,
        id: u64,
        title: String,
        now: u64,
    ) -> Result<ThreadRecord, Denial> {
        let thread = self
            .threads
            .get(&id)
            .ok_or_else(|| Denial::NotFound(format!("no thread {id}")))?;
        if let Some(owner) = self.thread_owner(thread) {
            let old = thread.title.len();
            self.recharge(owner, old, title.len())?;
        }
        let Some(thread) = self.threads.get_mut(&id) else {
            unreachable!("the thread was just read")
        };
        thread.title = title;
        thread.updated_at = now;
        Ok(thread.clone())
    }

    /// Deletes a thread and its messages, giving their share of the quota back.
    pub fn delete_thread(&mut self, id: u64) -> Option<ThreadRecord> {
        let thread = self.threads.remove(&id)?;
        let messages = self.messages.remove(&id).unwrap_or_default();
        if let Some(owner) = self.thread_owner(&thread) {
            let bytes: usize = messages.iter().map(|m| m.content.len()).sum();
            let usage = &mut self.owners.of_mut(owner).usage;
            usage.remove(1 + messages.len(), thread.title.len() + bytes);
            self.owners.remove_thread(owner, thread.agent_id, id);
        }
        Some(thread)
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

    /// Appends a user's message with a new id to an existing thread, within its owner's quota.
    pub fn add_message(
        &mut self,
        thread_id: u64,
        role: &str,
        content: String,
        now: u64,
    ) -> Result<MessageRecord, Denial> {
        let thread = self
            .threads
            .get(&thread_id)
            .ok_or_else(|| Denial::NotFound(format!("no thread {thread_id}")))?;
        if let Some(owner) = self.thread_owner(thread) {
            self.charge(owner, 1, content.len())?;
        }
        let id = self.reserve_message_id();
        Ok(self.push_message(id, thread_id, role, content, now))
    }

    /// Appends a message whose id was reserved earlier (a streamed reply announces it first).
    /// It is the server's: counted in the owner's usage, never refused (the user's message it
    /// answers was, and replies in flight are bounded).
    pub fn add_message_with_id(
        &mut self,
        id: u64,
        thread_id: u64,
        role: &str,
        content: String,
        now: u64,
    ) -> Option<MessageRecord> {
        let thread = self.threads.get(&thread_id)?;
        if let Some(owner) = self.thread_owner(thread) {
            self.owners.of_mut(owner).usage.add(1, content.len());
        }
        Some(self.push_message(id, thread_id, role, content, now))
    }

    fn push_message(
        &mut self,
        id: u64,
        thread_id: u64,
        role: &str,
        content: String,
        now: u64,
    ) -> MessageRecord {
        let message = MessageRecord {
            id,
            thread_id,
            role: role.into(),
            content,
            created_at: now,
        };
        self.messages
            .entry(thread_id)
            .or_default()
            .push(message.clone());
        message
    }

    /// Counts `records` more records of `bytes` for `owner`, if its quota admits them.
    fn charge(&mut self, owner: UserId, records: usize, bytes: usize) -> Result<(), Denial> {
        let usage = &mut self.owners.of_mut(owner).usage;
        usage.admit(self.quota, records, bytes)?;
        usage.add(records, bytes);
        Ok(())
    }

    /// Replaces `old` bytes of text of `owner` with `new`, if its quota admits them.
    fn recharge(&mut self, owner: UserId, old: usize, new: usize) -> Result<(), Denial> {
        let usage = &mut self.owners.of_mut(owner).usage;
        if new > old {
            usage.admit(self.quota, 0, new - old)?;
        }
        usage.remove(0, old);
        usage.add(0, new);
        Ok(())
    }

    /// A fresh message id.
    pub fn reserve_message_id(&mut self) -> u64 {
        take_id(&mut self.next_message_id)
    }

    /// A fresh run id.
    pub fn reserve_run_id(&mut self) -> u64 {
        take_id(&mut self.next_run_id)
    }
}

/// Returns the counter's value and advances it.
fn take_id(counter: &mut u64) -> u64 {
    let id = *counter;
    *counter = counter.saturating_add(1);
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids<T>(records: &[T], id: impl Fn(&T) -> u64) -> Vec<u64> {
        records.iter().map(id).collect()
    }

    #[test]
    fn seed_has_agents_for_two_users() {
        let store = Store::seeded(5, Quota::UNLIMITED);
        assert_eq!(ids(&store.agents_page(1, None, 10), |a| a.id), [1, 3]);
        assert_eq!(ids(&store.agents_page(2, None, 10), |a| a.id), [2]);
        assert_eq!(store.threads_page(1, None, None, 10).len(), 2);
        assert_eq!(store.messages_page(10, 0, (10, 1000)).messages.len(), 1);
        assert_eq!(store.usage(1).records, 6, "2 agents, 2 threads, 2 messages");
    }

    #[test]
    fn deleting_an_agent_deletes_its_threads_and_frees_their_quota() {
        let mut store = Store::seeded(5, Quota::UNLIMITED);
        let before = store.usage(1);
        let deleted = store.delete_agent(1).expect("exists");
        assert_eq!(deleted.thread_ids, [10]);
        assert!(store.thread(10).is_none());
        assert!(store.messages_page(10, 0, (10, 1000)).messages.is_empty());
        assert!(store.add_message(10, "user", "x".into(), 6).is_err());
        assert_eq!(store.usage(1).records, before.records - 3);
        assert_eq!(ids(&store.threads_page(1, None, None, 10), |t| t.id), [12]);
    }

    #[test]
    fn pages_follow_their_cursor_and_stop_at_their_bounds() {
        let mut store = Store::seeded(5, Quota::UNLIMITED);
        let made: Vec<u64> = (0..5)
            .map(|n| {
                store
                    .create_agent(7, format!("a{n}"), 6)
                    .expect("created")
                    .id
            })
            .collect();
        let first = store.agents_page(7, None, 2);
        let second = store.agents_page(7, first.last().map(|a| a.id), 10);
        let all: Vec<u64> = first.iter().chain(&second).map(|a| a.id).collect();
        assert_eq!(all, made);
        assert!(
            store.agents_page(8, None, 10).is_empty(),
            "another user has none"
        );
        let thread = store.create_thread(made[0], "t".into(), 6).expect("made");
        for n in 0..5 {
            let content = "m".repeat(100 + n);
            store
                .add_message(thread.id, "user", content, 6)
                .expect("added");
        }
        let page = |after, limits| {
            let page = store.messages_page(thread.id, after, limits);
            (page.messages.len(), page.next)
        };
        assert_eq!(page(0, (10, 250)), (2, Some(2)), "250 bytes: 2 messages");
        assert_eq!(page(2, (2, 1000)), (2, Some(4)), "2 items");
        assert_eq!(page(4, (10, 50)), (1, None), "at least one");
    }

    #[test]
    fn records_past_the_quota_are_refused_and_deleting_gives_room_back() {
        let quota = Quota {
            records: 3,
            bytes: 20,
        };
        let mut store = Store::seeded(5, quota);
        let agent = store.create_agent(9, "agent".into(), 6).expect("1 record");
        let thread = store
            .create_thread(agent.id, "t".into(), 6)
            .expect("2 records");
        let long = "x".repeat(15);
        assert_eq!(
            store
                .add_message(thread.id, "user", long.clone(), 6)
                .map(|_| ()),
            Err(Denial::Limit(
                "a user stores at most 20 bytes of text".into()
            ))
        );
        store
            .add_message(thread.id, "user", "hi".into(), 6)
            .expect("3 records");
        assert!(store.create_agent(9, "b".into(), 6).is_err(), "4 records");
        assert!(store
            .update_agent(agent.id, Some("y".repeat(18)), None, 6)
            .is_err());
        assert!(store
            .update_agent(agent.id, Some("y".repeat(17)), None, 6)
            .is_ok());
        store.delete_thread(thread.id);
        assert_eq!(
            store.usage(9),
            Usage {
                records: 1,
                bytes: 17
            }
        );
        assert!(store.create_agent(9, "b".into(), 6).is_ok());
    }
}
