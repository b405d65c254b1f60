//! An event view of the cross-node run (tether's profile, two stub processes on one Redis),
//! against the publish log read from Redis: every event of its lifetime once and in order, but
//! for events lost with Redis's data, announced.
//!
//! The nodes are killed with SIGKILL, so their membership logs do not survive the run; the
//! view's marks are instead stamped with where the run stood ([`Stamp`]: the incarnation of
//! Redis's data, and the events asked to be published so far). Then:
//! - its start is where it mounted; a view that mounted on a topic none of the client's views
//!   held starts where its first `Subscribed` says the server answered it from (events before
//!   were never its to receive), but only if that `seq` is no later than the last event Redis
//!   held when the mark arrived (a later one is a wrong start, and the view starts where it
//!   mounted). A view that receives nothing loses everything from its start;
//! - a `ResyncRequired` is justified only when Redis lost its data since the view's previous
//!   `Subscribed` or `ResyncRequired`; any other is counted as unjustified;
//! - a missed event counts as *announced* only when a justified `ResyncRequired` reached the
//!   view after the last event it saw before the missed one (and before the next it saw), and
//!   the event could not be replayed: it belonged to an incarnation of Redis's data lost
//!   before that resync, or to the new one up to the `seq` the resync names. Any other miss is
//!   lost.

use std::collections::BTreeSet;

use super::{marks_around, order, pos_after, run_positions, seen_at, Tally};
use crate::chaos::views::{EventView, Mark, Stamp};
use crate::stub::{Point, Published};

/// Checks a cross-node view against its topic's log (entries numbered by the order they were
/// published in, their `epoch` the incarnation of Redis's data); `joined` if another view held
/// the topic when it mounted.
pub fn node_view(view: &EventView, log: &[Published], joined: bool) -> Tally {
    let position = run_positions(log);
    let marks = view.marks.borrow();
    let stamps = view.stamps.borrow();
    assert_eq!(marks.len(), stamps.len(), "every mark is stamped");
    let mut tally = order(&view.seen(), &position);
    let mount_pos = view.mount.index_in(log);
    let end = Point::end_in(view.end, log).max(mount_pos);
    let (start, wrong) = start(&marks, &stamps, log, mount_pos, joined);
    tally.wrong_starts = u64::from(wrong);
    let mounted = log[..mount_pos].last().map_or(0, |e| e.epoch);
    let justified = justified(&marks, &stamps, mounted);
    tally.unjustified_resyncs = marks
        .iter()
        .zip(&justified)
        .filter(|(m, j)| matches!(m, Mark::Resync { .. }) && !**j)
        .count() as u64;
    let seen = seen_at(&marks, &position);
    let observed: BTreeSet<usize> = seen.iter().map(|(_, p)| *p).collect();
    for i in (start.min(end)..end).filter(|i| log[*i].kind == "run_update") {
        if observed.contains(&i) {
            continue;
        }
        let (lo, next) = marks_around(&marks, &seen, i, i);
        let e = &log[i];
        let announced = (lo..next.unwrap_or(marks.len())).any(|m| match marks[m] {
            Mark::Resync { seq } if justified[m] => unreplayable(e, stamps[m], seq),
            _ => false,
        });
        if announced {
            tally.announced += 1;
        } else {
            tally.lost += 1;
        }
    }
    tally
}

/// The view's first event's log position, and whether its `Subscribed` claims a later start
/// than Redis's log allows.
fn start(
    marks: &[Mark],
    stamps: &[Stamp],
    log: &[Published],
    mount_pos: usize,
    joined: bool,
) -> (usize, bool) {
    let claim = marks.iter().zip(stamps).find_map(|(m, s)| match m {
        Mark::Subscribed { seq } => Some((*seq, *s)),
        _ => None,
    });
    let Some((claimed, stamp)) = claim else {
        return (mount_pos, false); // it claimed nothing; what it missed is counted
    };
    let Some(q) = claimed else {
        return (mount_pos, true); // Redis numbers every topic
    };
    let held = log
        .iter()
        .filter(|e| e.epoch == stamp.epoch && e.n <= stamp.published)
        .map(|e| e.seq)
        .max()
        .unwrap_or(0);
    if q > held {
        return (mount_pos, true);
    }
    if joined {
        return (mount_pos, false);
    }
    (pos_after(log, stamp.epoch, q).max(mount_pos), false)
}

/// For each mark, whether it is a `ResyncRequired` that a loss of Redis's data since the
/// view's previous `Subscribed` or `ResyncRequired` (or, before any, since the incarnation of
/// the last event published before it mounted, `mounted`) explains (false for other marks).
fn justified(marks: &[Mark], stamps: &[Stamp], mounted: u64) -> Vec<bool> {
    let mut last = mounted;
    let mut out = Vec::with_capacity(marks.len());
    for (mark, stamp) in marks.iter().zip(stamps) {
        let mut ok = false;
        match mark {
            Mark::Subscribed { .. } => last = stamp.epoch,
            Mark::Resync { .. } => {
                ok = stamp.epoch > last;
                last = stamp.epoch;
            }
            Mark::Event(_) => {}
        }
        out.push(ok);
    }
    out
}

/// Whether a resync stamped `at`, naming `seq`, shows that `e` could not be replayed.
fn unreplayable(e: &Published, at: Stamp, seq: Option<u64>) -> bool {
    e.epoch < at.epoch || (e.epoch == at.epoch && seq.is_some_and(|q| e.seq <= q))
}
