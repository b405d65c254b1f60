//! A tether app in Leptos: the connection state and the latest price on `ticker:BTC`. Publish
//! one with the stub's test control (README.md, "Starters").

use leptos::prelude::*;
use serde::Deserialize;
use tether_client::leptos::{use_connection, use_topic, TetherProvider};

/// The `data` of a `price` event.
#[derive(Clone, Deserialize)]
struct Price {
    symbol: String,
    cents: u64,
}

#[component]
fn Status() -> impl IntoView {
    let state = use_connection();
    view! { <p>"connection: "{move || state.get().name()}</p> }
}

#[component]
fn Quote() -> impl IntoView {
    let price = use_topic::<Price>("ticker:BTC");
    move || match price.get() {
        Some(p) => format!("{} {}.{:02}", p.symbol, p.cents / 100, p.cents % 100),
        None => "waiting for a price on ticker:BTC".to_owned(),
    }
}

#[component]
fn App() -> impl IntoView {
    // The stub's dev token; an app passes its user's.
    view! {
        <TetherProvider url="/api/ws/v2" token="dev-token">
            <Status />
            <Quote />
        </TetherProvider>
    }
}

fn main() {
    leptos::mount::mount_to_body(App);
}
