//! The ticker example's Leptos version (`client/examples/ticker_leptos.rs`), on tether's
//! public API only, mounted in headless Chromium against the live stub (started with
//! `--open-topic ticker:`): each quote counts the prices it received from mount, and the count
//! must equal what the stub's publish log says was published on its topic since then (none
//! lost, none twice); each shows the latest price, and the status says the socket is open.
//! Unmounting lets the stub's subscriber count fall back.

#![cfg(target_arch = "wasm32")]

#[allow(dead_code)]
#[path = "../../client/examples/ticker_leptos.rs"]
mod ticker_leptos;

use leptos::prelude::*;
use serde_json::json;
use tether_tests::web::{post_json, published, stats, token_for, wait_for, ws_url};
use ticker_leptos::TickerApp;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Every quote the app shows: `(symbol, text, prices received)`.
fn quotes(root: &web_sys::Element) -> Vec<(String, String, u64)> {
    let list = root
        .query_selector_all("[data-testid=quote]")
        .expect("a selector");
    (0..list.length())
        .filter_map(|i| list.item(i))
        .filter_map(|n| n.dyn_into::<web_sys::Element>().ok())
        .map(|e| {
            let count = e.get_attribute("data-prices").unwrap_or_default();
            (
                e.get_attribute("data-symbol").unwrap_or_default(),
                e.text_content().unwrap_or_default(),
                count.parse().unwrap_or(u64::MAX),
            )
        })
        .collect()
}

/// The stub's subscriber count of `topic`.
async fn subscribers(topic: &str) -> u64 {
    stats().await["subscribers"][topic].as_u64().unwrap_or(0)
}

/// Waits until the stub's subscriber counts of `(ticker:BTC, ticker:ETH)` satisfy `ok`.
async fn wait_subscribers(what: &str, ok: impl Fn(u64, u64) -> bool) {
    let mut waited = 0;
    loop {
        let (btc, eth) = (
            subscribers("ticker:BTC").await,
            subscribers("ticker:ETH").await,
        );
        if ok(btc, eth) {
            return;
        }
        assert!(waited < 5_000, "{what}: the stub says BTC {btc}, ETH {eth}");
        gloo_timers::future::TimeoutFuture::new(20).await;
        waited += 20;
    }
}

#[wasm_bindgen_test]
async fn the_leptos_ticker_shows_every_price_published_since_mount_and_the_latest() {
    let document = web_sys::window().unwrap().document().unwrap();
    let root = document.create_element("div").unwrap();
    document.body().unwrap().append_child(&root).unwrap();
    let before = (
        subscribers("ticker:BTC").await,
        subscribers("ticker:ETH").await,
    );
    let (url, token) = (ws_url(), token_for(33).await);
    let mount = root.clone().dyn_into::<web_sys::HtmlElement>().unwrap();
    let app = leptos::mount::mount_to(mount, move || view! { <TickerApp url=url token=token /> });

    wait_for("the ticker connected", 5_000, || {
        root.query_selector("[data-testid=ticker-status][data-state=open]")
            .ok()
            .flatten()
            .is_some()
    })
    .await;
    // Prices published before the stub holds the subscriptions are not delivered.
    wait_subscribers("the stub took the subscriptions", |btc, eth| {
        btc > before.0 && eth > before.1
    })
    .await;
    let from = (
        published("ticker:BTC").await.len(),
        published("ticker:ETH").await.len(),
    );
    for (symbol, cents) in [("BTC", 6_512_345u64), ("ETH", 301_050), ("BTC", 6_500_001)] {
        let path = format!("/api/test/publish?topic=ticker:{symbol}&kind=price");
        post_json(&path, &json!({ "symbol": symbol, "cents": cents })).await;
    }
    let since = |log: Vec<serde_json::Value>, from: usize| {
        log[from..].iter().filter(|e| e["type"] == "price").count() as u64
    };
    let btc = since(published("ticker:BTC").await, from.0);
    let eth = since(published("ticker:ETH").await, from.1);
    assert!(
        btc >= 2 && eth >= 1,
        "the stub's log lacks the prices: BTC {btc}, ETH {eth}"
    );
    let want = vec![
        ("BTC".to_owned(), "BTC 65000.01".to_owned(), btc),
        ("ETH".to_owned(), "ETH 3010.50".to_owned(), eth),
    ];
    wait_for("every price shown", 5_000, || quotes(&root) == want).await;
    assert_eq!(quotes(&root), want);

    drop(app);
    assert!(quotes(&root).is_empty(), "unmounted, the quotes are gone");
    wait_subscribers("the unmounted ticker let go", |btc, eth| {
        btc <= before.0 && eth <= before.1
    })
    .await;
    root.remove();
}
