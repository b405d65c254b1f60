//! The ticker example (`client/examples/ticker.rs`), an app for a made-up schema on tether's
//! public API only, rendered in headless Chromium against the live stub (started with
//! `--open-topic ticker:`): the prices the stub's test control publishes on `ticker:BTC` and
//! `ticker:ETH` appear, each the latest, and the status says the socket is open.

#![cfg(target_arch = "wasm32")]

#[allow(dead_code)]
#[path = "../../client/examples/ticker.rs"]
mod ticker;

use serde_json::json;
use tether_tests::web::{post_json, stats, token_for, wait_for, ws_url};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// The text of every quote the app shows, by symbol.
fn quotes(root: &web_sys::Element) -> Vec<(String, String)> {
    let list = root
        .query_selector_all("[data-testid=quote]")
        .expect("a selector");
    (0..list.length())
        .filter_map(|i| list.item(i))
        .filter_map(|n| n.dyn_into::<web_sys::Element>().ok())
        .map(|e| {
            (
                e.get_attribute("data-symbol").unwrap_or_default(),
                e.text_content().unwrap_or_default(),
            )
        })
        .collect()
}

#[wasm_bindgen_test]
async fn the_ticker_example_shows_the_latest_price_of_each_symbol() {
    let document = web_sys::window().unwrap().document().unwrap();
    let root = document.create_element("div").unwrap();
    document.body().unwrap().append_child(&root).unwrap();
    let props = ticker::TickerAppProps {
        url: ws_url().into(),
        token: Some(token_for(31).await.into()),
    };
    let app = yew::Renderer::<ticker::TickerApp>::with_root_and_props(root.clone(), props).render();

    wait_for("the ticker connected", 5_000, || {
        root.query_selector("[data-testid=ticker-status][data-state=open]")
            .ok()
            .flatten()
            .is_some()
    })
    .await;
    let pending = quotes(&root);
    assert_eq!(
        pending,
        vec![
            ("BTC".to_owned(), "BTC …".to_owned()),
            ("ETH".to_owned(), "ETH …".to_owned())
        ]
    );
    // An open socket does not mean the stub has taken the subscriptions: prices published
    // before it has are not delivered. Wait for its own count.
    let mut waited = 0;
    loop {
        let subscribers = stats().await["subscribers"].clone();
        let held = |t: &str| subscribers[t].as_u64().unwrap_or(0) >= 1;
        if held("ticker:BTC") && held("ticker:ETH") {
            break;
        }
        assert!(
            waited < 5_000,
            "the stub never held the ticker topics: {subscribers}"
        );
        gloo_timers::future::TimeoutFuture::new(20).await;
        waited += 20;
    }
    for (symbol, cents) in [("BTC", 6_512_345u64), ("ETH", 301_050), ("BTC", 6_500_001)] {
        let path = format!("/api/test/publish?topic=ticker:{symbol}&kind=price");
        post_json(&path, &json!({ "symbol": symbol, "cents": cents })).await;
    }
    let want = vec![
        ("BTC".to_owned(), "BTC 65000.01".to_owned()),
        ("ETH".to_owned(), "ETH 3010.50".to_owned()),
    ];
    wait_for("both prices shown", 5_000, || quotes(&root) == want).await;
    assert_eq!(quotes(&root), want);
    app.destroy();
    root.remove();
}
