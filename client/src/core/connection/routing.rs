//! Incoming frames: each is decoded once into an [`Envelope`]. A reply settles its request;
//! a control frame is handled here (heartbeats, acknowledgements, refusals, resyncs, errors);
//! anything else is an app event, checked against its topic's last `seq` and delivered to the
//! topic's handlers. Frames from a socket that is not current are ignored.
//!
//! Each input comes with the time, or with a [`Clock`] read only when a frame needs the time
//! (the `_clocked` inputs, which the client uses): a first frame proves its socket, a heartbeat
//! is stamped or timed, a position to resume from is kept. An app event on a proven socket
//! needs none; it is heard untimed (see `heartbeat`).

use std::borrow::Cow;
use std::rc::Rc;

use super::frame_text::utf8;
use super::Connection;
use crate::core::event::{ClientError, Output, RequestError, SocketId, TopicEvent};
use crate::core::requests::Requests;
use crate::core::time::{Clock, Instant};
use crate::core::topics::SeqVerdict;
use crate::protocol::control::{kind, ControlRef, ErrorRef, ResyncRef};
use crate::protocol::{EnvelopeRef, Frame, FrameParts, Topic, SYSTEM};

impl Connection {
    /// A text frame arrived. An event delivered keeps a copy of `text`.
    pub fn handle_socket_message(&mut self, socket: SocketId, text: &str, now: Instant) {
        self.handle_socket_message_clocked(socket, text, Clock::at(now));
    }

    /// [`Connection::handle_socket_message`], reading `clock` only if the frame needs the time.
    pub fn handle_socket_message_clocked(&mut self, socket: SocketId, text: &str, clock: Clock) {
        if let Some((topic, parts, index)) = self.receive(socket, text, clock) {
            self.deliver_frame(Frame::assemble(text.into(), parts, topic), index);
        }
    }

    /// [`Connection::handle_socket_message`] for a text the driver owns: an event delivered
    /// keeps `text` itself, not a copy.
    pub fn handle_socket_text(&mut self, socket: SocketId, text: String, now: Instant) {
        self.handle_socket_text_clocked(socket, text, Clock::at(now));
    }

    /// [`Connection::handle_socket_text`], reading `clock` only if the frame needs the time.
    pub fn handle_socket_text_clocked(&mut self, socket: SocketId, text: String, clock: Clock) {
        if let Some((topic, parts, index)) = self.receive(socket, &text, clock) {
            self.deliver_frame(Frame::assemble(text.into_boxed_str(), parts, topic), index);
        }
    }

    /// Reads and routes a frame; an app event to deliver comes back as its topic and parts,
    /// for the caller to keep the text with. The frame is heard at its time if anything read
    /// it, and untimed otherwise.
    fn receive(&mut self, socket: SocketId, text: &str, mut clock: Clock) -> Option<Delivery> {
        if !self.accept_frame(socket, text.len(), &mut clock) {
            return None;
        }
        let delivery = match EnvelopeRef::parse(text) {
            Ok(envelope) => self.route(text, &envelope, &mut clock),
            Err(e) => {
                self.malformed(ClientError::Malformed(e));
                None
            }
        };
        #[cfg(feature = "resume")]
        if delivery.is_some() && self.resumes() {
            self.position_moved(clock.now());
        }
        match clock.known() {
            Some(now) => self.heard_from_server(now),
            None => self.heard_untimed(),
        }
        delivery
    }

    /// Delivers an event's frame. Its allocation is the last event's if nothing kept that
    /// (the pump has dropped it by now, unless a handler kept a copy): one allocation and one
    /// free fewer per event, for one frame kept meanwhile.
    fn deliver_frame(&mut self, frame: Frame, index: usize) {
        let shared = match self.last_frame.take() {
            Some(mut last) => match Rc::get_mut(&mut last) {
                Some(slot) => {
                    *slot = frame;
                    last
                }
                None => Rc::new(frame),
            },
            None => Rc::new(frame),
        };
        self.last_frame = Some(shared.clone());
        self.deliver_at(TopicEvent::Message(shared), Some(index));
    }

