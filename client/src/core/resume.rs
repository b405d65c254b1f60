//! Resume across reloads (feature `resume`): the positions (last `seq` and the server's epoch
//! per topic) a page stored before it went away, read back as untrusted input, and the record
//! of the current positions to store.
//!
//! The record is text, one field a line, so that it needs no JSON codec:
//!
//! ```text
//! tether-resume 1
//! <the resume key, percent-encoded>
//! <stored at, ms> <seq> <epoch, percent-encoded, or -> <topic, percent-encoded>
//! …
//! ```
//!
//! A record that fails any check (not this format, another schema version, another key, too
//! large, too many topics) is ignored as a whole and counted in [`ResumeCounters`]. A position
//! older than [`ResumeConfig::max_age`] is kept only to tell its topic, if mounted, that it
//! must resync; it is never written again, so topics nobody mounts within the window are
//! forgotten. Nothing here reads a clock or touches storage: the driver does.

use super::time::{Instant, Millis};
use crate::protocol::json::push_u64;

/// The first line of a record of this release's schema.
const HEADER: &str = "tether-resume 1";
/// What every schema version's first line starts with.
const HEADER_PREFIX: &str = "tether-resume ";
/// The largest record read, in bytes.
pub const MAX_RECORD_BYTES: usize = 256 * 1024;
/// The most topics a record may hold.
pub const MAX_TOPICS: usize = 1024;

/// Resume settings: see [`Config::resume`](super::Config::resume).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResumeConfig {
    /// Whose positions these are: include the user, so that a record of another user (who
    /// used this tab before) is never trusted.
    pub key: String,
    /// A stored position older than this is stale: its topic resyncs instead of resuming.
    pub max_age: Millis,
    /// How long after a position moves the record is written (a `pagehide` writes at once).
    pub persist_every: Millis,
}

impl ResumeConfig {
    /// Positions stored under `key`, kept 5 minutes, written at most once a second.
    pub fn new(key: impl Into<String>) -> ResumeConfig {
        ResumeConfig {
            key: key.into(),
            max_age: Millis::secs(300),
            persist_every: Millis::secs(1),
        }
    }
}

/// What resuming did, for tests and health panels.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResumeCounters {
    /// Records read and accepted.
    pub records_restored: u64,
    /// Records written (`Output::Persist`).
    pub records_persisted: u64,
    /// Topics mounted that started from a stored position.
    pub positions_resumed: u64,
    /// Topics mounted whose stored position was too old: they resync.
    pub positions_expired: u64,
    /// Records ignored: not a record of any schema (garbage, truncated, bad numbers).
    pub rejected_garbage: u64,
    /// Records ignored: another schema version (an older or newer release).
    pub rejected_version: u64,
    /// Records ignored: stored under another resume key (another user).
    pub rejected_foreign: u64,
    /// Records ignored: larger than [`MAX_RECORD_BYTES`] or more than [`MAX_TOPICS`] topics.
    pub rejected_too_large: u64,
}

/// One stored position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Position {
    pub seq: u64,
    pub epoch: Option<String>,
    pub at: Instant,
}

/// What a topic mounted after a restore starts from.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Start {
    /// Its stored position, young enough.
    From(u64, Option<String>),
    /// A position too old to trust: it must resync.
    Expired,
}

/// Why a record was ignored.
#[derive(Debug, PartialEq, Eq)]
enum Rejected {
    Garbage,
    Version,
    Foreign,
    TooLarge,
}

/// The resume state of one connection.
#[derive(Debug)]
pub(crate) struct Resume {
    pub cfg: ResumeConfig,
    /// Restored positions of topics not mounted yet (a record holds each topic once).
    stored: Vec<(String, Position)>,
    pub counters: ResumeCounters,
    /// When the record is next written, if a position moved since the last one.
    pub due: Option<Instant>,
}

impl Resume {
    pub fn new(cfg: ResumeConfig) -> Resume {
        Resume {
            cfg,
            stored: Vec::new(),
            counters: ResumeCounters::default(),
            due: None,
        }
    }

    /// Reads a stored record. A rejected one is counted and changes nothing.
    pub fn restore(&mut self, text: &str) {
        match parse(text, &self.cfg.key) {
            Ok(positions) => {
                self.counters.records_restored += 1;
                self.stored = positions;
            }
            Err(why) => {
                let c = &mut self.counters;
                match why {
                    Rejected::Garbage => c.rejected_garbage += 1,
                    Rejected::Version => c.rejected_version += 1,
                    Rejected::Foreign => c.rejected_foreign += 1,
                    Rejected::TooLarge => c.rejected_too_large += 1,
                }
            }
        }
    }

    /// Where `topic`, mounted at `now`, starts: taken out of the stored positions.
    pub fn take(&mut self, topic: &str, now: Instant) -> Option<Start> {
        let at = self.stored.iter().position(|(t, _)| t == topic)?;
        let (_, p) = self.stored.swap_remove(at);
        if self.is_fresh(&p, now) {
            self.counters.positions_resumed += 1;
            Some(Start::From(p.seq, p.epoch))
        } else {
            self.counters.positions_expired += 1;
            Some(Start::Expired)
        }
    }

    fn is_fresh(&self, p: &Position, now: Instant) -> bool {
        p.at <= now && now.0 - p.at.0 <= self.cfg.max_age.0
    }

