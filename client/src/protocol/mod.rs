//! The wire protocol, open to any app's messages: the "envelope v1" frame, topic names, the
//! protocol's own control messages (subscriptions, heartbeats, errors) and close codes.
//! PROTOCOL.md at the repository root documents it, and `fixtures/` pins it with golden frames.
//!
//! App payloads are not modelled here. A handler decodes an event's `data` into its own type
//! with [`Envelope::data`]; the origin backend's messages live in `tether::agents`.

mod close_code;
pub mod control;
mod envelope;
mod topic;

pub use close_code::CloseCode;
pub use control::Control;
pub use envelope::{DecodeError, EncodeError, Envelope, Message, VERSION};
pub use topic::{Topic, SYSTEM};
