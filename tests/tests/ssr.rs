//! Server-side rendering opens no socket. The ticker example, in Leptos (`ssr`) and in Yew
//! (`ServerRenderer`), is rendered on the host with the URL of a live stub and a valid token:
//! the HTML shows the disconnected state (`idle`, no prices), and the stub's own counters
//! show no connection attempt. To prove the counters would have seen one, a control socket
//! is then opened to the same stub, and the stub must count exactly that one: a socket the
//! render had opened would have reached it first.

#![cfg(not(target_arch = "wasm32"))]

#[allow(dead_code)]
#[path = "../../client/examples/ticker_leptos.rs"]
mod ticker_leptos;

#[allow(dead_code)]
#[path = "../../client/examples/ticker.rs"]
mod ticker_yew;

use leptos::prelude::*;
use tether_tests::e2e::eventually;
use tether_tests::stub::Stub;
use ticker_leptos::TickerApp;

/// Opens a control socket to `stub` and returns the stub's `(attempts, opened)` connection
/// counts once it has counted the control socket as open.
async fn counts_after_a_control_socket(stub: &Stub, token: &str) -> (u64, u64) {
    let url = format!("{}?token={token}", stub.ws_url());
    let control = tokio::task::spawn_blocking(move || tungstenite::connect(url))
        .await
        .expect("the control thread")
        .expect("the control socket opens");
    let opened = eventually("the control socket counted", async || {
        let stats = stub.stats().await;
        let opened = stats["connections_opened_total"].as_u64()?;
        let attempts = stats["connection_attempts_total"].as_u64()?;
        (opened >= 1).then_some((attempts, opened))
    })
    .await;
    drop(control);
    opened
}

/// Asserts the ticker's HTML shows the disconnected state and no price.
fn assert_disconnected(html: &str) {
    assert!(html.contains("data-state=\"idle\""), "not idle: {html}");
    assert!(
        html.contains("BTC …") && html.contains("ETH …"),
        "prices: {html}"
    );
    assert!(!html.contains("data-state=\"open\""), "open: {html}");
}

#[tokio::test(flavor = "current_thread")]
async fn leptos_ssr_renders_the_disconnected_state_and_opens_no_socket() {
    // In a `LocalSet`, as a server rendering on one thread would: anything the render spawned
    // locally (a driver) would run while the test waits.
    tokio::task::LocalSet::new().run_until(leptos_ssr()).await;
}

async fn leptos_ssr() {
    let stub = Stub::start_direct(|_| {}).await;
    let token = stub.token(31).await;
    let (url, t) = (stub.ws_url(), token.clone());
    let owner = Owner::new();
    let html = owner.with(|| {
        view! { <TickerApp url=url token=t /> }
            .into_view()
            .to_html()
    });
    drop(owner);
    assert_eq!(
        counts_after_a_control_socket(&stub, &token).await,
        (1, 1),
        "the stub saw a socket besides the control one"
    );
    assert_disconnected(&html);
}

#[tokio::test(flavor = "current_thread")]
async fn yew_server_renderer_renders_the_disconnected_state_and_opens_no_socket() {
    tokio::task::LocalSet::new().run_until(yew_ssr()).await;
}

async fn yew_ssr() {
    let stub = Stub::start_direct(|_| {}).await;
    let token = stub.token(32).await;
    let props = ticker_yew::TickerAppProps {
        url: stub.ws_url().into(),
        token: Some(token.clone().into()),
    };
    let html = yew::LocalServerRenderer::<ticker_yew::TickerApp>::with_props(props)
        .render()
        .await;
    assert_eq!(
        counts_after_a_control_socket(&stub, &token).await,
        (1, 1),
        "the stub saw a socket besides the control one"
    );
    assert_disconnected(&html);
}
