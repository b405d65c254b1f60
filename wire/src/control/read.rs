//! The control messages a client receives, read in place from an [`EnvelopeRef`]: no serde,
//! no allocation, strings as slices of the frame. Each accepts what [`Control::parse`]
//! accepts for the same frame (a property test holds it to that).
//!
//! [`Control::parse`]: super::Control::parse

use std::borrow::Cow;

use super::kind;
use crate::envelope::DecodeError;
use crate::frame::EnvelopeRef;
use crate::json::{Kind, Str, Value};

/// A control message as a client reads it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ControlRef<'a> {
    /// `ping`, with the pinger's clock.
    Ping(Option<u64>),
    /// `pong`, echoing the pinger's clock.
    Pong(Option<u64>),
    /// `subscribe_ack`.
    SubscribeAck(AckRef<'a>),
    /// `subscribe_error`.
    SubscribeError(RefusalRef<'a>),
    /// `unsubscribe_success`.
    UnsubscribeSuccess,
    /// `error`.
    Error(ErrorRef<'a>),
    /// `resync_required`.
    ResyncRequired(ResyncRef<'a>),
    /// `subscribe` (client to server; [`TopicsRef::parse`] reads its data).
    Subscribe,
    /// `unsubscribe` (client to server; [`TopicsRef::parse`] reads its data).
    Unsubscribe,
}

/// `subscribe` or `unsubscribe` data: the topics, the `message_id`, and for a `subscribe`, the
/// `seq` each listed topic resumes after.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TopicsRef<'a> {
    /// Echoed in the answers.
    pub message_id: Option<Str<'a>>,
    topics: Value<'a>,
    since: Option<Value<'a>>,
}

impl<'a> TopicsRef<'a> {
    /// Reads a `subscribe` or `unsubscribe`; `None` for any other frame. (Apart from
    /// [`ControlRef::parse`], so that a client, which receives neither, does not link it.)
    pub fn parse(envelope: &EnvelopeRef<'a>) -> Option<Result<TopicsRef<'a>, DecodeError>> {
        let kind = envelope.kind.value();
        let subscribe = match &*kind {
            kind::SUBSCRIBE => true,
            kind::UNSUBSCRIBE => false,
            _ => return None,
        };
        let read = match valid_data(envelope, &kind)? {
            Ok(data) => topics_request(data, subscribe),
            Err(e) => return Some(Err(e)),
        };
        Some(read.map_err(|error| DecodeError::Data {
            kind: kind.into_owned(),
            error: error.to_owned(),
        }))
    }

    /// The topics, in order.
    pub fn topics(&self) -> impl Iterator<Item = Str<'a>> {
        self.topics.items().filter_map(|t| t.as_str())
    }

    /// Each topic's `since`.
    pub fn since(&self) -> impl Iterator<Item = (Str<'a>, u64)> {
        let entries = self.since.map(|s| s.entries()).unwrap_or_default();
        entries.filter_map(|(topic, seq)| Some((topic, seq.as_u64()?)))
    }
}

/// `subscribe_ack` data.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AckRef<'a> {
    /// The `message_id` of the `subscribe`.
    pub message_id: Option<Str<'a>>,
    topics: Option<Value<'a>>,
    seqs: Option<Value<'a>>,
    /// The server's history incarnation.
    pub epoch: Option<Str<'a>>,
}

impl<'a> AckRef<'a> {
    /// The topics now active.
    pub fn topics(&self) -> impl Iterator<Item = Str<'a>> {
        let items = self.topics.map(|t| t.items());
        items.unwrap_or_default().filter_map(|t| t.as_str())
    }

    /// Each topic's current `seq`.
    pub fn seqs(&self) -> impl Iterator<Item = (Str<'a>, u64)> {
        let entries = self.seqs.map(|s| s.entries());
        let entries = entries.unwrap_or_default();
        entries.filter_map(|(topic, seq)| Some((topic, seq.as_u64()?)))
    }
}

