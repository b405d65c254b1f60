//! A small app for a made-up schema, built only on tether's public API: live prices on topics
//! `ticker:{symbol}`, whose events are `price {symbol, cents, at}`. No agents, no threads.
//!
//! `cargo build -p tether-client --example ticker --features yew --target wasm32-unknown-unknown`
//! builds it (the test command does); `tests/tests/ticker_app.rs` renders its `TickerApp` in
//! headless Chromium against the stub, started with `--open-topic ticker:`, whose test control
//! publishes the prices. Served as a page, it reads `?token=` and connects to `/api/ws/v2`.

use serde::Deserialize;
use tether_client::hooks::{use_connection, use_topic, WsProvider};
use tether_client::protocol::Topic;
use yew::prelude::*;

/// This app's topics: one per symbol.
#[derive(Clone, Copy, PartialEq)]
pub struct Ticker(&'static str);

impl From<Ticker> for Topic {
    fn from(t: Ticker) -> Topic {
        Topic::new(format!("ticker:{}", t.0))
    }
}

/// The `data` of a `price` event.
#[derive(Deserialize, PartialEq)]
pub struct Price {
    /// The symbol.
    pub symbol: String,
    /// The price, in cents.
    pub cents: u64,
}

#[derive(Properties, PartialEq)]
struct QuoteProps {
    ticker: Ticker,
}

/// One symbol's latest price.
#[component]
fn Quote(props: &QuoteProps) -> Html {
    let price = use_topic::<Price>(props.ticker);
    let label = props.ticker.0;
    match price {
        Some(p) => html! {
            <li data-testid="quote" data-symbol={label}>
                { format!("{} {}.{:02}", p.symbol, p.cents / 100, p.cents % 100) }
            </li>
        },
        None => html! { <li data-testid="quote" data-symbol={label}>{ format!("{label} …") }</li> },
    }
}

/// The connection, in a word.
#[component]
fn Status() -> Html {
    let state = use_connection();
    html! { <p data-testid="ticker-status" data-state={state.name()}>{ state.name() }</p> }
}

/// Props of [`TickerApp`].
#[derive(Properties, PartialEq)]
pub struct TickerAppProps {
    /// The WebSocket endpoint.
    pub url: AttrValue,
    /// The token.
    pub token: Option<AttrValue>,
}

/// The app: two quotes and the connection state.
#[component]
pub fn TickerApp(props: &TickerAppProps) -> Html {
    html! {
        <WsProvider url={props.url.clone()} token={props.token.clone()}>
            <Status />
            <ul>
                <Quote ticker={Ticker("BTC")} />
                <Quote ticker={Ticker("ETH")} />
            </ul>
        </WsProvider>
    }
}

/// `?token=` from the page's URL.
#[cfg(target_arch = "wasm32")]
fn web_sys_token() -> Option<AttrValue> {
    let href = web_sys::window()?.location().href().ok()?;
    let query = href.split_once('?')?.1;
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix("token="))
        .map(|t| AttrValue::from(t.to_owned()))
}

#[cfg(target_arch = "wasm32")]
fn main() {
    let props = TickerAppProps {
        url: "/api/ws/v2".into(),
        token: web_sys_token(),
    };
    yew::Renderer::<TickerApp>::with_props(props).render();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {}
