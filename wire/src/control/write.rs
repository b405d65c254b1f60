//! The control frames a client sends, written straight to text without serde: the same text
//! as [`Control::to_envelope`](super::Control::to_envelope) then
//! [`Envelope::encode`](crate::Envelope::encode) (a test holds them to it).

use super::kind;
use crate::envelope::write_head;
use crate::json::{push_str, push_u64};
use crate::topic::SYSTEM;

/// A `subscribe` of `topics` with `message_id`, stamped `ts`; `since` lists the topics that
/// have a `seq`, in the order given.
pub fn subscribe<T: AsRef<str>>(ts: u64, message_id: &str, topics: &[(T, Option<u64>)]) -> String {
    let mut out = String::with_capacity(96 + topics.len() * 24);
    write_head(&mut out, kind::SUBSCRIBE, SYSTEM, None, ts, None);
    out.push_str("{\"topics\":");
    list(&mut out, topics.iter().map(|(t, _)| t.as_ref()));
    out.push_str(",\"message_id\":");
    push_str(&mut out, message_id);
    let mut since = topics
        .iter()
        .filter_map(|(t, s)| Some((t.as_ref(), (*s)?)))
        .peekable();
    if since.peek().is_some() {
        out.push_str(",\"since\":{");
        for (i, (topic, seq)) in since.enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_str(&mut out, topic);
            out.push(':');
            push_u64(&mut out, seq);
        }
        out.push('}');
    }
    out.push_str("}}");
    out
}

/// An `unsubscribe` of `topics` with `message_id`, stamped `ts`.
pub fn unsubscribe<T: AsRef<str>>(ts: u64, message_id: &str, topics: &[T]) -> String {
    let mut out = String::with_capacity(96 + topics.len() * 16);
    write_head(&mut out, kind::UNSUBSCRIBE, SYSTEM, None, ts, None);
    out.push_str("{\"topics\":");
    list(&mut out, topics.iter().map(AsRef::as_ref));
    out.push_str(",\"message_id\":");
    push_str(&mut out, message_id);
    out.push_str("}}");
    out
}

/// A `ping` or `pong` (`kind`) stamped `ts`, with `req_id` and the pinger's clock.
pub fn heartbeat(kind: &str, ts: u64, req_id: Option<&str>, timestamp: Option<u64>) -> String {
    let mut out = String::with_capacity(96);
    write_head(&mut out, kind, SYSTEM, req_id, ts, None);
    match timestamp {
        Some(t) => {
            out.push_str("{\"timestamp\":");
            push_u64(&mut out, t);
            out.push_str("}}");
        }
        None => out.push_str("{}}"),
    }
    out
}

fn list<'t>(out: &mut String, items: impl Iterator<Item = &'t str>) {
    out.push('[');
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_str(out, item);
    }
    out.push(']');
}
