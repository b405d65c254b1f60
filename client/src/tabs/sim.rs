//! A simulated browser profile for native tests (feature `native`): tabs in one process, each
//! with its own tether client on tokio, sharing one in-process channel per name (every message
//! reaches every other tab, in order, later) and one lock per name (granted in request order,
//! released when its tab closes or crashes). The leader's real socket is a real one, to a real
//! server. Run everything on one `LocalSet`.

use std::any::Any;
use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::rc::{Rc, Weak};

use tokio::sync::mpsc;

use super::node::TabNode;
use super::platform::{Channel, Lock, Platform, WrapIo};
use super::wire::TabId;
use crate::core::Config;
use crate::AppState;

type Listener = mpsc::UnboundedSender<String>;

/// What runs when a lock is granted, and when it is stolen.
type Callbacks = (Box<dyn FnOnce()>, Box<dyn FnOnce()>);

#[derive(Default)]
struct LockState {
    /// The tab holding it, and what runs if it is stolen.
    holder: Option<(TabId, Box<dyn FnOnce()>)>,
    waiting: VecDeque<(TabId, Callbacks)>,
}

/// What waits for a frozen tab to thaw: (channel, message) pairs it posted and that were
/// posted to it, its timer tasks, and the news that its lock was stolen.
#[derive(Default)]
struct Held {
    posted: Vec<(String, String)>,
    received: Vec<(String, String)>,
    stolen: Vec<Box<dyn FnOnce()>>,
    timers: Vec<Box<dyn FnOnce()>>,
}

#[derive(Default)]
struct Profile {
    channels: BTreeMap<String, BTreeMap<TabId, Listener>>,
    locks: BTreeMap<String, LockState>,
    tabs: BTreeMap<TabId, Weak<AppState>>,
    frozen: BTreeMap<TabId, Held>,
    next_tab: TabId,
    next_seed: u64,
    steals: u64,
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
        let (app, node) = TabNode::start(config, id, platform);
        *app.tab.borrow_mut() = Some(node);
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

    /// Freezes a tab as the browser freezes a page: until [`SimBrowser::thaw_tab`], nothing it
    /// posts on a channel goes out and nothing reaches it, and its timer tasks and the news
    /// that its lock was stolen wait. (Its sockets and timers still run: a frozen leader's real socket stays
    /// open at the server, as a socket of a page frozen for a short while does.)
    pub fn freeze_tab(&self, app: &AppState) {
        if let Some(id) = self.tab_id(app) {
            self.profile.borrow_mut().frozen.entry(id).or_default();
        }
    }

    /// Thaws a frozen tab: what it posted goes out, what was posted to it arrives, in order,
    /// and then the news of a stolen lock.
    pub fn thaw_tab(&self, app: &AppState) {
        let Some(id) = self.tab_id(app) else { return };
        let Some(held) = self.profile.borrow_mut().frozen.remove(&id) else {
            return;
        };
        for (name, text) in held.posted {
            post_on(&mut self.profile.borrow_mut(), &name, id, &text);
        }
        {
            let p = self.profile.borrow();
            for (name, text) in held.received {
                if let Some(listener) = p.channels.get(&name).and_then(|l| l.get(&id)) {
                    let _ = listener.send(text);
                }
            }
        }
        for f in held.timers.into_iter().chain(held.stolen) {
            tokio::task::spawn_local(async move { f() });
        }
    }

    /// Probes `app`'s tab sent to a silent leader.
    pub fn probes(&self, app: &AppState) -> u64 {
        app.tab.borrow().as_ref().map_or(0, |n| n.probes())
    }

    /// Locks stolen so far, as the browser counts them.
    pub fn steals(&self) -> u64 {
        self.profile.borrow().steals
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
            p.frozen.remove(&id);
            for lock in p.locks.values_mut() {
                lock.waiting.retain(|(t, _)| *t != id);
                if lock.holder.as_ref().map(|(t, _)| *t) == Some(id) {
                    lock.holder = None;
                    if let Some((next, (granted, stolen))) = lock.waiting.pop_front() {
                        lock.holder = Some((next, stolen));
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

/// Cancels a task when dropped.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
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
        let mut p = self.browser.profile.borrow_mut();
        match p.frozen.get_mut(&self.tab) {
            Some(held) => held.posted.push((self.name.clone(), text.to_owned())),
            None => post_on(&mut p, &self.name, self.tab, text),
        }
    }
}

/// Delivers `text`, posted by `from` on channel `name`, to every other tab (held for frozen
/// ones).
fn post_on(p: &mut Profile, name: &str, from: TabId, text: &str) {
    let Profile {
        channels, frozen, ..
    } = p;
    for (tab, listener) in channels.get(name).into_iter().flatten() {
        if *tab == from {
            continue;
        }
        match frozen.get_mut(tab) {
            Some(held) => held.received.push((name.to_owned(), text.to_owned())),
            None => {
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
            if lock.holder.as_ref().map(|(t, _)| *t) != Some(self.tab) {
                return;
            }
            lock.holder = None;
            let Some((tab, (granted, stolen))) = lock.waiting.pop_front() else {
                return;
            };
            lock.holder = Some((tab, stolen));
            granted
        };
        tokio::task::spawn_local(async move { grant() });
    }
}

impl Lock for SimLock {
    fn request(&self, granted: Box<dyn FnOnce()>, stolen: Box<dyn FnOnce()>) {
        let mut p = self.browser.profile.borrow_mut();
        let lock = p.locks.entry(self.name.clone()).or_default();
        if lock.holder.is_none() {
            lock.holder = Some((self.tab, stolen));
            drop(p);
            tokio::task::spawn_local(async move { granted() });
        } else {
            lock.waiting.push_back((self.tab, (granted, stolen)));
        }
    }

    fn steal(&self, granted: Box<dyn FnOnce()>, stolen: Box<dyn FnOnce()>) {
        let mut p = self.browser.profile.borrow_mut();
        let lock = p.locks.entry(self.name.clone()).or_default();
        let previous = lock.holder.replace((self.tab, stolen));
        p.steals += 1;
        if let Some((tab, was_stolen)) = previous {
            match p.frozen.get_mut(&tab) {
                Some(held) => held.stolen.push(was_stolen),
                None => {
                    tokio::task::spawn_local(async move { was_stolen() });
                }
            }
        }
        drop(p);
        tokio::task::spawn_local(async move { granted() });
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

    fn later(&self, f: Box<dyn FnOnce()>) -> Box<dyn Any> {
        let (browser, tab) = (self.browser.clone(), self.tab);
        let task = tokio::task::spawn_local(async move {
            tokio::task::yield_now().await;
            let mut p = browser.profile.borrow_mut();
            match p.frozen.get_mut(&tab) {
                Some(held) => held.timers.push(f),
                None => {
                    drop(p);
                    f();
                }
            }
        });
        Box::new(AbortOnDrop(task.abort_handle()))
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
