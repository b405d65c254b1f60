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
    /// Tabs of an older build wrote and read these with serde: both ways agree.
    #[test]
    fn messages_are_serde_s_json_both_ways(m in message()) {
        let ours = m.encode();
        prop_assert_eq!(TabMessage::decode(&ours), Some(m.clone()));
        prop_assert_eq!(serde_json::from_str::<TabMessage>(&ours).ok(), Some(m.clone()), "{}", ours);
        let theirs = serde_json::to_string(&m).unwrap();
        prop_assert_eq!(TabMessage::decode(&theirs), Some(m), "{}", theirs);
    }

    #[test]
    fn decoding_arbitrary_text_never_panics(s in "\\PC*") {
        let _ = TabMessage::decode(&s);
    }
}

#[test]
fn garbage_is_refused_and_older_statuses_are_read() {
    for bad in [
        "",
        "{}",
        r#"{"t":"open"}"#,
        r#"{"t":"hack","from":1}"#,
        "[1,2]",
        "null",
        r#"{"t":"closed","to":1,"socket":2,"code":70000}"#,
    ] {
        assert_eq!(TabMessage::decode(bad), None, "{bad}");
    }
    let old = r#"{"t":"status","leader":1,"state":"Open","tabs":2}"#;
    assert_eq!(
        TabMessage::decode(old),
        Some(TabMessage::Status {
            leader: 1,
            state: ConnectionState::Open,
            tabs: 2,
            replay: Replay::Unknown,
            health: SharedHealth::default(),
        })
    );
    let ewma = r#"{"t":"status","leader":1,"state":"Open","tabs":2,"health":{"rtt":{"last":3,"ewma":1.25e1},"reconnects":0,"failed_attempts":0}}"#;
    let Some(TabMessage::Status { health, .. }) = TabMessage::decode(ewma) else {
        panic!()
    };
    assert_eq!(health.rtt.ewma, Some(12.5));
}
