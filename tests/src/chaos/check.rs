//! The chaos test's verdicts, against the stub's publish log (ground truth the client does not
//! produce). Each view lifetime starts where its subscription took effect (or, for a history
//! view, where its history was read) and ends where it was told to unmount; every event
//! published in between must have reached it exactly once, in order.

use std::collections::{BTreeMap, BTreeSet};

use super::views::{End, EventView, HistoryView, Mark};
use crate::stub::Published;

/// What one or more lifetimes came to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Events delivered.
    pub delivered: u64,
    /// Events that should have been delivered and were not, unannounced.
    pub lost: u64,
    /// Events the client announced as missed with `ResyncRequired` (not replayable).
    pub announced: u64,
    /// Events delivered twice.
    pub duplicated: u64,
    /// Events delivered after a later one.
    pub reordered: u64,
}

impl std::ops::AddAssign for Tally {
    fn add_assign(&mut self, o: Tally) {
        self.delivered += o.delivered;
        self.lost += o.lost;
        self.announced += o.announced;
        self.duplicated += o.duplicated;
        self.reordered += o.reordered;
    }
}

/// The first log position after `(epoch, seq)`.
fn pos_after(log: &[Published], epoch: u64, seq: u64) -> usize {
    log.iter()
        .position(|e| (e.epoch, e.seq) > (epoch, seq))
        .unwrap_or(log.len())
}

/// Checks an event view against its topic's log. With `numbered` (tether's stub), its start
/// is the `seq` its subscription took effect after, and each resync starts a new stretch: the
/// events between its last delivery and the resync point were announced missing. Without
/// (the origin), its start is where it mounted, and a resync announces nothing countable.
pub fn event_view(view: &EventView, log: &[Published], numbered: bool) -> Tally {
    let end = view.end.map_or(log.len(), |End { at }| at.min(log.len()));
    let mut starts = Vec::new();
    for mark in view.marks.borrow().iter() {
        match (mark, numbered) {
            (
                Mark::Subscribed {
                    seq: Some(s),
                    epoch,
                },
                true,
            )
            | (
                Mark::Resync {
                    seq: Some(s),
                    epoch,
                },
                true,
            ) => starts.push(pos_after(log, *epoch, *s)),
            (Mark::Subscribed { .. }, false) if starts.is_empty() => starts.push(view.mount_pos),
            _ => {}
        }
    }
    let position: BTreeMap<u64, usize> = log
        .iter()
        .enumerate()
        .filter(|(_, e)| e.kind == "run_update")
        .filter_map(|(i, e)| e.id.map(|id| (id, i)))
        .collect();
    let seen = view.seen();
    let mut tally = order(&seen, &position);
    if tally.reordered > 0 && std::env::var("CHAOS_DEBUG").is_ok() {
        let at: Vec<(Option<usize>, u64)> = seen
            .iter()
            .map(|id| (position.get(id).copied(), *id))
            .collect();
        eprintln!(
            "REORDERED event view {}: marks {:?}\n  positions {at:?}",
            view.topic,
            view.marks.borrow()
        );
    }
    let observed: BTreeSet<usize> = seen
        .iter()
        .filter_map(|id| position.get(id))
        .copied()
        .collect();
    for (k, &start) in starts.iter().enumerate() {
        let stop = starts
            .get(k + 1)
            .copied()
            .unwrap_or(end)
            .min(end)
            .max(start);
        let last_seen = observed.range(start..stop).next_back().copied();
        for i in (start..stop).filter(|i| log[*i].kind == "run_update") {
            if observed.contains(&i) {
                continue;
            }
            let before_resync = k + 1 < starts.len() && last_seen.is_none_or(|l| i > l);
            if before_resync {
                tally.announced += 1;
            } else {
                tally.lost += 1;
            }
        }
    }
    tally
}

