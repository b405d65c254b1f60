//! Fair admission of TCP connections. The accept loop cannot know a connection's user before
//! its request head is read, so every connection starts in the **HTTP budget**, which is
//! bounded in total ([`Limits::max_http_connections`]) and per peer address
//! ([`Limits::max_http_connections_per_ip`]); a connection leaves it only when it becomes a
//! signed-in user's WebSocket ([`ConnectionSlot::promote`]), and the per-user cap
//! ([`Limits::max_connections_per_user`]) bounds those. So silent sockets, unfinished heads and
//! unread answers from one address take at most that address's share, and all of them together
//! at most the HTTP budget: `max_connections - max_http_connections` slots are kept for the
//! WebSockets of signed-in users, which no unauthenticated client can take.
//!
//! A connection past any budget is answered `503` at once and closed: it never waits in the
//! listen backlog behind the attacker's.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::limits::Limits;

/// Why a connection was not admitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// Every slot is taken.
    Full,
    /// The HTTP budget is spent.
    HttpFull,
    /// The peer address's share of the HTTP budget is spent.
    AddressFull,
}

/// What is counted now.
#[derive(Debug, Default)]
struct Counts {
    open: usize,
    http: usize,
    per_ip: HashMap<IpAddr, usize>,
}

/// The connection budgets of one accept loop.
#[derive(Debug)]
pub struct Budget {
    max_open: usize,
    max_http: usize,
    max_per_ip: usize,
    counts: Mutex<Counts>,
}

impl Budget {
    /// The budgets of `limits` (each at least 1; the HTTP budget at most the total).
    pub fn new(limits: &Limits) -> Arc<Budget> {
        let max_open = limits.max_connections.max(1);
        Arc::new(Budget {
            max_open,
            max_http: limits.max_http_connections.clamp(1, max_open),
            max_per_ip: limits.max_http_connections_per_ip.max(1),
            counts: Mutex::default(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Admits a new connection from `ip` into the HTTP budget, or says why not.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<ConnectionSlot, Refused> {
        let mut counts = self.lock();
        if counts.open >= self.max_open {
            return Err(Refused::Full);
        }
        if counts.http >= self.max_http {
            return Err(Refused::HttpFull);
        }
        let of_ip = counts.per_ip.entry(ip).or_default();
        if *of_ip >= self.max_per_ip {
            return Err(Refused::AddressFull);
        }
        *of_ip += 1;
        counts.http += 1;
        counts.open += 1;
        Ok(ConnectionSlot {
            budget: self.clone(),
            ip,
            promoted: AtomicBool::new(false),
        })
    }

    /// Connections open, and of those in the HTTP budget.
    pub fn counts(&self) -> (usize, usize) {
        let counts = self.lock();
        (counts.open, counts.http)
    }

    /// Takes one connection of `ip` out of the HTTP budget.
    fn leave_http(&self, counts: &mut Counts, ip: IpAddr) {
        counts.http = counts.http.saturating_sub(1);
        if let Some(n) = counts.per_ip.get_mut(&ip) {
            *n -= 1;
            if *n == 0 {
                counts.per_ip.remove(&ip);
                shrink(&mut counts.per_ip);
            }
        }
    }
}

/// Gives a map's memory back once it holds far fewer entries than it has room for.
fn shrink<K: std::hash::Hash + Eq, V>(map: &mut HashMap<K, V>) {
    if map.capacity() > 64 && map.len() < map.capacity() / 4 {
        map.shrink_to(map.len() * 2);
    }
}

/// One admitted connection's place in the budget, given back when dropped. It travels with
/// the socket (through a WebSocket upgrade too), and requests carry it as an extension so that
/// the upgrade can [promote](ConnectionSlot::promote) it.
#[derive(Debug)]
pub struct ConnectionSlot {
    budget: Arc<Budget>,
    ip: IpAddr,
    promoted: AtomicBool,
}

impl ConnectionSlot {
    /// The connection became a signed-in user's WebSocket: it leaves the HTTP budget (and its
    /// address's share), keeping its place in the total.
    pub fn promote(&self) {
        if !self.promoted.swap(true, Ordering::Relaxed) {
            let mut counts = self.budget.lock();
            self.budget.leave_http(&mut counts, self.ip);
        }
    }

    /// Whether it was promoted.
    pub fn is_promoted(&self) -> bool {
        self.promoted.load(Ordering::Relaxed)
    }

    /// The peer's address.
    pub fn ip(&self) -> IpAddr {
        self.ip
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut counts = self.budget.lock();
        counts.open = counts.open.saturating_sub(1);
        if !self.promoted.load(Ordering::Relaxed) {
            self.budget.leave_http(&mut counts, self.ip);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(total: usize, http: usize, per_ip: usize) -> Arc<Budget> {
        Budget::new(&Limits {
            max_connections: total,
            max_http_connections: http,
            max_http_connections_per_ip: per_ip,
            ..Limits::default()
        })
    }

    #[test]
    fn an_address_takes_its_share_and_the_rest_is_kept_for_websockets() {
        let budget = budget(6, 4, 2);
        let (a, b) = ([127, 0, 0, 1].into(), [127, 0, 0, 2].into());
        let a1 = budget.admit(a).expect("first of a");
        let a2 = budget.admit(a).expect("second of a");
        assert_eq!(budget.admit(a).err(), Some(Refused::AddressFull));
        let b1 = budget.admit(b).expect("first of b");
        let b2 = budget.admit(b).expect("second of b");
        assert_eq!(
            budget.admit([127, 0, 0, 3].into()).err(),
            Some(Refused::HttpFull)
        );
        a1.promote();
        b1.promote();
        assert_eq!(budget.counts(), (4, 2));
        let a3 = budget
            .admit(a)
            .expect("a promoted socket frees its address's share");
        let b3 = budget.admit(b).expect("and b's");
        assert_eq!(budget.admit(b).err(), Some(Refused::Full));
        drop((a2, b2, a3, b3));
        assert_eq!(budget.counts(), (2, 0));
        drop((a1, b1));
        assert_eq!(budget.counts(), (0, 0));
    }

    #[test]
    fn the_http_budget_is_at_most_the_total() {
        let budget = budget(2, 10, 10);
        let ip = [10, 0, 0, 1].into();
        let _slots = (budget.admit(ip), budget.admit(ip));
        assert_eq!(budget.admit(ip).err(), Some(Refused::Full));
    }
}
