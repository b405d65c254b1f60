//! The specification of `core::reconnect::decide`: one row per situation, the trigger and its
//! context in, what happens next out. The module's documentation states the same table.

use tether_client::core::reconnect::{decide, Context, Next, Trigger, Why};
use tether_client::protocol::CloseCode;
use tether_client::{ConnectionState as S, Instant, Millis};

const RECONNECTING: S = S::Reconnecting {
    attempt: 3,
    retry_at: Instant(0),
};

fn ctx(state: S) -> Context {
    Context {
        state,
        wanted: true,
        has_work: true,
        online: true,
        stable_after: Millis(5_000),
    }
}

fn closed(code: u16, proven_for: Option<u64>) -> Trigger {
    Trigger::Closed {
        code: CloseCode(code),
        proven_for: proven_for.map(Millis),
    }
}

const BACKOFF: Next = Next::Backoff { reset: false };
const BACKOFF_RESET: Next = Next::Backoff { reset: true };

fn now(why: Why, reset: bool) -> Next {
    Next::Now { why, reset }
}

#[test]
fn the_reconnect_decision_table() {
    let idle = Context {
        has_work: false,
        ..ctx(S::Open)
    };
    let offline = Context {
        online: false,
        ..ctx(S::Open)
    };
    let not_wanted = Context {
        wanted: false,
        ..ctx(S::Open)
    };
    let rows: Vec<(&str, Trigger, Context, Next)> = vec![
        (
            "4401 is final",
            closed(4401, Some(60_000)),
            ctx(S::Open),
            Next::AuthFailed,
        ),
        (
            "4401 before any frame",
            closed(4401, None),
            ctx(S::Connecting),
            Next::AuthFailed,
        ),
        (
            "4401 offline",
            closed(4401, Some(1)),
            offline,
            Next::AuthFailed,
        ),
        (
            "HTTP 401",
            Trigger::Refused { status: 401 },
            ctx(S::Connecting),
            Next::AuthFailed,
        ),
        (
            "HTTP 403",
            Trigger::Refused { status: 403 },
            ctx(S::Connecting),
            Next::AuthFailed,
        ),
        (
            "HTTP 500",
            Trigger::Refused { status: 500 },
            ctx(S::Connecting),
            BACKOFF,
        ),
        (
            "1000, nothing held",
            closed(1000, Some(10)),
            idle,
            Next::Idle,
        ),
        ("1000, held", closed(1000, Some(10)), ctx(S::Open), BACKOFF),
        ("1000 before proof", closed(1000, None), idle, BACKOFF),
        (
            "1001 stable",
            closed(1001, Some(5_000)),
            ctx(S::Open),
            BACKOFF_RESET,
        ),
        (
            "1001 flapping",
            closed(1001, Some(4_999)),
            ctx(S::Open),
            BACKOFF,
        ),
        (
            "1006 unproved",
            closed(1006, None),
            ctx(S::Connecting),
            BACKOFF,
        ),
        ("1008", closed(1008, Some(1)), ctx(S::Open), BACKOFF),
        ("1009", closed(1009, Some(1)), ctx(S::Open), BACKOFF),
        ("1011", closed(1011, Some(1)), ctx(S::Open), BACKOFF),
        ("1012", closed(1012, Some(1)), ctx(S::Open), BACKOFF),
        ("4403", closed(4403, Some(1)), ctx(S::Open), BACKOFF),
        ("4408", closed(4408, Some(1)), ctx(S::Open), BACKOFF),
        ("unknown code", closed(4999, Some(1)), ctx(S::Open), BACKOFF),
        (
            "closed offline",
            closed(1006, Some(1)),
            offline,
            Next::WaitForOnline,
        ),
        (
            "connect timeout",
            Trigger::ConnectTimeout,
            ctx(S::Connecting),
            BACKOFF,
        ),
        (
            "connect timeout offline",
            Trigger::ConnectTimeout,
            Context {
                online: false,
                ..ctx(S::Connecting)
            },
            Next::WaitForOnline,
        ),
        (
            "dead link",
            Trigger::Dead,
            ctx(S::Open),
            now(Why::Dead, false),
        ),
        (
            "dead link offline",
            Trigger::Dead,
            offline,
            Next::WaitForOnline,
        ),
        (
            "offline while connecting",
            Trigger::WentOffline,
            ctx(S::Connecting),
            Next::WaitForOnline,
        ),
        (
            "offline while waiting",
            Trigger::WentOffline,
            ctx(RECONNECTING),
            Next::WaitForOnline,
        ),
        (
            "offline while idle",
            Trigger::WentOffline,
            ctx(S::Idle),
            Next::Stay,
        ),
        (
            "online after offline",
            Trigger::CameOnline,
            ctx(S::Offline),
            now(Why::Online, true),
        ),
        (
            "online while waiting",
            Trigger::CameOnline,
            ctx(RECONNECTING),
            Next::Stay,
        ),
        (
            "visible while waiting",
            Trigger::BecameVisible,
            ctx(RECONNECTING),
            now(Why::Visible, false),
        ),
        (
            "visible while auth failed",
            Trigger::BecameVisible,
            ctx(S::AuthFailed),
            Next::Stay,
        ),
        (
            "woke while waiting",
            Trigger::Woke,
            ctx(RECONNECTING),
            now(Why::Woke, false),
        ),
        ("woke while idle", Trigger::Woke, ctx(S::Idle), Next::Stay),
        (
            "reconnect()",
            Trigger::AppReconnect,
            ctx(S::AuthFailed),
            now(Why::AppReconnect, true),
        ),
        (
            "reconnect() after a stable socket",
            Trigger::AppReconnect,
            ctx(S::Open),
            now(Why::AppReconnect, true),
        ),
        (
            "reconnect() while waiting to retry (Retry now): the try count goes on",
            Trigger::AppReconnect,
            ctx(RECONNECTING),
            now(Why::AppReconnect, false),
        ),
        (
            "reconnect() during an attempt",
            Trigger::AppReconnect,
            ctx(S::Connecting),
            now(Why::AppReconnect, false),
        ),
        (
            "reconnect() after close()",
            Trigger::AppReconnect,
            Context {
                wanted: true,
                ..ctx(S::Closed)
            },
            now(Why::AppReconnect, true),
        ),
        (
            "reconnect() offline",
            Trigger::AppReconnect,
            Context {
                online: false,
                ..ctx(S::Open)
            },
            Next::WaitForOnline,
        ),
        (
            "connect() idle",
            Trigger::AppConnect,
            ctx(S::Idle),
            now(Why::AppConnect, true),
        ),
        (
            "connect() open",
            Trigger::AppConnect,
            ctx(S::Open),
            Next::Stay,
        ),
        (
            "connect() after 4401",
            Trigger::AppConnect,
            ctx(S::AuthFailed),
            now(Why::AppConnect, true),
        ),
        (
            "work while idle",
            Trigger::WorkArrived,
            ctx(S::Idle),
            now(Why::WorkArrived, true),
        ),
        (
            "work while open",
            Trigger::WorkArrived,
            ctx(S::Open),
            Next::Stay,
        ),
        (
            "work before connect()",
            Trigger::WorkArrived,
            Context {
                wanted: false,
                ..ctx(S::Idle)
            },
            Next::Stay,
        ),
        (
            "anything after close()",
            closed(1006, Some(1)),
            Context {
                wanted: false,
                ..ctx(S::Closed)
            },
            Next::Stay,
        ),
        ("anything unwanted", Trigger::Dead, not_wanted, Next::Stay),
    ];
    let mut failures = Vec::new();
    for (name, trigger, context, expected) in &rows {
        let got = decide(trigger, context);
        if got != *expected {
            failures.push(format!("{name}: expected {expected:?}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
