//! Frames as a client receives them, decoded in one pass and without copying:
//! [`EnvelopeRef`] reads an envelope in place (its strings and `data` are slices of the text),
//! and [`Frame`] keeps a received frame whole, its text and where its parts lie, for handlers
//! to decode `data` from when they want it.
//!
//! Both accept the frames [`Envelope::decode`](crate::Envelope::decode) accepts and read
//! them the same (a property test holds them to it), without serde: errors are static text.
//! One difference, for speed: `data` is found, not validated, when the frame is read; it is
//! validated when it is decoded ([`Frame::data`]), which fails for text that is not JSON.

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
    /// `data`'s text, found but not validated (whoever decodes it does); `None` (absent or
    /// `null`) reads as `{}`.
    pub data: Option<&'a str>,
}

fn malformed(e: json::Error) -> DecodeError {
    DecodeError::Envelope(e.0.to_owned())
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
    data: Option<&'a str>,
}

impl<'a> Fields<'a> {
    /// Reads the value of the field `key` (an unknown one is validated and skipped).
    fn read(&mut self, c: &mut Cursor<'a>, key: Str<'a>) -> Result<(), json::Error> {
        let fresh = match key.raw() {
            _ if key.is_escaped() => return self.read_escaped(c, key),
            "v" => self.v.replace(c.value()?).is_none(),
            "type" => self.kind.replace(c.string()?).is_none(),
            "topic" => self.topic.replace(c.opt_string()?).is_none(),
            "req_id" => self.req_id.replace(c.opt_string()?).is_none(),
            "ts" => self.ts.replace(c.opt_u64()?).is_none(),
            "seq" => self.seq.replace(c.opt_u64()?).is_none(),
            "data" => self.data.replace(c.skip_unvalidated()?).is_none(),
            _ => c.value().map(|_| true)?,
        };
        if fresh {
            Ok(())
        } else {
            Err(json::Error("a field appears twice"))
        }
    }

    /// A key written with escapes (`"ty\u0070e"`): the same field, read the slow way.
    #[cold]
    fn read_escaped(&mut self, c: &mut Cursor<'a>, key: Str<'a>) -> Result<(), json::Error> {
        let name = key.value();
        let plain = Str::plain(match &*name {
            "v" => "v",
            "type" => "type",
            "topic" => "topic",
            "req_id" => "req_id",
            "ts" => "ts",
            "seq" => "seq",
            "data" => "data",
            _ => return c.value().map(drop),
        });
        self.read(c, plain)
    }
}

impl<'a> EnvelopeRef<'a> {
    /// Reads one text frame: it must be a JSON object with `"v": 1` and a string `type`.
    pub fn parse(text: &'a str) -> Result<EnvelopeRef<'a>, DecodeError> {
        if let Some(envelope) = fast::parse(text) {
            return Ok(envelope);
        }
        let mut fields = Fields::default();
        let mut c = Cursor::new(text);
        c.eat(b'{', "expected an object").map_err(malformed)?;
        c.nest().map_err(malformed)?;
        if !c.eat_if(b'}') {
            loop {
                let key = c.key().map_err(malformed)?;
                fields.read(&mut c, key).map_err(malformed)?;
                if !c.more(b'}').map_err(malformed)? {
                    break;
                }
            }
        }
        c.end().map_err(malformed)?;
        // A missing `type` is reported before a wrong `v`, as `Envelope::decode` reports them.
        let kind = fields
            .kind
            .ok_or(malformed(json::Error("missing field `type`")))?;
        match fields.v.map(|v| v.raw()) {
            Some("1") => {}
            Some(other) => return Err(DecodeError::Version(other.to_owned())),
            None => return Err(malformed(json::Error("missing field `v`"))),
        }
        Ok(EnvelopeRef {
            kind,
            topic: fields.topic.flatten(),
            req_id: fields.req_id.flatten(),
            ts: fields.ts.flatten().unwrap_or(0),
            seq: fields.seq.flatten(),
            data: fields.data.filter(|d| *d != "null"),
        })
    }

    /// `data` as raw JSON (`{}` when absent or `null`).
    pub fn raw_data(&self) -> &'a str {
        self.data.unwrap_or("{}")
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
#[derive(Clone, Debug, PartialEq, Eq)]
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

/// Where an envelope's parts lie in its text: what a [`Frame`] keeps besides the text, taken
/// while the text is borrowed, so that the text can then be moved in ([`Frame::assemble`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameParts {
    kind: Part,
    req_id: Option<Part>,
    data: Part,
    ts: u64,
    seq: Option<u64>,
}

impl FrameParts {
    /// The parts of `envelope`, read from `text`.
    pub fn of(text: &str, envelope: &EnvelopeRef<'_>) -> FrameParts {
        FrameParts {
            kind: Part::of_str(text, envelope.kind),
            req_id: envelope.req_id.map(|r| Part::of_str(text, r)),
            data: match envelope.data {
                Some(d) => Part::of(text, d),
                None => Part::Own("{}".into()),
            },
            ts: envelope.ts,
            seq: envelope.seq,
        }
    }
}

impl Frame {
    /// Keeps a copy of `text`, already read as `envelope` (which must have been read from
    /// this `text`), on `topic` (which the caller looked up, so that a held topic's name is
    /// shared, not copied).
    pub fn new(text: &str, envelope: &EnvelopeRef<'_>, topic: Topic) -> Frame {
        Frame::assemble(text.into(), FrameParts::of(text, envelope), topic)
    }

    /// Keeps `text` itself, whose parts are `parts` ([`FrameParts::of`] this text): no copy.
    /// Parts of another text give a frame whose parts read as garbage, never a panic.
    pub fn assemble(text: Box<str>, parts: FrameParts, topic: Topic) -> Frame {
        Frame {
            text,
            kind: parts.kind,
            req_id: parts.req_id,
            data: parts.data,
            topic,
            ts: parts.ts,
            seq: parts.seq,
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

    /// Decodes `data` as `T` (with [`json::from_str`](crate::json::from_str): no serde_json, no
    /// formatting; errors say what went wrong in a few static words).
    pub fn data<T: DeserializeOwned>(&self) -> Result<T, DecodeError> {
        json::from_str(self.raw_data()).map_err(|e| DecodeError::Data {
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

mod fast;
#[cfg(test)]
mod tests;
