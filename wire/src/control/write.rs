//! Control frames written straight to text without serde: the same text as
//! [`Control::to_envelope`](super::Control::to_envelope) then
//! [`Envelope::encode`](crate::Envelope::encode) (a test holds them to it). A client writes
//! `subscribe`, `unsubscribe`, `ping` and `pong`; something that serves clients in the
//! browser (the tabs' hub) writes the answers too.

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

/// A `subscribe_ack` of `topics` with each topic's `seq` (`seqs`, in topic order).
pub fn subscribe_ack<T: AsRef<str>>(
    ts: u64,
    message_id: Option<&str>,
    topics: &[T],
    seqs: &[(T, u64)],
    epoch: Option<&str>,
) -> String {
    let mut out = String::with_capacity(128 + topics.len() * 32);
    write_head(&mut out, kind::SUBSCRIBE_ACK, SYSTEM, None, ts, None);
    out.push('{');
    message_id_field(&mut out, message_id);
    out.push_str("\"topics\":");
    list(&mut out, topics.iter().map(AsRef::as_ref));
    out.push_str(",\"seqs\":{");
    for (i, (topic, seq)) in seqs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_str(&mut out, topic.as_ref());
        out.push(':');
        push_u64(&mut out, *seq);
    }
    out.push('}');
    if let Some(epoch) = epoch {
        out.push_str(",\"epoch\":");
        push_str(&mut out, epoch);
    }
    out.push_str("}}");
    out
}

/// A `subscribe_error`: `topic` refused with `error_code` and the reason `error`.
pub fn subscribe_error(
    ts: u64,
    message_id: Option<&str>,
    topic: &str,
    error: &str,
    error_code: &str,
) -> String {
    let mut out = String::with_capacity(128);
    write_head(&mut out, kind::SUBSCRIBE_ERROR, SYSTEM, None, ts, None);
    out.push('{');
    message_id_field(&mut out, message_id);
    for (i, (name, value)) in [
        ("topic", topic),
        ("error", error),
        ("error_code", error_code),
    ]
    .into_iter()
    .enumerate()
    {
        if i > 0 {
            out.push(',');
        }
        push_str(&mut out, name);
        out.push(':');
        push_str(&mut out, value);
    }
    out.push_str("}}");
    out
}

/// An `unsubscribe_success` of `topics`.
pub fn unsubscribe_success<T: AsRef<str>>(
    ts: u64,
    message_id: Option<&str>,
    topics: &[T],
) -> String {
    let mut out = String::with_capacity(96 + topics.len() * 16);
    write_head(&mut out, kind::UNSUBSCRIBE_SUCCESS, SYSTEM, None, ts, None);
    out.push('{');
    message_id_field(&mut out, message_id);
    out.push_str("\"topics\":");
    list(&mut out, topics.iter().map(AsRef::as_ref));
    out.push_str("}}");
    out
}

/// A `resync_required` on `topic`, with the server's `seq` when known.
pub fn resync_required(ts: u64, topic: &str, seq: Option<u64>, epoch: Option<&str>) -> String {
    let mut out = String::with_capacity(96);
    write_head(&mut out, kind::RESYNC_REQUIRED, topic, None, ts, None);
    out.push_str("{\"topic\":");
    push_str(&mut out, topic);
    if let Some(seq) = seq {
        out.push_str(",\"seq\":");
        push_u64(&mut out, seq);
    }
    if let Some(epoch) = epoch {
        out.push_str(",\"epoch\":");
        push_str(&mut out, epoch);
    }
    out.push_str("}}");
    out
}

/// An `error` with its code and a `{"message": …}` explanation (as [`super::ErrorData::new`]),
/// answering `req_id` when given.
pub fn error(ts: u64, req_id: Option<&str>, error: &str, message: &str) -> String {
    let mut out = String::with_capacity(96);
    write_head(&mut out, kind::ERROR, SYSTEM, req_id, ts, None);
    out.push_str("{\"error\":");
    push_str(&mut out, error);
    out.push_str(",\"details\":{\"message\":");
    push_str(&mut out, message);
    out.push_str("}}}");
    out
}

/// `"message_id":…,` when there is one.
fn message_id_field(out: &mut String, message_id: Option<&str>) {
    if let Some(id) = message_id {
        out.push_str("\"message_id\":");
        push_str(out, id);
        out.push(',');
    }
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
