//! An event view against a server that numbers and replays (tether's profile): every event of
//! its lifetime once and in order, but for events the stub could not replay, announced.
//!
//! Each `ResyncRequired` must be accounted for by the stub's records ([`Account`]): an answer
//! to a subscribe at the `seq` it reports (or, for a tab told by its leader, asked with that
//! `seq` as its `since`), that was a resync or came in a later epoch than the
//! view mounted in, or than the stub's previous answer on the topic when a `since` was sent
//! (the history the `since` named was lost since: the client, which learns epochs from
//! acknowledgements, resyncs at its next one), or, for the resync the stub sends a live subscriber when its topic's
//! stream starts again (at `seq` 0), the first event of an epoch later than the last the view
//! saw. One that nothing accounts for is counted as unjustified.
//!
//! A missed event counts as *announced* only when both hold: a `ResyncRequired` reached the
//! view after the last event it saw before the missed one (and before the next it saw), and
//! what accounts for it shows the event could not be replayed: it belonged to a history lost
//! since, or the client's `since` named a lost history, or the answer was a resync because
//! events after the `since` were evicted. Any other miss is lost.

use std::collections::BTreeSet;

use super::{marks_around, order, run_positions, seen_at, Answer, Tally, Truth, Window};
use crate::chaos::views::{EventView, Mark};
use crate::stub::Published;

/// What in the stub's records accounts for one `ResyncRequired`.
#[derive(Clone, Copy, Debug)]
enum Account<'a> {
    /// An answer to a subscribe at the reported `seq`, and the epoch of the last event the
    /// view saw before the resync (the history the client's `since` named).
    Answer(Answer<'a>, u64),
    /// A live subscriber's stream started again: the first event it was sent of a new epoch.
    NewEpoch(&'a Published),
}

/// Checks an event view against its topic's truth (tether's profile).
pub fn event_view(view: &EventView, truth: &Truth<'_>) -> Tally {
    let w = Window::of(view.mount, view.end, truth);
    let position = run_positions(truth.log);
    let marks = view.marks.borrow();
    let mut tally = order(&view.seen(), &position);
    tally.wrong_starts = u64::from(!start_agrees(&marks, &w, truth));
    let accounts = accounts(&marks, view, &w, truth);
    tally.unjustified_resyncs = marks
        .iter()
        .zip(&accounts)
        .filter(|(m, a)| matches!(m, Mark::Resync { .. }) && a.is_empty())
        .count() as u64;
    let seen = seen_at(&marks, &position);
    let observed: BTreeSet<usize> = seen.iter().map(|(_, p)| *p).collect();
    for i in (w.start..w.end).filter(|i| truth.log[*i].kind == "run_update") {
        if observed.contains(&i) {
            continue;
        }
        let (lo, next) = marks_around(&marks, &seen, i, i);
        let e = &truth.log[i];
        let bridged = accounts[lo..next.unwrap_or(marks.len())]
            .iter()
            .flatten()
            .any(|account| unreplayable(e, account));
        if bridged {
            tally.announced += 1;
        } else {
            tally.lost += 1;
        }
    }
    tally
}

/// For each mark, what accounts for it if it is a `ResyncRequired` (empty otherwise).
fn accounts<'a>(
    marks: &[Mark],
    view: &EventView,
    w: &Window<'a>,
    truth: &Truth<'a>,
) -> Vec<Vec<Account<'a>>> {
    let log = truth.log;
    let answers: Vec<Answer<'a>> = truth
        .answers()
        .filter(|a| a.entry.n > view.mount.membership)
        .collect();
    // The epoch of the last event the view saw (at first, the one before its start), and the
    // one when it mounted: an answer in a later one came after the history was lost.
    let mut epoch = log[..w.start].last().map_or(0, |e| e.epoch);
    let mounted = log[..w.mount_pos].last().map_or(0, |e| e.epoch);
    let position = run_positions(log);
    // Each answer's previous one on the topic (any connection of the user): a `since` sent
    // with an answer in a later epoch named a history lost since.
    let previous = previous_epochs(truth);
    let mut out = Vec::with_capacity(marks.len());
    for mark in marks {
        let mut found = Vec::new();
        match mark {
            Mark::Event(id) => {
                if let Some(&p) = position.get(id) {
                    epoch = log[p].epoch;
                }
            }
            Mark::Resync { seq: Some(q) } => {
                // At the stub's position, or (a tab's resync, passed on by the leader that
                // resubscribed from the tab's `seq`) at the `since` it was asked with.
                let at_q = |a: &&Answer<'a>| a.seq == *q || a.since == Some(*q);
                let before = |a: &Answer<'a>| previous.get(&a.entry.n).copied().unwrap_or(epoch);
                let named_lost = |a: &Answer<'a>| a.since.is_some() && before(a) < a.epoch;
                let by_answer = answers
                    .iter()
                    .filter(at_q)
                    .filter(|a| a.catch_up == "resync" || a.epoch > mounted || named_lost(a));
                found.extend(by_answer.map(|a| {
                    let seen = if named_lost(a) {
                        epoch.min(before(a))
                    } else {
                        epoch
                    };
                    Account::Answer(*a, seen)
                }));
                // The hub tells a live subscriber to resync at the first event of a new stream.
                let restarted = log
                    .iter()
                    .filter(|f| *q == 0 && f.seq == 1 && f.epoch > epoch);
                found.extend(restarted.map(Account::NewEpoch));
            }
            _ => {}
        }
        out.push(found);
    }
    out
}

