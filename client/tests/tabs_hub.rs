//! The leader's hub on a real client, on the fake driver: the tabs' messages go in, the
//! server is played by the test, and what each tab is delivered is checked against what the
//! server published. Feature `tabs`.
#![cfg(feature = "tabs")]

mod support;

use std::cell::RefCell;
use std::rc::Rc;

use support::{agent_event, config, first_subscribe, Harness};
use tether_client::protocol::control::write;
use tether_client::protocol::Frame;
use tether_client::tabs::hub::{Hub, HubHost};
use tether_client::tabs::{Lock, TabId, TabMessage};

/// The tabs' side of the channel: what the hub posts, in order.
#[derive(Clone, Default)]
struct Posts(Rc<RefCell<Vec<TabMessage>>>);

struct NeverGranted;

impl Lock for NeverGranted {
    fn request(&self, _: Box<dyn FnOnce()>, _: Box<dyn FnOnce()>) {}
    fn steal(&self, _: Box<dyn FnOnce()>, _: Box<dyn FnOnce()>) {}
}

impl HubHost for Posts {
    fn post(&self, message: TabMessage) {
        self.0.borrow_mut().push(message);
    }
    fn post_from_timer(&self, message: TabMessage) {
        self.0.borrow_mut().push(message);
    }
    fn watch_tab(&self, _: TabId, _: Box<dyn FnOnce()>) -> Box<dyn Lock> {
        Box::new(NeverGranted)
    }
}

impl Posts {
    /// What `tab` was delivered: `ack@seq` or the event's `seq`.
    fn delivered(&self, tab: TabId) -> Vec<String> {
        self.0
            .borrow()
            .iter()
            .filter_map(|m| match m {
                TabMessage::Deliver { to, text, .. } if *to == tab => Some(text.clone()),
                _ => None,
            })
            .map(|t| {
                let f = Frame::decode(&t).unwrap();
                match f.kind() {
                    "subscribe_ack" => format!(
                        "ack@{}",
                        f.raw_data()
                            .rsplit(':')
                            .next()
                            .unwrap()
                            .trim_end_matches("}}")
                    ),
                    _ => f.seq.map_or(f.kind().to_owned(), |s| s.to_string()),
                }
            })
            .collect()
    }
}

const TOPIC: &str = "agent:7";
const A: TabId = 2;
const B: TabId = 3;

fn subscribe(hub: &Hub, tab: TabId, since: Option<u64>) {
    let text = write::subscribe(0, "m1", &[(TOPIC, since)]);
    hub.handle(TabMessage::Frame {
        from: tab,
        socket: tab,
        text,
    });
}

/// A tab behind the others (it came from a leader that went) asks for the events after its
/// `since`: the real client subscribes again from it, and the server's replay reaches that tab
/// alone, from its cursor, with no event lost to a live one that overtook the replay.
#[test]
fn a_tab_catching_up_gets_the_replay_from_its_since_and_no_live_event_overtakes_it() {
    let mut h = Harness::new(config());
    h.connect_and_open();
    let posts = Posts::default();
    let hub = Hub::start(1, Box::new(posts.clone()), h.app.clone());
    for tab in [A, B] {
        hub.handle(TabMessage::Open {
            from: tab,
            socket: tab,
        });
    }
    subscribe(&hub, A, None);
    h.end_tick();
    let (_, _, id) = first_subscribe(&h.take_sent());
    h.ack(&id, &[(TOPIC, 4)]);
    for seq in 5..=12 {
        h.event(7, seq);
    }
    subscribe(&hub, B, Some(5));
    h.end_tick();
    let (topics, since, id) = first_subscribe(&h.take_sent());
    assert_eq!((topics, since.unwrap()[TOPIC]), (vec![TOPIC.to_owned()], 5));
    // A live event overtakes the server's answer: the replay brings it again, in order.
    h.server_sends(&agent_event(7, 13));
    h.ack(&id, &[(TOPIC, 13)]);
    for seq in 6..=14 {
        h.event(7, seq);
    }
    let a: Vec<String> = ["ack@4"]
        .into_iter()
        .map(String::from)
        .chain((5..=14).map(|s| s.to_string()))
        .collect();
    let b: Vec<String> = ["ack@5"]
        .into_iter()
        .map(String::from)
        .chain((6..=14).map(|s| s.to_string()))
        .collect();
    assert_eq!(posts.delivered(A), a);
    assert_eq!(posts.delivered(B), b);
}
