//! Who owns what: each user's agents and threads, and what they store ([`Usage`]), and each
//! agent's threads. Every read of one user's records and every quota check goes through here,
//! so that none scans another user's records.

use std::collections::{BTreeSet, HashMap};

use crate::auth::UserId;
use crate::domain::quota::Usage;

/// One user's records.
#[derive(Debug, Default)]
pub struct Owned {
    /// Its agents' ids.
    pub agents: BTreeSet<u64>,
    /// Its threads' ids (of all its agents).
    pub threads: BTreeSet<u64>,
    /// What it stores.
    pub usage: Usage,
}

/// The index of owners.
#[derive(Debug, Default)]
pub struct Owners {
    by_user: HashMap<UserId, Owned>,
    threads_of_agent: HashMap<u64, BTreeSet<u64>>,
}

impl Owners {
    /// The records of `user`, if it has any.
    pub fn of(&self, user: UserId) -> Option<&Owned> {
        self.by_user.get(&user)
    }

    /// The records of `user`, made if it had none.
    pub fn of_mut(&mut self, user: UserId) -> &mut Owned {
        self.by_user.entry(user).or_default()
    }

    /// What `user` stores.
    pub fn usage(&self, user: UserId) -> Usage {
        self.of(user).map(|o| o.usage).unwrap_or_default()
    }

    /// The threads of an agent.
    pub fn threads_of_agent(&self, agent: u64) -> Option<&BTreeSet<u64>> {
        self.threads_of_agent.get(&agent)
    }

    /// Records a new thread of `agent`, owned by `user`.
    pub fn add_thread(&mut self, user: UserId, agent: u64, thread: u64) {
        self.of_mut(user).threads.insert(thread);
        self.threads_of_agent
            .entry(agent)
            .or_default()
            .insert(thread);
    }

    /// Forgets a thread of `agent`, owned by `user`.
    pub fn remove_thread(&mut self, user: UserId, agent: u64, thread: u64) {
        self.of_mut(user).threads.remove(&thread);
        if let Some(threads) = self.threads_of_agent.get_mut(&agent) {
            threads.remove(&thread);
            if threads.is_empty() {
                self.threads_of_agent.remove(&agent);
            }
        }
        self.forget_if_empty(user);
    }

    /// Forgets an agent of `user` (its threads first, with [`Owners::remove_thread`]).
    pub fn remove_agent(&mut self, user: UserId, agent: u64) {
        self.of_mut(user).agents.remove(&agent);
        self.threads_of_agent.remove(&agent);
        self.forget_if_empty(user);
    }

    /// Drops a user's entry once it owns nothing.
    fn forget_if_empty(&mut self, user: UserId) {
        let empty = self
            .by_user
            .get(&user)
            .is_some_and(|o| o.agents.is_empty() && o.threads.is_empty() && o.usage.records == 0);
        if empty {
            self.by_user.remove(&user);
        }
    }
}
