//! The ticker app (`ticker.rs`) in Leptos: live prices on topics `ticker:{symbol}`, whose
//! events are `price {symbol, cents}`, and the connection state; tether's public API only.
//!
//! `cargo build -p tether-client --example ticker_leptos --features leptos --target
//! wasm32-unknown-unknown` builds it (the test command does). `tests/tests/ticker_leptos_app.rs`
//! renders its `TickerApp` in headless Chromium against the stub (started with
//! `--open-topic ticker:`), and `tests/tests/ssr.rs` renders it on the server, where it opens
//! nothing. Served as a page, it reads `?token=` and connects to `/api/ws/v2`.

use leptos::prelude::*;
use serde::Deserialize;
use tether_client::leptos::{use_connection, use_topic, use_topic_events, TetherProvider};

/// The `data` of a `price` event.
#[derive(Clone, Deserialize, PartialEq)]
pub struct Price {
    /// The symbol.
    pub symbol: String,
    /// The price, in cents.
    pub cents: u64,
}

/// One symbol's latest price, and how many prices arrived since it mounted.
#[component]
fn Quote(symbol: &'static str) -> impl IntoView {
    let topic = format!("ticker:{symbol}");
    let price = use_topic::<Price>(topic.clone());
    let (prices, set_prices) = signal(0u64);
    use_topic_events(topic, move |event| {
        if event.message().is_some_and(|m| m.kind() == "price") {
            set_prices.update(|n| *n += 1);
        }
    });
    let text = move || match price.get() {
        Some(p) => format!("{} {}.{:02}", p.symbol, p.cents / 100, p.cents % 100),
        None => format!("{symbol} …"),
    };
    let count = move || prices.get().to_string();
    view! { <li data-testid="quote" data-symbol=symbol data-prices=count>{text}</li> }
}

/// The connection, in a word.
#[component]
fn Status() -> impl IntoView {
    let state = use_connection();
    let name = move || state.get().name();
    view! { <p data-testid="ticker-status" data-state=name>{name}</p> }
}

/// The app: two quotes and the connection state.
#[component]
pub fn TickerApp(
    /// The WebSocket endpoint.
    #[prop(into)]
    url: String,
    /// The token, if any.
    #[prop(into)]
    token: Option<String>,
) -> impl IntoView {
    view! {
        <TetherProvider url=url token=token>
            <Status />
            <ul>
                <Quote symbol="BTC" />
                <Quote symbol="ETH" />
            </ul>
        </TetherProvider>
    }
}

/// `?token=` from the page's URL.
#[cfg(target_arch = "wasm32")]
fn page_token() -> Option<String> {
    let href = web_sys::window()?.location().href().ok()?;
    let query = href.split_once('?')?.1;
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix("token="))
        .map(str::to_owned)
}

#[cfg(target_arch = "wasm32")]
fn main() {
    let token = page_token();
    leptos::mount::mount_to_body(move || view! { <TickerApp url="/api/ws/v2" token=token /> });
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {}
