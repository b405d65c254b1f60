//! Who may see what: agent topics belong to the agent's owner, thread topics to the owner of
//! the thread's agent, `user:{id}` to that user, and `system` to everyone. The same rules
//! guard REST and `send_message`.

use tether::protocol::model::{error_code, Agent, Thread};
use tether::protocol::Topic;

use crate::auth::UserId;
use crate::store::Store;

/// Why a user may not use a topic or resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Denial {
    /// It does not exist.
    NotFound(String),
    /// It belongs to another user.
    Forbidden(String),
    /// Not a topic name this server knows.
    InvalidTopic(String),
}

impl Denial {
    /// The protocol's code: `NOT_FOUND`, `FORBIDDEN` or `INVALID_TOPIC`.
    pub fn code(&self) -> &'static str {
        match self {
            Denial::NotFound(_) => error_code::NOT_FOUND,
            Denial::Forbidden(_) => error_code::FORBIDDEN,
            Denial::InvalidTopic(_) => error_code::INVALID_TOPIC,
        }
    }

    /// A human-readable reason.
    pub fn message(&self) -> &str {
        match self {
            Denial::NotFound(m) | Denial::Forbidden(m) | Denial::InvalidTopic(m) => m,
        }
    }
}

/// The agent `id`, if `user` owns it.
pub fn agent(store: &Store, user: UserId, id: u64) -> Result<&Agent, Denial> {
    let agent = store
        .agent(id)
        .ok_or_else(|| Denial::NotFound(format!("no agent {id}")))?;
    if agent.owner_id != user {
        return Err(Denial::Forbidden(format!(
            "agent {id} belongs to another user"
        )));
    }
    Ok(agent)
}

/// The thread `id`, if `user` owns its agent.
pub fn thread(store: &Store, user: UserId, id: u64) -> Result<&Thread, Denial> {
    let thread = store
        .thread(id)
        .ok_or_else(|| Denial::NotFound(format!("no thread {id}")))?;
    match store.agent(thread.agent_id) {
        Some(agent) if agent.owner_id == user => Ok(thread),
        Some(_) => Err(Denial::Forbidden(format!(
            "thread {id} belongs to another user"
        ))),
        None => Err(Denial::NotFound(format!("no thread {id}"))),
    }
}

/// The parsed topic, if `user` may subscribe to it.
pub fn topic(store: &Store, user: UserId, name: &str) -> Result<Topic, Denial> {
    let invalid = || Denial::InvalidTopic(format!("unknown topic {name:?}"));
    let topic: Topic = name.parse().map_err(|_| invalid())?;
    match topic {
        Topic::Agent(id) => agent(store, user, id).map(|_| topic),
        Topic::Thread(id) => thread(store, user, id).map(|_| topic),
        Topic::User(id) if id == user => Ok(topic),
        Topic::User(id) => Err(Denial::Forbidden(format!(
            "user:{id} is another user's topic"
        ))),
        Topic::System => Ok(topic),
        Topic::Raw(_) => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_rules() {
        let store = Store::seeded(0);
        assert_eq!(topic(&store, 1, "agent:1"), Ok(Topic::Agent(1)));
        assert_eq!(
            topic(&store, 1, "agent:2").map_err(|d| d.code()),
            Err("FORBIDDEN")
        );
        assert_eq!(
            topic(&store, 1, "agent:99").map_err(|d| d.code()),
            Err("NOT_FOUND")
        );
        assert_eq!(topic(&store, 1, "thread:10"), Ok(Topic::Thread(10)));
        assert_eq!(
            topic(&store, 1, "thread:11").map_err(|d| d.code()),
            Err("FORBIDDEN")
        );
        assert_eq!(
            topic(&store, 1, "thread:99").map_err(|d| d.code()),
            Err("NOT_FOUND")
        );
        assert_eq!(topic(&store, 1, "user:1"), Ok(Topic::User(1)));
        assert_eq!(
            topic(&store, 1, "user:2").map_err(|d| d.code()),
            Err("FORBIDDEN")
        );
        assert_eq!(topic(&store, 7, "system"), Ok(Topic::System));
        for bad in ["", "room:1", "agent:01", "agent:-1", "Agent:1"] {
            assert_eq!(
                topic(&store, 1, bad).map_err(|d| d.code()),
                Err("INVALID_TOPIC"),
                "{bad:?}"
            );
        }
    }
}
