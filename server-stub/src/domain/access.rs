//! Who may see what: agent topics belong to the agent's owner, thread topics to the owner of
//! the thread's agent, `user:{id}` to that user, and `system` to everyone. The same rules
//! guard REST and `send_message`.

use tether_wire::Topic;

use crate::auth::UserId;
use crate::domain::records::{AgentRecord, ThreadRecord};
use crate::domain::store::Store;

pub use tether_server::Denial;

/// The agent `id`, if `user` owns it.
pub fn agent(store: &Store, user: UserId, id: u64) -> Result<&AgentRecord, Denial> {
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
pub fn thread(store: &Store, user: UserId, id: u64) -> Result<&ThreadRecord, Denial> {
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

/// Whether the server knows a topic by that name: `system`, `agent:`, `thread:` or `user:`
/// with a canonical id, or one under an `open` prefix (`--open-topic`).
pub fn is_known_topic(topic: &Topic, open: &[String]) -> bool {
    topic.is_system()
        || matches!(topic.resource(), Some(("agent" | "thread" | "user", _)))
        || is_open(topic, open)
}

/// Whether `topic` is under one of the `open` prefixes.
pub fn is_open(topic: &Topic, open: &[String]) -> bool {
    open.iter().any(|prefix| {
        topic.as_str().len() > prefix.len() && topic.as_str().starts_with(prefix.as_str())
    })
}

/// Whether `user` may subscribe to `topic`; topics under the `open` prefixes are anyone's.
pub fn topic(store: &Store, user: UserId, topic: &Topic, open: &[String]) -> Result<(), Denial> {
    if topic.is_system() || is_open(topic, open) {
        return Ok(());
    }
    match topic.resource() {
        Some(("agent", id)) => agent(store, user, id).map(|_| ()),
        Some(("thread", id)) => thread(store, user, id).map(|_| ()),
        Some(("user", id)) if id == user => Ok(()),
        Some(("user", id)) => Err(Denial::Forbidden(format!(
            "user:{id} is another user's topic"
        ))),
        _ => Err(Denial::InvalidTopic(format!(
            "unknown topic {:?}",
            topic.as_str()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_rules() {
        let store = Store::seeded(0, crate::domain::quota::Quota::UNLIMITED);
        let open = vec!["ticker:".to_owned()];
        let check =
            |user, name: &str| topic(&store, user, &Topic::from(name), &open).map_err(|d| d.code());
        assert_eq!(check(1, "agent:1"), Ok(()));
        assert_eq!(check(1, "agent:2"), Err("FORBIDDEN"));
        assert_eq!(check(1, "agent:99"), Err("NOT_FOUND"));
        assert_eq!(check(1, "thread:10"), Ok(()));
        assert_eq!(check(1, "thread:11"), Err("FORBIDDEN"));
        assert_eq!(check(1, "thread:99"), Err("NOT_FOUND"));
        assert_eq!(check(1, "user:1"), Ok(()));
        assert_eq!(check(1, "user:2"), Err("FORBIDDEN"));
        assert_eq!(check(7, "system"), Ok(()));
        assert_eq!(check(7, "ticker:BTC"), Ok(()), "an open topic is anyone's");
        assert!(is_known_topic(&Topic::from("ticker:BTC"), &open));
        for bad in [
            "",
            "room:1",
            "agent:01",
            "agent:-1",
            "Agent:1",
            "agent:1:2",
            "ticker:",
        ] {
            assert_eq!(check(1, bad), Err("INVALID_TOPIC"), "{bad:?}");
            assert!(!is_known_topic(&Topic::from(bad), &open), "{bad:?}");
        }
    }
}
