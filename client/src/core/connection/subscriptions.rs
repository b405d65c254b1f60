//! Subscriptions on the wire: the topic table's coalesced changes go out at the end of a tick,
//! and the server's answers make topics active or refused.
//!
//! A server with tether's extensions answers a `subscribe` with `subscribe_ack` (and
//! `subscribe_error` per refused topic). A server without them (the origin's contract) answers
//! nothing, so the client sends a ping after the `subscribe`: servers handle a connection's
//! frames in order, so the `pong` proves the `subscribe` was handled. **A topic becomes active
//! at its acknowledgement, or, from a server without acknowledgements, at the first event on it
//! or the `pong` to the first ping sent after its `subscribe`, whichever comes first.** Once a
//! server is known to send no acknowledgements, each topic gets a `subscribe` of its own, so
//! that an `error` echoing its `message_id` names the refused topic; a refusal of a `subscribe`
//! that listed several (sent before that was known) has the topics of it not yet active
//! subscribed again, one by one, so a refused topic ends refused whatever the batching.

use super::Connection;
use crate::core::event::TopicEvent;
use crate::core::time::Instant;
use crate::core::topics::Activation;
use crate::protocol::control::{write, AckRef, ErrorRef};
use crate::protocol::json::{push_u64, Str};
use crate::protocol::Topic;

/// How many batched `subscribe`s split after a refusal a socket remembers, to recognise the
/// further errors naming them. Batches go out only until the server is known not to
/// acknowledge, so a socket has few.
pub(super) const MAX_SPLIT: usize = 16;

/// A `subscribe` the server has not confirmed yet.
#[derive(Debug)]
pub(super) struct Unconfirmed {
    message_id: String,
    topics: Vec<Topic>,
    /// The id of the first ping sent after it: that ping's `pong` passes it.
    barrier: u64,
}

impl Connection {
    /// Sends what changed in the topic table, if a socket is open, and a barrier ping if the
    /// server may not acknowledge.
    pub(super) fn flush_topics(&mut self, now: Instant) {
        if self.write_topic_changes(now) {
            self.send_ping(now);
        }
    }

    /// Sends at most one `unsubscribe` and the `subscribe`s for what changed. Returns true if
    /// a barrier ping should follow (the server was not seen acknowledging).
    pub(super) fn write_topic_changes(&mut self, now: Instant) -> bool {
        if self.open_socket().is_none() || !self.topics.is_dirty() {
            return false;
        }
        let changes = self.topics.take_changes();
        if !changes.unsubscribe.is_empty() {
            let message_id = self.next_message_id();
            self.write(write::unsubscribe(now.0, &message_id, &changes.unsubscribe));
        }
        if changes.subscribe.is_empty() {
            return false;
        }
        let acks = self.socket.as_ref().and_then(|s| s.acks);
        let chunks = if acks == Some(false) {
            changes.subscribe.into_iter().map(|t| vec![t]).collect()
        } else {
            split_by_size(changes.subscribe, self.cfg.max_frame_bytes)
        };
        let barrier = self.next_ping_id + 1;
        for chunk in chunks {
            let message_id = self.next_message_id();
            for (topic, _) in &chunk {
                self.topics.sent(topic, &message_id);
            }
            self.write(write::subscribe(now.0, &message_id, &chunk));
            let topics: Vec<Topic> = chunk.into_iter().map(|(t, _)| t).collect();
            if let Some(socket) = self.socket.as_mut() {
                socket.unconfirmed.push(Unconfirmed {
                    message_id,
                    topics,
                    barrier,
                });
            }
        }
        // A server already seen acknowledging is trusted to do so again; otherwise a ping
        // follows (the next periodic ping would pass the barrier too, only later).
        acks != Some(true) && self.server_acks != Some(true)
    }

