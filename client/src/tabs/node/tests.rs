//! Table tests of the node core: leadership (join, close, crash, freeze and steal, thaw) and
//! the virtual socket, as the outputs each input asks for, in order.

use super::core::{Leadership, NodeCore, NodeOutput};
use crate::core::{ConnectionState, Replay};
use crate::protocol::CloseCode;
use crate::tabs::platform::SharedHealth;
use crate::tabs::wire::{TabId, TabMessage};

const ME: TabId = 4;
const OLD: TabId = 7;
const NEW: TabId = 8;
const SOCKET: u64 = 3;

fn drain(node: &mut NodeCore) -> Vec<NodeOutput> {
    std::iter::from_fn(|| node.poll()).collect()
}

fn post(message: TabMessage) -> NodeOutput {
    NodeOutput::Post(message)
}

/// A follower whose virtual socket `OLD` opened.
fn follower() -> NodeCore {
    let mut node = NodeCore::new(ME);
    node.handle_open(SOCKET);
    node.handle_message(opened(SOCKET, OLD));
    drain(&mut node);
    node
}

fn opened(socket: u64, leader: TabId) -> TabMessage {
    TabMessage::Opened {
        to: ME,
        socket,
        leader,
    }
}

fn leader() -> NodeCore {
    let mut node = NodeCore::new(ME);
    node.handle_granted();
    drain(&mut node);
    node
}

#[test]
fn a_tab_joins_in_line_for_the_lock_and_leads_once_it_is_granted() {
    let mut node = NodeCore::new(ME);
    assert_eq!(drain(&mut node), [NodeOutput::AskLock { steal: false }]);
    assert_eq!(node.leadership(), Leadership::InLine);
    node.handle_granted();
    assert_eq!(
        drain(&mut node),
        [NodeOutput::Lead, post(TabMessage::Leader { tab: ME })]
    );
    assert_eq!(node.leadership(), Leadership::Leading);
}

#[test]
fn the_virtual_socket_opens_on_the_leaders_answer_to_it_alone() {
    let mut node = NodeCore::new(ME);
    drain(&mut node);
    node.handle_open(SOCKET);
    let open = TabMessage::Open {
        from: ME,
        socket: SOCKET,
    };
    assert_eq!(drain(&mut node), [post(open)]);
    let others = [
        TabMessage::Opened {
            to: NEW,
            socket: SOCKET,
            leader: OLD,
        },
        opened(SOCKET + 1, OLD),
    ];
    for other in others {
        node.handle_message(other);
        assert!(drain(&mut node).is_empty());
    }
    node.handle_message(opened(SOCKET, OLD));
    assert_eq!(drain(&mut node), [NodeOutput::Opened(SOCKET)]);
}

#[test]
fn frames_go_to_the_channel_and_deliveries_for_this_socket_to_the_client() {
    let mut node = follower();
    node.handle_send(SOCKET, "f".into());
    let frame = TabMessage::Frame {
        from: ME,
        socket: SOCKET,
        text: "f".into(),
    };
    assert_eq!(drain(&mut node), [post(frame)]);
    for (to, socket, delivered) in [(ME, SOCKET, true), (NEW, SOCKET, false), (ME, 9, false)] {
        let text = String::from("d");
        node.handle_message(TabMessage::Deliver { to, socket, text });
        let want = if delivered {
            vec![NodeOutput::Text(SOCKET, "d".into())]
        } else {
            vec![]
        };
        assert_eq!(drain(&mut node), want, "to {to} socket {socket}");
    }
}

#[test]
fn the_leader_closing_a_tabs_socket_closes_it_once() {
    let mut node = follower();
    let closed = TabMessage::Closed {
        to: ME,
        socket: SOCKET,
        code: CloseCode::GOING_AWAY.0,
    };
    node.handle_message(closed.clone());
    assert_eq!(
        drain(&mut node),
        [NodeOutput::Closed(SOCKET, CloseCode::GOING_AWAY)]
    );
    node.handle_message(closed);
    let text = String::from("late");
    node.handle_message(TabMessage::Deliver {
        to: ME,
        socket: SOCKET,
        text,
    });
    assert!(drain(&mut node).is_empty(), "the socket is gone");
}

