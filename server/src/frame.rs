//! Frames the server makes itself: control messages (`pong`, `subscribe_ack`, `error`, …),
//! stamped with the current time. A ground-floor helper beside [`crate::clock`]: it imports
//! only the wire types and the clock.

use tungstenite::Utf8Bytes;

use tether_wire::control::Control;
use tether_wire::control::Heartbeat;
use tether_wire::Envelope;

use crate::clock::now_ms;

/// A control message's envelope: on `system`, or on the topic of a `resync_required`.
pub fn control_envelope(control: &Control, req_id: Option<String>, ts: u64) -> Envelope {
    let mut envelope = control.to_envelope().with_ts(ts);
    envelope.req_id = req_id;
    envelope
}

/// A control frame, stamped now.
pub fn control_frame(control: &Control, req_id: Option<String>) -> Utf8Bytes {
    control_envelope(control, req_id, now_ms()).encode().into()
}

/// The server's heartbeat: a `ping` stamped now.
pub fn ping_frame() -> Utf8Bytes {
    control_frame(&Control::Ping(Heartbeat::default()), None)
}
