//! Typed topic names: `agent:{id}`, `thread:{id}`, `user:{id}`, `system`, and raw strings for
//! anything else. `Display` and `FromStr` round-trip exactly: `s.parse::<Topic>()?.to_string() == s`.

use std::fmt;
use std::str::FromStr;

/// A subscription topic.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Topic {
    /// `agent:{id}`: events about one agent.
    Agent(u64),
    /// `thread:{id}`: messages and streams of one chat thread.
    Thread(u64),
    /// `user:{id}`: per-user events such as a newly created agent.
    User(u64),
    /// `system`: broadcast announcements.
    System,
    /// Any other topic, kept verbatim. Servers answer unknown ones with `subscribe_error`.
    Raw(String),
}

/// The error of parsing an empty topic name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a topic name must not be empty")]
pub struct EmptyTopic;

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Topic::Agent(id) => write!(f, "agent:{id}"),
            Topic::Thread(id) => write!(f, "thread:{id}"),
            Topic::User(id) => write!(f, "user:{id}"),
            Topic::System => f.write_str("system"),
            Topic::Raw(s) => f.write_str(s),
        }
    }
}

/// Parses a canonical decimal id: digits only, no sign, no leading zero (except "0").
fn canonical_id(s: &str) -> Option<u64> {
    let canonical =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    canonical.then(|| s.parse().ok()).flatten()
}

impl FromStr for Topic {
    type Err = EmptyTopic;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Err(EmptyTopic);
        }
        if s == "system" {
            return Ok(Topic::System);
        }
        let typed = s.split_once(':').and_then(|(kind, id)| {
            let id = canonical_id(id)?;
            match kind {
                "agent" => Some(Topic::Agent(id)),
                "thread" => Some(Topic::Thread(id)),
                "user" => Some(Topic::User(id)),
                _ => None,
            }
        });
        Ok(typed.unwrap_or_else(|| Topic::Raw(s.to_owned())))
    }
}

impl From<Topic> for String {
    fn from(t: Topic) -> String {
        t.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_typed_topics() {
        assert_eq!("agent:7".parse(), Ok(Topic::Agent(7)));
        assert_eq!("thread:0".parse(), Ok(Topic::Thread(0)));
        assert_eq!("user:42".parse(), Ok(Topic::User(42)));
        assert_eq!("system".parse(), Ok(Topic::System));
    }

    #[test]
    fn non_canonical_ids_stay_raw_so_display_round_trips() {
        for s in [
            "agent:07",
            "agent:",
            "agent:-1",
            "agent:1x",
            "room:1",
            "agent:99999999999999999999",
        ] {
            let t: Topic = s.parse().unwrap();
            assert!(matches!(t, Topic::Raw(_)), "{s} -> {t:?}");
            assert_eq!(t.to_string(), s);
        }
        assert_eq!("".parse::<Topic>(), Err(EmptyTopic));
    }

    proptest::proptest! {
        #[test]
        fn display_inverts_from_str(s in "\\PC{1,24}") {
            let t: Topic = s.parse().unwrap();
            proptest::prop_assert_eq!(t.to_string(), s);
        }
    }
}
