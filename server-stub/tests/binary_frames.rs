//! `binary=1` (with `tether=1`): a client that asks gets every frame as a binary WebSocket
//! message holding the same UTF-8 JSON, which a browser hands over as bytes instead of decoding
//! it into a string. Any other client gets text, as before.

mod common;

use common::{Client, Stub};
use reqwest::Method;
use serde_json::json;
use tether_stub::Profile;
use tether_wire::Envelope;
use tokio_tungstenite::tungstenite::Message;

/// The next frame that is not a server `ping`, which must be a binary message: its bytes.
async fn next_binary(client: &mut Client) -> Vec<u8> {
    loop {
        match client.next_raw().await {
            Some(Ok(Message::Binary(bytes))) => {
                let text = std::str::from_utf8(&bytes).expect("UTF-8 JSON");
                if Envelope::decode(text).expect("a frame").kind != "ping" {
                    return bytes.to_vec();
                }
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            other => panic!("expected a binary frame, got {other:?}"),
        }
    }
}

/// The next text frame that is not a server `ping`.
async fn next_text(client: &mut Client) -> String {
    loop {
        let text = client.recv_text().await;
        if Envelope::decode(&text).expect("a frame").kind != "ping" {
            return text;
        }
    }
}

#[tokio::test]
async fn a_client_that_asks_gets_binary_frames_holding_the_same_bytes() {
    let stub = Stub::start().await;
    let mut text = stub.connect(1).await;
    text.subscribe_ok(&["agent:1"]).await;
    let url = format!("{}&binary=1", stub.ws_url(&stub.token(1)));
    let mut binary = stub.connect_url(&url).await.expect("connects");
    binary.subscribe("b", &["agent:1"], &[]).await;
    let kinds = [
        next_binary(&mut binary).await,
        next_binary(&mut binary).await,
    ]
    .map(|bytes| {
        Envelope::decode(std::str::from_utf8(&bytes).unwrap())
            .unwrap()
            .kind
    });
    assert_eq!(kinds, ["subscribe_ack", "agent_state"]);

    let patch = json!({"name": "Renamed"});
    stub.request(Method::PATCH, "/api/agents/1", Some(1), Some(patch))
        .await;
    let (as_text, as_binary) = (next_text(&mut text).await, next_binary(&mut binary).await);
    assert_eq!(
        as_binary,
        as_text.as_bytes(),
        "the same event, byte for byte"
    );
    assert_eq!(
        Envelope::decode(&as_text).unwrap().kind,
        "agent_updated",
        "{as_text}"
    );
}

#[tokio::test]
async fn binary_without_the_extensions_is_ignored() {
    let stub = Stub::start().await;
    let url = format!("{}&binary=1", stub.ws_url_plain(&stub.token(1)));
    let mut client = stub.connect_url(&url).await.expect("connects");
    // Fails on anything but text frames.
    client.subscribe_plain_ok(&["agent:1"]).await;
}

#[tokio::test]
async fn the_origin_profile_ignores_binary_as_it_ignores_tether_1() {
    let stub = Stub::start_with(|c| c.profile = Profile::Origin).await;
    let url = format!("{}&binary=1", stub.ws_url(&stub.token(1)));
    let mut client = stub.connect_url(&url).await.expect("connects");
    client.subscribe("s1", &["agent:1"], &[]).await;
    // Fails on anything but a text frame.
    assert_eq!(client.recv().await.kind, "agent_state");
}
