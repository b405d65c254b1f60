//! The core driven directly, as a sans-IO state machine is: inputs with the time, outputs
//! polled until there are none. Checks what the core reports about itself: its outputs, the
//! frames and bytes it wrote, and the getters a driver or a relay reads.

use tether_client::core::{Connection, Output, SocketId};
use tether_client::protocol::Topic;
use tether_client::{Config, Instant};

const T0: Instant = Instant(1_000_000);

/// Every output queued now, in order.
fn drain(c: &mut Connection) -> Vec<Output> {
    let mut out = Vec::new();
    while let Some(o) = c.poll_output() {
        out.push(o);
    }
    assert!(!c.has_outputs(), "drained");
    out
}

/// The socket the core asked to open.
fn opened(out: &[Output]) -> SocketId {
    out.iter()
        .find_map(|o| match o {
            Output::OpenSocket { socket, .. } => Some(*socket),
            _ => None,
        })
        .expect("an OpenSocket output")
}

#[test]
fn outputs_counters_and_getters_follow_the_wire() {
    let mut c = Connection::new(Config::new("ws://stub/api/ws/v2"), 1);
    let topic = Topic::agent(7);
    c.subscribe(&topic, T0);
    c.handle_connect(T0);
    assert!(c.has_outputs(), "an attempt to report");
    let socket = opened(&drain(&mut c));
    assert_eq!(c.sockets_opened(), 1);
    c.handle_socket_opened(socket, T0);
    c.handle_flush(T0);
    let sent: Vec<String> = drain(&mut c)
        .into_iter()
        .filter_map(|o| match o {
            Output::Send { text, .. } => Some(text),
            _ => None,
        })
        .collect();
    assert_eq!(sent.len(), 2, "one subscribe, one ping: {sent:?}");
    let m = c.metrics();
    assert_eq!(m.counters.frames_out, 2);
    assert_eq!(
        m.counters.bytes_out,
        sent.iter().map(|t| t.len() as u64).sum::<u64>()
    );

    // The server acknowledges at seq 41 in epoch "e9", then sends 42.
    let subscribe: serde_json::Value = serde_json::from_str(&sent[0]).unwrap();
    let message_id = subscribe["data"]["message_id"].as_str().unwrap();
    let ack = serde_json::json!({"v":1,"type":"subscribe_ack","topic":"system","ts":0,
        "data":{"message_id":message_id,"topics":["agent:7"],"seqs":{"agent:7":41},"epoch":"e9"}});
    c.handle_socket_message(socket, &ack.to_string(), T0);
    let event = r#"{"v":1,"type":"agent_updated","topic":"agent:7","ts":0,"seq":42,"data":{}}"#;
    c.handle_socket_message(socket, event, T0);
    drain(&mut c);
    assert_eq!(c.last_seq(&topic), Some(42));
    assert_eq!(c.topic_server_seq(&topic), Some(41));
    assert_eq!(c.topic_epoch(&topic), Some("e9"));
    let statuses: Vec<String> = c
        .topic_statuses()
        .map(|(t, s)| format!("{t} {s:?}"))
        .collect();
    assert_eq!(statuses, vec!["agent:7 Active"]);
    assert_eq!(c.metrics().counters.frames_in, 2);

    // The socket drops; at the retry timer's deadline, a second socket is asked for.
    c.handle_socket_closed(socket, tether_client::protocol::CloseCode::ABNORMAL, "", T0);
    drain(&mut c);
    let retry_at = c.poll_timeout().expect("a retry is armed");
    c.handle_timeout(retry_at);
    assert_ne!(opened(&drain(&mut c)), socket);
    assert_eq!(c.sockets_opened(), 2);
}
