//! Topic names. A topic is whatever string the server routes events by; tether gives no name a
//! special meaning except `system`, where connection-level frames travel. The constructors
//! [`Topic::agent`], [`Topic::thread`] and [`Topic::user`] are conveniences for the origin
//! backend's `kind:{id}` names, and [`Topic::resource`] splits such a name again.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A topic name. Cheap to clone; compares, orders and hashes as its string.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Topic(Arc<str>);

/// The topic of connection-level frames (`ping`, `pong`, `error`, `subscribe`, …).
pub const SYSTEM: &str = "system";

impl Topic {
    /// A topic with any name.
    pub fn new(name: impl AsRef<str>) -> Topic {
        Topic(Arc::from(name.as_ref()))
    }

    /// `system`, the topic of connection-level frames.
    pub fn system() -> Topic {
        Topic::new(SYSTEM)
    }

    /// `agent:{id}`.
    pub fn agent(id: u64) -> Topic {
        Topic::kind_id("agent:", id)
    }

    /// `thread:{id}`.
    pub fn thread(id: u64) -> Topic {
        Topic::kind_id("thread:", id)
    }

    /// `user:{id}`.
    pub fn user(id: u64) -> Topic {
        Topic::kind_id("user:", id)
    }

    /// `{prefix}{id}`, written without `core::fmt`.
    fn kind_id(prefix: &str, id: u64) -> Topic {
        let mut name = String::with_capacity(prefix.len() + 20);
        name.push_str(prefix);
        crate::json::push_u64(&mut name, id);
        Topic::new(name)
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True for `system`.
    pub fn is_system(&self) -> bool {
        &*self.0 == SYSTEM
    }

    /// Splits a `kind:{id}` name whose id is a canonical decimal (digits only, no sign, no
    /// leading zero): `agent:7` gives `("agent", 7)`; `agent:07`, `agent:` and `room` give `None`.
    pub fn resource(&self) -> Option<(&str, u64)> {
        let (kind, id) = self.0.split_once(':')?;
        Some((kind, canonical_id(id)?))
    }
}

/// Parses a canonical decimal id.
fn canonical_id(s: &str) -> Option<u64> {
    let canonical =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    canonical.then(|| s.parse().ok()).flatten()
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", &*self.0)
    }
}

impl From<&str> for Topic {
    fn from(name: &str) -> Topic {
        Topic::new(name)
    }
}

impl From<String> for Topic {
    fn from(name: String) -> Topic {
        Topic(Arc::from(name))
    }
}

impl From<&Topic> for Topic {
    fn from(topic: &Topic) -> Topic {
        topic.clone()
    }
}

impl AsRef<str> for Topic {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for Topic {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl Serialize for Topic {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Topic {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Topic, D::Error> {
        String::deserialize(d).map(Topic::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors_spell_the_origin_names() {
        assert_eq!(Topic::agent(7).as_str(), "agent:7");
        assert_eq!(Topic::thread(0).to_string(), "thread:0");
        assert_eq!(Topic::user(42), Topic::from("user:42"));
        assert!(Topic::system().is_system());
    }

    #[test]
    fn only_canonical_ids_split() {
        assert_eq!(Topic::agent(7).resource(), Some(("agent", 7)));
        assert_eq!(Topic::from("room:12").resource(), Some(("room", 12)));
        for s in [
            "agent:07",
            "agent:",
            "agent:-1",
            "agent:1x",
            "room",
            "agent:99999999999999999999",
        ] {
            assert_eq!(Topic::from(s).resource(), None, "{s}");
        }
    }

    #[test]
    fn serializes_as_its_name() {
        let t: Topic = serde_json::from_str(r#""ticker:BTC""#).unwrap();
        assert_eq!(t.as_str(), "ticker:BTC");
        assert_eq!(serde_json::to_string(&t).unwrap(), r#""ticker:BTC""#);
    }
}
