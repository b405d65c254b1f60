//! WebSocket close codes used by `/api/ws/v2`, and which of them a client retries.

/// A WebSocket close code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// Normal closure.
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// The server is going away (shutdown).
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// No close frame was received: the connection was dropped abruptly.
    pub const ABNORMAL: CloseCode = CloseCode(1006);
    /// Policy violation: inbound flood, or a consumer too slow to keep up.
    pub const POLICY: CloseCode = CloseCode(1008);
    /// A frame was larger than the server accepts.
    pub const TOO_BIG: CloseCode = CloseCode(1009);
    /// The server hit an internal error.
    pub const INTERNAL_ERROR: CloseCode = CloseCode(1011);
    /// The server is restarting.
    pub const RESTART: CloseCode = CloseCode(1012);
    /// Missing, invalid or expired token.
    pub const UNAUTHORIZED: CloseCode = CloseCode(4401);
    /// Forbidden.
    pub const FORBIDDEN: CloseCode = CloseCode(4403);
    /// Nothing arrived for the server's idle timeout.
    pub const HEARTBEAT_TIMEOUT: CloseCode = CloseCode(4408);
    /// Sent by this client when it declares a silent connection dead.
    pub const CLIENT_DEAD_CONNECTION: CloseCode = CloseCode(4000);

    /// True for the codes after which retrying cannot help without the app acting first
    /// (today only 4401: the app must refresh its token and call `reconnect()`).
    pub fn is_final(self) -> bool {
        self == CloseCode::UNAUTHORIZED
    }

    /// True for the codes that mean the client misbehaved or fell behind: retried, but reported.
    pub fn is_reportable(self) -> bool {
        matches!(self, CloseCode::POLICY | CloseCode::TOO_BIG)
    }
}
