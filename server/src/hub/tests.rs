//! Unit tests of the hub: the join protocol, fan-out in each dialect, cursors, re-sends.

use super::*;
use crate::delivery::Stats;
use tether_wire::Envelope;

fn queue(id: ConnId, extended: bool) -> (SendQueue, tokio::sync::mpsc::Receiver<Outbound>) {
    let user = UserKey::from(format!("u{id}"));
    SendQueue::new(
        id,
        user,
        (64, 1 << 20),
        extended,
        Arc::new(Stats::default()),
    )
}

fn drain(rx: &mut tokio::sync::mpsc::Receiver<Outbound>) -> Vec<Envelope> {
    std::iter::from_fn(|| rx.try_recv().ok())
        .flat_map(|o| match o {
            Outbound::Frame(f) => vec![f],
            Outbound::Batch(b) => b,
        })
        .map(|t| Envelope::decode(&t).expect("valid"))
        .collect()
}

fn at(offset: u64) -> StreamPosition {
    StreamPosition {
        offset,
        epoch: Epoch::new("e"),
    }
}

fn publication(topic: &Topic, seq: u64) -> Arc<Publication> {
    let event = Event::new("tick", &serde_json::json!({ "n": seq })).expect("encodes");
    Arc::new(Publication::new(topic, event, at(seq), 0))
}

#[test]
fn a_joining_member_gets_its_reply_then_what_came_after_its_catch_up() {
    let hub = Hub::new(16);
    let topic = Topic::new("t:1");
    let (member, mut rx) = queue(1, true);
    hub.begin_join(std::slice::from_ref(&topic), &member);
    for seq in 1..=5 {
        hub.fan_out(&publication(&topic, seq));
    }
    assert!(drain(&mut rx).is_empty(), "nothing is sent while joining");
    let reply = vec![Utf8Bytes::from(
        "{\"v\":1,\"type\":\"ack\",\"topic\":\"system\",\"ts\":0,\"data\":{}}",
    )];
    hub.complete_join(&member, reply, vec![(topic.clone(), at(3))]);
    hub.fan_out(&publication(&topic, 6));
    hub.fan_out(&publication(&topic, 6));
    let got = drain(&mut rx);
    assert_eq!(got[0].kind, "ack");
    let seqs: Vec<_> = got[1..].iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [Some(4), Some(5), Some(6)], "after 3, each once");
}

#[test]
fn live_members_get_each_in_their_dialect_and_a_gap_is_resynced() {
    let hub = Hub::new(16);
    let topic = Topic::new("t:1");
    let (extended, mut ext_rx) = queue(1, true);
    let (plain, mut plain_rx) = queue(2, false);
    for q in [&extended, &plain] {
        hub.begin_join(std::slice::from_ref(&topic), q);
        hub.complete_join(q, Vec::new(), vec![(topic.clone(), at(0))]);
    }
    for seq in [1, 2, 5] {
        hub.fan_out(&publication(&topic, seq));
    }
    let ext: Vec<_> = drain(&mut ext_rx)
        .iter()
        .map(|e| (e.kind.clone(), e.seq))
        .collect();
    let resync = ("resync_required".to_owned(), None);
    let tick = |seq| ("tick".to_owned(), Some(seq));
    assert_eq!(ext, [tick(1), tick(2), resync, tick(5)]);
    let plain_seqs: Vec<_> = drain(&mut plain_rx).iter().map(|e| e.seq).collect();
    assert_eq!(plain_seqs, [None, None, None]);
    assert_eq!(hub.subscriber_counts()["t:1"], 2);
}

#[test]
fn a_join_buffer_past_its_bound_closes_the_connection_and_leaving_empties_topics() {
    let hub = Hub::new(2);
    let topic = Topic::new("t:1");
    let (member, _rx) = queue(1, true);
    hub.begin_join(std::slice::from_ref(&topic), &member);
    for seq in 1..=3 {
        hub.fan_out(&publication(&topic, seq));
    }
    assert!(
        member.signal().ending().is_some(),
        "closed as a slow consumer"
    );
    let emptied = hub.leave(std::slice::from_ref(&topic), 1);
    assert_eq!(emptied, std::slice::from_ref(&topic));
    assert!(hub.subscriber_counts().is_empty());
}

#[test]
fn resend_bypasses_cursors_and_counts_per_user() {
    let hub = Hub::new(16);
    let topic = Topic::new("t:1");
    let (a, mut a_rx) = queue(1, true);
    let (b, mut b_rx) = queue(2, true);
    for q in [&a, &b] {
        hub.begin_join(std::slice::from_ref(&topic), q);
        hub.complete_join(q, Vec::new(), vec![(topic.clone(), at(5))]);
    }
    let old = [publication(&topic, 4), publication(&topic, 5)];
    let done = hub.resend(&old, Some(&UserKey::from("u1")));
    assert_eq!((done.frames, done.sockets, done.topics), (2, 1, 1));
    assert_eq!(drain(&mut a_rx).len(), 2);
    assert!(drain(&mut b_rx).is_empty());
    assert_eq!(hub.topics_of(Some(&UserKey::from("u2"))), [topic]);
}

#[test]
fn a_lost_stretch_resyncs_live_members_behind_it_and_leaves_joining_ones_to_their_catch_up() {
    let hub = Hub::new(16);
    let topic = Topic::new("t:1");
    let (behind, mut behind_rx) = queue(1, true);
    let (ahead, mut ahead_rx) = queue(2, true);
    let (joining, mut joining_rx) = queue(3, true);
    for (q, at_) in [(&behind, 3), (&ahead, 9)] {
        hub.begin_join(std::slice::from_ref(&topic), q);
        hub.complete_join(q, Vec::new(), vec![(topic.clone(), at(at_))]);
    }
    hub.begin_join(std::slice::from_ref(&topic), &joining);
    hub.skip_to(&topic, &at(7));
    hub.skip_to(&Topic::new("t:none"), &at(7));
    let got: Vec<_> = drain(&mut behind_rx)
        .iter()
        .map(|e| (e.kind.clone(), e.data.get().to_owned()))
        .collect();
    let resync = r#"{"topic":"t:1","seq":7,"epoch":"e"}"#.to_owned();
    assert_eq!(got, [("resync_required".to_owned(), resync)]);
    assert!(
        drain(&mut ahead_rx).is_empty(),
        "not behind: nothing to say"
    );
    assert!(
        drain(&mut joining_rx).is_empty(),
        "joining: its catch-up covers it"
    );
    hub.fan_out(&publication(&topic, 8));
    let after: Vec<_> = drain(&mut behind_rx).iter().map(|e| e.seq).collect();
    assert_eq!(
        after,
        [Some(8)],
        "moved to the lost stretch's end: 8 is next"
    );
    drop(behind_rx);
    hub.skip_to(&topic, &at(20));
    assert_eq!(
        hub.subscriber_counts()["t:1"],
        2,
        "a member whose connection is gone is removed"
    );
}