    /// A binary frame arrived that the driver owns: UTF-8 JSON text (what a server sends for
    /// `binary=1`) is read as a text frame, and an event delivered keeps it without a copy;
    /// anything else is dropped and reported as [`ClientError::UnsupportedBinary`].
    pub fn handle_socket_bytes(&mut self, socket: SocketId, bytes: Vec<u8>, now: Instant) {
        self.handle_socket_bytes_clocked(socket, bytes, Clock::at(now));
    }

    /// [`Connection::handle_socket_bytes`], reading `clock` only if the frame needs the time.
    pub fn handle_socket_bytes_clocked(&mut self, socket: SocketId, bytes: Vec<u8>, clock: Clock) {
        match utf8(bytes) {
            Ok(text) => self.handle_socket_text_clocked(socket, text, clock),
            Err(e) => {
                let mut clock = clock;
                let len = e.as_bytes().len();
                if self.accept_frame(socket, len, &mut clock) {
                    self.malformed(ClientError::UnsupportedBinary { len });
                    self.heard_from_server(clock.now());
                }
            }
        }
    }

    /// [`Connection::handle_socket_bytes`] for bytes the driver keeps.
    pub fn handle_socket_binary(&mut self, socket: SocketId, bytes: &[u8], now: Instant) {
        self.handle_socket_bytes(socket, bytes.to_vec(), now);
    }

    /// Counts a frame from the current open socket. The first one proves the socket, and the
    /// first after a ping is timed (see `heartbeat`): both read the time. False for a frame
    /// from any other socket.
    fn accept_frame(&mut self, socket: SocketId, len: usize, clock: &mut Clock) -> bool {
        let Some(s) = self
            .socket
            .as_ref()
            .filter(|s| s.id == socket && s.opened_at.is_some())
        else {
            return false;
        };
        let first = s.proven_at.is_none();
        self.counters.frames_in += 1;
        self.counters.bytes_in += len as u64;
        if first {
            self.prove(clock.now());
        } else if self.time_next_frame {
            clock.now();
        }
        true
    }

    fn malformed(&mut self, error: ClientError) {
        self.counters.malformed_frames += 1;
        self.outputs.push_back(Output::Error(error));
    }

    fn route(
        &mut self,
        text: &str,
        envelope: &EnvelopeRef<'_>,
        clock: &mut Clock,
    ) -> Option<Delivery> {
        let req_id = envelope.req_id.map(|r| r.value());
        let answered = self.finish_request(text, envelope, req_id.as_deref());
        if !answered && self.cfg.relay_replies && req_id.is_some() {
            let frame = Frame::new(text, envelope, topic_of(envelope));
            self.outputs.push_back(Output::Relay(Rc::new(frame)));
        }
        let control = match ControlRef::parse(envelope) {
            None => return self.route_event(text, envelope),
            Some(Ok(control)) => control,
            Some(Err(_)) if answered => return None,
            Some(Err(e)) => {
                self.malformed(ClientError::Malformed(e));
                return None;
            }
        };
        match control {
            ControlRef::Ping(timestamp) => {
                self.write_heartbeat(kind::PONG, None, timestamp, clock.now())
            }
            ControlRef::Pong(_) => {
                if let Some(ping) = self.on_pong(req_id.as_deref(), clock.now()) {
                    self.on_barrier_passed(ping);
                }
            }
            ControlRef::SubscribeAck(ack) => {
                self.on_ack(&ack);
                #[cfg(feature = "resume")]
                self.position_moved(clock.now());
            }
            ControlRef::SubscribeError(e) => {
                let topic = Topic::new(e.topic.value());
                self.on_refused(topic, e.error_code.value().into(), e.error.value().into());
            }
            ControlRef::UnsubscribeSuccess => {}
            ControlRef::ResyncRequired(r) => {
                self.on_resync(&r);
                #[cfg(feature = "resume")]
                self.position_moved(clock.now());
            }
            ControlRef::Error(e) if !answered => {
                if !self.on_subscribe_refused_by_error(req_id.as_deref(), &e) {
                    self.report_server_error(&e);
                }
            }
            ControlRef::Error(_) => {}
            // Client-to-server types have no meaning coming from a server.
            ControlRef::Subscribe | ControlRef::Unsubscribe => self.counters.events_unrouted += 1,
        }
        None
    }

