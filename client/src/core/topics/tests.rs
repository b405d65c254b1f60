//! The topic table's unit tests.
use super::*;

fn t(s: &str) -> Topic {
    Topic::from(s)
}

#[test]
fn reference_counting_sends_one_subscribe_and_one_unsubscribe() {
    let mut table = TopicTable::default();
    assert!(table.acquire(&t("agent:1")));
    assert!(
        !table.acquire(&t("agent:1")),
        "a second holder changes nothing on the wire"
    );
    assert_eq!(table.take_changes().subscribe, vec![(t("agent:1"), None)]);
    assert!(!table.release(&t("agent:1")));
    assert_eq!(table.take_changes(), Changes::default());
    assert!(table.release(&t("agent:1")));
    assert_eq!(table.take_changes().unsubscribe, vec![t("agent:1")]);
    assert_eq!(table.refs(&t("agent:1")), 0);
    assert!(
        !table.release(&t("agent:1")),
        "an extra release is harmless"
    );
}

#[test]
fn subscribe_then_unsubscribe_in_one_tick_sends_nothing() {
    let mut table = TopicTable::default();
    table.acquire(&t("thread:3"));
    table.release(&t("thread:3"));
    assert_eq!(table.take_changes(), Changes::default());
}

#[test]
fn duplicates_and_gaps_by_seq() {
    let mut table = TopicTable::default();
    table.acquire(&t("agent:1"));
    table.take_changes();
    table.acknowledge(&t("agent:1"), None, Some(10), None);
    assert_eq!(table.admit(&t("agent:1"), Some(10)), SeqVerdict::Duplicate);
    assert_eq!(
        table.admit(&t("agent:1"), Some(11)),
        SeqVerdict::Deliver { gap: false }
    );
    assert_eq!(
        table.admit(&t("agent:1"), Some(13)),
        SeqVerdict::Deliver { gap: true }
    );
    assert_eq!(table.admit(&t("agent:1"), Some(12)), SeqVerdict::Duplicate);
    assert_eq!(
        table.admit(&t("agent:1"), None),
        SeqVerdict::Deliver { gap: false }
    );
    assert_eq!(table.admit(&t("agent:2"), Some(1)), SeqVerdict::NotHeld);
}

#[test]
fn only_a_server_seq_below_ours_asks_for_a_resync() {
    let mut table = TopicTable::default();
    table.acquire(&t("agent:1"));
    table.take_changes();
    table.acknowledge(&t("agent:1"), None, Some(50), Some("e1"));
    for (server, resync, after) in [(50, false, 50), (70, false, 50), (3, true, 3)] {
        table.reset_server_view();
        let since = table.take_changes().subscribe;
        assert_eq!(
            since,
            vec![(t("agent:1"), Some(if resync { 50 } else { after }))]
        );
        assert_eq!(
            table.acknowledge(&t("agent:1"), None, Some(server), Some("e1")),
            Activation::Active {
                seq: Some(after),
                resync,
                history_lost: resync
            },
            "server at {server}"
        );
    }
}

#[test]
fn a_new_epoch_resyncs_even_when_its_seq_passed_ours() {
    let mut table = TopicTable::default();
    table.acquire(&t("agent:1"));
    table.take_changes();
    table.acknowledge(&t("agent:1"), None, Some(5), Some("e1"));
    table.reset_server_view();
    table.take_changes();
    assert_eq!(
        table.acknowledge(&t("agent:1"), None, Some(9), Some("e2")),
        Activation::Active {
            seq: Some(9),
            resync: true,
            history_lost: true
        },
        "the server restarted without its history and has published 9 since"
    );
    table.reset_server_view();
    table.take_changes();
    assert_eq!(
        table.acknowledge(&t("agent:1"), None, Some(12), Some("e2")),
        Activation::Active {
            seq: Some(9),
            resync: false,
            history_lost: false
        }
    );
}

