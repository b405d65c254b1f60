//! The chaos test's verdicts, against the stub's records, ground truth the client does not
//! produce: its publish log, its membership log (how it answered each topic of each
//! `subscribe`, and when a connection let go of a topic), and where its logs were at each fault
//! that hit the user's sockets.
//!
//! A view's lifetime is placed by the stub ([`Window`]): it starts where it mounted, or, if
//! none of the user's connections held the topic then and the stub's next answer on it was a
//! snapshot (no `since`), where that snapshot is current to; it ends where it was told to
//! unmount, or where its tab went away. What the client says of the start (`Subscribed`'s
//! `seq`) is only checked against it. Then:
//! - tether's profile ([`event_view`]): every event of the lifetime reached the view once and
//!   in order, but for events the stub could not replay, evicted from its replay buffer or
//!   lost with its history as its records show, followed by a `ResyncRequired` it accounts for;
//! - the origin's ([`origin_view`]): the view lost exactly what was published while its socket
//!   was down, and announced each such gap with `ResyncRequired`;
//! - a history view ([`history_view`]): everything posted on its thread up to its end;
//! - a view of the cross-node run ([`node_view`]): as tether's profile, against the publish
//!   log read from Redis, with its start and its resyncs placed by where the run stood when
//!   each mark arrived (the nodes' own records die with them).

mod event;
mod nodes;
#[cfg(test)]
mod nodes_tests;
mod origin;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

pub use event::event_view;
pub use nodes::node_view;
pub use origin::origin_view;

use super::views::{HistoryView, Mark};
use crate::stub::{Change, MembershipEntry, Point, Published};

/// What one or more lifetimes came to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Events delivered.
    pub delivered: u64,
    /// Events that should have been delivered and were not (not announced, not in a gap).
    pub lost: u64,
    /// Events the stub could not replay (evicted, or lost with its history), announced with
    /// `ResyncRequired`.
    pub announced: u64,
    /// Events delivered twice.
    pub duplicated: u64,
    /// Events delivered after a later one.
    pub reordered: u64,
    /// Without replay (the origin): events published while the socket was down, not delivered.
    pub lost_in_gaps: u64,
    /// Without replay: runs of such events (the view lived on past the reconnect).
    pub gaps: u64,
    /// Of those, runs no `ResyncRequired` announced.
    pub unannounced_gaps: u64,
    /// Events delivered that the stub never sent (published while no connection of the user
    /// held the topic).
    pub seen_in_gaps: u64,
    /// `ResyncRequired`s the stub's answers do not account for.
    pub unjustified_resyncs: u64,
    /// Views whose `Subscribed` disagrees with the stub's record of their start.
    pub wrong_starts: u64,
}

impl std::ops::AddAssign for Tally {
    fn add_assign(&mut self, o: Tally) {
        self.delivered += o.delivered;
        self.lost += o.lost;
        self.announced += o.announced;
        self.duplicated += o.duplicated;
        self.reordered += o.reordered;
        self.lost_in_gaps += o.lost_in_gaps;
        self.gaps += o.gaps;
        self.unannounced_gaps += o.unannounced_gaps;
        self.seen_in_gaps += o.seen_in_gaps;
        self.unjustified_resyncs += o.unjustified_resyncs;
        self.wrong_starts += o.wrong_starts;
    }
}

impl Tally {
    /// Nothing lost, repeated, reordered or misreported: every miss was announced (and
    /// justified by the stub's records) or fell in a gap the stub shows.
    pub fn is_clean(&self) -> bool {
        self.lost == 0
            && self.duplicated == 0
            && self.reordered == 0
            && self.unannounced_gaps == 0
            && self.seen_in_gaps == 0
            && self.unjustified_resyncs == 0
            && self.wrong_starts == 0
    }
}

/// What the stub knows of one topic, for the views of one user on it.
#[derive(Clone, Debug)]
pub struct Truth<'a> {
    /// The topic's publish log, oldest first.
    pub log: &'a [Published],
    /// The user's membership entries on the topic, oldest first.
    pub membership: Vec<&'a MembershipEntry>,
    /// Where the stub's logs were at each fault that hit the user's sockets.
    pub faults: &'a [Point],
}

impl<'a> Truth<'a> {
    /// The truth of `topic` from its log, the user's membership log and the faults.
    pub fn of(
        topic: &str,
        log: &'a [Published],
        membership: &'a [MembershipEntry],
        faults: &'a [Point],
    ) -> Truth<'a> {
        Truth {
            log,
            membership: membership.iter().filter(|e| e.topic == topic).collect(),
            faults,
        }
    }

    /// The stub's answers on the topic, oldest first.
    fn answers(&self) -> impl Iterator<Item = Answer<'a>> + '_ {
        self.membership.iter().filter_map(|e| Answer::of(e))
    }

    /// Whether a connection of the user held the topic when the membership log had `at`
    /// entries.
    fn held_at(&self, at: u64) -> bool {
        let mut held = BTreeSet::new();
        for e in self.membership.iter().take_while(|e| e.n <= at) {
            match e.change {
                Change::Answered { .. } => held.insert(e.connection),
                Change::Released => held.remove(&e.connection),
            };
        }
        !held.is_empty()
    }
}

