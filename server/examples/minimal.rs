//! Serving tether from an axum app, in one file: the WebSocket at `/live`, one topic
//! (`ticker:demo`), an auth hook (HS256 JWTs whose `sub` is the user, from `?token=`), and a
//! publisher on a timer that prints what it published. In-memory broker, default limits.
//!
//! `TETHER_SECRET=<32+ bytes> PORT=3000 cargo run -p tether-server --example minimal_server`, then
//! connect a tether client to `ws://127.0.0.1:3000/live` with a token.

use std::time::Duration;

use tether_server::{Denial, JwtHs256, TetherServer, Topic};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let env = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
    let secret = env("TETHER_SECRET", "change-me-to-a-secret-of-32-bytes-or-more");
    let tick_ms = env("TICK_MS", "1000").parse().unwrap_or(1000);

    let server = TetherServer::builder(JwtHs256::new(secret))
        .authorize(|_user: &String, topic: &Topic| match topic.as_str() {
            "ticker:demo" => Ok(()),
            other => Err(Denial::NotFound(format!("no topic {other}"))),
        })
        .build();

    let app = axum::Router::new()
        .route("/", axum::routing::get(|| async { "tether at /live" }))
        .merge(server.router("/live"));
    let listener =
        tokio::net::TcpListener::bind(("127.0.0.1", env("PORT", "3000").parse().unwrap_or(3000)))
            .await?;
    // The address first: the publisher prints from another task, after it.
    println!("listening on http://{}", listener.local_addr()?);

    let publisher = server.publisher();
    tokio::spawn(async move {
        let topic = Topic::new("ticker:demo");
        let mut every = tokio::time::interval(Duration::from_millis(tick_ms));
        for n in 1u64.. {
            every.tick().await;
            match publisher
                .publish(&topic, "tick", &serde_json::json!({ "n": n }))
                .await
            {
                Ok(published) => println!("published {topic} seq {}", published.seq()),
                Err(error) => eprintln!("not published: {error}"),
            }
        }
    });

    axum::serve(listener, app).await
}