    /// `subscribe_ack`: the server speaks tether's extensions; its topics are active.
    pub(super) fn on_ack(&mut self, ack: &AckRef<'_>) {
        self.server_acks = Some(true);
        let message_id = ack.message_id.map(|m| m.value());
        let message_id = message_id.as_deref();
        if let Some(socket) = self.socket.as_mut() {
            socket.acks = Some(true);
            if let Some(mid) = message_id {
                socket.unconfirmed.retain(|u| u.message_id != mid);
            }
        }
        let epoch = ack.epoch.map(|e| e.value());
        let mut seqs = SeqFinder::new(ack);
        for name in ack.topics() {
            let seq = seqs.find(name);
            let Some(topic) = self.topics.held_topic(&name.value()) else {
                continue;
            };
            let activation = self
                .topics
                .acknowledge(&topic, message_id, seq, epoch.as_deref());
            self.announce(topic, activation);
        }
    }

    /// `subscribe_error`: one topic was refused.
    pub(super) fn on_refused(&mut self, topic: Topic, code: String, error: String) {
        if self.topics.fail(&topic, &code, &error) {
            self.deliver(TopicEvent::Refused { topic, code, error });
        }
    }

    /// The `pong` to ping `ping_id` arrived: every `subscribe` sent before that ping and still
    /// unconfirmed was handled without an acknowledgement.
    pub(super) fn on_barrier_passed(&mut self, ping_id: u64) {
        let Some(socket) = self.socket.as_mut() else {
            return;
        };
        let (passed, kept): (Vec<Unconfirmed>, Vec<Unconfirmed>) =
            std::mem::take(&mut socket.unconfirmed)
                .into_iter()
                .partition(|u| u.barrier <= ping_id);
        socket.unconfirmed = kept;
        if passed.is_empty() {
            return;
        }
        socket.acks = Some(false);
        self.server_acks = Some(false);
        for unconfirmed in passed {
            for topic in unconfirmed.topics {
                self.activate_without_ack(topic);
            }
        }
    }

    /// An event arrived on `topic`: from a server without acknowledgements that means its
    /// `subscribe` was handled.
    pub(super) fn on_event_before_ack(&mut self, topic: &Topic) {
        let Some(socket) = self.socket.as_mut() else {
            return;
        };
        if socket.acks == Some(true) {
            return;
        }
        let Some(pos) = socket
            .unconfirmed
            .iter()
            .position(|u| u.topics.contains(topic))
        else {
            return;
        };
        socket.unconfirmed[pos].topics.retain(|t| t != topic);
        if socket.unconfirmed[pos].topics.is_empty() {
            socket.unconfirmed.remove(pos);
        }
        socket.acks = Some(false);
        self.server_acks = Some(false);
        self.activate_without_ack(topic.clone());
    }

    /// An `error` that answers no request: from a server without acknowledgements, one that
    /// names (by `req_id` or `details.message_id`) a `subscribe` refuses a topic of it. Of a
    /// single-topic `subscribe`, that topic. Of one listing several, it cannot say which (the
    /// origin sends one per refused topic, each naming the whole `subscribe`, and says which
    /// only in a sentence): the server is known not to acknowledge, and the topics of it not
    /// yet active are subscribed again, each on its own, so that each one's own answer settles
    /// it; the other errors naming that `subscribe` are the same refusals again. Returns false
    /// if it names none.
    pub(super) fn on_subscribe_refused_by_error(
        &mut self,
        req_id: Option<&str>,
        error: &ErrorRef<'_>,
    ) -> bool {
        let in_details = error.message_id().map(|m| m.value());
        let Some(named) = in_details.as_deref().or(req_id) else {
            return false;
        };
        let Some(socket) = self.socket.as_mut().filter(|s| s.acks != Some(true)) else {
            return false;
        };
        if socket.split.iter().any(|id| id == named) {
            return true;
        }
        let Some(pos) = socket
            .unconfirmed
            .iter()
            .position(|u| u.message_id == named)
        else {
            return false;
        };
        let refused = socket.unconfirmed.remove(pos);
        if let [topic] = &refused.topics[..] {
            let topic = topic.clone();
            let code = error.error.value().into_owned();
            self.on_refused(topic, code, error.explanation().into_owned());
            return true;
        }
        socket.acks = Some(false);
        self.server_acks = Some(false);
        if socket.split.len() == MAX_SPLIT {
            socket.split.remove(0);
        }
        socket.split.push(refused.message_id);
        let mut again = false;
        for topic in &refused.topics {
            again |= self.topics.subscribe_again(topic);
        }
        if again {
            self.schedule_flush();
        }
        true
    }

