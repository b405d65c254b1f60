//! The in-memory data: agents, threads and chat messages, seeded with a few of each for users
//! 1 and 2. It only holds data; who may see what is decided in `access`, and events are
//! published by the callers of the mutating methods.
//!
//! Each user's records are indexed by owner ([`owners`]), so that reading one user's records
//! never scans another's, and lists are read a page at a time. What a user stores is counted
//! against its [`Quota`]: a change past it is refused with [`Denial::Limit`].

pub mod owners;
mod pages;
mod unprocessed;

pub use pages::MessagePage;

use std::collections::{BTreeMap, HashMap};

use crate::auth::UserId;
use crate::domain::access::Denial;
use crate::domain::quota::{Quota, Usage};
use crate::domain::records::{AgentChange, AgentRecord, MessageRecord, RunRecord, ThreadRecord};
use owners::Owners;

/// Agents, threads and messages, with id counters.
#[derive(Debug)]
pub struct Store {
    agents: BTreeMap<u64, AgentRecord>,
    threads: BTreeMap<u64, ThreadRecord>,
    messages: HashMap<u64, Vec<MessageRecord>>,
    /// Per thread, its latest user message no run has answered yet ([`unprocessed`]).
    unprocessed: BTreeMap<u64, u64>,
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

impl Store {
    /// The demo data: agents 1 and 3 of user 1, agent 2 of user 2, one thread each; every
    /// user's records within `quota` (the demo data is counted, never refused).
    pub fn seeded(now: u64, quota: Quota) -> Self {
        let mut store = Store {
            agents: BTreeMap::new(),
            threads: BTreeMap::new(),
            messages: HashMap::new(),
            unprocessed: BTreeMap::new(),
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
            last_run: None,
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
            ..AgentChange::default()
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

    /// Changes an agent's status and its last error (`None` clears it); `None` if the agent
    /// does not exist.
    pub fn set_status_and_error(
        &mut self,
        id: u64,
        status: &str,
        last_error: Option<String>,
        now: u64,
    ) -> Option<(AgentRecord, AgentChange)> {
        let agent = self.agents.get_mut(&id)?;
        agent.status = status.into();
        agent.last_error = last_error;
        agent.updated_at = now;
        let change = AgentChange {
            last_error: true,
            ..AgentChange::STATUS
        };
        Some((agent.clone(), change))
    }

    /// Keeps `run` as its agent's latest run, if the agent exists.
    pub fn record_run(&mut self, run: &RunRecord) {
        if let Some(agent) = self.agents.get_mut(&run.agent_id) {
            agent.last_run = Some(run.clone());
        }
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
        self.unprocessed.remove(&id);
        if let Some(owner) = self.thread_owner(&thread) {
            let bytes: usize = messages.iter().map(|m| m.content.len()).sum();
            let usage = &mut self.owners.of_mut(owner).usage;
            usage.remove(1 + messages.len(), thread.title.len() + bytes);
            self.owners.remove_thread(owner, thread.agent_id, id);
        }
        Some(thread)
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
mod tests;
