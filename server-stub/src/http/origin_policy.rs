//! CORS for the browser origins the server allows: the library's policy (loopback always,
//! others only when listed with `--allowed-origin`), which also guards the WebSocket upgrade.

use tower_http::cors::{AllowOrigin, Any, CorsLayer};

use tether_server::origin::OriginPolicy;

/// CORS for the allowed origins, any method and header.
pub fn cors(policy: &OriginPolicy) -> CorsLayer {
    let policy = policy.clone();
    let allowed =
        AllowOrigin::predicate(move |origin, _| origin.to_str().is_ok_and(|o| policy.allows(o)));
    CorsLayer::new()
        .allow_origin(allowed)
        .allow_methods(Any)
        .allow_headers(Any)
}