/// Socket numbers are each tab's own, so another tab's socket may carry this one's number: a
/// close addressed to that tab leaves this tab's socket open.
#[test]
fn a_close_for_another_tab_with_the_same_socket_number_leaves_this_one_open() {
    let mut node = follower();
    node.handle_message(TabMessage::Closed {
        to: NEW,
        socket: SOCKET,
        code: CloseCode::GOING_AWAY.0,
    });
    assert!(drain(&mut node).is_empty(), "not this tab's close");
    let text = String::from("d");
    node.handle_message(TabMessage::Deliver {
        to: ME,
        socket: SOCKET,
        text,
    });
    assert_eq!(drain(&mut node), [NodeOutput::Text(SOCKET, "d".into())]);
}

/// The client closing its socket ends it here at once: what the leader still delivers to it
/// goes nowhere. Closing a socket it no longer has leaves the one it has.
#[test]
fn the_client_closing_its_socket_ends_that_socket_and_no_other() {
    let deliver = |node: &mut NodeCore, socket: u64| {
        let text = String::from("d");
        node.handle_message(TabMessage::Deliver {
            to: ME,
            socket,
            text,
        });
        drain(node)
    };
    let mut node = follower();
    node.handle_close(SOCKET, CloseCode::NORMAL);
    let close = TabMessage::Close {
        from: ME,
        socket: SOCKET,
    };
    assert_eq!(drain(&mut node), [post(close)]);
    assert!(deliver(&mut node, SOCKET).is_empty(), "the closed socket");

    let mut node = follower();
    node.handle_close(SOCKET - 1, CloseCode::NORMAL);
    drain(&mut node);
    assert_eq!(
        deliver(&mut node, SOCKET),
        [NodeOutput::Text(SOCKET, "d".into())],
        "an older socket's close leaves the open one"
    );
}

/// The leader crashed or closed: a new one says so. A socket the old one opened is stale; one
/// still opening asks the new leader; none: nothing to do.
#[test]
fn a_new_leader_ends_a_socket_to_the_old_one_and_is_asked_for_one_still_opening() {
    let mut node = follower();
    node.handle_message(TabMessage::Leader { tab: NEW });
    let out = drain(&mut node);
    assert_eq!(out, [NodeOutput::Closed(SOCKET, CloseCode::RESTART)]);
    node.handle_open(SOCKET + 1);
    drain(&mut node);
    node.handle_message(TabMessage::Leader { tab: NEW });
    let again = TabMessage::Open {
        from: ME,
        socket: SOCKET + 1,
    };
    assert_eq!(drain(&mut node), [post(again)]);
    node.handle_message(opened(SOCKET + 1, NEW));
    drain(&mut node);
    node.handle_message(TabMessage::Leader { tab: NEW });
    assert!(drain(&mut node).is_empty(), "the same leader again");
}

#[test]
fn the_hubs_messages_reach_it_only_while_this_tab_leads() {
    let hub_bound = [
        TabMessage::Open { from: 1, socket: 1 },
        TabMessage::Frame {
            from: 1,
            socket: 1,
            text: "x".into(),
        },
        TabMessage::Close { from: 1, socket: 1 },
        TabMessage::Bye { from: 1 },
        TabMessage::Probe { from: 1 },
        TabMessage::Reconnect { from: 1 },
    ];
    for message in hub_bound {
        let mut node = follower();
        node.handle_message(message.clone());
        assert!(drain(&mut node).is_empty(), "{message:?}");
        let mut node = leader();
        node.handle_message(message.clone());
        assert_eq!(drain(&mut node), [NodeOutput::ToHub(message)]);
    }
}

#[test]
fn a_leader_hearing_of_another_steps_down() {
    let mut node = leader();
    node.handle_message(TabMessage::Leader { tab: ME });
    assert!(drain(&mut node).is_empty(), "its own");
    node.handle_message(TabMessage::Leader { tab: NEW });
    assert_eq!(drain(&mut node), [NodeOutput::StepDown(CloseCode::RESTART)]);
    assert_eq!(node.leadership(), Leadership::InLine);
}

