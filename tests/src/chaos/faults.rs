//! The chaos test's faults, each aimed at the test user's sockets. A fault counts as effective
//! only when the stub's answer says it hit a socket.

use tether_client::core::Rng;

use crate::stub::{Profile, Stub};

/// One fault of the schedule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Drop the sockets without a close frame.
    Drop,
    /// Stop sending and enforcing idle timeouts: the client must notice the silence.
    HalfOpen,
    /// Refuse connections for `down_ms`, then close every socket with 1012.
    Restart {
        /// How long new sockets are refused.
        down_ms: u64,
        /// Also forget every topic's history (seq back to 0, nothing replayable).
        lose_history: bool,
    },
    /// Send a frame that is not JSON.
    Malformed,
    /// Send the last `n` events of every topic again.
    Duplicate(u64),
    /// Send an older event again after a newer one.
    Reorder,
    /// Close with a code.
    Close(u16),
}

impl Fault {
    /// A fault drawn by `rng` for a server of `profile`. The origin never sends an event twice
    /// (it has no replay), and without `seq` no client could tell a repeat: its schedule has no
    /// repeats or reorders.
    pub fn draw_for(rng: &mut Rng, profile: Profile) -> Fault {
        loop {
            let fault = Fault::draw(rng);
            let repeats = matches!(fault, Fault::Duplicate(_) | Fault::Reorder);
            if profile == Profile::Tether || !repeats {
                return fault;
            }
        }
    }

    /// A fault drawn by `rng`.
    pub fn draw(rng: &mut Rng) -> Fault {
        match rng.up_to(11) {
            0 => Fault::Drop,
            1 => Fault::HalfOpen,
            2 => Fault::Restart {
                down_ms: 50 + rng.up_to(550),
                lose_history: false,
            },
            3 => Fault::Restart {
                down_ms: 50 + rng.up_to(300),
                lose_history: true,
            },
            4 => Fault::Malformed,
            5 => Fault::Duplicate(1 + rng.up_to(2)),
            6 => Fault::Reorder,
            n => Fault::Close([1001, 1011, 1012, 4408, 4401][(n - 7) as usize]),
        }
    }

    /// Its name in the report.
    pub fn name(&self) -> String {
        match self {
            Fault::Drop => "drop".into(),
            Fault::HalfOpen => "half-open".into(),
            Fault::Restart {
                lose_history: false,
                ..
            } => "restart".into(),
            Fault::Restart {
                lose_history: true, ..
            } => "restart losing history".into(),
            Fault::Malformed => "malformed".into(),
            Fault::Duplicate(_) => "duplicate".into(),
            Fault::Reorder => "reorder".into(),
            Fault::Close(code) => format!("close {code}"),
        }
    }

    /// Injects it against `user`'s sockets; returns how many it hit.
    pub async fn inject(&self, stub: &Stub, user: u64) -> u64 {
        let path = match self {
            Fault::Drop => format!("drop?user={user}"),
            Fault::HalfOpen => format!("half-open?user={user}"),
            Fault::Restart {
                down_ms,
                lose_history,
            } => format!("restart?down_ms={down_ms}&lose_history={lose_history}"),
            Fault::Malformed => format!("malformed?user={user}"),
            Fault::Duplicate(n) => format!("duplicate?last={n}&user={user}"),
            Fault::Reorder => format!("reorder?user={user}"),
            Fault::Close(code) => format!("close?code={code}&reason=chaos&user={user}"),
        };
        stub.fault(&path).await
    }
}
