//! Tab messages as JSON text, written and read without serde: `{"t":"open","from":1,…}`, the
//! variant's name in `t` then its fields, as serde's derive (internally tagged, snake case)
//! writes them. The leader's status carries the connection state, replay and health in serde's
//! shapes too; the RTT average is written with three decimals.

use super::TabMessage;
use crate::core::{ConnectionState, Instant, Millis, Replay, Rtt};
use crate::protocol::json::{push_str, push_u64, Kind, Value};
use crate::tabs::platform::SharedHealth;

/// Each variant's tag and its number fields, in the order serde writes them. `frame` and
/// `deliver` then have their `text`; `status` its state, tab count, replay and health.
const SHAPES: [(&str, &[&str]); 12] = [
    ("open", &["from", "socket"]),
    ("opened", &["to", "socket", "leader"]),
    ("closed", &["to", "socket", "code"]),
    ("frame", &["from", "socket"]),
    ("deliver", &["to", "socket"]),
    ("close", &["from", "socket"]),
    ("bye", &["from"]),
    ("leader", &["tab"]),
    ("status", &["leader"]),
    ("probe", &["from"]),
    ("alive", &["to", "leader"]),
    ("reconnect", &["from"]),
];

impl TabMessage {
    /// Decodes a message; `None` for anything that is not one.
    pub fn decode(text: &str) -> Option<TabMessage> {
        let v = Value::parse(text).ok()?;
        let tag = v.get("t")?.as_str()?;
        let shape = SHAPES.iter().position(|(name, _)| tag.is(name))?;
        let mut n = [0u64; 3];
        for (slot, name) in n.iter_mut().zip(SHAPES[shape].1) {
            *slot = v.get(name)?.as_u64()?;
        }
        let [a, b, c] = n;
        let text = || Some(v.get("text")?.as_str()?.value().into_owned());
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
            3 => TabMessage::Frame {
                from: a,
                socket: b,
                text: text()?,
            },
            4 => TabMessage::Deliver {
                to: a,
                socket: b,
                text: text()?,
            },
            5 => TabMessage::Close { from: a, socket: b },
            6 => TabMessage::Bye { from: a },
            7 => TabMessage::Leader { tab: a },
            8 => TabMessage::Status {
                leader: a,
                state: read_state(v.get("state")?)?,
                tabs: usize::try_from(v.get("tabs")?.as_u64()?).ok()?,
                replay: v.get("replay").map_or(Some(Replay::Unknown), read_replay)?,
                health: v
                    .get("health")
                    .map_or(Some(SharedHealth::default()), read_health)?,
            },
            9 => TabMessage::Probe { from: a },
            10 => TabMessage::Alive { to: a, leader: b },
            11 => TabMessage::Reconnect { from: a },
            _ => return None,
        })
    }

    /// Encodes it.
    pub fn encode(&self) -> String {
        let (shape, n, text) = self.parts();
        let (tag, names) = SHAPES[shape];
        let mut o = String::from("{\"t\":");
        push_str(&mut o, tag);
        for (name, value) in names.iter().zip(n) {
            key(&mut o, name);
            push_u64(&mut o, value);
        }
        if let Some(text) = text {
            key(&mut o, "text");
            push_str(&mut o, text);
        }
        if let TabMessage::Status {
            state,
            tabs,
            replay,
            health,
            ..
        } = self
        {
            key(&mut o, "state");
            write_state(&mut o, *state);
            key(&mut o, "tabs");
            push_u64(&mut o, *tabs as u64);
            key(&mut o, "replay");
            push_str(&mut o, replay_name(*replay));
            key(&mut o, "health");
            write_health(&mut o, health);
        }
        o.push('}');
        o
    }

    /// Its shape (an index into [`SHAPES`]), its numbers in that shape's order, and its text.
    fn parts(&self) -> (usize, [u64; 3], Option<&str>) {
        match self {
            TabMessage::Open { from, socket } => (0, [*from, *socket, 0], None),
            TabMessage::Opened { to, socket, leader } => (1, [*to, *socket, *leader], None),
            TabMessage::Closed { to, socket, code } => (2, [*to, *socket, (*code).into()], None),
            TabMessage::Frame { from, socket, text } => (3, [*from, *socket, 0], Some(text)),
            TabMessage::Deliver { to, socket, text } => (4, [*to, *socket, 0], Some(text)),
            TabMessage::Close { from, socket } => (5, [*from, *socket, 0], None),
            TabMessage::Bye { from } => (6, [*from, 0, 0], None),
            TabMessage::Leader { tab } => (7, [*tab, 0, 0], None),
            TabMessage::Status { leader, .. } => (8, [*leader, 0, 0], None),
            TabMessage::Probe { from } => (9, [*from, 0, 0], None),
            TabMessage::Alive { to, leader } => (10, [*to, *leader, 0], None),
            TabMessage::Reconnect { from } => (11, [*from, 0, 0], None),
        }
    }
}

