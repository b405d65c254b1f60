//! Per-user quotas, so that no user can take the stub's memory from the others: the records a
//! user stores ([`Quota`]: agents, threads and messages, in number and in bytes of text), and
//! the runs and streamed replies it has in flight ([`InFlight`]). Past either, the request is
//! refused with `LIMIT` (HTTP 429); deleting records gives their share back.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::auth::UserId;
use crate::domain::access::Denial;

/// What one user may store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quota {
    /// Agents, threads and messages, in all.
    pub records: usize,
    /// Bytes of names, titles and message contents.
    pub bytes: usize,
}

impl Quota {
    /// No limit (for tests of other things).
    pub const UNLIMITED: Quota = Quota {
        records: usize::MAX,
        bytes: usize::MAX,
    };
}

/// What one user stores now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Records.
    pub records: usize,
    /// Bytes of text.
    pub bytes: usize,
}

impl Usage {
    /// Whether `records` more records of `bytes` more bytes fit in `quota`; the denial if not.
    pub fn admit(&self, quota: Quota, records: usize, bytes: usize) -> Result<(), Denial> {
        let records_after = self.records.saturating_add(records);
        let bytes_after = self.bytes.saturating_add(bytes);
        if records_after > quota.records {
            return Err(Denial::Limit(format!(
                "a user stores at most {} records",
                quota.records
            )));
        }
        if bytes_after > quota.bytes {
            return Err(Denial::Limit(format!(
                "a user stores at most {} bytes of text",
                quota.bytes
            )));
        }
        Ok(())
    }

    /// Counts `records` and `bytes` more (or fewer, with [`Usage::remove`]).
    pub fn add(&mut self, records: usize, bytes: usize) {
        self.records = self.records.saturating_add(records);
        self.bytes = self.bytes.saturating_add(bytes);
    }

    /// Counts `records` and `bytes` fewer.
    pub fn remove(&mut self, records: usize, bytes: usize) {
        self.records = self.records.saturating_sub(records);
        self.bytes = self.bytes.saturating_sub(bytes);
    }
}

/// Background work (agent runs, streamed replies) in flight, per user, within a maximum.
#[derive(Debug)]
pub struct InFlight {
    max: usize,
    per_user: Mutex<HashMap<UserId, usize>>,
}

impl InFlight {
    /// At most `max` per user.
    pub fn new(max: usize) -> Arc<InFlight> {
        Arc::new(InFlight {
            max,
            per_user: Mutex::default(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<UserId, usize>> {
        self.per_user.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One more for `user`, held until the guard is dropped; `LIMIT` if it has the maximum.
    pub fn start(self: &Arc<Self>, user: UserId) -> Result<InFlightGuard, Denial> {
        let mut per_user = self.lock();
        let n = per_user.entry(user).or_default();
        if *n >= self.max {
            if *n == 0 {
                per_user.remove(&user);
            }
            return Err(Denial::Limit(format!(
                "a user has at most {} runs and replies in flight",
                self.max
            )));
        }
        *n += 1;
        Ok(InFlightGuard {
            in_flight: self.clone(),
            user,
        })
    }

    /// How many `user` has in flight.
    pub fn of(&self, user: UserId) -> usize {
        self.lock().get(&user).copied().unwrap_or(0)
    }
}

/// One piece of work in flight; gives its place back when dropped.
#[derive(Debug)]
pub struct InFlightGuard {
    in_flight: Arc<InFlight>,
    user: UserId,
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        let mut per_user = self.in_flight.lock();
        if let Some(n) = per_user.get_mut(&self.user) {
            *n -= 1;
            if *n == 0 {
                per_user.remove(&self.user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_is_admitted_within_the_quota() {
        let quota = Quota {
            records: 2,
            bytes: 10,
        };
        let mut usage = Usage::default();
        assert!(usage.admit(quota, 2, 10).is_ok());
        usage.add(2, 4);
        assert!(usage.admit(quota, 1, 0).is_err());
        usage.remove(1, 4);
        assert!(usage.admit(quota, 1, 10).is_ok());
        assert!(usage.admit(quota, 1, 11).is_err());
    }

    #[test]
    fn in_flight_is_capped_per_user_and_freed_on_drop() {
        let in_flight = InFlight::new(2);
        let a = in_flight.start(1).expect("first");
        let _b = in_flight.start(1).expect("second");
        assert!(in_flight.start(1).is_err());
        let _other = in_flight.start(2).expect("another user");
        drop(a);
        assert_eq!(in_flight.of(1), 1);
        assert!(in_flight.start(1).is_ok());
    }
}