    fn activate_without_ack(&mut self, topic: Topic) {
        let activation = self.topics.activate_without_replay(&topic);
        self.announce(topic, activation);
    }

    /// Tells a topic's handlers it is active, and to resync if events were lost.
    fn announce(&mut self, topic: Topic, activation: Activation) {
        if let Activation::Active {
            seq,
            resync,
            history_lost,
        } = activation
        {
            self.deliver(TopicEvent::Subscribed {
                topic: topic.clone(),
                seq,
            });
            if resync {
                self.deliver(TopicEvent::ResyncRequired {
                    topic,
                    seq,
                    history_lost,
                });
            }
        }
    }

    fn next_message_id(&mut self) -> String {
        self.next_message_id += 1;
        let mut id = String::from("s");
        push_u64(&mut id, self.next_message_id);
        id
    }
}

/// Finds each acknowledged topic's `seq` in the acknowledgement's map. Servers list both in
/// the same order, so each search starts where the last one ended (and wraps around): linear
/// in the number of topics, for 2,048 topics as for one.
struct SeqFinder<'a> {
    seqs: Vec<(Str<'a>, u64)>,
    next: usize,
}

impl<'a> SeqFinder<'a> {
    fn new(ack: &AckRef<'a>) -> SeqFinder<'a> {
        SeqFinder {
            seqs: ack.seqs().collect(),
            next: 0,
        }
    }

    fn find(&mut self, topic: Str<'_>) -> Option<u64> {
        let n = self.seqs.len();
        let same = |s: Str<'_>| match (s.is_escaped(), topic.is_escaped()) {
            (false, false) => s.raw() == topic.raw(),
            _ => s.value() == topic.value(),
        };
        let i = (0..n)
            .map(|k| (self.next + k) % n)
            .find(|&i| same(self.seqs[i].0))?;
        self.next = i + 1;
        Some(self.seqs[i].1)
    }
}

/// Splits topics into chunks whose `subscribe` frame stays under `max_bytes`. The estimate is
/// conservative: each topic costs its name twice (list and `since`) plus punctuation and digits.
fn split_by_size(
    topics: Vec<(Topic, Option<u64>)>,
    max_bytes: usize,
) -> Vec<Vec<(Topic, Option<u64>)>> {
    const ENVELOPE: usize = 160;
    let budget = max_bytes.saturating_sub(ENVELOPE).max(1);
    let mut chunks = Vec::new();
    let mut chunk = Vec::new();
    let mut size = 0;
    for (topic, seq) in topics {
        let name_len = topic.as_str().len();
        let cost = name_len + 3 + seq.map_or(0, |_| name_len + 24);
        if !chunk.is_empty() && size + cost > budget {
            chunks.push(std::mem::take(&mut chunk));
            size = 0;
        }
        size += cost;
        chunk.push((topic, seq));
    }
    if !chunk.is_empty() {
        chunks.push(chunk);
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::split_by_size;
    use crate::protocol::Topic;

    fn sizes(topics: &[(&str, Option<u64>)], max: usize) -> Vec<usize> {
        let topics = topics.iter().map(|(t, s)| (Topic::new(*t), *s)).collect();
        split_by_size(topics, max).iter().map(Vec::len).collect()
    }

    #[test]
    fn chunks_fill_their_budget_exactly_and_no_further() {
        // Budget 30 (max - 160 for the envelope): "agent:1" costs 7 + 3 without a since.
        let three = [("agent:1", None), ("agent:2", None), ("agent:3", None)];
        assert_eq!(sizes(&three, 190), [3]);
        assert_eq!(sizes(&three, 189), [2, 1]);
        // With a since it costs 7 + 3 + 7 + 24 = 41: two fit in 82.
        let two = [("agent:1", Some(5)), ("agent:2", Some(9))];
        assert_eq!(sizes(&two, 160 + 82), [2]);
        assert_eq!(sizes(&two, 160 + 81), [1, 1]);
    }
}
