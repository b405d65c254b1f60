//! The cross-node check on hand-made records: what the old rule (start from the client's
//! `Subscribed`, any gap before a resync announced) let through, and what it must not flag.

use std::cell::RefCell;
use std::rc::Rc;

use super::node_view;
use crate::chaos::views::{EventView, Mark, Stamp};
use crate::stub::{Point, Published};
use Mark::*;

/// A log of run updates at `(epoch, seq)`, their `n` (and id) 1, 2, … in publishing order.
fn log(entries: &[(u64, u64)]) -> Vec<Published> {
    entries
        .iter()
        .enumerate()
        .map(|(i, &(epoch, seq))| Published {
            n: i as u64 + 1,
            epoch,
            seq,
            kind: "run_update".into(),
            id: Some(i as u64 + 1),
        })
        .collect()
}

/// A view mounted after `mount` events, ended after `end`, told `marks`, each stamped
/// `(epoch, published)`.
fn view(marks: &[(Mark, (u64, u64))], mount: u64, end: u64) -> EventView {
    let point = |published| Point {
        published,
        membership: 0,
    };
    EventView {
        topic: 0,
        marks: Rc::new(RefCell::new(marks.iter().map(|m| m.0.clone()).collect())),
        stamps: Rc::new(RefCell::new(
            marks
                .iter()
                .map(|&(_, (epoch, published))| Stamp { epoch, published })
                .collect(),
        )),
        mount: point(mount),
        offline: false,
        sub: None,
        end: Some(point(end)),
    }
}

fn subscribed(seq: u64, at: (u64, u64)) -> (Mark, (u64, u64)) {
    (Subscribed { seq: Some(seq) }, at)
}

#[test]
fn a_clean_lifetime_counts_only_deliveries() {
    let log = log(&[(0, 1), (0, 2), (0, 3)]);
    let v = view(
        &[
            subscribed(1, (0, 1)),
            (Event(2), (0, 2)),
            (Event(3), (0, 3)),
        ],
        1,
        3,
    );
    let t = node_view(&v, &log, false);
    assert_eq!((t.delivered, t.is_clean()), (2, true), "{t:?}");
}

#[test]
fn a_view_that_receives_nothing_loses_everything_from_its_mount() {
    let log = log(&[(0, 1), (0, 2), (0, 3)]);
    let t = node_view(&view(&[], 1, 3), &log, false);
    assert_eq!((t.delivered, t.lost), (0, 2), "{t:?}");
}

#[test]
fn a_start_later_than_redis_held_is_wrong_and_hides_nothing() {
    let log = log(&[(0, 1), (0, 2), (0, 3)]);
    // Told it starts after 3 when Redis held only 1 and 2.
    let v = view(&[subscribed(3, (0, 2))], 1, 3);
    let t = node_view(&v, &log, false);
    assert_eq!((t.wrong_starts, t.lost), (1, 2), "{t:?}");
}

#[test]
fn a_new_subscription_starts_where_the_server_answered_it_from() {
    // Mounted offline after event 1; subscribed at the reconnect, after 2.
    let log = log(&[(0, 1), (0, 2), (0, 3)]);
    let v = view(&[subscribed(2, (0, 2)), (Event(3), (0, 3))], 1, 3);
    assert!(node_view(&v, &log, false).is_clean());
    // A view that joined a held topic gets everything from its mount.
    let t = node_view(&v, &log, true);
    assert_eq!((t.lost, t.wrong_starts), (1, 0), "{t:?}");
}

#[test]
fn a_resync_without_a_loss_of_data_is_unjustified_and_excuses_nothing() {
    let log = log(&[(0, 1), (0, 2), (0, 3), (0, 4)]);
    let v = view(
        &[
            subscribed(1, (0, 1)),
            (Event(2), (0, 2)),
            (Resync { seq: Some(3) }, (0, 3)),
            (Event(4), (0, 4)),
        ],
        1,
        4,
    );
    let t = node_view(&v, &log, false);
    assert_eq!(
        (t.unjustified_resyncs, t.lost, t.announced),
        (1, 1, 0),
        "{t:?}"
    );
}

#[test]
fn a_resync_after_a_loss_of_data_excuses_what_was_lost_and_no_more() {
    // Epoch 0: seq 1..=3; Redis loses its data; epoch 1: seq 1..=3.
    let log = log(&[(0, 1), (0, 2), (0, 3), (1, 1), (1, 2), (1, 3)]);
    let marks = [
        subscribed(1, (0, 1)),
        (Event(2), (0, 2)),
        // 3 lost with Redis's data; the new history's 1 before the resync names it.
        (Resync { seq: Some(1) }, (1, 4)),
        (Event(6), (1, 6)),
    ];
    let t = node_view(&view(&marks, 1, 6), &log, false);
    // Event 3 (epoch 0) and event 4 (epoch 1, seq 1) are excused; event 5 (seq 2) is not.
    assert_eq!(
        (t.announced, t.lost, t.unjustified_resyncs),
        (2, 1, 0),
        "{t:?}"
    );
}