/// `resync_required` data: the topic's history cannot be replayed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ResyncRef<'a> {
    /// The topic whose state must be refetched.
    pub topic: Str<'a>,
    /// The server's current `seq` on it, when known: live events continue after it.
    pub seq: Option<u64>,
    /// The epoch `seq` belongs to, when the server names epochs.
    pub epoch: Option<Str<'a>>,
}

/// `subscribe_error` data: one topic refused.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RefusalRef<'a> {
    /// The `message_id` of the `subscribe`.
    pub message_id: Option<Str<'a>>,
    /// The refused topic.
    pub topic: Str<'a>,
    /// A human-readable reason.
    pub error: Str<'a>,
    /// `NOT_FOUND`, `FORBIDDEN`, `INVALID_TOPIC`, `LIMIT`, or a newer code.
    pub error_code: Str<'a>,
}

/// `error` data.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ErrorRef<'a> {
    /// A short code or message, such as `MALFORMED`.
    pub error: Str<'a>,
    /// More about it: an object in the origin's contract, a string from older servers.
    pub details: Option<Value<'a>>,
}

impl<'a> ErrorRef<'a> {
    /// The human-readable explanation: `details` when it is a string, its `message` when it is
    /// an object with a string one, else `error` (as [`super::ErrorData::explanation`]).
    pub fn explanation(&self) -> Cow<'a, str> {
        let details = self.details;
        let message = details.and_then(|d| d.as_str().or_else(|| d.get("message")?.as_str()));
        message.unwrap_or(self.error).value()
    }

    /// `details.message_id`, when the details are an object that has a string one.
    pub fn message_id(&self) -> Option<Str<'a>> {
        self.details?.get("message_id")?.as_str()
    }
}

impl<'a> ControlRef<'a> {
    /// Reads a control frame; `None` when `envelope` is an app event.
    pub fn parse(envelope: &EnvelopeRef<'a>) -> Option<Result<ControlRef<'a>, DecodeError>> {
        let kind = envelope.kind.value();
        let data = match valid_data(envelope, &kind)? {
            Ok(data) => data,
            Err(e) => return Some(Err(e)),
        };
        let read = match &*kind {
            kind::PING => heartbeat(data).map(ControlRef::Ping),
            kind::PONG => heartbeat(data).map(ControlRef::Pong),
            kind::SUBSCRIBE_ACK => ack(data).map(ControlRef::SubscribeAck),
            kind::SUBSCRIBE_ERROR => refusal(data).map(ControlRef::SubscribeError),
            kind::UNSUBSCRIBE_SUCCESS => {
                unsubscribed(data).map(|()| ControlRef::UnsubscribeSuccess)
            }
            kind::ERROR => error(data).map(ControlRef::Error),
            kind::RESYNC_REQUIRED => resync(data),
            kind::SUBSCRIBE => Ok(ControlRef::Subscribe),
            kind::UNSUBSCRIBE => Ok(ControlRef::Unsubscribe),
            _ => return None,
        };
        Some(read.map_err(|error| DecodeError::Data {
            kind: kind.into_owned(),
            error: error.to_owned(),
        }))
    }
}

type Read<T> = Result<T, &'static str>;

/// A control frame's data, validated (a frame's data is not, until it is read): `None` for
/// an app event's kind.
fn valid_data<'a>(
    envelope: &EnvelopeRef<'a>,
    kind: &str,
) -> Option<Result<Option<Value<'a>>, DecodeError>> {
    if !super::Control::KINDS.contains(&kind) {
        return None;
    }
    let data = envelope.data.map(Value::parse).transpose();
    Some(data.map_err(|e| DecodeError::Data {
        kind: kind.to_owned(),
        error: e.0.to_owned(),
    }))
}

/// The fields `names` of `data` (absent reads as `{}`); anything but an object is refused, and
/// so is a field given twice. (One function for every control type: four names at most.)
fn fields<'a>(data: Option<Value<'a>>, names: &[&str]) -> Read<[Option<Value<'a>>; 4]> {
    let mut found = [None; 4];
    let Some(data) = data else {
        return Ok(found);
    };
    if data.kind() != Kind::Object {
        return Err("data is not an object");
    }
    for (key, value) in data.entries() {
        let slot = names.iter().position(|n| key.is(n));
        if let Some(slot) = slot.and_then(|i| found.get_mut(i)) {
            if slot.replace(value).is_some() {
                return Err("a field appears twice");
            }
        }
    }
    Ok(found)
}

