//! # tether-wire
//!
//! tether's wire protocol, shared by the client (`tether-client`), the server
//! (`tether-server`) and anything else that speaks it: the "envelope v1" frame, topic names,
//! the protocol's own control messages (subscriptions, heartbeats, errors, tether's
//! extensions) and close codes. PROTOCOL.md at the repository root documents it, and
//! `fixtures/` pins it with golden frames.
//!
//! App payloads are not modelled here. A handler decodes an event's `data` into its own type
//! with [`Envelope::data`]. The origin backend's agents platform, whose messages the demo and
//! its reference server use, is in [`agents`] (feature `agents`).
//!
//! **Architecture Invariant:** this crate does no I/O and depends on nothing of tether's.
//! Decoding never panics: it returns [`DecodeError`].

#![deny(missing_docs)]

#[cfg(feature = "agents")]
pub mod agents;
mod close_code;
pub mod control;
mod envelope;
mod frame;
pub mod json;
mod topic;

pub use close_code::CloseCode;
pub use envelope::{DecodeError, EncodeError, Envelope, Message, VERSION};
pub use frame::{EnvelopeRef, Frame, FrameParts};
pub use topic::{Topic, SYSTEM};
