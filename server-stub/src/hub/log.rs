//! What the hub keeps of each event: the encoded frame, with its `seq` and, made on demand,
//! without it; and the publish log, the bounded ground truth of what was published on which
//! topic that test control serves.

use axum::extract::ws::Utf8Bytes;
use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::OnceLock;

use tether_wire::{Envelope, Topic};

/// How many entries the publish log keeps, over all topics; older ones are evicted.
pub const PUBLISH_LOG_CAPACITY: usize = 100_000;

/// One published event, encoded.
#[derive(Debug)]
pub struct Published {
    /// Its number on its topic.
    pub seq: u64,
    /// Its place among the events of every topic, for evicting the oldest first.
    pub(super) order: u64,
    /// With `seq`, for connections that asked for tether's extensions.
    text: Utf8Bytes,
    /// Without `seq`, for the others; made when first needed.
    plain: OnceLock<Utf8Bytes>,
}

impl Published {
    /// The event numbered `seq`, encoded from `envelope`; the plain text is made now too when
    /// `plain_now` says a subscriber without extensions is waiting for it.
    pub(super) fn encode(
        mut envelope: Envelope,
        seq: u64,
        order: u64,
        plain_now: bool,
    ) -> Published {
        envelope.seq = Some(seq);
        let published = Published {
            seq,
            order,
            text: envelope.encode().into(),
            plain: OnceLock::new(),
        };
        if plain_now {
            envelope.seq = None;
            let _ = published.plain.set(envelope.encode().into());
        }
        published
    }

    /// The frame for a connection with (`true`) or without tether's extensions.
    pub fn text_for(&self, extended: bool) -> Utf8Bytes {
        if extended {
            return self.text.clone();
        }
        self.plain.get_or_init(|| without_seq(&self.text)).clone()
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

/// The same frame without its `seq` (the frame itself if it somehow does not decode).
fn without_seq(text: &str) -> Utf8Bytes {
    match Envelope::decode(text) {
        Ok(mut envelope) => {
            envelope.seq = None;
            envelope.encode().into()
        }
        Err(_) => text.into(),
    }
}

/// One entry of the publish log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    /// Which history it belongs to: 0 at start, plus one per restart that lost history.
    pub epoch: u64,
    /// The topic.
    pub topic: Topic,
    /// Its `seq` on the topic, in its epoch.
    pub seq: u64,
    /// Its `type`.
    pub kind: Cow<'static, str>,
    /// The id of its payload (agent, run, thread or message), if it has one.
    pub id: Option<u64>,
    /// When it was published, ms since the Unix epoch.
    pub ts: u64,
}

/// The last [`PUBLISH_LOG_CAPACITY`] events published, of every topic.
#[derive(Debug, Default)]
pub struct PublishLog {
    entries: VecDeque<LogEntry>,
    evicted: u64,
}

impl PublishLog {
    /// Records one event, evicting the oldest entry when full.
    pub fn record(&mut self, entry: LogEntry) {
        self.entries.push_back(entry);
        if self.entries.len() > PUBLISH_LOG_CAPACITY {
            self.entries.pop_front();
            self.evicted += 1;
        }
    }

    /// The entries of `topic`, oldest first.
    pub fn of(&self, topic: &Topic) -> Vec<LogEntry> {
        self.entries
            .iter()
            .filter(|e| &e.topic == topic)
            .cloned()
            .collect()
    }

    /// How many entries (of any topic) were evicted.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }
}