fn opt_str(value: Option<Value<'_>>) -> Read<Option<Str<'_>>> {
    match value {
        None => Ok(None),
        Some(v) if v.is_null() => Ok(None),
        Some(v) => v.as_str().map(Some).ok_or("a string field is not a string"),
    }
}

fn str_field(value: Option<Value<'_>>) -> Read<Str<'_>> {
    opt_str(value)?.ok_or("a required string field is missing")
}

fn opt_u64(value: Option<Value<'_>>) -> Read<Option<u64>> {
    match value {
        None => Ok(None),
        Some(v) if v.is_null() => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or("a number field is not an unsigned integer"),
    }
}

/// A map of topics to `seq`s, when present.
fn seq_map(value: Option<Value<'_>>) -> Read<()> {
    let Some(s) = value else { return Ok(()) };
    let numbers = s.kind() == Kind::Object && s.entries().all(|(_, n)| n.as_u64().is_some());
    if numbers {
        Ok(())
    } else {
        Err("a map of topics to numbers is not one")
    }
}

/// A list of topics, when present: an array of strings.
fn topic_list(value: Option<Value<'_>>) -> Read<()> {
    let Some(v) = value else { return Ok(()) };
    let strings = v.kind() == Kind::Array && v.items().all(|t| t.kind() == Kind::String);
    if strings {
        Ok(())
    } else {
        Err("`topics` is not a list of topics")
    }
}

fn heartbeat(data: Option<Value<'_>>) -> Read<Option<u64>> {
    let [timestamp, ..] = fields(data, &["timestamp"])?;
    opt_u64(timestamp)
}

fn ack(data: Option<Value<'_>>) -> Read<AckRef<'_>> {
    let [message_id, topics, seqs, epoch] =
        fields(data, &["message_id", "topics", "seqs", "epoch"])?;
    topic_list(topics)?;
    seq_map(seqs)?;
    Ok(AckRef {
        message_id: opt_str(message_id)?,
        topics,
        seqs,
        epoch: opt_str(epoch)?,
    })
}

fn refusal(data: Option<Value<'_>>) -> Read<RefusalRef<'_>> {
    let [message_id, topic, error, error_code] =
        fields(data, &["message_id", "topic", "error", "error_code"])?;
    Ok(RefusalRef {
        message_id: opt_str(message_id)?,
        topic: str_field(topic)?,
        error: str_field(error)?,
        error_code: str_field(error_code)?,
    })
}

fn unsubscribed(data: Option<Value<'_>>) -> Read<()> {
    let [message_id, topics, ..] = fields(data, &["message_id", "topics"])?;
    opt_str(message_id)?;
    topic_list(topics)
}

fn error(data: Option<Value<'_>>) -> Read<ErrorRef<'_>> {
    let [error, details, ..] = fields(data, &["error", "details"])?;
    Ok(ErrorRef {
        error: str_field(error)?,
        details: details.filter(|d| !d.is_null()),
    })
}

fn topics_request(data: Option<Value<'_>>, subscribe: bool) -> Read<TopicsRef<'_>> {
    let [message_id, topics, since, _] = fields(data, &["message_id", "topics", "since"])?;
    let topics = topics.ok_or("`topics` is missing")?;
    topic_list(Some(topics))?;
    let since = since.filter(|s| subscribe && !s.is_null());
    seq_map(since)?;
    Ok(TopicsRef {
        message_id: opt_str(message_id)?,
        topics,
        since,
    })
}

fn resync(data: Option<Value<'_>>) -> Read<ControlRef<'_>> {
    let [topic, seq, epoch, _] = fields(data, &["topic", "seq", "epoch"])?;
    Ok(ControlRef::ResyncRequired(ResyncRef {
        topic: str_field(topic)?,
        seq: opt_u64(seq)?,
        epoch: opt_str(epoch)?,
    }))
}
