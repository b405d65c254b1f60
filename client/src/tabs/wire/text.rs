//! Tab messages as short text, written and read by hand: one letter for the variant, its
//! numbers in decimal, each followed by a comma, then, for a frame, the frame's own text as it
//! is (no escaping: it is the rest of the message). `d7,2,{"v":1,…}` is frame text delivered
//! to socket 2 of tab 7.
//!
//! The leader's status is all numbers: the state as a code (with a reconnect's attempt and
//! time), the tab count, replay as a code, and the health, each optional number as a flag and
//! a value; the RTT average in microseconds.
//!
//! The format changed from JSON (whose writer and reader weighed more than all of the rest of
//! the channel's code) together with the channel's and the locks' names (`web.rs`), so tabs of
//! an older build never read it: they share among themselves.

use super::TabMessage;
use crate::core::{ConnectionState, Instant, Millis, Replay, Rtt};
use crate::protocol::json::{parse_u64, push_u64};
use crate::tabs::platform::SharedHealth;

/// Each variant's letter, in the order of [`TabMessage::parts`]'s shapes.
const TAGS: &[u8; 12] = b"oOxfdcblspar";
/// How many numbers each shape carries. `frame` and `deliver` then have their text.
const COUNTS: [usize; 12] = [2, 3, 3, 2, 2, 2, 1, 1, STATUS_NUMBERS, 1, 2, 1];
/// A status's numbers: leader, state, attempt, retry at, tabs, replay, then the health (RTT
/// last: flag and value; RTT average: flag and microseconds; reconnects; failed attempts).
const STATUS_NUMBERS: usize = 12;
/// The shapes that end with a frame's text.
const FRAME: usize = 3;
const DELIVER: usize = 4;
const STATUS: usize = 8;

/// The states with no fields, by code; `Reconnecting` is the code after them.
const STATES: [ConnectionState; 6] = [
    ConnectionState::Idle,
    ConnectionState::Connecting,
    ConnectionState::Open,
    ConnectionState::Offline,
    ConnectionState::AuthFailed,
    ConnectionState::Closed,
];
const REPLAYS: [Replay; 3] = [Replay::Unknown, Replay::Offered, Replay::NotOffered];

impl TabMessage {
    /// Decodes a message; `None` for anything that is not one.
    pub fn decode(text: &str) -> Option<TabMessage> {
        let shape = TAGS
            .iter()
            .position(|t| text.as_bytes().first() == Some(t))?;
        let mut rest = text.get(1..)?;
        let mut n = [0u64; STATUS_NUMBERS];
        for slot in &mut n[..COUNTS[shape]] {
            let (digits, after) = rest.split_once(',')?;
            *slot = parse_u64(digits)?;
            rest = after;
        }
        if !rest.is_empty() && shape != FRAME && shape != DELIVER {
            return None;
        }
        let [a, b, c, ..] = n;
        Some(match shape {
            0 => TabMessage::Open { from: a, socket: b },
            1 => TabMessage::Opened {
                to: a,
                socket: b,
                leader: c,
            },
            2 => TabMessage::Closed {
                to: a,
                socket: b,
                code: u16::try_from(c).ok()?,
            },
            FRAME => TabMessage::Frame {
                from: a,
                socket: b,
                text: rest.to_owned(),
            },
            DELIVER => TabMessage::Deliver {
                to: a,
                socket: b,
                text: rest.to_owned(),
            },
            5 => TabMessage::Close { from: a, socket: b },
            6 => TabMessage::Bye { from: a },
            7 => TabMessage::Leader { tab: a },
            STATUS => status(n)?,
            9 => TabMessage::Probe { from: a },
            10 => TabMessage::Alive { to: a, leader: b },
            _ => TabMessage::Reconnect { from: a },
        })
    }

    /// Encodes it.
    pub fn encode(&self) -> String {
        let (shape, n, text) = self.parts();
        let mut o = String::with_capacity(24 + text.map_or(0, str::len));
        o.push(char::from(TAGS[shape]));
        for value in &n[..COUNTS[shape]] {
            push_u64(&mut o, *value);
            o.push(',');
        }
        o.push_str(text.unwrap_or_default());
        o
    }

