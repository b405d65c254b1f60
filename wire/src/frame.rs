//! Frames as a client receives them, decoded in one pass and without copying:
//! [`EnvelopeRef`] reads an envelope in place (its strings and `data` are slices of the text),
//! and [`Frame`] keeps a received frame whole, its text and where its parts lie, for handlers
//! to decode `data` from when they want it.
//!
//! Both accept exactly the frames [`Envelope::decode`](crate::Envelope::decode) accepts (a
//! property test holds them to it), without serde: errors are static text.

use std::fmt;

use serde::de::DeserializeOwned;

use crate::envelope::{write_head, DecodeError, Envelope, Message};
use crate::json::{self, Cursor, Str, Value};
use crate::topic::Topic;

/// An envelope read in place from a frame's text.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EnvelopeRef<'a> {
    /// `type`.
    pub kind: Str<'a>,
    /// `topic`; `None` (absent or `null`) reads as `system`.
    pub topic: Option<Str<'a>>,
    /// `req_id`.
    pub req_id: Option<Str<'a>>,
    /// `ts` (0 when absent).
    pub ts: u64,
    /// `seq`.
    pub seq: Option<u64>,
    /// `data`, validated JSON; `None` (absent or `null`) reads as `{}`.
    pub data: Option<Value<'a>>,
}

fn malformed(what: &'static str) -> DecodeError {
    DecodeError::Envelope(what.to_owned())
}

/// The envelope's fields as they are read, each at most once.
#[derive(Default)]
struct Fields<'a> {
    v: Option<Value<'a>>,
    kind: Option<Str<'a>>,
    topic: Option<Option<Str<'a>>>,
    req_id: Option<Option<Str<'a>>>,
    ts: Option<Option<u64>>,
    seq: Option<Option<u64>>,
    data: Option<Value<'a>>,
}

impl<'a> Fields<'a> {
    fn read(&mut self, c: &mut Cursor<'a>, key: Str<'a>) -> Result<(), DecodeError> {
        let key = key.value();
        let value = c.value().map_err(|e| malformed(e.0))?;
        let fresh = match &*key {
            "v" => self.v.replace(value).is_none(),
            "type" => {
                let kind = value.as_str().ok_or(malformed("`type` is not a string"))?;
                self.kind.replace(kind).is_none()
            }
            "topic" => self.topic.replace(opt_str(value)?).is_none(),
            "req_id" => self.req_id.replace(opt_str(value)?).is_none(),
            "ts" => self.ts.replace(opt_u64(value)?).is_none(),
            "seq" => self.seq.replace(opt_u64(value)?).is_none(),
            "data" => self.data.replace(value).is_none(),
            _ => true,
        };
        if fresh {
            Ok(())
        } else {
            Err(malformed("a field appears twice"))
        }
    }
}

