//! Resume across reloads, on the connection (feature `resume`): a stored record read at start,
//! topics mounted after it starting from their stored positions, and the record of the
//! current positions written out ([`Output::Persist`]) at most every `persist_every` while
//! they move, and at once on `pagehide`.

use super::Connection;
use crate::core::event::Output;
use crate::core::resume::{ResumeCounters, Start};
use crate::core::time::Instant;
use crate::protocol::Topic;

impl Connection {
    /// A record stored by an earlier page of this tab (the driver read it from storage). It is
    /// untrusted input: a record that fails a check is ignored and counted. Call it before the
    /// app subscribes; without [`Config::resume`](crate::core::Config::resume) it does nothing.
    pub fn handle_restore(&mut self, record: &str, _now: Instant) {
        if let Some(resume) = self.resume.as_mut() {
            resume.restore(record);
        }
    }

    /// `pagehide`: the page may be going away; the record is written now.
    pub fn handle_pagehide(&mut self, now: Instant) {
        self.persist(now);
    }

    /// What resuming did (zeros without [`Config::resume`](crate::core::Config::resume)).
    pub fn resume_counters(&self) -> ResumeCounters {
        self.resume
            .as_ref()
            .map(|r| r.counters.clone())
            .unwrap_or_default()
    }

    /// A topic just acquired: it starts from its stored position, if it has one.
    pub(super) fn resume_start(&mut self, topic: &Topic, now: Instant) {
        let Some(resume) = self.resume.as_mut() else {
            return;
        };
        match resume.take(topic.as_str(), now) {
            Some(Start::From(seq, epoch)) => self.topics.start_from(topic, seq, epoch),
            Some(Start::Expired) => self.topics.start_stale(topic),
            None => {}
        }
    }

    /// True if this connection keeps positions to resume from.
    pub(super) fn resumes(&self) -> bool {
        self.resume.is_some()
    }

    /// A position moved (an event delivered, a topic activated or resynced): the record is
    /// written `persist_every` from now, unless a write is already due.
    pub(super) fn position_moved(&mut self, now: Instant) {
        if let Some(resume) = self.resume.as_mut() {
            resume.moved(now);
        }
    }

    /// When the record is next written, if a position moved.
    pub(super) fn persist_due(&self) -> Option<Instant> {
        self.resume.as_ref().and_then(|r| r.due)
    }

    /// The timer fired: writes the record if it is due.
    pub(super) fn on_persist_timeout(&mut self, now: Instant) {
        if self.persist_due().is_some_and(|due| due <= now) {
            self.persist(now);
        }
    }

    fn persist(&mut self, now: Instant) {
        let Some(resume) = self.resume.as_mut() else {
            return;
        };
        let record = resume.record(self.topics.positions(), now);
        self.outputs.push_back(Output::Persist(record));
    }
}
