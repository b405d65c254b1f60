//! What the hub fans out: an [`Event`] an app publishes, numbered on its topic as a
//! [`Publication`] at a [`StreamPosition`] (`seq` and [`Epoch`]). A publication is encoded once,
//! with its `seq`, for connections with tether's extensions; the same frame without `seq`, for
//! the others, is made the first time one of them needs it.

use serde::Serialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, OnceLock};
use tungstenite::Utf8Bytes;

use tether_wire::{DecodeError, Envelope, Topic};

/// A topic history's incarnation. It changes when the storage of a topic's stream is lost (a
/// restart without persistence, an evicted stream), so that a client whose `seq` the new
/// stream has already passed is told to resync instead of being given another stream's events.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Epoch(Arc<str>);

impl Epoch {
    /// An epoch named `name`.
    pub fn new(name: impl AsRef<str>) -> Epoch {
        Epoch(name.as_ref().into())
    }

    /// Its name, as `subscribe_ack` reports it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Epoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A place in a topic's stream: the `seq` of its last event (0 before the first), in an epoch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamPosition {
    /// The `seq` of the last event (0: none yet).
    pub offset: u64,
    /// The stream's incarnation.
    pub epoch: Epoch,
}

/// An event to publish: its wire `type`, its `data` and, when it answers a client's request,
/// that request's `req_id`.
#[derive(Clone, Debug)]
pub struct Event {
    /// The wire `type`.
    pub kind: Cow<'static, str>,
    /// The `data`, encoded (an object, by the protocol's rule).
    pub data: Box<RawValue>,
    /// The request this event answers, echoed as `req_id`.
    pub req_id: Option<String>,
}

impl Event {
    /// An event of `kind` with `data`, encoded now.
    pub fn new(
        kind: impl Into<Cow<'static, str>>,
        data: &impl Serialize,
    ) -> Result<Event, serde_json::Error> {
        Ok(Event::raw(kind, serde_json::value::to_raw_value(data)?))
    }

    /// An event of `kind` whose `data` is already encoded.
    pub fn raw(kind: impl Into<Cow<'static, str>>, data: Box<RawValue>) -> Event {
        Event {
            kind: kind.into(),
            data,
            req_id: None,
        }
    }

    /// Sets the `req_id`.
    pub fn with_req_id(mut self, req_id: Option<String>) -> Event {
        self.req_id = req_id;
        self
    }

    /// The event's frame on `topic`, stamped `ts`, numbered `seq` if given.
    pub fn envelope(self, topic: &Topic, ts: u64, seq: Option<u64>) -> Envelope {
        Envelope {
            kind: self.kind.into_owned(),
            topic: topic.clone(),
            req_id: self.req_id,
            ts,
            seq,
            data: self.data,
        }
    }
}

/// One event, numbered on its topic and encoded.
#[derive(Debug)]
pub struct Publication {
    /// Its topic.
    pub topic: Topic,
    /// Its place in the topic's stream: `offset` is its `seq`.
    pub position: StreamPosition,
    /// When it was published, ms since the Unix epoch (its frame's `ts`).
    pub ts: u64,
    /// With `seq`, for connections that asked for tether's extensions.
    text: Utf8Bytes,
    /// Without `seq`, for the others; made when first needed.
    plain: OnceLock<Utf8Bytes>,
}

impl Publication {
    /// `event` on `topic` at `position` (its `seq` is `position.offset`), stamped `ts`.
    pub fn new(topic: &Topic, event: Event, position: StreamPosition, ts: u64) -> Publication {
        let envelope = event.envelope(topic, ts, Some(position.offset));
        Publication {
            topic: topic.clone(),
            position,
            ts,
            text: envelope.encode().into(),
            plain: OnceLock::new(),
        }
    }

    /// A publication from its encoded frame (as a broker may carry it between nodes): the
    /// frame must decode and carry a `seq`, which is its offset in `epoch`.
    pub fn from_frame(text: &str, epoch: Epoch) -> Result<Publication, DecodeError> {
        let envelope = Envelope::decode(text)?;
        let seq = envelope
            .seq
            .ok_or_else(|| DecodeError::Envelope("a publication without seq".into()))?;
        Ok(Publication {
            topic: envelope.topic,
            position: StreamPosition { offset: seq, epoch },
            ts: envelope.ts,
            text: text.into(),
            plain: OnceLock::new(),
        })
    }

    /// Its `seq`.
    pub fn seq(&self) -> u64 {
        self.position.offset
    }

    /// Its epoch.
    pub fn epoch(&self) -> &Epoch {
        &self.position.epoch
    }

    /// The frame for a connection with (`true`) or without tether's extensions.
    pub fn text_for(&self, extended: bool) -> Utf8Bytes {
        if extended {
            return self.text.clone();
        }
        self.plain
            .get_or_init(|| without_seq(&self.text, self.seq()))
            .clone()
    }

    /// Its size as kept for replay: the encoded frame's bytes.
    pub fn bytes(&self) -> usize {
        self.text.len()
    }

    /// Whether the text without `seq` was made.
    pub fn has_plain_text(&self) -> bool {
        self.plain.get().is_some()
    }
}

/// The same frame without its `seq`. The envelope's encoder writes `"seq":N` right before
/// `"data"`, and that text cannot occur earlier (inside a string its quotes would be escaped),
/// so cutting it out is exact; a frame of another shape is decoded and encoded again.
fn without_seq(text: &str, seq: u64) -> Utf8Bytes {
    let needle = format!(",\"seq\":{seq},\"data\":");
    if let Some(at) = text.find(&needle) {
        let mut plain = String::with_capacity(text.len());
        plain.push_str(&text[..at]);
        plain.push_str(",\"data\":");
        plain.push_str(&text[at + needle.len()..]);
        return plain.into();
    }
    match Envelope::decode(text) {
        Ok(mut envelope) => {
            envelope.seq = None;
            envelope.encode().into()
        }
        Err(_) => text.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plain_text_is_the_frame_without_seq_and_made_lazily() {
        let data = serde_json::json!({"seq": 5, "text": ",\"seq\":5,\"data\":"});
        let event = Event::new("note", &data)
            .expect("encodes")
            .with_req_id(Some("r1".into()));
        let position = StreamPosition {
            offset: 5,
            epoch: Epoch::new("e"),
        };
        let p = Publication::new(&Topic::new("a:1"), event, position, 7);
        assert!(!p.has_plain_text());
        let full = Envelope::decode(&p.text_for(true)).expect("valid");
        assert!(
            !p.has_plain_text(),
            "an extended connection needs no plain text"
        );
        let plain = Envelope::decode(&p.text_for(false)).expect("valid");
        assert!(
            p.has_plain_text(),
            "made once, for the first plain connection"
        );
        assert_eq!((plain.seq, full.seq), (None, Some(5)));
        assert_eq!(plain.data.get(), full.data.get());
        assert_eq!((plain.req_id, plain.ts), (Some("r1".into()), 7));
        let again = Publication::from_frame(&p.text_for(true), Epoch::new("e")).expect("decodes");
        assert_eq!((again.seq(), again.topic.as_str()), (5, "a:1"));
        assert_eq!(again.epoch().as_str(), "e", "the epoch it was carried in");
        assert_eq!(again.epoch().as_str(), again.epoch().to_string());
        assert!(Publication::from_frame(&p.text_for(false), Epoch::new("e")).is_err());
    }
}
