//! B2's baseline for tether's marginal size in a Yew app: the same app as
//! `client/examples/ticker.rs` (two quotes on `ticker:{symbol}` topics and the connection
//! state), on a plain `web_sys::WebSocket` with `serde_json` instead of tether: no reconnect, no
//! heartbeat, no replay. The bench command builds both with the same profile and subtracts.
//!
//! `cargo build -p tether-bench --example ticker_plain --target wasm32-unknown-unknown`

#[cfg(target_arch = "wasm32")]
mod app {
    use std::cell::RefCell;
    use std::collections::HashMap;
    use std::rc::Rc;

    use serde::Deserialize;
    use serde_json::value::RawValue;
    use wasm_bindgen::prelude::*;
    use web_sys::{MessageEvent, WebSocket};
    use yew::prelude::*;

    /// An incoming frame, as far as dispatch reads it.
    #[derive(Deserialize)]
    struct Frame {
        topic: String,
        data: Box<RawValue>,
    }

    /// The `data` of a `price` event.
    #[derive(Deserialize, PartialEq)]
    pub struct Price {
        symbol: String,
        cents: u64,
    }

    type Handlers = RefCell<HashMap<String, Vec<(u32, Callback<Rc<Price>>)>>>;

    /// The socket, its handlers, and the closures it calls.
    struct Socket {
        ws: WebSocket,
        handlers: Rc<Handlers>,
        next: RefCell<u32>,
        _callbacks: [Closure<dyn FnMut(JsValue)>; 3],
    }

    impl Socket {
        fn open(url: &str, state: UseStateHandle<&'static str>) -> Socket {
            let ws = WebSocket::new(url).expect("a valid URL");
            let handlers: Rc<Handlers> = Rc::default();
            let h = handlers.clone();
            let on_message = Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
                let text = e.unchecked_into::<MessageEvent>().data().as_string();
                let Some(frame) = text.and_then(|t| serde_json::from_str::<Frame>(&t).ok()) else {
                    return;
                };
                let Ok(price) = serde_json::from_str::<Price>(frame.data.get()) else {
                    return;
                };
                let price = Rc::new(price);
                for (_, cb) in h.borrow().get(&frame.topic).into_iter().flatten() {
                    cb.emit(price.clone());
                }
            });
            let (s, ws2, h2) = (state.clone(), ws.clone(), handlers.clone());
            let on_open = Closure::<dyn FnMut(JsValue)>::new(move |_| {
                s.set("open");
                let topics: Vec<String> = h2.borrow().keys().cloned().collect();
                send_subscribe(&ws2, &topics);
            });
            let on_close = Closure::<dyn FnMut(JsValue)>::new(move |_| state.set("closed"));
            ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
            ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
            Socket {
                ws,
                handlers,
                next: RefCell::new(0),
                _callbacks: [on_message, on_open, on_close],
            }
        }

        /// Registers a handler; subscribes the topic with its first.
        fn subscribe(&self, topic: &str, cb: Callback<Rc<Price>>) -> u32 {
            let id = {
                let mut next = self.next.borrow_mut();
                *next += 1;
                *next
            };
            let first = {
                let mut handlers = self.handlers.borrow_mut();
                let list = handlers.entry(topic.to_owned()).or_default();
                list.push((id, cb));
                list.len() == 1
            };
            if first && self.ws.ready_state() == WebSocket::OPEN {
                send_subscribe(&self.ws, &[topic.to_owned()]);
            }
            id
        }

        fn unsubscribe(&self, topic: &str, id: u32) {
            if let Some(list) = self.handlers.borrow_mut().get_mut(topic) {
                list.retain(|(i, _)| *i != id);
            }
        }
    }

    fn send_subscribe(ws: &WebSocket, topics: &[String]) {
        let frame = serde_json::json!({
            "v": 1, "type": "subscribe", "topic": "system", "ts": js_sys::Date::now() as u64,
            "data": { "topics": topics },
        });
        let _ = ws.send_with_str(&frame.to_string());
    }

    /// What the provider shares.
    #[derive(Clone)]
    struct Ws {
        socket: Rc<Socket>,
        state: &'static str,
    }

    impl PartialEq for Ws {
        fn eq(&self, other: &Self) -> bool {
            Rc::ptr_eq(&self.socket, &other.socket) && self.state == other.state
        }
    }

    #[derive(Properties, PartialEq)]
    struct ProviderProps {
        url: AttrValue,
        children: Html,
    }

    #[component]
    fn Provider(props: &ProviderProps) -> Html {
        let state = use_state(|| "connecting");
        let socket = {
            let (url, state) = (props.url.clone(), state.clone());
            use_memo((), move |_| Socket::open(&url, state))
        };
        let context = Ws {
            socket,
            state: *state,
        };
        html! { <ContextProvider<Ws> {context}>{ props.children.clone() }</ContextProvider<Ws>> }
    }

    #[derive(Properties, PartialEq)]
    struct QuoteProps {
        symbol: &'static str,
    }

    /// One symbol's latest price.
    #[component]
    fn Quote(props: &QuoteProps) -> Html {
        let ws = use_context::<Ws>().expect("below the provider");
        let price = use_state(|| None::<Rc<Price>>);
        {
            let (socket, setter, topic) = (
                ws.socket.clone(),
                price.setter(),
                format!("ticker:{}", props.symbol),
            );
            use_effect_with(props.symbol, move |_| {
                let id = socket.subscribe(&topic, Callback::from(move |p| setter.set(Some(p))));
                move || socket.unsubscribe(&topic, id)
            });
        }
        let label = props.symbol;
        match &*price {
            Some(p) => {
                html! { <li>{ format!("{} {}.{:02}", p.symbol, p.cents / 100, p.cents % 100) }</li> }
            }
            None => html! { <li>{ format!("{label} …") }</li> },
        }
    }

    /// The connection, in a word.
    #[component]
    fn Status() -> Html {
        let ws = use_context::<Ws>().expect("below the provider");
        html! { <p>{ ws.state }</p> }
    }

    /// The app: two quotes and the connection state.
    #[component]
    pub fn TickerApp() -> Html {
        html! {
            <Provider url="ws://localhost:8787/api/ws/v2?token=dev-token">
                <Status />
                <ul>
                    <Quote symbol="BTC" />
                    <Quote symbol="ETH" />
                </ul>
            </Provider>
        }
    }
}

#[cfg(target_arch = "wasm32")]
fn main() {
    yew::Renderer::<app::TickerApp>::new().render();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {}
