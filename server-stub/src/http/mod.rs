//! The HTTP side: the REST API and how it authenticates its caller, its JSON errors, the
//! browser-origin policy (used by CORS and the WebSocket upgrade), and test control.

pub mod api_error;
pub mod control;
pub mod origin_policy;
pub mod rest;
pub mod rest_auth;