    /// Asks for a write `persist_every` from now, unless one is already due.
    pub fn moved(&mut self, now: Instant) {
        if self.due.is_none() {
            self.due = Some(now + self.cfg.persist_every);
        }
    }

    /// The record of `held` (each topic's last `seq` and epoch, as of `now`) and of the
    /// restored positions not mounted yet and still young enough.
    pub fn record<'a>(
        &mut self,
        held: impl Iterator<Item = (&'a str, u64, Option<&'a str>)>,
        now: Instant,
    ) -> String {
        self.due = None;
        self.counters.records_persisted += 1;
        let mut out = String::with_capacity(64);
        out.push_str(HEADER);
        out.push('\n');
        encode(&mut out, &self.cfg.key);
        let mut written = 0;
        for (topic, seq, epoch) in held {
            if written == MAX_TOPICS {
                return out;
            }
            push_line(&mut out, topic, seq, epoch, now);
            written += 1;
        }
        for (topic, p) in &self.stored {
            if written < MAX_TOPICS && self.is_fresh(p, now) {
                push_line(&mut out, topic, p.seq, p.epoch.as_deref(), p.at);
                written += 1;
            }
        }
        out
    }
}

fn push_line(out: &mut String, topic: &str, seq: u64, epoch: Option<&str>, at: Instant) {
    out.push('\n');
    push_u64(out, at.0);
    out.push(' ');
    push_u64(out, seq);
    out.push(' ');
    match epoch {
        Some(epoch) => encode(out, epoch),
        None => out.push('-'),
    }
    out.push(' ');
    encode(out, topic);
}

/// Checks and reads a record stored under `key`.
fn parse(text: &str, key: &str) -> Result<Vec<(String, Position)>, Rejected> {
    if text.len() > MAX_RECORD_BYTES {
        return Err(Rejected::TooLarge);
    }
    let mut lines = text.split('\n');
    match lines.next() {
        Some(HEADER) => {}
        Some(h) if h.starts_with(HEADER_PREFIX) => return Err(Rejected::Version),
        _ => return Err(Rejected::Garbage),
    }
    let stored_key = lines.next().and_then(decode).ok_or(Rejected::Garbage)?;
    if stored_key != key {
        return Err(Rejected::Foreign);
    }
    let mut positions: Vec<(String, Position)> = Vec::new();
    for line in lines {
        if positions.len() == MAX_TOPICS {
            return Err(Rejected::TooLarge);
        }
        let (topic, position) = parse_line(line).ok_or(Rejected::Garbage)?;
        // A topic written twice is not a record this client writes.
        if positions.iter().any(|(t, _)| *t == topic) {
            return Err(Rejected::Garbage);
        }
        positions.push((topic, position));
    }
    Ok(positions)
}

fn parse_line(line: &str) -> Option<(String, Position)> {
    let mut fields = line.split(' ');
    let at = fields.next()?.parse().ok()?;
    let seq = fields.next()?.parse().ok()?;
    let epoch = match fields.next()? {
        "-" => None,
        e => Some(decode(e)?),
    };
    let topic = decode(fields.next()?)?;
    if fields.next().is_some() || topic.is_empty() {
        return None;
    }
    let at = Instant(at);
    Some((topic, Position { seq, epoch, at }))
}

/// Percent-encodes everything but ASCII letters, digits and `_.~:` (so `-` alone means none,
/// and no field holds a space or a line break).
fn encode(out: &mut String, value: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    if value.is_empty() {
        out.push('%'); // An empty field would merge with the separator: never valid.
        return;
    }
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"_.~:".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
}

/// The value [`encode`] wrote, or `None` if `field` is not one it writes.
fn decode(field: &str) -> Option<String> {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hex = field.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else if b.is_ascii_alphanumeric() || b"_.~:".contains(&b) {
            out.push(b);
            i += 1;
        } else {
            return None;
        }
    }
    if out.is_empty() {
        return None;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resume() -> Resume {
        Resume::new(ResumeConfig::new("app:7"))
    }

    #[test]
    fn a_record_reads_back_what_was_written() {
        let mut r = resume();
        let held = [("agent:1", 12, Some("e 1")), ("feed:a b", 3, None)];
        let text = r.record(held.into_iter(), Instant(1_000));
        let mut back = resume();
        back.restore(&text);
        assert_eq!(back.counters.records_restored, 1, "{text}");
        assert_eq!(
            back.take("agent:1", Instant(2_000)),
            Some(Start::From(12, Some("e 1".into())))
        );
        assert_eq!(
            back.take("feed:a b", Instant(2_000)),
            Some(Start::From(3, None))
        );
        assert_eq!(back.take("agent:2", Instant(2_000)), None);
    }

    #[test]
    fn odd_fields_are_garbage_not_panics() {
        for text in [
            "",
            "tether-resume 1",
            "tether-resume 1\n",
            "tether-resume 1\napp:7\n1 2",
            "tether-resume 1\napp:7\n1 2 - t extra",
            "tether-resume 1\napp:7\nx 2 - t",
            "tether-resume 1\napp:7\n1 2 - %G1",
            "tether-resume 1\napp:7\n1 2 - %",
            "tether-resume 1\napp:7\n1 2 - %FF",
            "tether-resume 1\napp%3\n1 2 - t",
            "\u{0}\u{1}garbage",
        ] {
            let mut r = resume();
            r.restore(text);
            assert_eq!(r.counters.rejected_garbage, 1, "{text:?}");
        }
    }
}
