//! Topics released and taken again while the socket is down, on a fake clock. A topic's last
//! `seq` must outlive the outage as long as a view holds it again before the next socket opens:
//! the resubscribe then asks for what was missed (`since`) and the new view starts where the
//! old one stopped. This pins the `write_topic_changes` `||` → `&&` mutant that
//! tests/MUTANTS.md once called equivalent: with it, the changes made while offline are taken
//! (and written nowhere), the released topic is forgotten with its `seq`, and the view gets
//! `subscribed@12` (the server's now) instead of `subscribed@10` and the replay of 11 and 12.

mod support;

use support::*;

#[test]
fn a_topic_released_and_taken_again_while_offline_resumes_from_its_seq() {
    let mut h = Harness::new(config());
    let (first, seen) = h.record("agent:1");
    h.client().connect();
    h.open_raw();
    let (_, _, mid) = first_subscribe(&h.take_sent());
    h.ack(&mid, &[("agent:1", 9)]);
    h.event(1, 10);
    assert_eq!(*seen.borrow(), [Some(10)]);

    h.server_closes(1012);
    drop(first); // released while offline…
    h.end_tick();
    let (_again, all) = h.record_all("agent:1"); // …and taken again before the reconnect
    h.end_tick();
    h.until_retry();
    h.open_raw();
    let sent = h.take_sent_app();
    let (topics, since, mid) = subscribe_parts(&sent[0]);
    assert_eq!(topics, ["agent:1"]);
    assert_eq!(
        since.and_then(|s| s.get("agent:1").copied()),
        Some(10),
        "the resubscribe asks for what was missed: {sent:?}"
    );
    // As tether's stub does: the acknowledgement says where the stream is now, and the
    // replay of 11 and 12, published while the socket was down, follows.
    h.ack(&mid, &[("agent:1", 12)]);
    h.event(1, 11);
    h.event(1, 12);
    assert_eq!(
        *all.borrow(),
        ["subscribed@10", "agent_updated@11", "agent_updated@12"]
    );
}
