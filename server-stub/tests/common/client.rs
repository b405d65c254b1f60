//! The WebSocket client of the tests: typed send helpers for every client message, and
//! receive helpers that decode what the server sent, all with timeouts.

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use tether_wire::agents::model::SendMessage;
use tether_wire::agents::AgentsMessage;
use tether_wire::control::Control;
use tether_wire::control::{Heartbeat, Subscribe, Unsubscribe};
use tether_wire::{Envelope, Topic};

use super::TIMEOUT;

/// A WebSocket client.
pub struct Client {
    /// The socket.
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// What the server did at the end of a connection.
#[derive(Debug, PartialEq, Eq)]
pub enum End {
    /// A close frame with this code and reason.
    Closed(u16, String),
    /// The connection ended without a close frame.
    Dropped,
}

impl Client {
    /// Sends a frame.
    pub async fn send(&mut self, frame: Envelope) {
        self.send_text(frame.encode()).await;
    }

    /// Sends a control message with an optional `req_id`.
    pub async fn send_control(&mut self, control: Control, req_id: Option<&str>) {
        let mut frame = control.to_envelope().with_ts(1);
        frame.req_id = req_id.map(str::to_owned);
        self.send(frame).await;
    }

    /// Sends raw text.
    pub async fn send_text(&mut self, text: impl Into<String>) {
        self.ws
            .send(Message::text(text.into()))
            .await
            .expect("send");
    }

    /// Sends a subscribe.
    pub async fn subscribe(&mut self, message_id: &str, topics: &[&str], since: &[(&str, u64)]) {
        let since = (!since.is_empty()).then(|| {
            since
                .iter()
                .map(|(t, s)| (Topic::from(*t), *s))
                .collect::<BTreeMap<_, _>>()
        });
        let topics = topics.iter().map(|t| Topic::from(*t)).collect();
        let subscribe = Subscribe {
            topics,
            message_id: Some(message_id.into()),
            since,
        };
        self.send_control(Control::Subscribe(subscribe), None).await;
    }

    /// Subscribes to topics that must all be accepted with no `since`; returns the ack's seqs
    /// after consuming the ack and the agent snapshots.
    pub async fn subscribe_ok(&mut self, topics: &[&str]) -> BTreeMap<Topic, u64> {
        self.subscribe("ok", topics, &[]).await;
        let Control::SubscribeAck(ack) = self.recv_control().await else {
            panic!("expected subscribe_ack")
        };
        let names: Vec<&str> = ack.topics.iter().map(Topic::as_str).collect();
        assert_eq!(names, topics, "all topics accepted");
        for _ in topics.iter().filter(|t| t.starts_with("agent:")) {
            assert_eq!(self.recv().await.kind, "agent_state");
        }
        ack.seqs
    }

    /// Subscribes without extensions to topics that must all be accepted: consumes the agent
    /// snapshots and proves with a ping that nothing else came.
    pub async fn subscribe_plain_ok(&mut self, topics: &[&str]) {
        self.subscribe("plain", topics, &[]).await;
        for _ in topics.iter().filter(|t| t.starts_with("agent:")) {
            assert_eq!(self.recv().await.kind, "agent_state");
        }
        self.assert_nothing_pending().await;
    }

    /// Sends an unsubscribe.
    pub async fn unsubscribe(&mut self, message_id: &str, topics: &[&str]) {
        let topics = topics.iter().map(|t| Topic::from(*t)).collect();
        let unsubscribe = Unsubscribe {
            topics,
            message_id: Some(message_id.into()),
        };
        self.send_control(Control::Unsubscribe(unsubscribe), None)
            .await;
    }

    /// Sends a `ping` with `req_id`.
    pub async fn ping(&mut self, req_id: &str, timestamp: u64) {
        let ping = Heartbeat {
            timestamp: Some(timestamp),
        };
        self.send_control(Control::Ping(ping), Some(req_id)).await;
    }

    /// Sends a `send_message`.
    pub async fn send_message(&mut self, req_id: &str, thread_id: u64, content: &str) {
        let data = SendMessage {
            thread_id,
            content: content.into(),
        };
        let frame = Envelope::new("send_message", Topic::thread(thread_id), &data)
            .expect("encodes")
            .with_req_id(req_id)
            .with_ts(1);
        self.send(frame).await;
    }

