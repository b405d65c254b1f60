use proptest::prelude::*;

use super::*;
use crate::core::{Instant, Millis, Rtt};

fn message() -> impl Strategy<Value = TabMessage> {
    let id = any::<u64>();
    let state = prop_oneof![
        Just(ConnectionState::Idle),
        Just(ConnectionState::Connecting),
        Just(ConnectionState::Open),
        Just(ConnectionState::Offline),
        Just(ConnectionState::AuthFailed),
        Just(ConnectionState::Closed),
        (any::<u32>(), any::<u64>()).prop_map(|(attempt, at)| ConnectionState::Reconnecting {
            attempt,
            retry_at: Instant(at),
        }),
    ];
    let replay = prop_oneof![
        Just(Replay::Unknown),
        Just(Replay::Offered),
        Just(Replay::NotOffered)
    ];
    // Averages with at most three decimals, which both writers write exactly.
    let health = (
        proptest::option::of(any::<u64>()),
        proptest::option::of(0u64..10_000_000),
        any::<u64>(),
        any::<u64>(),
    )
        .prop_map(|(last, ewma, reconnects, failed_attempts)| SharedHealth {
            rtt: Rtt {
                last: last.map(Millis),
                ewma: ewma.map(|e| e as f64 / 8.0),
            },
            reconnects,
            failed_attempts,
        });
    prop_oneof![
        (id, id).prop_map(|(from, socket)| TabMessage::Open { from, socket }),
        (id, id, id).prop_map(|(to, socket, leader)| TabMessage::Opened { to, socket, leader }),
        (id, id, any::<u16>()).prop_map(|(to, socket, code)| TabMessage::Closed {
            to,
            socket,
            code
        }),
        (id, id, any::<String>()).prop_map(|(from, socket, text)| TabMessage::Frame {
            from,
            socket,
            text
        }),
        (id, id, any::<String>()).prop_map(|(to, socket, text)| TabMessage::Deliver {
            to,
            socket,
            text
        }),
        (id, id).prop_map(|(from, socket)| TabMessage::Close { from, socket }),
        id.prop_map(|from| TabMessage::Bye { from }),
        id.prop_map(|tab| TabMessage::Leader { tab }),
        (id, state, any::<u32>(), replay, health).prop_map(
            |(leader, state, tabs, replay, health)| {
                TabMessage::Status {
                    leader,
                    state,
                    tabs: tabs as usize,
                    replay,
                    health,
                }
            }
        ),
        id.prop_map(|from| TabMessage::Probe { from }),
        (id, id).prop_map(|(to, leader)| TabMessage::Alive { to, leader }),
        id.prop_map(|from| TabMessage::Reconnect { from }),
    ]
}

proptest! {
    #[test]
    fn every_message_reads_back_as_written(m in message()) {
        let text = m.encode();
        prop_assert_eq!(TabMessage::decode(&text), Some(m), "{}", text);
    }

    #[test]
    fn decoding_arbitrary_text_never_panics(s in "\\PC*") {
        let _ = TabMessage::decode(&s);
    }

    /// Text made of the format's own characters, so that much of it nearly decodes.
    #[test]
    fn near_messages_never_panic(s in "[oOxfdcblspar0-9,]{0,40}") {
        if let Some(m) = TabMessage::decode(&s) {
            prop_assert_eq!(TabMessage::decode(&m.encode()), Some(m));
        }
    }
}

#[test]
fn the_format_is_a_letter_numbers_and_the_frame_as_it_is() {
    let deliver = TabMessage::Deliver {
        to: 7,
        socket: 2,
        text: r#"{"v":1,"data":"a,b\"c"}"#.into(),
    };
    assert_eq!(deliver.encode(), r#"d7,2,{"v":1,"data":"a,b\"c"}"#);
    assert_eq!(TabMessage::Bye { from: 3 }.encode(), "b3,");
    let status = TabMessage::Status {
        leader: 1,
        state: ConnectionState::Reconnecting {
            attempt: 2,
            retry_at: Instant(900),
        },
        tabs: 3,
        replay: Replay::Offered,
        health: SharedHealth {
            rtt: Rtt {
                last: None,
                ewma: Some(12.5),
            },
            reconnects: 4,
            failed_attempts: 5,
        },
    };
    assert_eq!(status.encode(), "s1,6,2,900,3,1,0,0,1,12500,4,5,");
    assert_eq!(TabMessage::decode(&status.encode()), Some(status));
}

#[test]
fn garbage_is_refused() {
    for bad in [
        "",
        "o",
        "o1,",
        "o1,2",
        "o1,2,x",
        "o1,02,",
        "o1,+2,",
        "o1,-2,",
        "o18446744073709551616,2,",
        "x1,2,70000,",
        "q1,",
        "b1,,",
        "{\"t\":\"open\",\"from\":1,\"socket\":2}",
        "s1,7,0,0,1,0,0,0,0,0,0,0,",
        "s1,6,4294967296,0,1,0,0,0,0,0,0,0,",
        "s1,2,0,0,1,3,0,0,0,0,0,0,",
        "s1,2,0,0,1,0,2,0,0,0,0,0,",
        "s1,2,0,0,1,0,0,0,0,0,0,",
    ] {
        assert_eq!(TabMessage::decode(bad), None, "{bad}");
    }
}