/// A string or `null`.
fn opt_str(value: Value<'_>) -> Result<Option<Str<'_>>, DecodeError> {
    if value.is_null() {
        return Ok(None);
    }
    value
        .as_str()
        .map(Some)
        .ok_or(malformed("a string field is not a string"))
}

/// An unsigned integer or `null`.
fn opt_u64(value: Value<'_>) -> Result<Option<u64>, DecodeError> {
    if value.is_null() {
        return Ok(None);
    }
    value
        .as_u64()
        .map(Some)
        .ok_or(malformed("`ts` or `seq` is not an unsigned integer"))
}

impl<'a> EnvelopeRef<'a> {
    /// Reads one text frame: it must be a JSON object with `"v": 1` and a string `type`.
    pub fn parse(text: &'a str) -> Result<EnvelopeRef<'a>, DecodeError> {
        let mut fields = Fields::default();
        let mut c = Cursor::new(text);
        let mut failed = None;
        let read = c.object(|c, key| {
            fields.read(c, key).map_err(|e| {
                failed = Some(e);
                crate::json::Error("")
            })
        });
        if let Err(e) = read {
            return Err(failed.unwrap_or_else(|| malformed(e.0)));
        }
        c.end().map_err(|e| malformed(e.0))?;
        match fields.v.map(|v| v.raw()) {
            Some("1") => {}
            Some(other) => return Err(DecodeError::Version(other.to_owned())),
            None => return Err(malformed("missing field `v`")),
        }
        Ok(EnvelopeRef {
            kind: fields.kind.ok_or(malformed("missing field `type`"))?,
            topic: fields.topic.flatten(),
            req_id: fields.req_id.flatten(),
            ts: fields.ts.flatten().unwrap_or(0),
            seq: fields.seq.flatten(),
            data: fields.data.filter(|d| !d.is_null()),
        })
    }

    /// `data` as raw JSON (`{}` when absent or `null`).
    pub fn raw_data(&self) -> &'a str {
        self.data.map_or("{}", |d| d.raw())
    }

    /// The frame's text again, with `req_id` in place of its own (none: without one): for
    /// something that relays frames and rewrites their ids. Written without serde.
    pub fn encode_with_req_id(&self, req_id: Option<&str>) -> String {
        let data = self.raw_data();
        let mut out = String::with_capacity(64 + data.len());
        let topic = self.topic.map(|t| t.value());
        let topic = topic.as_deref().unwrap_or(crate::topic::SYSTEM);
        write_head(
            &mut out,
            &self.kind.value(),
            topic,
            req_id,
            self.ts,
            self.seq,
        );
        out.push_str(data);
        out.push('}');
        out
    }

    /// True if `topic` is absent, `null` or `system`.
    pub fn is_system(&self) -> bool {
        self.topic.is_none_or(|t| t.is(crate::topic::SYSTEM))
    }
}

/// Where a part of a [`Frame`] is: a range of its text, or its own text when the frame's
/// differs (a string with escapes, `data` absent).
#[derive(Clone, PartialEq, Eq)]
enum Part {
    At(u32, u32),
    Own(Box<str>),
}

impl Part {
    /// `part`, a slice of `text`, as a range of it (garbage, never a panic, for another).
    fn of(text: &str, part: &str) -> Part {
        let start = (part.as_ptr() as usize).wrapping_sub(text.as_ptr() as usize);
        Part::At(start as u32, start.wrapping_add(part.len()) as u32)
    }

    fn of_str(text: &str, s: Str<'_>) -> Part {
        if s.is_escaped() {
            Part::Own(s.value().into())
        } else {
            Part::of(text, s.raw())
        }
    }

    fn get<'t>(&'t self, text: &'t str) -> &'t str {
        match self {
            Part::At(start, end) => text.get(*start as usize..*end as usize).unwrap_or(""),
            Part::Own(s) => s,
        }
    }
}

/// A received frame, kept whole: its text and where its parts lie. Handlers get one for each
/// event ([`Frame::data`] decodes its payload when asked); request replies are frames too.
#[derive(Clone, PartialEq)]
pub struct Frame {
    text: Box<str>,
    kind: Part,
    req_id: Option<Part>,
    data: Part,
    /// The topic; `system` for connection-level frames.
    pub topic: Topic,
    /// The sender's clock, milliseconds since the Unix epoch.
    pub ts: u64,
    /// The event's number on its topic (tether's extension).
    pub seq: Option<u64>,
}

impl Frame {
    /// Keeps `text`, already read as `envelope` (which must have been read from this `text`),
    /// on `topic` (which the caller looked up, so that a held topic's name is shared, not
    /// copied).
    pub fn new(text: &str, envelope: &EnvelopeRef<'_>, topic: Topic) -> Frame {
        let data = match envelope.data {
            Some(d) => Part::of(text, d.raw()),
            None => Part::Own("{}".into()),
        };
        Frame {
            kind: Part::of_str(text, envelope.kind),
            req_id: envelope.req_id.map(|r| Part::of_str(text, r)),
            data,
            text: text.into(),
            topic,
            ts: envelope.ts,
            seq: envelope.seq,
        }
    }

    /// Reads and keeps one text frame.
    pub fn decode(text: &str) -> Result<Frame, DecodeError> {
        let envelope = EnvelopeRef::parse(text)?;
        let topic = envelope
            .topic
            .map_or_else(Topic::system, |t| Topic::new(t.value()));
        Ok(Frame::new(text, &envelope, topic))
    }

    /// The message type (`type` on the wire).
    pub fn kind(&self) -> &str {
        self.kind.get(&self.text)
    }

    /// The request this frame answers, if any.
    pub fn req_id(&self) -> Option<&str> {
        self.req_id.as_ref().map(|r| r.get(&self.text))
    }

    /// The payload, as raw JSON (`{}` when the frame had none).
    pub fn raw_data(&self) -> &str {
        self.data.get(&self.text)
    }

    /// The frame's text, as received.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Decodes `data` as `T` (with [`json::de`](crate::json::de): no serde_json, no
    /// formatting; errors say what went wrong in a few static words).
    pub fn data<T: DeserializeOwned>(&self) -> Result<T, DecodeError> {
        let data = Value::trusted(self.raw_data());
        json::de::from_value(data).map_err(|e| DecodeError::Data {
            kind: self.kind().to_owned(),
            error: e.text(),
        })
    }

    /// Decodes the frame as a [`Message`] enum, by its `type`.
    pub fn decode_as<M: Message>(&self) -> Result<M, DecodeError> {
        M::decode(self.kind(), self.raw_data())
    }

    /// The same frame as an owned [`Envelope`] (which a relay may change), decoded again.
    pub fn to_envelope(&self) -> Result<Envelope, DecodeError> {
        Envelope::decode(&self.text)
    }
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests;