    /// Its shape (an index into [`TAGS`]), its numbers in that shape's order, and its text.
    fn parts(&self) -> (usize, [u64; STATUS_NUMBERS], Option<&str>) {
        let mut n = [0; STATUS_NUMBERS];
        let (shape, text) = match self {
            TabMessage::Open { from, socket } => {
                n[..2].copy_from_slice(&[*from, *socket]);
                (0, None)
            }
            TabMessage::Opened { to, socket, leader } => {
                n[..3].copy_from_slice(&[*to, *socket, *leader]);
                (1, None)
            }
            TabMessage::Closed { to, socket, code } => {
                n[..3].copy_from_slice(&[*to, *socket, (*code).into()]);
                (2, None)
            }
            TabMessage::Frame { from, socket, text } => {
                n[..2].copy_from_slice(&[*from, *socket]);
                (FRAME, Some(text.as_str()))
            }
            TabMessage::Deliver { to, socket, text } => {
                n[..2].copy_from_slice(&[*to, *socket]);
                (DELIVER, Some(text.as_str()))
            }
            TabMessage::Close { from, socket } => {
                n[..2].copy_from_slice(&[*from, *socket]);
                (5, None)
            }
            TabMessage::Bye { from } => {
                n[0] = *from;
                (6, None)
            }
            TabMessage::Leader { tab } => {
                n[0] = *tab;
                (7, None)
            }
            TabMessage::Status {
                leader,
                state,
                tabs,
                replay,
                health,
            } => {
                n = status_numbers(*leader, *state, *tabs, *replay, health);
                (STATUS, None)
            }
            TabMessage::Probe { from } => {
                n[0] = *from;
                (9, None)
            }
            TabMessage::Alive { to, leader } => {
                n[..2].copy_from_slice(&[*to, *leader]);
                (10, None)
            }
            TabMessage::Reconnect { from } => {
                n[0] = *from;
                (11, None)
            }
        };
        (shape, n, text)
    }
}

/// A status as its numbers (see [`STATUS_NUMBERS`]).
fn status_numbers(
    leader: u64,
    state: ConnectionState,
    tabs: usize,
    replay: Replay,
    health: &SharedHealth,
) -> [u64; STATUS_NUMBERS] {
    let (code, attempt, retry_at) = match state {
        ConnectionState::Reconnecting { attempt, retry_at } => {
            (STATES.len(), attempt.into(), retry_at.0)
        }
        _ => (STATES.iter().position(|s| *s == state).unwrap_or(0), 0, 0),
    };
    let replay = REPLAYS.iter().position(|r| *r == replay).unwrap_or(0);
    let last = health.rtt.last.map(|ms| ms.0);
    // Three decimals of a millisecond, as the health panel shows them.
    let ewma = health
        .rtt
        .ewma
        .filter(|e| e.is_finite() && *e >= 0.0)
        .map(|ms| (ms * 1000.0).round() as u64);
    [
        leader,
        code as u64,
        attempt,
        retry_at,
        tabs as u64,
        replay as u64,
        last.is_some().into(),
        last.unwrap_or(0),
        ewma.is_some().into(),
        ewma.unwrap_or(0),
        health.reconnects,
        health.failed_attempts,
    ]
}

/// A status from its numbers; `None` if one is out of range.
fn status(n: [u64; STATUS_NUMBERS]) -> Option<TabMessage> {
    let [leader, code, attempt, retry_at, tabs, replay] = [n[0], n[1], n[2], n[3], n[4], n[5]];
    let [has_last, last, has_ewma, ewma, reconnects, failed_attempts] =
        [n[6], n[7], n[8], n[9], n[10], n[11]];
    let state = match usize::try_from(code).ok()? {
        code if code == STATES.len() => ConnectionState::Reconnecting {
            attempt: u32::try_from(attempt).ok()?,
            retry_at: Instant(retry_at),
        },
        code => *STATES.get(code)?,
    };
    let flag = |f: u64, v| match f {
        0 => Some(None),
        1 => Some(Some(v)),
        _ => None,
    };
    Some(TabMessage::Status {
        leader,
        state,
        tabs: usize::try_from(tabs).ok()?,
        replay: *REPLAYS.get(usize::try_from(replay).ok()?)?,
        health: SharedHealth {
            rtt: Rtt {
                last: flag(has_last, last)?.map(Millis),
                ewma: flag(has_ewma, ewma)?.map(|micros| micros as f64 / 1000.0),
            },
            reconnects,
            failed_attempts,
        },
    })
}
