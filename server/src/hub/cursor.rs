//! The one place where the hub decides what a subscriber is sent of a publication: each
//! subscriber has a cursor (the last position it was sent), and a publication is sent only if
//! it comes after it.
//!
//! - The next `seq` of the same epoch is sent.
//! - A `seq` at or before the cursor is skipped: the subscriber has it already (from its
//!   replay, its snapshot, or an earlier delivery).
//! - A `seq` past the next one (a gap: the broker lost a publication on its way to this node)
//!   or another epoch (the stream was lost and started again) is sent after a
//!   `resync_required` naming the `seq` before it, so that a client with tether's extensions
//!   reloads instead of silently missing events. A client without them gets the event as is:
//!   the origin's contract has no way to say it.

use tungstenite::Utf8Bytes;

use tether_wire::control::Control;
use tether_wire::control::ResyncRequired;

use super::publication::{Publication, StreamPosition};
use crate::frame::control_frame;

/// What a subscriber is sent of a publication, given its cursor.
#[derive(Debug, PartialEq)]
pub enum Admit {
    /// It has it already.
    Skip,
    /// The next one: send it.
    Next,
    /// After a gap or in another epoch: send `resync_required` (with tether's extensions),
    /// then it.
    AfterResync,
}

/// Decides for a subscriber at `cursor`.
pub fn admit(cursor: &StreamPosition, publication: &Publication) -> Admit {
    let seq = publication.seq();
    if *publication.epoch() != cursor.epoch {
        return Admit::AfterResync;
    }
    match cursor.offset.checked_add(1) {
        Some(next) if seq == next => Admit::Next,
        _ if seq <= cursor.offset => Admit::Skip,
        _ => Admit::AfterResync,
    }
}

/// Appends to `out` what a subscriber at `cursor` (`extended` or not) is sent of
/// `publication`, and moves its cursor; returns whether a gap or a new epoch was crossed.
pub fn advance(
    cursor: &mut StreamPosition,
    publication: &Publication,
    extended: bool,
    out: &mut Vec<Utf8Bytes>,
) -> bool {
    let verdict = admit(cursor, publication);
    if verdict == Admit::Skip {
        return false;
    }
    let crossed = verdict == Admit::AfterResync;
    if crossed && extended {
        out.push(resync_frame(publication));
    }
    out.push(publication.text_for(extended));
    *cursor = publication.position.clone();
    crossed
}

/// Moves a subscriber at `cursor` to `position`, after which the broker lost what it cannot
/// give back: if it is behind (an earlier `seq`, or another epoch), appends `resync_required`
/// naming `position`'s `seq` (with tether's extensions) and returns `true`.
pub fn skip_to(
    cursor: &mut StreamPosition,
    topic: &tether_wire::Topic,
    position: &StreamPosition,
    extended: bool,
    out: &mut Vec<Utf8Bytes>,
) -> bool {
    if cursor.epoch == position.epoch && cursor.offset >= position.offset {
        return false;
    }
    if extended {
        let resync = ResyncRequired {
            topic: topic.clone(),
            seq: Some(position.offset),
            epoch: Some(position.epoch.to_string()),
        };
        out.push(control_frame(&Control::ResyncRequired(resync), None));
    }
    *cursor = position.clone();
    true
}

/// `resync_required` for the `seq` before `publication`.
fn resync_frame(publication: &Publication) -> Utf8Bytes {
    let resync = ResyncRequired {
        topic: publication.topic.clone(),
        seq: Some(publication.seq().saturating_sub(1)),
        epoch: Some(publication.epoch().to_string()),
    };
    control_frame(&Control::ResyncRequired(resync), None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::publication::{Epoch, Event};
    use tether_wire::{Envelope, Topic};

    fn at(offset: u64, epoch: &str) -> StreamPosition {
        StreamPosition {
            offset,
            epoch: Epoch::new(epoch),
        }
    }

    fn publication(seq: u64, epoch: &str) -> Publication {
        let event = Event::new("e", &serde_json::json!({})).expect("encodes");
        Publication::new(&Topic::new("t"), event, at(seq, epoch), 0)
    }

    #[test]
    fn the_next_is_sent_the_old_skipped_and_a_gap_or_new_epoch_resynced() {
        let cases = [
            ((4, "a"), (5, "a"), Admit::Next),
            ((5, "a"), (5, "a"), Admit::Skip),
            ((5, "a"), (2, "a"), Admit::Skip),
            ((5, "a"), (7, "a"), Admit::AfterResync),
            ((5, "a"), (1, "b"), Admit::AfterResync),
            ((0, "a"), (1, "a"), Admit::Next),
            ((u64::MAX, "a"), (3, "a"), Admit::Skip),
        ];
        for ((c, ce), (s, se), want) in cases {
            assert_eq!(
                admit(&at(c, ce), &publication(s, se)),
                want,
                "{c}{ce} {s}{se}"
            );
        }
    }

    #[test]
    fn a_gap_sends_resync_then_the_event_to_extended_subscribers_only() {
        let mut cursor = at(5, "a");
        let mut out = Vec::new();
        assert!(advance(&mut cursor, &publication(8, "a"), true, &mut out));
        let frames: Vec<Envelope> = out.iter().map(|t| Envelope::decode(t).unwrap()).collect();
        assert_eq!(frames[0].kind, "resync_required");
        assert_eq!(frames[0].data.get(), r#"{"topic":"t","seq":7,"epoch":"a"}"#);
        assert_eq!(frames[1].seq, Some(8));
        assert_eq!(cursor, at(8, "a"));
        let mut plain = Vec::new();
        assert!(advance(
            &mut at(5, "a"),
            &publication(8, "a"),
            false,
            &mut plain
        ));
        assert_eq!(plain.len(), 1);
        assert!(!advance(&mut cursor, &publication(8, "a"), true, &mut out));
        assert_eq!(out.len(), 2, "a repeat is skipped");
    }

    #[test]
    fn a_subscriber_behind_a_lost_stretch_is_told_to_resync_at_its_end() {
        let topic = tether_wire::Topic::new("t");
        let mut out = Vec::new();
        for (cursor, position, behind) in [
            (at(5, "a"), at(9, "a"), true),
            (at(5, "a"), at(0, "b"), true),
            (at(9, "a"), at(9, "a"), false),
            (at(9, "a"), at(7, "a"), false),
        ] {
            let mut c = cursor.clone();
            out.clear();
            let moved = skip_to(&mut c, &topic, &position, true, &mut out);
            assert_eq!(moved, behind, "{cursor:?} to {position:?}");
            assert_eq!(out.len(), usize::from(behind));
            assert_eq!(c, if behind { position.clone() } else { cursor });
        }
        let frame = Envelope::decode(&out_of(&at(5, "a"), &at(0, "b"))).unwrap();
        assert_eq!(frame.kind, "resync_required");
        assert_eq!(frame.data.get(), r#"{"topic":"t","seq":0,"epoch":"b"}"#);
        let mut plain = Vec::new();
        assert!(skip_to(
            &mut at(5, "a"),
            &topic,
            &at(9, "a"),
            false,
            &mut plain
        ));
        assert!(plain.is_empty(), "nothing the origin's contract could say");
    }

    fn out_of(cursor: &StreamPosition, position: &StreamPosition) -> Utf8Bytes {
        let mut out = Vec::new();
        skip_to(
            &mut cursor.clone(),
            &tether_wire::Topic::new("t"),
            position,
            true,
            &mut out,
        );
        out.remove(0)
    }
}