/// One answer of the stub to a subscribe of the topic.
#[derive(Clone, Copy, Debug)]
struct Answer<'a> {
    entry: &'a MembershipEntry,
    since: Option<u64>,
    catch_up: &'a str,
    epoch: u64,
    seq: u64,
    first_kept: Option<u64>,
}

impl<'a> Answer<'a> {
    fn of(entry: &'a MembershipEntry) -> Option<Answer<'a>> {
        match &entry.change {
            Change::Answered {
                since,
                catch_up,
                epoch,
                seq,
                first_kept,
            } => Some(Answer {
                entry,
                since: *since,
                catch_up,
                epoch: *epoch,
                seq: *seq,
                first_kept: *first_kept,
            }),
            Change::Released => None,
        }
    }
}

/// Where a view's lifetime lies in its topic's log, as the stub places it.
#[derive(Clone, Copy, Debug)]
struct Window<'a> {
    /// Its first event's index.
    start: usize,
    /// One past its last event's index.
    end: usize,
    /// The log's length when it mounted.
    mount_pos: usize,
    /// The stub's first answer on the topic after it mounted.
    first_answer: Option<Answer<'a>>,
}

impl<'a> Window<'a> {
    fn of(mount: Point, end: Option<Point>, truth: &Truth<'a>) -> Window<'a> {
        let log = truth.log;
        let mount_pos = mount.index_in(log);
        let end = Point::end_in(end, log).max(mount_pos);
        let first_answer = truth.answers().find(|a| a.entry.n > mount.membership);
        let start = match first_answer {
            Some(a) if a.since.is_none() && !truth.held_at(mount.membership) => {
                pos_after(log, a.epoch, a.seq).max(mount_pos)
            }
            _ => mount_pos,
        };
        Window {
            start: start.min(end),
            end,
            mount_pos,
            first_answer,
        }
    }
}

/// The first log position after `(epoch, seq)`.
fn pos_after(log: &[Published], epoch: u64, seq: u64) -> usize {
    log.iter()
        .position(|e| (e.epoch, e.seq) > (epoch, seq))
        .unwrap_or(log.len())
}

/// Each run update's log position, by its id.
fn run_positions(log: &[Published]) -> BTreeMap<u64, usize> {
    log.iter()
        .enumerate()
        .filter(|(_, e)| e.kind == "run_update")
        .filter_map(|(i, e)| e.id.map(|id| (id, i)))
        .collect()
}

/// The marks that are events, as (index among the marks, log position).
fn seen_at(marks: &[Mark], position: &BTreeMap<u64, usize>) -> Vec<(usize, usize)> {
    marks
        .iter()
        .enumerate()
        .filter_map(|(m, mark)| match mark {
            Mark::Event(id) => position.get(id).map(|p| (m, *p)),
            _ => None,
        })
        .collect()
}

/// The marks between the last event seen before log positions `first..=last` and the first
/// seen after them (`None` after: none was).
fn marks_around(
    marks: &[Mark],
    seen: &[(usize, usize)],
    first: usize,
    last: usize,
) -> (usize, Option<usize>) {
    let prev = seen
        .iter()
        .filter(|(_, p)| *p < first)
        .map(|(m, _)| *m)
        .max();
    let lo = prev.map_or(0, |m| m + 1);
    let next = seen
        .iter()
        .filter(|(m, p)| *p > last && *m >= lo)
        .map(|(m, _)| *m)
        .min();
    debug_assert!(next.is_none_or(|n| n <= marks.len()));
    (lo, next)
}

/// Checks a history view: everything posted on its thread up to its end, exactly once, in
/// order (its history and its live events together).
pub fn history_view(view: &HistoryView, log: &[Published]) -> Tally {
    let end = Point::end_in(view.end, log);
    let position: BTreeMap<u64, usize> = log
        .iter()
        .enumerate()
        .filter(|(_, e)| e.kind == "thread_message")
        .filter_map(|(i, e)| e.id.map(|id| (id, i)))
        .collect();
    let held = &view.final_ids;
    let mut tally = order(held, &position);
    let have: BTreeSet<u64> = held.iter().copied().collect();
    tally.lost = log[..end]
        .iter()
        .filter(|e| e.kind == "thread_message")
        .filter_map(|e| e.id)
        .filter(|id| !have.contains(id))
        .count() as u64;
    tally
}

/// Counts deliveries, repeats and reversals of `ids` by their log positions.
fn order(ids: &[u64], position: &BTreeMap<u64, usize>) -> Tally {
    let mut tally = Tally::default();
    let mut once = BTreeSet::new();
    let mut last = None;
    for id in ids {
        if !once.insert(*id) {
            tally.duplicated += 1;
            continue;
        }
        tally.delivered += 1;
        let Some(&at) = position.get(id) else {
            continue;
        };
        if last.is_some_and(|l| at < l) {
            tally.reordered += 1;
        }
        last = Some(at);
    }
    tally
}