    /// A topic's history cannot be replayed. A resync naming another epoch than the one the
    /// topic was in says the server lost the history (a broker restarted without its data).
    fn on_resync(&mut self, r: &ResyncRef<'_>) {
        let Some(topic) = self.topics.held_topic(&r.topic.value()) else {
            return;
        };
        let epoch = r.epoch.map(|e| e.value());
        let history_lost = match (self.topics.epoch(&topic), epoch.as_deref()) {
            (Some(known), Some(named)) => known != named,
            _ => false,
        };
        if self.topics.resync(&topic, r.seq, epoch.as_deref()) {
            let seq = r.seq;
            self.deliver(TopicEvent::ResyncRequired {
                topic,
                seq,
                history_lost,
            });
        }
    }

    fn report_server_error(&mut self, e: &ErrorRef<'_>) {
        self.outputs.push_back(Output::Error(ClientError::Server {
            error: e.error.value().into_owned(),
            details: e.explanation().into_owned(),
        }));
    }

    /// Settles the request this frame answers, if any: an `error` fails it, anything else is
    /// its reply. Returns true if it did. Each request settles once.
    fn finish_request(
        &mut self,
        text: &str,
        envelope: &EnvelopeRef<'_>,
        req_id: Option<&str>,
    ) -> bool {
        let Some(id) = req_id.and_then(Requests::parse_wire_id) else {
            return false;
        };
        if !self.requests.finish(id) {
            return false;
        }
        let result = if envelope.kind.is(kind::ERROR) {
            let (error, details) = match ControlRef::parse(envelope) {
                Some(Ok(ControlRef::Error(e))) => {
                    (e.error.value().into_owned(), e.explanation().into_owned())
                }
                _ => (
                    "MALFORMED".into(),
                    "the error frame's data is malformed".into(),
                ),
            };
            Err(RequestError::Server { error, details })
        } else {
            Ok(Rc::new(Frame::new(text, envelope, topic_of(envelope))))
        };
        self.outputs.push_back(Output::RequestDone { id, result });
        true
    }

    /// Delivers an app event to its topic's handlers, once: a `seq` at or below the last one
    /// delivered is a duplicate. From a server without acknowledgements, the first event on a
    /// pending topic activates it first. The topic is looked up by the name in the frame; the
    /// delivered frame shares the held topic's name.
    fn route_event(&mut self, text: &str, envelope: &EnvelopeRef<'_>) -> Option<Delivery> {
        let name = envelope.topic.map_or(Cow::Borrowed(SYSTEM), |t| t.value());
        let Some((index, topic, pending)) = self.topics.find_held(&name) else {
            self.counters.events_unrouted += 1;
            return None;
        };
        if pending {
            // Activating it changes no topic's place in the table: `index` still holds.
            self.on_event_before_ack(&topic);
        }
        match self.topics.admit_at(index, envelope.seq) {
            SeqVerdict::Deliver { gap } => {
                self.counters.seq_gaps += u64::from(gap);
                return Some((topic, FrameParts::of(text, envelope), index));
            }
            SeqVerdict::Duplicate => self.counters.duplicates_dropped += 1,
            SeqVerdict::NotHeld => self.counters.events_unrouted += 1,
        }
        None
    }
}

/// An app event to deliver: its topic (the held one), where its parts lie in its text, and
/// where the topic sits in the topic table.
type Delivery = (Topic, FrameParts, usize);

/// The topic a frame names (`system` when it names none), as a new name.
fn topic_of(envelope: &EnvelopeRef<'_>) -> Topic {
    envelope
        .topic
        .map_or_else(Topic::system, |t| Topic::new(t.value()))
}