    /// Proves that nothing is queued for this client: a `ping` is answered by the very next frame.
    pub async fn assert_nothing_pending(&mut self) {
        self.ping("fence", 7).await;
        let frame = self.recv().await;
        assert_eq!(
            frame.req_id.as_deref(),
            Some("fence"),
            "expected the fence pong, got {frame:?}"
        );
        assert_eq!(
            control(&frame),
            Control::Pong(Heartbeat { timestamp: Some(7) }),
            "got {frame:?}"
        );
    }

    /// The next WebSocket message (`None` at the end of the stream).
    pub async fn next_raw(&mut self) -> Option<Result<Message, WsError>> {
        tokio::time::timeout(TIMEOUT, self.ws.next())
            .await
            .expect("timed out waiting for the server")
    }

    /// The next message, without a timeout; `None` when the stream ends or fails.
    pub async fn next_frame(&mut self) -> Option<Message> {
        self.ws.next().await.and_then(Result::ok)
    }

    /// The next text frame as text.
    pub async fn recv_text(&mut self) -> String {
        loop {
            match self.next_raw().await {
                Some(Ok(Message::Text(text))) => return text.as_str().to_owned(),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => panic!("expected a text frame, got {other:?}"),
            }
        }
    }

    /// The next frame, decoded.
    pub async fn recv(&mut self) -> Envelope {
        let text = self.recv_text().await;
        Envelope::decode(&text).unwrap_or_else(|e| panic!("undecodable frame {text}: {e}"))
    }

    /// The next frame, which must be a control message.
    pub async fn recv_control(&mut self) -> Control {
        control(&self.recv().await)
    }

    /// The next frame that is not a server `ping`.
    pub async fn recv_event(&mut self) -> Envelope {
        loop {
            let frame = self.recv().await;
            if frame.kind != "ping" {
                return frame;
            }
        }
    }

    /// Sends the reply to a close frame the server sent, so that it can let go at once.
    pub async fn answer_close(&mut self) {
        let _ = self.ws.flush().await;
    }

    /// How the connection ends; data frames before the end fail the test unless `skip_data`.
    pub async fn end(&mut self, skip_data: bool) -> End {
        loop {
            match self.next_raw().await {
                Some(Ok(Message::Close(frame))) => {
                    self.answer_close().await;
                    return frame.map_or(End::Closed(1005, String::new()), |f| {
                        End::Closed(f.code.into(), f.reason.as_str().into())
                    });
                }
                Some(Ok(Message::Text(text))) if !skip_data => {
                    panic!("expected the end, got {text}")
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return End::Dropped,
            }
        }
    }

    /// The close code the connection ends with, failing on any data frame first.
    pub async fn close_code(&mut self) -> u16 {
        match self.end(false).await {
            End::Closed(code, _) => code,
            End::Dropped => panic!("the connection dropped without a close frame"),
        }
    }

    /// Asserts that nothing at all arrives, and the connection does not end, for `duration`.
    pub async fn assert_silent_for(&mut self, duration: Duration) {
        if let Ok(next) = tokio::time::timeout(duration, self.ws.next()).await {
            panic!("expected silence, got {next:?}");
        }
    }
}

/// A frame's control message; fails the test if it is an app event or does not decode.
pub fn control(frame: &Envelope) -> Control {
    match Control::parse(frame) {
        Some(Ok(control)) => control,
        other => panic!("expected a control message, got {frame:?}: {other:?}"),
    }
}

/// A frame's app event as tether's client decodes it; fails the test if it does not decode.
pub fn agents(frame: &Envelope) -> AgentsMessage {
    frame
        .decode_as::<AgentsMessage>()
        .unwrap_or_else(|e| panic!("undecodable event {frame:?}: {e}"))
}

/// A frame's `data` as JSON.
pub fn data(frame: &Envelope) -> Value {
    serde_json::from_str(frame.data.get()).expect("data is JSON")
}

/// The numbers of a sequence of frames.
pub fn seqs(frames: &[Envelope]) -> Vec<u64> {
    frames
        .iter()
        .map(|f| f.seq.expect("event has a seq"))
        .collect()
}
