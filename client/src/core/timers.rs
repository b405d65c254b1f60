//! The core's timers in one table, keyed by [`Timer`]. The connection arms and stops them by
//! name; [`TimerTable::next`] is what `poll_timeout` reports, and [`TimerTable::take_due`]
//! yields the expired ones in a fixed order, each handled by its own `on_*_timeout`.

use super::time::Instant;

/// Every timer the core keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Timer {
    /// The next reconnect attempt (armed only by `Connection::apply`, after the decision).
    Retry,
    /// The socket being opened must open and prove itself by then.
    Connect,
    /// The next client ping.
    Ping,
    /// Some frame must arrive by then, or the link is declared dead.
    Liveness,
    /// The earliest request deadline (a reply overdue).
    Requests,
    /// The earliest outbox deadline (a queued frame waited too long).
    Outbox,
}

impl Timer {
    /// In the order due timers are handled: retries first, so that a retry due with a
    /// liveness check does not also fire the check on the socket it replaces.
    const ALL: [Timer; 6] = [
        Timer::Retry,
        Timer::Connect,
        Timer::Liveness,
        Timer::Ping,
        Timer::Requests,
        Timer::Outbox,
    ];

    fn index(self) -> usize {
        self as usize
    }
}

/// When each timer fires, if armed.
#[derive(Clone, Debug, Default)]
pub struct TimerTable([Option<Instant>; 6]);

impl TimerTable {
    /// Arms `timer` at `at`, replacing its previous deadline.
    pub fn set(&mut self, timer: Timer, at: Instant) {
        self.0[timer.index()] = Some(at);
    }

    /// Arms `timer` at `at`, or stops it with `None`.
    pub fn set_opt(&mut self, timer: Timer, at: Option<Instant>) {
        self.0[timer.index()] = at;
    }

    /// Stops `timer`.
    pub fn stop(&mut self, timer: Timer) {
        self.0[timer.index()] = None;
    }

    /// The earliest deadline.
    pub fn next(&self) -> Option<Instant> {
        self.0.iter().filter_map(|t| *t).min()
    }

    /// Stops and returns every timer due at `now`, in handling order.
    pub fn take_due(&mut self, now: Instant) -> Vec<Timer> {
        Timer::ALL
            .into_iter()
            .filter(|t| {
                let slot = &mut self.0[t.index()];
                let due = slot.is_some_and(|at| at <= now);
                if due {
                    *slot = None;
                }
                due
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_timers_come_out_once_in_order() {
        let mut t = TimerTable::default();
        t.set(Timer::Ping, Instant(10));
        t.set(Timer::Retry, Instant(10));
        t.set(Timer::Liveness, Instant(30));
        assert_eq!(t.next(), Some(Instant(10)));
        assert_eq!(t.take_due(Instant(9)), []);
        assert_eq!(t.take_due(Instant(10)), [Timer::Retry, Timer::Ping]);
        assert_eq!(t.take_due(Instant(10)), []);
        assert_eq!(t.next(), Some(Instant(30)));
        t.stop(Timer::Liveness);
        assert_eq!(t.next(), None);
    }
}