/// The epoch of the answer before each answer on the topic, by its entry's `n`.
fn previous_epochs(truth: &Truth<'_>) -> std::collections::BTreeMap<u64, u64> {
    let answers: Vec<Answer<'_>> = truth.answers().collect();
    answers
        .windows(2)
        .map(|w| (w[1].entry.n, w[0].epoch))
        .collect()
}

/// Whether the view's first `Subscribed` agrees with the stub: the `seq` of the answer that
/// started it, or, for a view that joined a subscription already answered, no later than the
/// last event the stub had published when it mounted.
fn start_agrees(marks: &[Mark], w: &Window<'_>, truth: &Truth<'_>) -> bool {
    let Some(claimed) = marks.iter().find_map(|m| match m {
        Mark::Subscribed { seq } => Some(*seq),
        _ => None,
    }) else {
        return true; // it claimed nothing; what it missed is counted
    };
    let Some(q) = claimed else {
        return false; // tether's stub numbers every topic
    };
    if w.first_answer.is_some_and(|a| a.seq == q) {
        return true;
    }
    truth.log[..w.mount_pos].last().map_or(0, |e| e.seq) >= q
}

/// Whether what accounts for a resync shows that `e` could not be replayed.
fn unreplayable(e: &Published, account: &Account<'_>) -> bool {
    match account {
        Account::Answer(a, seen) => a.entry.published >= e.n && not_replayable_by(e, a, *seen),
        Account::NewEpoch(f) => f.n > e.n && e.epoch < f.epoch,
    }
}

/// Whether answer `a` (given after `e` was published) could not have replayed `e` to a client
/// whose last event was of epoch `seen`.
fn not_replayable_by(e: &Published, a: &Answer<'_>, seen: u64) -> bool {
    if e.epoch < a.epoch {
        return true; // lost with its history
    }
    if e.epoch > a.epoch {
        return false;
    }
    // The client's `since` named a history lost before this answer: it cannot resume the new
    // one from it (a replay after it would skip or repeat the new history's first events), so
    // every event of the new history up to the answer is its to reload.
    let lost_before = a.epoch > seen;
    match (a.catch_up, a.since) {
        (_, Some(_)) if lost_before => true,
        // `since` ahead of the stream: the history it named is gone.
        ("resync", Some(s)) if s > a.seq => true,
        // Some event after `since` was evicted: the stub could not replay them all.
        ("resync", Some(s)) => e.seq > s && a.first_kept.is_none_or(|f| f > s + 1),
        _ => false,
    }
}
