//! The checks on hand-made records: each blind spot the audit of issue 22 found is a test here
//! that the old checks passed (a view that receives nothing counted 0 lost, a late start hid
//! losses, any resync announced any gap, the origin's views were not checked).

use std::cell::RefCell;
use std::rc::Rc;

use super::*;
use crate::chaos::views::EventView;
use crate::stub::{Change, MembershipEntry, Point, Published};
use Mark::*;

/// A log of run updates at `(epoch, seq)`, numbered 1, 2, … in the whole log.
fn log(entries: &[(u64, u64)]) -> Vec<Published> {
    entries
        .iter()
        .enumerate()
        .map(|(i, &(epoch, seq))| Published {
            n: i as u64 + 1,
            epoch,
            seq,
            kind: "run_update".into(),
            id: Some(epoch * 100 + seq),
        })
        .collect()
}

fn id(epoch: u64, seq: u64) -> Mark {
    Event(epoch * 100 + seq)
}

/// An answer: `(n, connection, published)`, then `since`, the catch-up, epoch, seq, first kept.
fn answered(
    (n, connection, published): (u64, u64, u64),
    since: Option<u64>,
    catch_up: &str,
    (epoch, seq): (u64, u64),
    first_kept: Option<u64>,
) -> MembershipEntry {
    MembershipEntry {
        n,
        user: 1,
        connection,
        topic: "agent:1".into(),
        published,
        change: Change::Answered {
            since,
            catch_up: catch_up.into(),
            epoch,
            seq,
            first_kept,
        },
    }
}

fn released(n: u64, connection: u64, published: u64) -> MembershipEntry {
    MembershipEntry {
        n,
        user: 1,
        connection,
        topic: "agent:1".into(),
        published,
        change: Change::Released,
    }
}

fn view(marks: Vec<Mark>, mount: (u64, u64), end: Option<u64>) -> EventView {
    EventView {
        topic: 0,
        marks: Rc::new(RefCell::new(marks)),
        stamps: Rc::default(),
        mount: Point {
            published: mount.0,
            membership: mount.1,
        },
        offline: false,
        sub: None,
        end: end.map(|published| Point {
            published,
            membership: u64::MAX,
        }),
    }
}

fn tether(v: &EventView, log: &[Published], membership: &[MembershipEntry]) -> Tally {
    event_view(v, &Truth::of("agent:1", log, membership, &[]))
}

#[test]
fn a_clean_lifetime_counts_only_deliveries() {
    let log = log(&[(0, 1), (0, 2), (0, 3), (0, 4)]);
    let membership = [answered((1, 1, 1), None, "snapshot", (0, 1), None)];
    let v = view(
        vec![Subscribed { seq: Some(1) }, id(0, 2), id(0, 3), id(0, 4)],
        (1, 0),
        None,
    );
    let t = tether(&v, &log, &membership);
    assert_eq!((t.delivered, t.is_clean()), (3, true), "{t:?}");
}

#[test]
fn a_view_that_receives_nothing_loses_everything_from_its_start() {
    let log = log(&[(0, 1), (0, 2), (0, 3), (0, 4)]);
    let membership = [answered((1, 1, 1), None, "snapshot", (0, 1), None)];
    let t = tether(&view(vec![], (1, 0), None), &log, &membership);
    assert_eq!((t.delivered, t.lost), (0, 3));
}

#[test]
fn a_start_later_than_the_stubs_is_wrong_and_hides_nothing() {
    let log = log(&[(0, 1), (0, 2), (0, 3), (0, 4)]);
    let membership = [answered((1, 1, 1), None, "snapshot", (0, 1), None)];
    let v = view(vec![Subscribed { seq: Some(3) }, id(0, 4)], (1, 0), None);
    let t = tether(&v, &log, &membership);
    assert_eq!((t.wrong_starts, t.lost), (1, 2), "{t:?}");
    // Joining a subscription already answered, it may claim no more than was published.
    let late = view(vec![Subscribed { seq: Some(3) }, id(0, 4)], (2, 1), None);
    assert_eq!(tether(&late, &log, &membership).wrong_starts, 1);
    let fair = view(
        vec![Subscribed { seq: Some(2) }, id(0, 3), id(0, 4)],
        (2, 1),
        None,
    );
    assert!(tether(&fair, &log, &membership).is_clean());
}

#[test]
fn a_view_mounted_while_the_topic_was_dropped_starts_at_the_snapshot() {
    let log = log(&[(0, 1), (0, 2), (0, 3), (0, 4), (0, 5)]);
    let membership = [
        answered((1, 1, 0), None, "snapshot", (0, 0), None),
        released(2, 1, 2),
        answered((3, 1, 4), None, "snapshot", (0, 4), None),
    ];
    let v = view(vec![Subscribed { seq: Some(4) }, id(0, 5)], (2, 2), None);
    assert!(tether(&v, &log, &membership).is_clean());
    // Mounted while a connection held it, it starts where it mounted.
    let held = view(vec![Subscribed { seq: Some(4) }, id(0, 5)], (2, 1), None);
    assert_eq!(tether(&held, &log, &membership).lost, 2);
}