#[cfg(test)]
mod tests {
    use crate::core::{Config, Connection, Instant, Output, SocketId};

    const T0: Instant = Instant(1_000);

    /// A connection on an open, proved socket (its first frame was a server ping).
    fn open(relay: bool) -> (Connection, SocketId) {
        let mut cfg = Config::new("ws://stub/api/ws/v2");
        cfg.relay_replies = relay;
        let mut c = Connection::new(cfg, 1);
        c.handle_connect(T0);
        let socket = std::iter::from_fn(|| c.poll_output())
            .find_map(|o| match o {
                Output::OpenSocket { socket, .. } => Some(socket),
                _ => None,
            })
            .unwrap();
        c.handle_socket_opened(socket, T0);
        c.handle_socket_message(
            socket,
            r#"{"v":1,"type":"ping","topic":"system","ts":0,"data":{}}"#,
            T0,
        );
        while c.poll_output().is_some() {}
        (c, socket)
    }

    fn relayed(c: &mut Connection) -> Vec<String> {
        std::iter::from_fn(|| c.poll_output())
            .filter_map(|o| match o {
                Output::Relay(e) => e.req_id().map(str::to_owned),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_hub_relays_replies_to_requests_it_did_not_make_and_nothing_else() {
        let reply = r#"{"v":1,"type":"thread_message","topic":"thread:1","ts":0,"req_id":"t7.r1","data":{}}"#;
        let plain = r#"{"v":1,"type":"thread_message","topic":"thread:1","ts":0,"data":{}}"#;
        let (mut c, socket) = open(true);
        c.handle_socket_message(socket, reply, T0);
        c.handle_socket_message(socket, plain, T0);
        assert_eq!(relayed(&mut c), ["t7.r1"]);
        let (mut c, socket) = open(false);
        c.handle_socket_message(socket, reply, T0);
        assert!(relayed(&mut c).is_empty(), "a plain client relays nothing");
    }

    /// An event's frame reuses the last one's allocation only when nothing kept it: a frame a
    /// handler keeps is never overwritten by the next event.
    #[test]
    fn a_kept_frame_is_never_overwritten_by_the_next_event() {
        let (mut c, socket) = open(false);
        c.subscribe(&crate::protocol::Topic::new("agent:1"), T0);
        while c.poll_output().is_some() {}
        let event = |seq: u64| {
            format!(
                r#"{{"v":1,"type":"agent_updated","topic":"agent:1","ts":0,"seq":{seq},"data":{{}}}}"#
            )
        };
        let delivered = |c: &mut Connection, seq: u64| {
            c.handle_socket_message(socket, &event(seq), T0);
            std::iter::from_fn(|| c.poll_output())
                .find_map(|o| match o {
                    Output::Deliver(crate::TopicEvent::Message(frame), _) => Some(frame),
                    _ => None,
                })
                .expect("the event was delivered")
        };
        let kept = delivered(&mut c, 1);
        drop(delivered(&mut c, 2));
        let next = delivered(&mut c, 3);
        let after = delivered(&mut c, 4);
        let seqs = [&kept, &next, &after].map(|f| f.seq);
        assert_eq!(
            seqs,
            [Some(1), Some(3), Some(4)],
            "each kept frame is its own"
        );
    }

    #[test]
    fn client_to_server_frames_from_the_server_are_counted_unrouted() {
        let (mut c, socket) = open(false);
        let bytes_before = c.metrics().counters.bytes_in;
        let frame =
            r#"{"v":1,"type":"subscribe","topic":"system","ts":0,"data":{"topics":["agent:1"]}}"#;
        c.handle_socket_message(socket, frame, T0);
        let m = c.metrics();
        assert_eq!(m.counters.events_unrouted, 1);
        assert_eq!(m.counters.malformed_frames, 0);
        assert_eq!(m.counters.bytes_in, bytes_before + frame.len() as u64);
    }
}
