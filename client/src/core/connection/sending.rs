//! Frames out. Control frames go on any open socket. App frames (`send`, `request`) go only on
//! a socket that has proved itself; until then they wait in the bounded outbox, each for at most
//! the queue timeout, and flush in order once a socket is proved. A request's reply is due
//! within the request timeout of the moment it was actually sent.

use super::Connection;
use crate::core::event::{ClientError, Output, RequestError, RequestId, SendError, SocketId};
use crate::core::outbox::Queued;
use crate::core::requests::Requests;
use crate::core::state::ConnectionState;
use crate::core::time::Instant;
use crate::protocol::Envelope;

impl Connection {
    /// Sends a frame now if a proved socket can take it, else queues it. The frame is stamped
    /// with `now` as its `ts`.
    pub fn send(&mut self, frame: Envelope, now: Instant) -> Result<(), SendError> {
        self.submit(frame.with_ts(now.0).encode(), None, now)
    }

    /// [`Connection::send`] for a frame already encoded, sent as it is (its `ts` and
    /// `req_id` are its sender's): for something that relays other clients' frames.
    pub fn send_encoded(&mut self, text: String, now: Instant) -> Result<(), SendError> {
        self.submit(text, None, now)
    }

    /// Sends a frame as a request with a fresh `req_id`: the reply that echoes it settles the
    /// request, as do the timeouts, the loss of its socket and `close()`.
    pub fn request(&mut self, frame: Envelope, now: Instant) -> Result<RequestId, SendError> {
        if self.state == ConnectionState::Closed {
            return Err(SendError::Closed);
        }
        let id = self.requests.start();
        let text = frame
            .with_req_id(Requests::wire_id(id))
            .with_ts(now.0)
            .encode();
        match self.submit(text, Some(id), now) {
            Ok(()) => Ok(id),
            Err(e) => {
                self.requests.finish(id);
                Err(e)
            }
        }
    }

    fn submit(
        &mut self,
        text: String,
        request: Option<RequestId>,
        now: Instant,
    ) -> Result<(), SendError> {
        if self.state == ConnectionState::Closed {
            return Err(SendError::Closed);
        }
        if text.len() > self.cfg.max_frame_bytes {
            return Err(SendError::TooLarge(text.len()));
        }
        match self.proven_socket() {
            Some(socket) => {
                // Subscriptions made earlier in this tick go first, so order is preserved.
                self.flush_topics(now);
                self.send_app_frame(socket, text, request, now);
            }
            None => {
                self.outbox.push(Queued {
                    text,
                    request,
                    deadline: now + self.cfg.queue_timeout,
                })?;
                self.work_arrived(now);
            }
        }
        Ok(())
    }

    fn send_app_frame(
        &mut self,
        socket: SocketId,
        text: String,
        request: Option<RequestId>,
        now: Instant,
    ) {
        if let Some(id) = request {
            self.requests
                .mark_sent(id, socket, now + self.cfg.request_timeout);
        }
        self.write(text);
    }

    /// The socket proved itself: the outbox goes out, oldest first.
    pub(super) fn flush_outbox(&mut self, socket: SocketId, now: Instant) {
        let queued: Vec<Queued> = self.outbox.drain().collect();
        for q in queued {
            self.send_app_frame(socket, q.text, q.request, now);
        }
    }

    /// Sent requests whose reply is overdue fail with `Timeout`.
    pub(super) fn on_requests_timeout(&mut self, now: Instant) {
        let after = self.cfg.request_timeout;
        for id in self.requests.expired(now) {
            self.outputs.push_back(Output::RequestDone {
                id,
                result: Err(RequestError::Timeout { after }),
            });
        }
    }

    /// Frames that waited in the outbox past the queue timeout are dropped unsent: a request
    /// fails with `Expired`, plain sends are counted and reported.
    pub(super) fn on_outbox_timeout(&mut self, now: Instant) {
        let waited = self.cfg.queue_timeout;
        let mut plain = 0;
        for q in self.outbox.expire(now) {
            match q.request {
                Some(id) => {
                    self.requests.finish(id);
                    self.outputs.push_back(Output::RequestDone {
                        id,
                        result: Err(RequestError::Expired { waited }),
                    });
                }
                None => plain += 1,
            }
        }
        if plain > 0 {
            self.outputs
                .push_back(Output::Error(ClientError::OutboxExpired(plain)));
        }
    }
}