/// The log after a reconnect whose `since` (2) was answered with `catch_up` at seq 6.
fn after_reconnect(
    catch_up: &str,
    first_kept: Option<u64>,
) -> (Vec<Published>, Vec<MembershipEntry>) {
    let log = log(&[(0, 1), (0, 2), (0, 3), (0, 4), (0, 5), (0, 6)]);
    let membership = vec![
        answered((1, 1, 0), None, "snapshot", (0, 0), None),
        released(2, 1, 2),
        answered((3, 2, 6), Some(2), catch_up, (0, 6), first_kept),
    ];
    (log, membership)
}

#[test]
fn a_resync_after_an_eviction_announces_what_could_not_be_replayed() {
    let (log, membership) = after_reconnect("resync", Some(5));
    let marks = vec![
        Subscribed { seq: Some(0) },
        id(0, 1),
        id(0, 2),
        Resync { seq: Some(6) },
    ];
    let t = tether(&view(marks, (0, 0), None), &log, &membership);
    assert_eq!(
        (t.announced, t.lost, t.unjustified_resyncs),
        (4, 0, 0),
        "{t:?}"
    );
}

#[test]
fn a_resync_the_stub_never_answered_excuses_nothing() {
    let (log, membership) = after_reconnect("replay", Some(3));
    let marks = vec![
        Subscribed { seq: Some(0) },
        id(0, 1),
        id(0, 2),
        Resync { seq: Some(6) },
    ];
    let t = tether(&view(marks, (0, 0), None), &log, &membership);
    assert_eq!(
        (t.announced, t.lost, t.unjustified_resyncs),
        (0, 4, 1),
        "{t:?}"
    );
    // An earlier hole stays lost even before an accounted resync.
    let (log, membership) = after_reconnect("resync", Some(5));
    let marks = vec![
        Subscribed { seq: Some(0) },
        id(0, 2),
        Resync { seq: Some(6) },
    ];
    let t = tether(&view(marks, (0, 0), None), &log, &membership);
    assert_eq!((t.announced, t.lost), (4, 1), "{t:?}");
}

#[test]
fn a_history_lost_with_a_restart_accounts_for_its_resync() {
    let log = log(&[(0, 1), (0, 2), (1, 1), (1, 2)]);
    let membership = [
        answered((1, 1, 0), None, "snapshot", (0, 0), None),
        released(2, 1, 2),
        answered((3, 2, 4), Some(2), "resync", (1, 2), Some(1)),
    ];
    let marks = vec![
        Subscribed { seq: Some(0) },
        id(0, 1),
        id(0, 2),
        Resync { seq: Some(2) },
    ];
    let t = tether(&view(marks, (0, 0), None), &log, &membership);
    assert_eq!(
        (t.announced, t.lost, t.unjustified_resyncs),
        (2, 0, 0),
        "{t:?}"
    );
}

#[test]
fn a_live_subscriber_told_its_stream_started_again_misses_only_the_lost_history() {
    let log = log(&[(0, 1), (0, 2), (1, 1), (1, 2)]);
    let membership = [answered((1, 1, 0), None, "snapshot", (0, 0), None)];
    let marks = vec![
        Subscribed { seq: Some(0) },
        id(0, 1),
        Resync { seq: Some(0) },
        id(1, 1),
        id(1, 2),
    ];
    let t = tether(&view(marks, (0, 0), None), &log, &membership);
    assert_eq!(
        (t.announced, t.lost, t.unjustified_resyncs),
        (1, 0, 0),
        "{t:?}"
    );
    // A resync at another seq, or with no new stream after the last event seen, is not one.
    let marks = vec![
        Subscribed { seq: Some(0) },
        id(0, 1),
        Resync { seq: Some(1) },
        id(1, 2),
    ];
    let t = tether(&view(marks, (0, 0), None), &log, &membership);
    assert_eq!((t.unjustified_resyncs, t.lost), (1, 2), "{t:?}");
}

#[test]
fn the_resync_at_the_first_acknowledgement_of_a_new_history_is_accounted_for() {
    // Live through the loss (told at its new stream's first event), the client learns the
    // new epoch only from its next acknowledgement, and resyncs again then: nothing is missed.
    let log = log(&[(0, 1), (1, 1), (1, 2)]);
    let membership = [
        answered((1, 1, 1), None, "snapshot", (0, 1), None),
        released(2, 1, 3),
        answered((3, 2, 3), Some(2), "replay", (1, 2), None),
    ];
    let marks = vec![
        Subscribed { seq: Some(1) },
        Resync { seq: Some(0) },
        id(1, 1),
        id(1, 2),
        Resync { seq: Some(2) },
    ];
    let t = tether(&view(marks, (1, 0), None), &log, &membership);
    assert!(t.is_clean() && t.delivered == 2, "{t:?}");
}

