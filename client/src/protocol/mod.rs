//! The `/api/ws/v2` wire protocol, shared by the client and the server stub: topics, the
//! envelope, every message type of both directions, and the close codes. PROTOCOL.md at the
//! repository root documents it; `fixtures/` holds one golden frame per message type.

mod close_code;
mod frame;
pub mod model;
mod topic;

pub use close_code::CloseCode;
pub use frame::{
    ClientFrame, ClientMessage, DecodeError, Frame, Message, ServerFrame, ServerMessage, VERSION,
};
pub use topic::{EmptyTopic, Topic};
