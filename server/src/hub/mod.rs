//! The hub: this node's topics and their subscribers, and the fan-out of numbered events to
//! them. It numbers nothing and keeps no history (the broker does both); it hands each
//! [`Publication`] the broker gives it to every local subscriber of its topic, through that
//! subscriber's cursor ([`cursor`]), so that no subscriber is sent a gap or a repeat unawares.
//!
//! Joining is a protocol in two steps, so that a subscriber's catch-up (a replay from `since`,
//! or a snapshot) and its live events meet with no gap and no duplicate even when the history
//! comes from a remote store and takes time:
//!
//! 1. [`Hub::begin_join`]: the subscriber is a member at once, but *joining*: publications of
//!    the topic are kept for it in a bounded buffer instead of being sent.
//! 2. Its catch-up is fetched (after step 1, so that it covers at least every event published
//!    before the join). [`Hub::complete_join`] then queues, under the hub's lock, the reply with
//!    the catch-up, followed by the buffered publications after the position the catch-up
//!    covers, and makes the member *live* at that position.
//!
//! Everything here is synchronous and never waits: deliveries go to bounded send queues with
//! `try_send`.

pub mod cursor;
pub(crate) mod publication;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use tungstenite::Utf8Bytes;

use tether_wire::Topic;

pub(crate) use publication::{Epoch, Event, Publication, StreamPosition};

use crate::delivery::{ConnId, Delivery, Outbound, SendQueue, UserKey};

/// What a member is doing.
#[derive(Debug)]
enum State {
    /// Its catch-up is being fetched: publications wait here.
    Joining(Vec<Arc<Publication>>),
    /// It is sent publications after its cursor.
    Live(StreamPosition),
}

/// One subscriber of one topic on this node.
#[derive(Debug)]
struct Member {
    queue: SendQueue,
    state: State,
}

/// This node's topics, each with its members.
#[derive(Debug)]
pub struct Hub {
    topics: Mutex<HashMap<Topic, HashMap<ConnId, Member>>>,
    /// How many publications a joining member may wait for before its connection is closed as
    /// a slow consumer.
    max_buffer: usize,
}

/// How many frames a re-send reached, on how many sockets and topics (a test server's faults).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Redelivered {
    /// Frames queued.
    pub frames: usize,
    /// Distinct sockets that got at least one.
    pub sockets: usize,
    /// Topics that had something to send.
    pub topics: usize,
}