/// `,"name":`, before a field's value.
fn key(out: &mut String, name: &str) {
    out.push(',');
    push_str(out, name);
    out.push(':');
}

const STATES: [(&str, ConnectionState); 6] = [
    ("Idle", ConnectionState::Idle),
    ("Connecting", ConnectionState::Connecting),
    ("Open", ConnectionState::Open),
    ("Offline", ConnectionState::Offline),
    ("AuthFailed", ConnectionState::AuthFailed),
    ("Closed", ConnectionState::Closed),
];

fn write_state(out: &mut String, state: ConnectionState) {
    if let ConnectionState::Reconnecting { attempt, retry_at } = state {
        out.push_str("{\"Reconnecting\":{\"attempt\":");
        push_u64(out, attempt.into());
        out.push_str(",\"retry_at\":");
        push_u64(out, retry_at.0);
        out.push_str("}}");
    } else if let Some((name, _)) = STATES.iter().find(|(_, s)| *s == state) {
        push_str(out, name);
    }
}

fn read_state(v: Value<'_>) -> Option<ConnectionState> {
    if let Some(name) = v.as_str() {
        return STATES.iter().find(|(n, _)| name.is(n)).map(|(_, s)| *s);
    }
    let r = v.get("Reconnecting")?;
    Some(ConnectionState::Reconnecting {
        attempt: u32::try_from(r.get("attempt")?.as_u64()?).ok()?,
        retry_at: Instant(r.get("retry_at")?.as_u64()?),
    })
}

fn replay_name(replay: Replay) -> &'static str {
    match replay {
        Replay::Unknown => "Unknown",
        Replay::Offered => "Offered",
        Replay::NotOffered => "NotOffered",
    }
}

fn read_replay(v: Value<'_>) -> Option<Replay> {
    let name = v.as_str()?;
    [Replay::Unknown, Replay::Offered, Replay::NotOffered]
        .into_iter()
        .find(|r| name.is(replay_name(*r)))
}

fn write_health(out: &mut String, h: &SharedHealth) {
    out.push_str("{\"rtt\":{\"last\":");
    match h.rtt.last {
        Some(ms) => push_u64(out, ms.0),
        None => out.push_str("null"),
    }
    out.push_str(",\"ewma\":");
    match h.rtt.ewma.filter(|e| e.is_finite() && *e >= 0.0) {
        Some(ewma) => push_millis(out, ewma),
        None => out.push_str("null"),
    }
    out.push_str("},\"reconnects\":");
    push_u64(out, h.reconnects);
    out.push_str(",\"failed_attempts\":");
    push_u64(out, h.failed_attempts);
    out.push('}');
}

fn read_health(v: Value<'_>) -> Option<SharedHealth> {
    let count = |name: &str| v.get(name).map_or(Some(0), |n| n.as_u64());
    let rtt = v.get("rtt");
    let field = |name: &str| rtt.and_then(|r| r.get(name)).filter(|v| !v.is_null());
    let last = match field("last") {
        Some(last) => Some(Millis(last.as_u64()?)),
        None => None,
    };
    let ewma = match field("ewma") {
        Some(ewma) => Some(read_f64(ewma)?),
        None => None,
    };
    Some(SharedHealth {
        rtt: Rtt { last, ewma },
        reconnects: count("reconnects")?,
        failed_attempts: count("failed_attempts")?,
    })
}

/// Milliseconds with three decimals, without float formatting.
fn push_millis(out: &mut String, ms: f64) {
    let micros = (ms * 1000.0).round() as u64;
    push_u64(out, micros / 1000);
    out.push('.');
    let frac = micros % 1000;
    for digit in [frac / 100, frac / 10 % 10, frac % 10] {
        out.push(char::from(b'0' + digit as u8));
    }
}

/// A JSON number as an `f64`, without the float parser: its digits as an integer, scaled by
/// its exponent (exact for the three-decimal numbers tabs write; close for any other).
fn read_f64(v: Value<'_>) -> Option<f64> {
    if v.kind() != Kind::Number {
        return None;
    }
    let raw = v.raw();
    let (negative, raw) = match raw.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, raw),
    };
    let (digits, exp) = match raw.split_once(['e', 'E']) {
        Some((digits, exp)) => (digits, exp.trim_start_matches('+').parse::<i32>().ok()?),
        None => (raw, 0),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let mut mantissa = 0f64;
    for d in int.bytes().chain(frac.bytes()) {
        mantissa = mantissa * 10.0 + f64::from(d - b'0');
    }
    let scale = exp - frac.len() as i32;
    let n = if scale < 0 {
        mantissa / 10f64.powi(-scale)
    } else {
        mantissa * 10f64.powi(scale)
    };
    Some(if negative { -n } else { n })
}
