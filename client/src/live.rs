//! One load lifecycle for every view that mixes a REST snapshot with live events, such as a
//! chat's history or a dashboard's list.
//!
//! The rule that makes such a view exactly-once: **load the snapshot only once the topic is
//! active.** The subscription takes effect first (the handler is told `Subscribed`); only then
//! does the [`LoadGate`] ask for the snapshot. The snapshot is therefore current to some `seq`
//! at or after the subscription's start, so every event after that `seq` arrives live: events
//! that arrive while the snapshot loads are held and applied after it, skipping those it
//! already includes. A `ResyncRequired` asks for a new snapshot the same way. Loading at mount
//! instead, beside the subscribe, loses the events published between the snapshot and the
//! moment the subscription takes effect (always, when the view mounts while disconnected).
//!
//! The gate is sans-IO: it says when to load and what to apply; the owner (a manager) fetches.

use std::rc::Rc;

use crate::core::TopicEvent;
use crate::protocol::Frame;

/// Identifies one snapshot request; an answer carrying an older ticket is ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadTicket(u64);

/// Where the view stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadState {
    /// The subscription has not taken effect yet.
    WaitingForTopic,
    /// A snapshot was asked for; events are held until it arrives.
    Loading,
    /// The snapshot is in; events apply as they come.
    Live,
}

/// What the owner must do with a topic event.
#[derive(Debug, PartialEq)]
pub enum GateStep {
    /// Fetch the snapshot and hand it to [`LoadGate::loaded`] with this ticket.
    Load(LoadTicket),
    /// Apply this event to the model now.
    Apply(Rc<Frame>),
    /// Nothing now (the event is held, or already in the snapshot).
    Wait,
}

/// The load lifecycle of one topic of one view. See the module docs.
#[derive(Debug)]
pub struct LoadGate {
    state: LoadState,
    ticket: u64,
    held: Vec<Rc<Frame>>,
    snapshot_seq: Option<u64>,
}

impl Default for LoadGate {
    fn default() -> Self {
        LoadGate {
            state: LoadState::WaitingForTopic,
            ticket: 0,
            held: Vec::new(),
            snapshot_seq: None,
        }
    }
}

impl LoadGate {
    /// A gate waiting for its topic.
    pub fn new() -> LoadGate {
        LoadGate::default()
    }

    /// Where the view stands.
    pub fn state(&self) -> LoadState {
        self.state
    }

    /// Events held until the snapshot arrives.
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// The `seq` the last snapshot was current to, if the server numbers events.
    pub fn snapshot_seq(&self) -> Option<u64> {
        self.snapshot_seq
    }

    /// Feeds one topic event to the gate.
    pub fn on_event(&mut self, event: &TopicEvent) -> GateStep {
        match event {
            TopicEvent::Subscribed { .. } if self.state == LoadState::WaitingForTopic => {
                self.request()
            }
            TopicEvent::ResyncRequired { .. } => self.request(),
            TopicEvent::Message(m) => match self.state {
                LoadState::Live if self.in_snapshot(m) => GateStep::Wait,
                LoadState::Live => GateStep::Apply(m.clone()),
                _ => {
                    self.held.push(m.clone());
                    GateStep::Wait
                }
            },
            _ => GateStep::Wait,
        }
    }

    /// The snapshot for `ticket` arrived, current to `seq` (`None` from a server that does not
    /// number events). Returns the held events to apply after it, in order, or `None` if the
    /// ticket is stale (a newer snapshot was asked for).
    pub fn loaded(&mut self, ticket: LoadTicket, seq: Option<u64>) -> Option<Vec<Rc<Frame>>> {
        if ticket.0 != self.ticket || self.state != LoadState::Loading {
            return None;
        }
        self.state = LoadState::Live;
        self.snapshot_seq = seq;
        let held = std::mem::take(&mut self.held);
        Some(held.into_iter().filter(|m| !self.in_snapshot(m)).collect())
    }

    fn request(&mut self) -> GateStep {
        self.ticket += 1;
        self.state = LoadState::Loading;
        GateStep::Load(LoadTicket(self.ticket))
    }

    fn in_snapshot(&self, m: &Frame) -> bool {
        matches!((m.seq, self.snapshot_seq), (Some(s), Some(upto)) if s <= upto)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Envelope, Topic};

    fn event(seq: Option<u64>) -> TopicEvent {
        let e = Envelope::new("x", Topic::thread(1), &serde_json::json!({})).unwrap();
        let e = match seq {
            Some(seq) => e.with_seq(seq),
            None => e,
        };
        TopicEvent::Message(Rc::new(Frame::decode(&e.encode()).unwrap()))
    }

    fn seqs(events: &[Rc<Frame>]) -> Vec<Option<u64>> {
        events.iter().map(|e| e.seq).collect()
    }

    fn subscribed() -> TopicEvent {
        TopicEvent::Subscribed {
            topic: Topic::thread(1),
            seq: Some(5),
        }
    }

    #[test]
    fn the_snapshot_is_asked_for_only_once_the_topic_is_active() {
        let mut gate = LoadGate::new();
        assert_eq!(gate.state(), LoadState::WaitingForTopic);
        let GateStep::Load(ticket) = gate.on_event(&subscribed()) else {
            panic!("load on subscribed")
        };
        assert_eq!(gate.on_event(&subscribed()), GateStep::Wait, "once");
        assert_eq!(gate.on_event(&event(Some(6))), GateStep::Wait);
        assert_eq!(gate.on_event(&event(Some(8))), GateStep::Wait);
        assert_eq!(gate.held(), 2);
        let after = gate.loaded(ticket, Some(7)).unwrap();
        assert_eq!(seqs(&after), [Some(8)], "6 is in the snapshot");
        assert!(matches!(gate.on_event(&event(Some(7))), GateStep::Wait));
        assert!(matches!(gate.on_event(&event(Some(9))), GateStep::Apply(_)));
    }

    #[test]
    fn a_resync_asks_again_and_an_older_answer_is_ignored() {
        let mut gate = LoadGate::new();
        let GateStep::Load(first) = gate.on_event(&subscribed()) else {
            panic!()
        };
        let resync = TopicEvent::ResyncRequired {
            topic: Topic::thread(1),
            seq: Some(50),
            history_lost: false,
        };
        let GateStep::Load(second) = gate.on_event(&resync) else {
            panic!()
        };
        gate.on_event(&event(Some(51)));
        assert_eq!(gate.loaded(first, Some(10)), None, "stale");
        assert_eq!(seqs(&gate.loaded(second, Some(50)).unwrap()), [Some(51)]);
        assert_eq!(gate.loaded(second, Some(50)), None, "answered already");
    }

    #[test]
    fn without_seq_every_held_event_is_applied_after_the_snapshot() {
        let mut gate = LoadGate::new();
        let GateStep::Load(t) = gate.on_event(&subscribed()) else {
            panic!()
        };
        gate.on_event(&event(None));
        gate.on_event(&event(None));
        assert_eq!(gate.loaded(t, None).unwrap().len(), 2);
        assert!(matches!(gate.on_event(&event(None)), GateStep::Apply(_)));
    }
}