impl Hub {
    /// A hub whose joining members wait for at most `max_buffer` publications (the send queue's
    /// capacity is a good bound: a member that falls further behind would overflow it anyway).
    pub fn new(max_buffer: usize) -> Self {
        Hub {
            topics: Mutex::default(),
            max_buffer: max_buffer.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Topic, HashMap<ConnId, Member>>> {
        self.topics.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Step 1 of joining: `queue`'s connection becomes a joining member of each topic (again,
    /// if it was one: it will be sent its new catch-up, then what follows it).
    pub fn begin_join(&self, topics: &[Topic], queue: &SendQueue) {
        let mut all = self.lock();
        for topic in topics {
            let member = Member {
                queue: queue.clone(),
                state: State::Joining(Vec::new()),
            };
            all.entry(topic.clone())
                .or_default()
                .insert(queue.id(), member);
        }
    }

    /// Step 2 of joining: queues `reply` (the frames answering the subscribe, catch-ups
    /// included) followed, for each `(topic, covered)`, by the publications buffered for the
    /// member after `covered`, and makes it live at the last position sent; all under the
    /// hub's lock, so that no publication slips between. A topic the member left meanwhile is
    /// skipped.
    pub fn complete_join(
        &self,
        queue: &SendQueue,
        mut reply: Vec<Utf8Bytes>,
        covered: Vec<(Topic, StreamPosition)>,
    ) -> Delivery {
        let mut all = self.lock();
        for (topic, mut cursor) in covered {
            let Some(member) = all.get_mut(&topic).and_then(|m| m.get_mut(&queue.id())) else {
                continue;
            };
            if let State::Joining(buffered) = &member.state {
                for publication in buffered {
                    cursor::advance(&mut cursor, publication, queue.extended(), &mut reply);
                }
            }
            member.state = State::Live(cursor);
        }
        if reply.is_empty() {
            return Delivery::Queued;
        }
        queue.deliver(Outbound::Batch(reply))
    }

    /// Removes a connection from topics; returns the topics this node no longer has any
    /// member of.
    pub fn leave(&self, topics: &[Topic], conn: ConnId) -> Vec<Topic> {
        let mut all = self.lock();
        let mut emptied = Vec::new();
        for topic in topics {
            let Some(members) = all.get_mut(topic) else {
                continue;
            };
            members.remove(&conn);
            if members.is_empty() {
                all.remove(topic);
                emptied.push(topic.clone());
            }
        }
        emptied
    }

    /// Hands a publication to every member of its topic: sent through a live member's cursor,
    /// kept for a joining one. A member whose connection is gone is removed; one whose join
    /// buffer is full is closed as a slow consumer.
    pub fn fan_out(&self, publication: &Arc<Publication>) {
        let mut all = self.lock();
        let Some(members) = all.get_mut(&publication.topic) else {
            return;
        };
        let mut out = Vec::new();
        members.retain(|_, member| match &mut member.state {
            State::Live(cursor) => {
                out.clear();
                if cursor::advance(cursor, publication, member.queue.extended(), &mut out) {
                    tracing::warn!(
                        topic = %publication.topic,
                        seq = publication.seq(),
                        "a gap or a new epoch reached a subscriber: it is told to resync"
                    );
                }
                out.drain(..)
                    .all(|frame| member.queue.deliver_frame(frame) != Delivery::Gone)
            }
            State::Joining(buffered) if buffered.len() >= self.max_buffer => {
                member.queue.overflow();
                buffered.clear();
                true
            }
            State::Joining(buffered) => {
                buffered.push(publication.clone());
                true
            }
        });
    }

    /// Tells the live members of `topic` behind `position` to resync: the broker lost
    /// publications up to it that it cannot give back (see [`cursor::skip_to`]). A joining
    /// member is left to its catch-up, which is read from the history as it now is.
    pub fn skip_to(&self, topic: &Topic, position: &StreamPosition) {
        let mut all = self.lock();
        let Some(members) = all.get_mut(topic) else {
            return;
        };
        let mut out = Vec::new();
        members.retain(|_, member| match &mut member.state {
            State::Live(cursor) => {
                out.clear();
                cursor::skip_to(cursor, topic, position, member.queue.extended(), &mut out);
                out.drain(..)
                    .all(|frame| member.queue.deliver_frame(frame) != Delivery::Gone)
            }
            State::Joining(_) => true,
        });
    }

    /// How many connections hold each topic that has any.
    pub fn subscriber_counts(&self) -> BTreeMap<String, usize> {
        self.lock()
            .iter()
            .map(|(topic, members)| (topic.to_string(), members.len()))
            .collect()
    }

    /// The topics with a member of `user` (or with any member).
    pub fn topics_of(&self, user: Option<&UserKey>) -> Vec<Topic> {
        self.lock()
            .iter()
            .filter(|(_, members)| members.values().any(|m| of_user(&m.queue, user)))
            .map(|(topic, _)| topic.clone())
            .collect()
    }

    /// Sends `publications` again, as they are, to the members of their topics (of `user`, or
    /// all), bypassing their cursors: a test server's `duplicate` and `reorder` faults.
    pub fn resend(&self, publications: &[Arc<Publication>], user: Option<&UserKey>) -> Redelivered {
        let all = self.lock();
        let mut done = Redelivered::default();
        let mut sockets = HashSet::new();
        let mut topics = HashSet::new();
        for publication in publications {
            let Some(members) = all.get(&publication.topic) else {
                continue;
            };
            for member in members.values().filter(|m| of_user(&m.queue, user)) {
                let frame = publication.text_for(member.queue.extended());
                if member.queue.deliver_frame(frame) != Delivery::Gone {
                    done.frames += 1;
                    sockets.insert(member.queue.id());
                    topics.insert(publication.topic.clone());
                }
            }
        }
        done.sockets = sockets.len();
        done.topics = topics.len();
        done
    }
}

fn of_user(queue: &SendQueue, user: Option<&UserKey>) -> bool {
    user.is_none_or(|u| queue.user() == u)
}

#[cfg(test)]
mod tests;