#[test]
fn a_rewind_resubscribes_from_an_earlier_seq_only() {
    let mut table = TopicTable::default();
    table.acquire(&t("agent:1"));
    table.take_changes();
    table.acknowledge(&t("agent:1"), None, Some(10), None);
    assert!(
        !table.rewind(&t("agent:1"), 10),
        "nothing earlier to ask for"
    );
    assert!(!table.rewind(&t("agent:9"), 1), "not held");
    assert!(table.rewind(&t("agent:1"), 4));
    assert_eq!(
        table.take_changes().subscribe,
        vec![(t("agent:1"), Some(4))]
    );
    assert_eq!(
        table.acknowledge(&t("agent:1"), None, Some(10), None),
        Activation::Active {
            seq: Some(4),
            resync: false,
            history_lost: false
        },
        "the replay of 5..=10 follows"
    );
}

#[test]
fn without_replay_only_a_reactivation_resyncs() {
    let mut table = TopicTable::default();
    table.acquire(&t("agent:1"));
    table.take_changes();
    assert_eq!(
        table.activate_without_replay(&t("agent:1")),
        Activation::Active {
            seq: None,
            resync: false,
            history_lost: false
        }
    );
    assert_eq!(
        table.activate_without_replay(&t("agent:1")),
        Activation::Ignored,
        "already active"
    );
    table.reset_server_view();
    table.take_changes();
    assert_eq!(
        table.activate_without_replay(&t("agent:1")),
        Activation::Active {
            seq: None,
            resync: true,
            history_lost: false
        }
    );
}

#[test]
fn an_acknowledgement_without_seq_resyncs_a_reactivated_topic() {
    let mut table = TopicTable::default();
    table.acquire(&t("agent:1"));
    table.take_changes();
    assert_eq!(
        table.acknowledge(&t("agent:1"), None, None, None),
        Activation::Active {
            seq: None,
            resync: false,
            history_lost: false
        },
        "first activation: the view loads anyway"
    );
    table.reset_server_view();
    table.take_changes();
    assert_eq!(
        table.acknowledge(&t("agent:1"), None, None, None),
        Activation::Active {
            seq: None,
            resync: true,
            history_lost: false
        },
        "a gap the server cannot replay"
    );
}

#[test]
fn during_a_rewind_live_events_wait_for_the_replay() {
    let mut table = TopicTable::default();
    table.acquire(&t("agent:1"));
    table.take_changes();
    table.sent(&t("agent:1"), "m1");
    table.acknowledge(&t("agent:1"), Some("m1"), Some(120), None);
    assert!(table.rewind(&t("agent:1"), 90));
    table.take_changes();
    table.sent(&t("agent:1"), "m2");
    // 121 was on the wire before the new subscribe was handled: the replay brings it again.
    assert_eq!(table.admit(&t("agent:1"), Some(121)), SeqVerdict::Duplicate);
    assert_eq!(
        table.acknowledge(&t("agent:1"), Some("m2"), Some(121), None),
        Activation::Active {
            seq: Some(90),
            resync: false,
            history_lost: false
        }
    );
    for seq in 91..=121 {
        assert_eq!(
            table.admit(&t("agent:1"), Some(seq)),
            SeqVerdict::Deliver { gap: false },
            "{seq}"
        );
    }
    assert_eq!(table.server_seq(&t("agent:1")), Some(121));
}

#[test]
fn only_the_answer_to_the_latest_subscribe_activates() {
    let mut table = TopicTable::default();
    table.acquire(&t("agent:1"));
    table.take_changes();
    table.sent(&t("agent:1"), "m1");
    table.acknowledge(&t("agent:1"), Some("m1"), Some(120), None);
    // Two rewinds in two ticks: to 101, then to 100.
    assert!(table.rewind(&t("agent:1"), 101));
    table.take_changes();
    table.sent(&t("agent:1"), "m2");
    assert!(table.rewind(&t("agent:1"), 100));
    table.take_changes();
    table.sent(&t("agent:1"), "m3");
    assert_eq!(
        table.acknowledge(&t("agent:1"), Some("m2"), Some(120), None),
        Activation::Ignored,
        "superseded"
    );
    // The first replay (102..) is held back too: the second one starts at 101.
    assert_eq!(table.admit(&t("agent:1"), Some(102)), SeqVerdict::Duplicate);
    assert_eq!(
        table.acknowledge(&t("agent:1"), Some("m3"), Some(120), None),
        Activation::Active {
            seq: Some(100),
            resync: false,
            history_lost: false
        }
    );
    assert_eq!(
        table.admit(&t("agent:1"), Some(101)),
        SeqVerdict::Deliver { gap: false }
    );
}

