//! WebSocket close codes: the ones RFC 6455 defines that `/api/ws/v2` uses, and the protocol's
//! own (4000–4999). What a client does after each is decided in one place,
//! `core::reconnect::decide`, whose documentation is the table.

use std::fmt;

/// A WebSocket close code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// Normal closure.
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// The server is going away (shutdown).
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// The peer broke the protocol (an unmasked frame, a reserved opcode, …).
    pub const PROTOCOL_ERROR: CloseCode = CloseCode(1002);
    /// Sent by nobody: the close frame carried no code.
    pub const NO_STATUS: CloseCode = CloseCode(1005);
    /// Sent by nobody: the connection dropped without a close frame.
    pub const ABNORMAL: CloseCode = CloseCode(1006);
    /// A text frame that is not valid UTF-8.
    pub const INVALID_PAYLOAD: CloseCode = CloseCode(1007);
    /// Policy violation: inbound flood, a consumer too slow to keep up, a stuck write.
    pub const POLICY: CloseCode = CloseCode(1008);
    /// A frame was larger than the server accepts.
    pub const TOO_BIG: CloseCode = CloseCode(1009);
    /// The server hit an internal error.
    pub const INTERNAL_ERROR: CloseCode = CloseCode(1011);
    /// The server is restarting.
    pub const RESTART: CloseCode = CloseCode(1012);
    /// Sent by this client when it declares a silent connection dead.
    pub const CLIENT_DEAD_CONNECTION: CloseCode = CloseCode(4000);
    /// Missing, invalid or expired token.
    pub const UNAUTHORIZED: CloseCode = CloseCode(4401);
    /// Forbidden.
    pub const FORBIDDEN: CloseCode = CloseCode(4403);
    /// Nothing arrived for the server's idle timeout.
    pub const HEARTBEAT_TIMEOUT: CloseCode = CloseCode(4408);
}

impl From<u16> for CloseCode {
    fn from(code: u16) -> CloseCode {
        CloseCode(code)
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> u16 {
        code.0
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
