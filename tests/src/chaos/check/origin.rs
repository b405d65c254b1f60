//! An event view against a server that neither numbers nor replays (the origin's profile): it
//! must lose exactly what was published while its socket was down, and announce each such gap.
//!
//! The stub's membership log gives each of the user's connections a *live range* on the topic:
//! from the snapshot its subscribe was answered with to the moment it let go of the topic.
//! An event of the view's lifetime published outside every live range was never sent: it must
//! be missing (delivered, it counts as `seen_in_gaps`). One published in a live range after a
//! fault hit the user's sockets may have died with the socket: missing or not is fine. Every
//! other event must have arrived. Each run of missing events the view lived past must be
//! followed by a `ResyncRequired` before the next event it saw.

use std::collections::BTreeSet;

use super::{marks_around, order, pos_after, run_positions, seen_at, Tally, Truth, Window};
use crate::chaos::views::{EventView, Mark};
use crate::stub::{Change, Point};

/// Where an event was published, for the user's connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Zone {
    /// While a connection held the topic, with no fault since it began.
    Live,
    /// While a connection held the topic, after a fault hit the user's sockets.
    Faulted,
    /// While no connection held it: never sent.
    Down,
}

/// Checks an event view against its topic's truth (the origin's profile).
pub fn origin_view(view: &EventView, truth: &Truth<'_>) -> Tally {
    let w = Window::of(view.mount, view.end, truth);
    let position = run_positions(truth.log);
    let marks = view.marks.borrow();
    let mut tally = order(&view.seen(), &position);
    let seen = seen_at(&marks, &position);
    let observed: BTreeSet<usize> = seen.iter().map(|(_, p)| *p).collect();
    let ranges = live_ranges(truth);
    let faults: Vec<usize> = truth.faults.iter().map(|p| p.index_in(truth.log)).collect();
    let mut run: Option<(usize, usize)> = None;
    let mut runs = Vec::new();
    for i in (w.start..w.end).filter(|i| truth.log[*i].kind == "run_update") {
        let zone = zone(i, &ranges, &faults);
        let missing = !observed.contains(&i);
        match (zone, missing) {
            (Zone::Down, false) => tally.seen_in_gaps += 1,
            (Zone::Live, true) => tally.lost += 1,
            (_, true) => {
                tally.lost_in_gaps += 1;
                run = Some(run.map_or((i, i), |(first, _)| (first, i)));
                continue;
            }
            _ => {}
        }
        runs.extend(run.take());
    }
    runs.extend(run);
    for (first, last) in runs {
        let (lo, next) = marks_around(&marks, &seen, first, last);
        // A view that ended before any connection held the topic again lived past no gap.
        let reconnected = ranges.iter().any(|r| r.0 > last && r.0 < w.end);
        if next.is_none() && !reconnected {
            continue;
        }
        tally.gaps += 1;
        let announced = marks[lo..next.unwrap_or(marks.len())]
            .iter()
            .any(|m| matches!(m, Mark::Resync { .. }));
        tally.unannounced_gaps += u64::from(!announced);
    }
    tally
}

/// Each answer's live range in the log: from the first event after its snapshot to the first
/// published after its connection let go of the topic (the log's end while it holds it).
fn live_ranges(truth: &Truth<'_>) -> Vec<(usize, usize)> {
    truth
        .answers()
        .map(|a| {
            let start = pos_after(truth.log, a.epoch, a.seq);
            let released = truth.membership.iter().find(|e| {
                e.n > a.entry.n
                    && e.connection == a.entry.connection
                    && e.change == Change::Released
            });
            let end = released.map_or(truth.log.len(), |e| {
                let at = Point {
                    published: e.published,
                    membership: e.n,
                };
                at.index_in(truth.log)
            });
            (start, end.max(start))
        })
        .collect()
}

/// Where event `i` was published.
fn zone(i: usize, ranges: &[(usize, usize)], faults: &[usize]) -> Zone {
    let covering: Vec<&(usize, usize)> = ranges.iter().filter(|r| r.0 <= i && i < r.1).collect();
    if covering.is_empty() {
        return Zone::Down;
    }
    let faulted = covering
        .iter()
        .any(|r| faults.iter().any(|&f| r.0 <= f && f <= i));
    if faulted {
        Zone::Faulted
    } else {
        Zone::Live
    }
}
