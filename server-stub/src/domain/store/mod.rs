//! The in-memory data: agents, threads and chat messages, seeded with a few of each for users
//! 1 and 2. It only holds data; who may see what is decided in `access`, and events are
//! published by the callers of the mutating methods.

use std::collections::BTreeMap;

use crate::auth::UserId;
use crate::domain::records::{AgentChange, AgentRecord, MessageRecord, ThreadRecord};

/// Agents, threads and messages, with id counters.
#[derive(Debug, Default)]
pub struct Store {
    agents: BTreeMap<u64, AgentRecord>,
    threads: BTreeMap<u64, ThreadRecord>,
    messages: BTreeMap<u64, Vec<MessageRecord>>,
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
    /// The demo data: agents 1 and 3 of user 1, agent 2 of user 2, one thread each.
    pub fn seeded(now: u64) -> Self {
        let mut store = Store {
            next_agent_id: 1,
            next_thread_id: 10,
            next_message_id: 100,
            next_run_id: 1,
            ..Store::default()
        };
        let seeds = [
            (1, "Researcher", "Finds and summarises papers"),
            (2, "Planner", "Breaks goals into steps"),
            (1, "Coder", "Writes and reviews code"),
        ];
        for (owner, name, description) in seeds {
            let mut agent = store.create_agent(owner, name.into(), now);
            if let Some(stored) = store.agents.get_mut(&agent.id) {
                stored.description = Some(description.into());
                agent = stored.clone();
            }
            let thread = store.create_thread(agent.id, format!("Chat with {name}"), now);
            if let Some(thread) = thread {
                store.add_message(thread.id, "assistant", format!("Hello, I am {name}."), now);
            }
        }
        store
    }

    /// One agent.
    pub fn agent(&self, id: u64) -> Option<&AgentRecord> {
        self.agents.get(&id)
    }

    /// The agents of `owner`, by id.
    pub fn agents_of(&self, owner: UserId) -> Vec<AgentRecord> {
        self.agents
            .values()
            .filter(|a| a.owner_id == owner)
            .cloned()
            .collect()
    }

    /// Every agent id, for the simulator.
    pub fn agent_ids(&self) -> Vec<u64> {
        self.agents.keys().copied().collect()
    }

    /// Creates an idle agent.
    pub fn create_agent(&mut self, owner: UserId, name: String, now: u64) -> AgentRecord {
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
        self.agents.insert(id, agent.clone());
        agent
    }

    /// Changes an agent's name and/or status; `None` if it does not exist.
    pub fn update_agent(
        &mut self,
        id: u64,
        name: Option<String>,
        status: Option<String>,
        now: u64,
    ) -> Option<(AgentRecord, AgentChange)> {
        let agent = self.agents.get_mut(&id)?;
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
        Some((agent.clone(), change))
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

    /// Deletes an agent with its threads and their messages.
    pub fn delete_agent(&mut self, id: u64) -> Option<DeletedAgent> {
        let agent = self.agents.remove(&id)?;
        let thread_ids: Vec<u64> = self
            .threads
            .values()
            .filter(|t| t.agent_id == id)
            .map(|t| t.id)
            .collect();
        for thread_id in &thread_ids {
            self.threads.remove(thread_id);
            self.messages.remove(thread_id);
        }
        Some(DeletedAgent { agent, thread_ids })
    }

    /// One thread.
    pub fn thread(&self, id: u64) -> Option<&ThreadRecord> {
        self.threads.get(&id)
    }

    /// The threads of `owner`'s agents, optionally of one agent only, by id.
    pub fn threads_of(&self, owner: UserId, agent_id: Option<u64>) -> Vec<ThreadRecord> {
        self.threads
            .values()
            .filter(|t| agent_id.is_none_or(|a| t.agent_id == a))
            .filter(|t| self.agent(t.agent_id).is_some_and(|a| a.owner_id == owner))
            .cloned()
            .collect()
    }

    /// Creates a thread for an existing agent.
    pub fn create_thread(
        &mut self,
        agent_id: u64,
        title: String,
        now: u64,
    ) -> Option<ThreadRecord> {
        self.agents.get(&agent_id)?;
        let id = take_id(&mut self.next_thread_id);
        let thread = ThreadRecord {
            id,
            agent_id,
            title,
            created_at: now,
            updated_at: now,
        };
        self.threads.insert(id, thread.clone());
        Some(thread)
    }

    /// Renames a thread; `None` if it does not exist.
    pub fn update_thread(&mut self, id: u64, title: String, now: u64) -> Option<ThreadRecord> {
        let thread = self.threads.get_mut(&id)?;
        thread.title = title;
        thread.updated_at = now;
        Some(thread.clone())
    }

    /// Deletes a thread and its messages.
    pub fn delete_thread(&mut self, id: u64) -> Option<ThreadRecord> {
        self.messages.remove(&id);
        self.threads.remove(&id)
    }

    /// The history of a thread, oldest first.
    pub fn messages(&self, thread_id: u64) -> Vec<MessageRecord> {
        self.messages.get(&thread_id).cloned().unwrap_or_default()
    }

    /// Appends a message with a new id to an existing thread.
    pub fn add_message(
        &mut self,
        thread_id: u64,
        role: &str,
        content: String,
        now: u64,
    ) -> Option<MessageRecord> {
        let id = self.reserve_message_id();
        self.add_message_with_id(id, thread_id, role, content, now)
    }

    /// Appends a message whose id was reserved earlier (a streamed reply announces it first).
    pub fn add_message_with_id(
        &mut self,
        id: u64,
        thread_id: u64,
        role: &str,
        content: String,
        now: u64,
    ) -> Option<MessageRecord> {
        self.threads.get(&thread_id)?;
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
        Some(message)
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

    #[test]
    fn seed_has_agents_for_two_users() {
        let store = Store::seeded(5);
        assert_eq!(
            store.agents_of(1).iter().map(|a| a.id).collect::<Vec<_>>(),
            [1, 3]
        );
        assert_eq!(
            store.agents_of(2).iter().map(|a| a.id).collect::<Vec<_>>(),
            [2]
        );
        assert_eq!(store.threads_of(1, None).len(), 2);
        assert_eq!(store.messages(10).len(), 1);
    }

    #[test]
    fn deleting_an_agent_deletes_its_threads() {
        let mut store = Store::seeded(5);
        let deleted = store.delete_agent(1).expect("exists");
        assert_eq!(deleted.thread_ids, [10]);
        assert!(store.thread(10).is_none());
        assert!(store.messages(10).is_empty());
        assert!(store.add_message(10, "user", "x".into(), 6).is_none());
    }
}
