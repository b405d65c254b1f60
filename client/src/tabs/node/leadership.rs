//! Leadership: asking for the lock, taking the lead when it is granted, stepping down when
//! another tab takes it, and noticing a leader that has gone silent (frozen or stuck), whose
//! lock a follower then steals. Also each tab's own lock, which tells the leader a tab is gone.

use std::rc::Rc;

use super::{NodeHost, TabNode};
use crate::protocol::CloseCode;
use crate::tabs::hub::Hub;
use crate::tabs::wire::{TabId, TabMessage};
use crate::tabs::Lock;

impl TabNode {
    /// Another tab (or this one) took the lead: a virtual socket to any other leader is stale,
    /// and one still opening asks the new leader.
    pub(super) fn on_new_leader(self: &Rc<Self>, leader: TabId) {
        if leader != self.id && self.hub.borrow().is_some() {
            // Two leaders cannot both hold the lock; step down rather than split the tabs.
            let hub = self.hub.borrow_mut().take();
            if let Some(hub) = hub {
                hub.close_all(CloseCode::RESTART);
            }
        }
        let pending = {
            let v = self.virtual_socket.borrow();
            match v.as_ref() {
                Some(v) if v.leader.is_some_and(|l| l != leader) => Err(v.socket.0),
                Some(v) if v.leader.is_none() => Ok(Some(v.socket.0)),
                _ => Ok(None),
            }
        };
        match pending {
            Err(stale) => self.end_virtual(stale, CloseCode::RESTART),
            Ok(Some(socket)) => self.post(TabMessage::Open {
                from: self.id,
                socket,
            }),
            Ok(None) => {}
        }
    }

    /// Asks for the leadership lock (dropping any earlier request first); with `steal`, takes
    /// it from a leader that has gone silent.
    pub(super) fn ask_to_lead(self: &Rc<Self>, steal: bool) {
        drop(self.lock.borrow_mut().take());
        let lock = self.platform.lock(&self.name);
        let granted = Rc::downgrade(self);
        let granted: Box<dyn FnOnce()> = Box::new(move || {
            if let Some(node) = granted.upgrade() {
                node.become_leader();
            }
        });
        let stolen = Rc::downgrade(self);
        let stolen: Box<dyn FnOnce()> = Box::new(move || {
            if let Some(node) = stolen.upgrade() {
                node.lost_the_lead();
            }
        });
        if steal {
            lock.steal(granted, stolen);
        } else {
            lock.request(granted, stolen);
        }
        *self.lock.borrow_mut() = Some(lock);
    }

    /// Another tab stole the lock while this one was silent (frozen, or stuck): step down,
    /// sending the tabs to the new leader, and wait in line again.
    pub(super) fn lost_the_lead(self: &Rc<Self>) {
        let hub = self.hub.borrow_mut().take();
        if let Some(hub) = hub {
            hub.close_all(CloseCode::RESTART);
        }
        self.changes.notify(&self.sharing());
        self.ask_to_lead(false);
    }

    /// This tab's client gave up on its virtual socket (no pong, or no answer to opening it)
    /// while another tab leads. The first time, probe: a live leader answers from a timer
    /// task, even with its server down. When it happens again with no answer in between, the
    /// leader's timers are frozen or stuck: take its lock.
    pub(super) fn leader_silent(self: &Rc<Self>) {
        if self.hub.borrow().is_some() {
            return;
        }
        if self.probing.replace(true) {
            self.probing.set(false);
            self.ask_to_lead(true);
        } else {
            self.probes.set(self.probes.get() + 1);
            self.post(TabMessage::Probe { from: self.id });
        }
    }

    pub(super) fn become_leader(self: &Rc<Self>) {
        let mut config = self.settings.settings();
        config.share = None;
        config.relay_replies = true;
        // The tabs' own clients resume, each from its storage; the hub's never does.
        #[cfg(feature = "resume")]
        {
            config.resume = None;
        }
        let token = self.token.clone();
        config.token = Box::new(move || (token.borrow_mut())());
        let upstream = self.platform.real_client(config);
        let hub = Hub::start(self.id, Box::new(NodeHost(Rc::downgrade(self))), upstream);
        *self.hub.borrow_mut() = Some(hub);
        self.post(TabMessage::Leader { tab: self.id });
    }

    /// Waits on `tab`'s own lock: `gone` runs (later, not inside the grant) once the browser
    /// gives it to this tab, which means `tab` closed or crashed. Drop the lock to stop
    /// waiting (and to release it once granted).
    pub(in crate::tabs) fn watch_tab(&self, tab: TabId, gone: Box<dyn FnOnce()>) -> Box<dyn Lock> {
        let lock = self.platform.lock(&alive_lock(&self.name, tab));
        let platform = self.platform.clone();
        lock.request(Box::new(move || platform.defer(gone)), Box::new(|| {}));
        lock
    }
}

/// The name of tab `tab`'s own lock.
pub(super) fn alive_lock(name: &str, tab: TabId) -> String {
    let mut lock = [name, ":tab:"].concat();
    crate::protocol::json::push_u64(&mut lock, tab);
    lock
}