/// Checks a history view: everything posted on its thread up to its end, exactly once, in
/// order (its history and its live events together).
pub fn history_view(view: &HistoryView, log: &[Published]) -> Tally {
    let end = view.end.map_or(log.len(), |End { at }| at.min(log.len()));
    let position: BTreeMap<u64, usize> = log
        .iter()
        .enumerate()
        .filter(|(_, e)| e.kind == "thread_message")
        .filter_map(|(i, e)| e.id.map(|id| (id, i)))
        .collect();
    let held = &view.final_ids;
    let mut tally = order(held, &position);
    if tally.reordered > 0 && std::env::var("CHAOS_DEBUG").is_ok() {
        let at: Vec<(Option<usize>, u64)> = held
            .iter()
            .map(|id| (position.get(id).copied(), *id))
            .collect();
        eprintln!("REORDERED history view {}: {at:?}", view.thread);
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    fn log(entries: &[(u64, u64)]) -> Vec<Published> {
        entries
            .iter()
            .map(|&(epoch, seq)| Published {
                epoch,
                seq,
                kind: "run_update".into(),
                id: Some(epoch * 100 + seq),
            })
            .collect()
    }

    fn view(marks: Vec<Mark>, end: Option<usize>) -> EventView {
        EventView {
            topic: 0,
            marks: Rc::new(RefCell::new(marks)),
            mount_pos: 0,
            offline: false,
            sub: None,
            end: end.map(|at| End { at }),
        }
    }

    use Mark::*;

    #[test]
    fn a_clean_lifetime_counts_only_deliveries() {
        let log = log(&[(0, 1), (0, 2), (0, 3), (0, 4)]);
        let v = view(
            vec![
                Subscribed {
                    seq: Some(1),
                    epoch: 0,
                },
                Event(2),
                Event(3),
                Event(4),
            ],
            None,
        );
        assert_eq!(
            event_view(&v, &log, true),
            Tally {
                delivered: 3,
                ..Tally::default()
            }
        );
    }

    #[test]
    fn a_missing_first_or_last_event_is_lost() {
        let log = log(&[(0, 1), (0, 2), (0, 3), (0, 4)]);
        let v = view(
            vec![
                Subscribed {
                    seq: Some(1),
                    epoch: 0,
                },
                Event(3),
            ],
            Some(4),
        );
        let t = event_view(&v, &log, true);
        assert_eq!(
            (t.delivered, t.lost),
            (1, 2),
            "2 at the start and 4 at the end"
        );
    }

    #[test]
    fn a_resync_announces_the_gap_but_not_earlier_holes() {
        let log = log(&[(0, 1), (0, 2), (0, 3), (0, 4), (1, 1), (1, 2)]);
        let v = view(
            vec![
                Subscribed {
                    seq: Some(0),
                    epoch: 0,
                },
                Event(2),
                Resync {
                    seq: Some(1),
                    epoch: 1,
                },
                Event(102),
            ],
            None,
        );
        let t = event_view(&v, &log, true);
        assert_eq!(
            (t.delivered, t.lost, t.announced),
            (2, 1, 3),
            "1 lost; 3, 4 and 101 announced"
        );
    }

    #[test]
    fn repeats_and_reversals_are_counted() {
        let log = log(&[(0, 1), (0, 2), (0, 3)]);
        let v = view(
            vec![
                Subscribed {
                    seq: Some(0),
                    epoch: 0,
                },
                Event(1),
                Event(3),
                Event(2),
                Event(3),
            ],
            None,
        );
        let t = event_view(&v, &log, true);
        assert_eq!(
            (t.delivered, t.duplicated, t.reordered, t.lost),
            (3, 1, 1, 0)
        );
    }

    #[test]
    fn without_numbers_a_view_starts_where_it_mounted_and_a_resync_excuses_nothing() {
        let log = log(&[(0, 1), (0, 2), (0, 3), (0, 4)]);
        let mut v = view(
            vec![
                Subscribed {
                    seq: None,
                    epoch: 0,
                },
                Event(2),
                Resync {
                    seq: None,
                    epoch: 0,
                },
                Event(4),
            ],
            None,
        );
        v.mount_pos = 1;
        let t = event_view(&v, &log, false);
        assert_eq!((t.delivered, t.lost, t.announced), (2, 1, 0));
    }
}
