//! Misbehaviours an event view can play, to show that the chaos checks catch them: what the
//! view records is then not what the client told it. The tests in `tests/tests/chaos.rs` run
//! each and require the run to be found unsound.

use super::views::Mark;

/// A misbehaviour of the client, as one event view sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sabotage {
    /// Records nothing at all: a view that receives nothing.
    Deaf,
    /// Reports its start two events later than the client said, and drops those two events.
    LateStart,
    /// After its third event, drops the next two and records a resync nobody sent.
    SpuriousResync,
    /// Drops its second event, silently.
    DropOne,
    /// Records no resync: its gaps go unannounced.
    MuteResyncs,
    /// Records only its first two events.
    StopAfterTwo,
}

/// What a sabotaged view has done so far.
#[derive(Debug, Default)]
pub struct Played {
    events: u64,
    skip: u64,
}

impl Sabotage {
    /// The mark to record in place of `mark` (`None`: record nothing); `seq` is the event's.
    pub fn play(self, played: &mut Played, mark: Mark, seq: Option<u64>) -> Option<Mark> {
        use Sabotage::*;
        match (self, mark) {
            (Deaf, _) => None,
            (LateStart, Mark::Subscribed { seq: Some(s) }) => {
                played.skip = 2;
                Some(Mark::Subscribed { seq: Some(s + 2) })
            }
            (MuteResyncs, Mark::Resync { .. }) => None,
            (sabotage, Mark::Event(id)) => {
                if played.skip > 0 {
                    played.skip -= 1;
                    return None;
                }
                played.events += 1;
                match (sabotage, played.events) {
                    (SpuriousResync, 4) => None,
                    (SpuriousResync, 5) => Some(Mark::Resync { seq }),
                    (DropOne, 2) => None,
                    (StopAfterTwo, n) if n > 2 => None,
                    _ => Some(Mark::Event(id)),
                }
            }
            (_, mark) => Some(mark),
        }
    }
}
