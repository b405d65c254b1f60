//! What the stub serves: its records and their store, who may see what, the things that
//! change them (chat, runs, the simulated assistant, the demo simulator), and the wire shapes
//! of their events per profile.

pub mod access;
pub mod assistant;
pub mod chat;
pub mod quota;
pub mod records;
pub mod runs;
pub mod simulator;
pub mod store;
pub mod wire;