#[test]
fn a_silent_leader_is_probed_then_its_lock_stolen() {
    let mut node = follower();
    node.handle_close(SOCKET, CloseCode::CLIENT_DEAD_CONNECTION);
    let close = TabMessage::Close {
        from: ME,
        socket: SOCKET,
    };
    let probe = TabMessage::Probe { from: ME };
    assert_eq!(drain(&mut node), [post(close), post(probe)]);
    assert_eq!((node.leadership(), node.probes()), (Leadership::Probing, 1));
    node.handle_open(SOCKET + 1);
    node.handle_close(SOCKET + 1, CloseCode::CLIENT_DEAD_CONNECTION);
    let out = drain(&mut node);
    assert_eq!(out.last(), Some(&NodeOutput::AskLock { steal: true }));
    assert_eq!(
        (node.leadership(), node.probes()),
        (Leadership::Stealing, 1)
    );
    node.handle_granted();
    assert_eq!(drain(&mut node)[0], NodeOutput::Lead);
    assert_eq!(node.leadership(), Leadership::Leading);
}

#[test]
fn any_word_from_a_leader_answers_the_probe() {
    let words = [
        (
            TabMessage::Alive {
                to: ME,
                leader: OLD,
            },
            true,
        ),
        (TabMessage::Leader { tab: OLD }, true),
        (
            TabMessage::Alive {
                to: NEW,
                leader: OLD,
            },
            false,
        ),
    ];
    for (word, answers) in words {
        let mut node = follower();
        node.handle_close(SOCKET, CloseCode::CLIENT_DEAD_CONNECTION);
        node.handle_message(word.clone());
        drain(&mut node);
        node.handle_close(SOCKET, CloseCode::CLIENT_DEAD_CONNECTION);
        let out = drain(&mut node);
        let stole = out.contains(&NodeOutput::AskLock { steal: true });
        assert_eq!(stole, !answers, "{word:?}");
        assert_eq!(node.probes(), if answers { 2 } else { 1 });
    }
}

#[test]
fn a_link_closed_for_another_reason_or_by_the_leader_probes_nothing() {
    let mut node = follower();
    node.handle_close(SOCKET, CloseCode::GOING_AWAY);
    assert_eq!(drain(&mut node).len(), 1, "the close only");
    let mut node = leader();
    node.handle_close(SOCKET, CloseCode::CLIENT_DEAD_CONNECTION);
    assert_eq!(
        drain(&mut node).len(),
        1,
        "a leader's own link: the close only"
    );
    assert_eq!(node.probes(), 0);
}

/// A frozen leader thaws to find its lock stolen: it steps down, says so, and gets in line.
#[test]
fn a_leader_whose_lock_was_stolen_steps_down_on_thawing_and_waits_in_line() {
    let mut node = leader();
    node.handle_stolen();
    let want = [
        NodeOutput::StepDown(CloseCode::RESTART),
        NodeOutput::Changed,
        NodeOutput::AskLock { steal: false },
    ];
    assert_eq!(drain(&mut node), want);
    assert_eq!(node.leadership(), Leadership::InLine);
    node.handle_stolen();
    assert_eq!(
        drain(&mut node)[0],
        NodeOutput::Changed,
        "nothing to step down from"
    );
}

#[test]
fn a_tab_leaving_says_goodbye_and_a_leader_closes_its_tabs_first() {
    let bye = post(TabMessage::Bye { from: ME });
    let mut node = follower();
    node.handle_leave();
    assert_eq!(drain(&mut node), std::slice::from_ref(&bye));
    let mut node = leader();
    node.handle_leave();
    let want = [NodeOutput::StepDown(CloseCode::GOING_AWAY), bye];
    assert_eq!(drain(&mut node), want);
    assert_eq!(node.leadership(), Leadership::InLine);
}

#[test]
fn the_leaders_status_is_kept_and_reported() {
    let mut node = follower();
    assert_eq!(node.status(), None);
    let health = SharedHealth {
        reconnects: 2,
        ..SharedHealth::default()
    };
    node.handle_message(TabMessage::Status {
        leader: OLD,
        state: ConnectionState::Offline,
        tabs: 3,
        replay: Replay::Offered,
        health,
    });
    assert_eq!(drain(&mut node), [NodeOutput::Changed]);
    let status = node.status().unwrap();
    let got = (status.state, status.tabs, status.replay, status.health);
    assert_eq!(got, (ConnectionState::Offline, 3, Replay::Offered, health));
}