#[test]
fn a_tab_told_by_its_leader_to_resync_at_its_own_seq_is_accounted_for() {
    // The history is lost while the tab is away; its leader resubscribes from the tab's
    // `seq` (2, of the lost history) and passes the resync on at that `seq`, not the stub's.
    let log = log(&[(0, 1), (0, 2), (1, 1), (1, 2), (1, 3)]);
    let membership = [
        answered((1, 1, 0), None, "snapshot", (0, 0), None),
        released(2, 1, 2),
        answered((3, 2, 5), None, "snapshot", (1, 3), None),
        answered((4, 2, 5), Some(2), "replay", (1, 3), Some(3)),
    ];
    let marks = vec![
        Subscribed { seq: Some(0) },
        id(0, 1),
        id(0, 2),
        Resync { seq: Some(2) },
        id(1, 3),
    ];
    let t = tether(&view(marks, (0, 0), None), &log, &membership);
    assert_eq!(
        (t.announced, t.lost, t.unjustified_resyncs),
        (2, 0, 0),
        "{t:?}"
    );
}

#[test]
fn repeats_and_reversals_are_counted() {
    let log = log(&[(0, 1), (0, 2), (0, 3)]);
    let membership = [answered((1, 1, 0), None, "snapshot", (0, 0), None)];
    let marks = vec![
        Subscribed { seq: Some(0) },
        id(0, 1),
        id(0, 3),
        id(0, 2),
        id(0, 3),
    ];
    let t = tether(&view(marks, (0, 0), None), &log, &membership);
    assert_eq!(
        (t.delivered, t.duplicated, t.reordered, t.lost),
        (3, 1, 1, 0)
    );
}

/// Connection 1 holds the topic from the start; a fault hits after event 2; it lets go after
/// event 3; connection 2's snapshot is current to event 4.
fn origin_outage() -> (Vec<Published>, Vec<MembershipEntry>, Vec<Point>) {
    let log = log(&[(0, 1), (0, 2), (0, 3), (0, 4), (0, 5), (0, 6)]);
    let membership = vec![
        answered((1, 1, 0), None, "snapshot", (0, 0), None),
        released(2, 1, 3),
        answered((3, 2, 4), None, "snapshot", (0, 4), None),
    ];
    let faults = vec![Point {
        published: 2,
        membership: 1,
    }];
    (log, membership, faults)
}

fn origin(marks: Vec<Mark>) -> Tally {
    let (log, membership, faults) = origin_outage();
    let v = view(marks, (0, 0), None);
    origin_view(&v, &Truth::of("agent:1", &log, &membership, &faults))
}

#[test]
fn without_replay_a_view_loses_exactly_the_outage_and_announces_it() {
    let s = Subscribed { seq: None };
    let r = Resync { seq: None };
    let t = origin(vec![
        s.clone(),
        id(0, 1),
        id(0, 2),
        r.clone(),
        id(0, 5),
        id(0, 6),
    ]);
    assert_eq!((t.lost_in_gaps, t.gaps, t.lost), (2, 1, 0), "{t:?}");
    assert!(t.is_clean());
    // The event sent after the fault may have arrived.
    let t = origin(vec![
        s.clone(),
        id(0, 1),
        id(0, 2),
        id(0, 3),
        r.clone(),
        id(0, 5),
        id(0, 6),
    ]);
    assert!(t.is_clean() && t.lost_in_gaps == 1, "{t:?}");
}

#[test]
fn without_replay_an_unannounced_gap_a_live_loss_and_an_impossible_delivery_are_caught() {
    let s = Subscribed { seq: None };
    let r = Resync { seq: None };
    let t = origin(vec![s.clone(), id(0, 1), id(0, 2), id(0, 5), id(0, 6)]);
    assert_eq!((t.gaps, t.unannounced_gaps), (1, 1), "{t:?}");
    let t = origin(vec![s.clone(), id(0, 2), r.clone(), id(0, 5), id(0, 6)]);
    assert_eq!(t.lost, 1, "event 1 was lost on a live socket: {t:?}");
    let t = origin(vec![s, id(0, 1), id(0, 2), id(0, 4), r, id(0, 5), id(0, 6)]);
    assert_eq!(t.seen_in_gaps, 1, "event 4 was never sent: {t:?}");
}

#[test]
fn a_since_from_a_history_lost_before_the_view_mounted_accounts_for_its_resync() {
    // Epoch 0: 1, 2; lost; epoch 1: 1, 2, 3. The view mounts after the new 1 on a topic the
    // client held from epoch 0; it resubscribes from the old `since` 2, which the stub replays
    // in the new epoch (nothing after it), and the client, seeing another epoch, resyncs.
    let log = log(&[(0, 1), (0, 2), (1, 1), (1, 2), (1, 3)]);
    let membership = [
        answered((1, 1, 0), None, "snapshot", (0, 0), None),
        answered((2, 2, 4), Some(2), "replay", (1, 2), None),
    ];
    let v = view(vec![Resync { seq: Some(2) }, id(1, 3)], (3, 1), None);
    let t = tether(&v, &log, &membership);
    assert_eq!(
        (t.announced, t.lost, t.unjustified_resyncs),
        (1, 0, 0),
        "{t:?}"
    );
}
