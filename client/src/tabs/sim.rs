//! A simulated browser profile for native tests (feature `native`): tabs in one process, each
//! with its own tether client on tokio, sharing one in-process channel per name (every message
//! reaches every other tab, in order, later) and one lock per name (granted in request order,
//! released when its tab closes or crashes). The leader's real socket is a real one, to a real
//! server. Run everything on one `LocalSet`.

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::rc::{Rc, Weak};

use tokio::sync::mpsc;

use super::wire::TabId;
use super::{Channel, Lock, Platform, TabNode, WrapIo};
use crate::core::Config;
use crate::AppState;

type Listener = mpsc::UnboundedSender<String>;

#[derive(Default)]
struct LockState {
    holder: Option<TabId>,
    waiting: VecDeque<(TabId, Box<dyn FnOnce()>)>,
}

#[derive(Default)]
struct Profile {
    channels: BTreeMap<String, BTreeMap<TabId, Listener>>,
    locks: BTreeMap<String, LockState>,
    tabs: BTreeMap<TabId, Weak<AppState>>,
    next_tab: TabId,
    next_seed: u64,
}

/// One browser profile: open tabs in it, close them, crash them.
#[derive(Clone, Default)]
pub struct SimBrowser {
    profile: Rc<RefCell<Profile>>,
}

impl SimBrowser {
    /// An empty profile.
    pub fn new() -> SimBrowser {
        SimBrowser::default()
    }

    /// Opens a tab of the app: its state, connecting, sharing `config.share`.
    pub fn open_tab(&self, config: Config) -> Rc<AppState> {
        let id = {
            let mut p = self.profile.borrow_mut();
            p.next_tab += 1;
            p.next_tab
        };
        let platform = Rc::new(SimPlatform {
            browser: self.clone(),
            tab: id,
        });
        let app = TabNode::start(config, id, platform);
        self.profile
            .borrow_mut()
            .tabs
            .insert(id, Rc::downgrade(&app));
        app
    }

    /// The tab's id, if `app` is a tab of this profile.
    pub fn tab_id(&self, app: &AppState) -> Option<TabId> {
        app.tab.borrow().as_ref().map(|n| n.id())
    }

    /// Closes a tab as its page does: it says goodbye, then its state is dropped (pass the last
    /// `Rc`), and the browser releases its lock.
    pub fn close_tab(&self, app: Rc<AppState>) {
        let id = self.tab_id(&app);
        drop(app); // AppState's drop leaves (bye, closes the hub's tabs)
        if let Some(id) = id {
            self.forget(id);
        }
    }

    /// Kills a tab without a goodbye: its channel and lock go away, nothing else is said.
    pub fn crash_tab(&self, app: Rc<AppState>) {
        let id = self.tab_id(&app);
        if let Some(node) = app.tab.borrow_mut().take() {
            // Forget the node without letting it speak: its hub and clients drop silently.
            drop(node);
        }
        if let Some(id) = id {
            self.forget(id);
        }
        drop(app);
    }

    /// Tabs open.
    pub fn tabs(&self) -> usize {
        self.profile.borrow().tabs.len()
    }

    fn forget(&self, id: TabId) {
        let grant = {
            let mut p = self.profile.borrow_mut();
            p.tabs.remove(&id);
            for listeners in p.channels.values_mut() {
                listeners.remove(&id);
            }
            let mut grants = Vec::new();
            for lock in p.locks.values_mut() {
                lock.waiting.retain(|(t, _)| *t != id);
                if lock.holder == Some(id) {
                    lock.holder = None;
                    if let Some((next, granted)) = lock.waiting.pop_front() {
                        lock.holder = Some(next);
                        grants.push(granted);
                    }
                }
            }
            grants
        };
        for granted in grant {
            tokio::task::spawn_local(async move { granted() });
        }
    }
}

struct SimPlatform {
    browser: SimBrowser,
    tab: TabId,
}

struct SimChannel {
    browser: SimBrowser,
    name: String,
    tab: TabId,
}

impl Channel for SimChannel {
    fn post(&self, text: &str) {
        let p = self.browser.profile.borrow();
        for (tab, listener) in p.channels.get(&self.name).into_iter().flatten() {
            if *tab != self.tab {
                let _ = listener.send(text.to_owned());
            }
        }
    }
}

struct SimLock {
    browser: SimBrowser,
    name: String,
    tab: TabId,
}

impl Drop for SimLock {
    /// Releases the lock if this tab holds it, and withdraws its requests.
    fn drop(&mut self) {
        let grant = {
            let Ok(mut p) = self.browser.profile.try_borrow_mut() else {
                return;
            };
            let Some(lock) = p.locks.get_mut(&self.name) else {
                return;
            };
            lock.waiting.retain(|(t, _)| *t != self.tab);
            if lock.holder != Some(self.tab) {
                return;
            }
            lock.holder = None;
            let next = lock.waiting.pop_front();
            if let Some((tab, _)) = &next {
                lock.holder = Some(*tab);
            }
            next.map(|(_, granted)| granted)
        };
        if let Some(granted) = grant {
            tokio::task::spawn_local(async move { granted() });
        }
    }
}

impl Lock for SimLock {
    fn request(&self, granted: Box<dyn FnOnce()>) {
        let mut p = self.browser.profile.borrow_mut();
        let lock = p.locks.entry(self.name.clone()).or_default();
        if lock.holder.is_none() {
            lock.holder = Some(self.tab);
            drop(p);
            tokio::task::spawn_local(async move { granted() });
        } else {
            lock.waiting.push_back((self.tab, granted));
        }
    }
}

impl Platform for SimPlatform {
    fn channel(&self, name: &str, on_message: Box<dyn Fn(String)>) -> Box<dyn Channel> {
        let (tx, mut rx) = mpsc::unbounded_channel::<String>();
        self.browser
            .profile
            .borrow_mut()
            .channels
            .entry(name.to_owned())
            .or_default()
            .insert(self.tab, tx);
        tokio::task::spawn_local(async move {
            while let Some(text) = rx.recv().await {
                on_message(text);
            }
        });
        Box::new(SimChannel {
            browser: self.browser.clone(),
            name: name.to_owned(),
            tab: self.tab,
        })
    }

    fn lock(&self, name: &str) -> Box<dyn Lock> {
        Box::new(SimLock {
            browser: self.browser.clone(),
            name: name.to_owned(),
            tab: self.tab,
        })
    }

    fn defer(&self, f: Box<dyn FnOnce()>) {
        tokio::task::spawn_local(async move { f() });
    }

    fn tab_client(&self, config: Config, wrap: WrapIo) -> Rc<AppState> {
        let (app, driver, _) = crate::native::app_wrapped(config, self.seed(), wrap);
        tokio::task::spawn_local(driver.run());
        app
    }

    fn real_client(&self, config: Config) -> Rc<AppState> {
        let (app, driver, _) = crate::native::app(config, self.seed());
        tokio::task::spawn_local(driver.run());
        app.client.connect();
        app
    }
}

impl SimPlatform {
    fn seed(&self) -> u64 {
        let mut p = self.browser.profile.borrow_mut();
        p.next_seed += 1;
        p.next_seed * 7_919 + self.tab
    }
}
