//! A tether app in Yew: the connection state and the latest price on `ticker:BTC`. Publish one
//! with the stub's test control (README.md, "Starters").

use serde::Deserialize;
use tether_client::hooks::{use_connection, use_topic, WsProvider};
use yew::prelude::*;

/// The `data` of a `price` event.
#[derive(Deserialize, PartialEq)]
struct Price {
    symbol: String,
    cents: u64,
}

#[component]
fn Status() -> Html {
    let state = use_connection();
    html! { <p>{ "connection: " }{ state.name() }</p> }
}

#[component]
fn Quote() -> Html {
    match use_topic::<Price>("ticker:BTC") {
        Some(p) => html! { <p>{ format!("{} {}.{:02}", p.symbol, p.cents / 100, p.cents % 100) }</p> },
        None => html! { <p>{ "waiting for a price on ticker:BTC" }</p> },
    }
}

#[component]
fn App() -> Html {
    // The stub's dev token; an app passes its user's.
    html! {
        <WsProvider url="/api/ws/v2" token={Some(AttrValue::from("dev-token"))}>
            <Status />
            <Quote />
        </WsProvider>
    }
}

fn main() {
    yew::Renderer::<App>::new().render();
}
