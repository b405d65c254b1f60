//! Tab messages as JSON text, written and read without serde: `{"t":"open","from":1,…}`, the
//! variant's name in `t` then its fields, as serde's derive (internally tagged, snake case)
//! writes them. The leader's status carries the connection state, replay and health in serde's
//! shapes too; the RTT average is written with three decimals.

use super::{TabId, TabMessage};
use crate::core::{ConnectionState, Instant, Millis, Replay, Rtt};
use crate::protocol::json::{push_str, push_u64, Kind, Value};
use crate::tabs::platform::SharedHealth;

impl TabMessage {
    /// Decodes a message; `None` for anything that is not one.
    pub fn decode(text: &str) -> Option<TabMessage> {
        let v = Value::parse(text).ok()?;
        let n = |name: &str| v.get(name)?.as_u64();
        let s = |name: &str| Some(v.get(name)?.as_str()?.value().into_owned());
        let tag = v.get("t")?.as_str()?;
        Some(match &*tag.value() {
            "open" => TabMessage::Open {
                from: n("from")?,
                socket: n("socket")?,
            },
            "opened" => TabMessage::Opened {
                to: n("to")?,
                socket: n("socket")?,
                leader: n("leader")?,
            },
            "closed" => TabMessage::Closed {
                to: n("to")?,
                socket: n("socket")?,
                code: u16::try_from(n("code")?).ok()?,
            },
            "frame" => TabMessage::Frame {
                from: n("from")?,
                socket: n("socket")?,
                text: s("text")?,
            },
            "deliver" => TabMessage::Deliver {
                to: n("to")?,
                socket: n("socket")?,
                text: s("text")?,
            },
            "close" => TabMessage::Close {
                from: n("from")?,
                socket: n("socket")?,
            },
            "bye" => TabMessage::Bye { from: n("from")? },
            "leader" => TabMessage::Leader { tab: n("tab")? },
            "status" => TabMessage::Status {
                leader: n("leader")?,
                state: read_state(v.get("state")?)?,
                tabs: usize::try_from(n("tabs")?).ok()?,
                replay: v.get("replay").map_or(Some(Replay::Unknown), read_replay)?,
                health: v
                    .get("health")
                    .map_or(Some(SharedHealth::default()), read_health)?,
            },
            "probe" => TabMessage::Probe { from: n("from")? },
            "alive" => TabMessage::Alive {
                to: n("to")?,
                leader: n("leader")?,
            },
            "reconnect" => TabMessage::Reconnect { from: n("from")? },
            _ => return None,
        })
    }

    /// Encodes it.
    pub fn encode(&self) -> String {
        match self {
            TabMessage::Open { from, socket } => {
                Obj::new("open").n("from", *from).n("socket", *socket)
            }
            TabMessage::Opened { to, socket, leader } => Obj::new("opened")
                .n("to", *to)
                .n("socket", *socket)
                .n("leader", *leader),
            TabMessage::Closed { to, socket, code } => Obj::new("closed")
                .n("to", *to)
                .n("socket", *socket)
                .n("code", (*code).into()),
            TabMessage::Frame { from, socket, text } => Obj::new("frame")
                .n("from", *from)
                .n("socket", *socket)
                .s("text", text),
            TabMessage::Deliver { to, socket, text } => Obj::new("deliver")
                .n("to", *to)
                .n("socket", *socket)
                .s("text", text),
            TabMessage::Close { from, socket } => {
                Obj::new("close").n("from", *from).n("socket", *socket)
            }
            TabMessage::Bye { from } => Obj::new("bye").n("from", *from),
            TabMessage::Leader { tab } => Obj::new("leader").n("tab", *tab),
            TabMessage::Status {
                leader,
                state,
                tabs,
                replay,
                health,
            } => {
                let mut o = Obj::new("status").n("leader", *leader);
                o.key("state");
                write_state(&mut o.0, *state);
                let mut o = o.n("tabs", *tabs as u64);
                o.key("replay");
                push_str(&mut o.0, replay_name(*replay));
                o.key("health");
                write_health(&mut o.0, health);
                o
            }
            TabMessage::Probe { from } => Obj::new("probe").n("from", *from),
            TabMessage::Alive { to, leader } => Obj::new("alive").n("to", *to).n("leader", *leader),
            TabMessage::Reconnect { from } => Obj::new("reconnect").n("from", *from),
        }
        .end()
    }
}

/// An object being written: `{"t":…` then `,"name":value` for each field.
struct Obj(String);

impl Obj {
    fn new(tag: &str) -> Obj {
        let mut out = String::from("{\"t\":");
        push_str(&mut out, tag);
        Obj(out)
    }

    fn key(&mut self, name: &str) {
        self.0.push(',');
        push_str(&mut self.0, name);
        self.0.push(':');
    }

    fn n(mut self, name: &str, value: TabId) -> Obj {
        self.key(name);
        push_u64(&mut self.0, value);
        self
    }

    fn s(mut self, name: &str, value: &str) -> Obj {
        self.key(name);
        push_str(&mut self.0, value);
        self
    }

    fn end(mut self) -> String {
        self.0.push('}');
        self.0
    }
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
