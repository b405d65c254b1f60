//! Incoming frames: each is decoded once into an [`Envelope`]. A reply settles its request;
//! a control frame is handled here (heartbeats, acknowledgements, refusals, resyncs, errors);
//! anything else is an app event, checked against its topic's last `seq` and delivered to the
//! topic's handlers. Frames from a socket that is not current are ignored.

use std::rc::Rc;

use super::Connection;
use crate::core::event::{ClientError, Output, RequestError, SocketId, TopicEvent};
use crate::core::requests::Requests;
use crate::core::time::Instant;
use crate::core::topics::{SeqVerdict, TopicStatus};
use crate::protocol::control::{ErrorData, Heartbeat};
use crate::protocol::{Control, DecodeError, Envelope};

impl Connection {
    /// A text frame arrived.
    pub fn handle_socket_message(&mut self, socket: SocketId, text: &str, now: Instant) {
        if !self.accept_frame(socket, text.len(), now) {
            return;
        }
        match Envelope::decode(text) {
            Ok(envelope) => self.route(Rc::new(envelope), now),
            Err(e) => self.malformed(ClientError::Malformed(e)),
        }
    }

    /// A binary frame arrived: read as UTF-8 JSON text when it is that, else dropped and
    /// reported as [`ClientError::UnsupportedBinary`].
    pub fn handle_socket_binary(&mut self, socket: SocketId, bytes: &[u8], now: Instant) {
        match std::str::from_utf8(bytes) {
            Ok(text) => self.handle_socket_message(socket, text, now),
            Err(_) => {
                if self.accept_frame(socket, bytes.len(), now) {
                    self.malformed(ClientError::UnsupportedBinary { len: bytes.len() });
                }
            }
        }
    }

    /// Counts a frame from the current open socket and treats it as a sign of life (and, for
    /// the first one, as the socket's proof). False for a frame from any other socket.
    fn accept_frame(&mut self, socket: SocketId, len: usize, now: Instant) -> bool {
        if !self
            .socket
            .as_ref()
            .is_some_and(|s| s.id == socket && s.opened_at.is_some())
        {
            return false;
        }
        self.counters.frames_in += 1;
        self.counters.bytes_in += len as u64;
        self.prove(now);
        self.heard_from_server(now);
        true
    }

    fn malformed(&mut self, error: ClientError) {
        self.counters.malformed_frames += 1;
        self.outputs.push_back(Output::Error(error));
    }

    fn route(&mut self, envelope: Rc<Envelope>, now: Instant) {
        let answered = self.finish_request(&envelope);
        if !answered && self.cfg.relay_replies && envelope.req_id.is_some() {
            self.outputs.push_back(Output::Relay(envelope.clone()));
        }
        let control = match Control::parse(&envelope) {
            None => return self.route_event(envelope),
            Some(Ok(control)) => control,
            Some(Err(_)) if answered => return,
            Some(Err(e)) => return self.malformed(ClientError::Malformed(e)),
        };
        match control {
            Control::Ping(Heartbeat { timestamp }) => {
                self.write_control(&Control::Pong(Heartbeat { timestamp }), None, now);
            }
            Control::Pong(_) => {
                if let Some(ping) = self.on_pong(envelope.req_id.as_deref(), now) {
                    self.on_barrier_passed(ping);
                }
            }
            Control::SubscribeAck(ack) => self.on_ack(ack),
            Control::SubscribeError(e) => self.on_refused(e.topic, e.error_code, e.error),
            Control::UnsubscribeSuccess(_) => {}
            Control::ResyncRequired(r) => {
                // A resync naming another epoch than the one this topic was in: the server
                // lost the history (a broker restarted without its data, say).
                let history_lost = match (self.topics.epoch(&r.topic), r.epoch.as_deref()) {
                    (Some(known), Some(named)) => known != named,
                    _ => false,
                };
                if self.topics.resync(&r.topic, r.seq, r.epoch.as_deref()) {
                    self.deliver(TopicEvent::ResyncRequired {
                        topic: r.topic,
                        seq: r.seq,
                        history_lost,
                    });
                }
            }
            Control::Error(e) if !answered => {
                if !self.on_subscribe_refused_by_error(envelope.req_id.as_deref(), &e) {
                    self.report_server_error(&e);
                }
            }
            Control::Error(_) => {}
            // Client-to-server types have no meaning coming from a server.
            Control::Subscribe(_) | Control::Unsubscribe(_) => self.counters.events_unrouted += 1,
        }
    }

    fn report_server_error(&mut self, e: &ErrorData) {
        self.outputs.push_back(Output::Error(ClientError::Server {
            error: e.error.clone(),
            details: e.explanation().to_owned(),
        }));
    }

    /// Settles the request this frame answers, if any: an `error` fails it, anything else is
    /// its reply. Returns true if it did. Each request settles once.
    fn finish_request(&mut self, envelope: &Rc<Envelope>) -> bool {
        let Some(id) = envelope.req_id.as_deref().and_then(Requests::parse_wire_id) else {
            return false;
        };
        if !self.requests.finish(id) {
            return false;
        }
        let result = if envelope.kind == crate::protocol::control::kind::ERROR {
            let e: Result<ErrorData, DecodeError> = envelope.data();
            let e = e.unwrap_or_else(|e| ErrorData {
                error: "MALFORMED".into(),
                details: Some(e.to_string().into()),
            });
            Err(RequestError::Server {
                error: e.error.clone(),
                details: e.explanation().to_owned(),
            })
        } else {
            Ok(envelope.clone())
        };
        self.outputs.push_back(Output::RequestDone { id, result });
        true
    }

    /// Delivers an app event to its topic's handlers, once: a `seq` at or below the last one
    /// delivered is a duplicate. From a server without acknowledgements, the first event on a
    /// pending topic activates it first.
    fn route_event(&mut self, envelope: Rc<Envelope>) {
        let topic = envelope.topic.clone();
        if self.topics.status(&topic) == Some(&TopicStatus::Pending) {
            self.on_event_before_ack(&topic);
        }
        match self.topics.admit(&topic, envelope.seq) {
            SeqVerdict::Deliver { gap } => {
                self.counters.seq_gaps += u64::from(gap);
                self.deliver(TopicEvent::Message(envelope));
            }
            SeqVerdict::Duplicate => self.counters.duplicates_dropped += 1,
            SeqVerdict::NotHeld => self.counters.events_unrouted += 1,
        }
    }
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
                Output::Relay(e) => e.req_id.clone(),
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
