//! Frames the app sent while no socket was open, bounded, flushed in order after the resubscribe.

use std::collections::VecDeque;

use super::event::{RequestId, SendError};

/// A queued frame, and the request it belongs to, if any.
#[derive(Debug)]
pub struct Queued {
    /// The encoded frame.
    pub text: String,
    /// The request waiting for its reply.
    pub request: Option<RequestId>,
}

/// A bounded FIFO of encoded frames.
#[derive(Debug)]
pub struct Outbox {
    frames: VecDeque<Queued>,
    capacity: usize,
}

impl Outbox {
    /// An empty outbox holding up to `capacity` frames.
    pub fn new(capacity: usize) -> Outbox {
        Outbox {
            frames: VecDeque::new(),
            capacity,
        }
    }

    /// Queues a frame, or refuses it when full: nothing is ever dropped silently.
    pub fn push(&mut self, frame: Queued) -> Result<(), SendError> {
        if self.frames.len() >= self.capacity {
            return Err(SendError::OutboxFull(self.capacity));
        }
        self.frames.push_back(frame);
        Ok(())
    }

    /// Takes every frame, oldest first.
    pub fn drain(&mut self) -> impl Iterator<Item = Queued> + '_ {
        self.frames.drain(..)
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

    #[test]
    fn refuses_past_capacity_and_keeps_order() {
        let mut outbox = Outbox::new(2);
        for text in ["a", "b"] {
            outbox
                .push(Queued {
                    text: text.into(),
                    request: None,
                })
                .unwrap();
        }
        assert_eq!(
            outbox.push(Queued {
                text: "c".into(),
                request: None
            }),
            Err(SendError::OutboxFull(2))
        );
        let order: Vec<String> = outbox.drain().map(|q| q.text).collect();
        assert_eq!(order, ["a", "b"]);
        assert!(outbox.is_empty());
    }
}