#[test]
fn a_released_topic_is_no_longer_held_before_the_flush_too() {
    let mut table = TopicTable::default();
    assert!(!table.is_dirty(), "a new table has nothing to send");
    table.acquire(&t("agent:1"));
    table.take_changes();
    assert!(!table.is_dirty());
    table.acknowledge(&t("agent:1"), None, Some(3), Some("e1"));
    assert_eq!(table.epoch(&t("agent:1")), Some("e1"));
    assert!(table.release(&t("agent:1")));
    assert!(!table.release(&t("agent:1")), "released twice");
    assert!(!table.any_held());
    assert_eq!(table.status(&t("agent:1")), None);
    assert_eq!(table.statuses().count(), 0);
    assert_eq!(table.counts(), StatusCounts::default());
    assert_eq!(table.admit(&t("agent:1"), Some(4)), SeqVerdict::NotHeld);
    assert!(!table.resync(&t("agent:1"), Some(9), None));
    assert!(!table.rewind(&t("agent:1"), 1));
    assert_eq!(
        table.acknowledge(&t("agent:1"), None, Some(5), None),
        Activation::Ignored
    );
}

#[test]
fn a_resync_naming_its_epoch_makes_the_next_acknowledgement_in_it_no_new_loss() {
    let mut table = TopicTable::default();
    table.acquire(&t("agent:1"));
    table.take_changes();
    table.acknowledge(&t("agent:1"), None, Some(5), Some("e1"));
    assert!(table.resync(&t("agent:1"), Some(0), Some("e2")));
    assert_eq!(table.epoch(&t("agent:1")), Some("e2"));
    table.reset_server_view();
    table.take_changes();
    assert_eq!(
        table.acknowledge(&t("agent:1"), None, Some(3), Some("e2")),
        Activation::Active {
            seq: Some(0),
            resync: false,
            history_lost: false
        },
        "already told: the resync named e2, and the server replays 1..=3 from since 0"
    );
}

#[test]
fn counts_are_by_status() {
    let mut table = TopicTable::default();
    for name in ["agent:1", "agent:2", "agent:3", "agent:4"] {
        table.acquire(&t(name));
    }
    table.take_changes();
    table.acknowledge(&t("agent:1"), None, Some(1), None);
    table.acknowledge(&t("agent:2"), None, Some(1), None);
    table.fail(&t("agent:3"), "NOT_FOUND", "no");
    assert_eq!(
        table.counts(),
        StatusCounts {
            pending: 1,
            active: 2,
            failed: 1
        }
    );
}

#[test]
fn a_new_socket_forgets_topics_released_before_their_unsubscribe_went_out() {
    let mut table = TopicTable::default();
    table.acquire(&t("agent:1"));
    table.acquire(&t("agent:2"));
    table.take_changes(); // both subscribed on the old socket
    table.release(&t("agent:2")); // its unsubscribe never goes out: the socket drops
    table.reset_server_view();
    let statuses: Vec<Topic> = table.statuses().map(|(topic, _)| topic.clone()).collect();
    assert_eq!(
        statuses,
        vec![t("agent:1")],
        "only the held topic is pending"
    );
    assert_eq!(
        table.entries.iter().count(),
        1,
        "the released topic is forgotten, not kept"
    );
    assert_eq!(table.take_changes().subscribe, vec![(t("agent:1"), None)]);
}
