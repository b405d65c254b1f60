//! Frames the app sent while no socket could take them: bounded in count, each waiting at most
//! until its deadline, flushed in order once a socket has proved itself.

use super::event::{RequestId, SendError};
use super::time::Instant;

/// A queued frame, the request it belongs to (if any), and when it gives up.
#[derive(Debug)]
pub struct Queued {
    /// The encoded frame.
    pub text: String,
    /// The request waiting for its reply.
    pub request: Option<RequestId>,
    /// Past this, the frame is dropped unsent and reported.
    pub deadline: Instant,
}

/// A bounded FIFO of encoded frames.
#[derive(Debug)]
pub struct Outbox {
    frames: Vec<Queued>,
    capacity: usize,
}

impl Outbox {
    /// An empty outbox holding up to `capacity` frames.
    pub fn new(capacity: usize) -> Outbox {
        Outbox {
            frames: Vec::new(),
            capacity,
        }
    }

    /// Queues a frame, or refuses it when full: nothing is ever dropped silently.
    pub fn push(&mut self, frame: Queued) -> Result<(), SendError> {
        if self.frames.len() >= self.capacity {
            return Err(SendError::OutboxFull(self.capacity));
        }
        self.frames.push(frame);
        Ok(())
    }

    /// Takes every frame, oldest first.
    pub fn drain(&mut self) -> impl Iterator<Item = Queued> + '_ {
        self.frames.drain(..)
    }

    /// Removes and returns the frames whose deadline passed, oldest first.
    pub fn expire(&mut self, now: Instant) -> Vec<Queued> {
        let (expired, kept): (Vec<Queued>, Vec<Queued>) =
            self.frames.drain(..).partition(|q| q.deadline <= now);
        self.frames = kept;
        expired
    }

    /// The earliest deadline.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.frames.iter().map(|q| q.deadline).min()
    }

    /// How many frames wait.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// True when nothing waits.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(text: &str, deadline: u64) -> Queued {
        Queued {
            text: text.into(),
            request: None,
            deadline: Instant(deadline),
        }
    }

    #[test]
    fn refuses_past_capacity_and_keeps_order() {
        let mut outbox = Outbox::new(3);
        for (text, deadline) in [("a", 10), ("b", 5), ("c", 20)] {
            outbox.push(q(text, deadline)).unwrap();
        }
        assert_eq!(outbox.push(q("d", 1)), Err(SendError::OutboxFull(3)));
        assert_eq!(outbox.next_deadline(), Some(Instant(5)));
        let expired: Vec<String> = outbox
            .expire(Instant(10))
            .into_iter()
            .map(|q| q.text)
            .collect();
        assert_eq!(expired, ["a", "b"]);
        outbox.push(q("e", 30)).unwrap();
        let order: Vec<String> = outbox.drain().map(|q| q.text).collect();
        assert_eq!(order, ["c", "e"]);
        assert!(outbox.is_empty());
    }
}
