//! The origin backend's agents platform on tether: its messages, the dashboard and chat
//! managers, and (with `yew`) their REST client and hooks. It is built only on tether's public
//! API, as any app's module would be.

pub mod messages;
pub mod model;
pub mod time;

pub use messages::AgentsMessage;
pub use time::Timestamp;
