//! The dashboard: a live list of the user's agents.
//!
//! [`DashboardWsManager`] subscribes to `user:{me}` (agent created or deleted) and to
//! `agent:{id}` for every agent it knows; a newly created agent is subscribed to, a deleted one
//! unsubscribed. [`DashboardModel`] applies `agent_state`, `agent_created`, `agent_updated`,
//! `agent_deleted` and `run_update`.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::{Rc, Weak};

use crate::core::TopicEvent;
use crate::protocol::model::{Agent, RunUpdate};
use crate::protocol::{ServerMessage, Topic};
use crate::{Subscription, TopicManager};

/// One agent and its latest run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentRow {
    /// The agent.
    pub agent: Agent,
    /// Its latest run, if one was seen.
    pub run: Option<RunUpdate>,
}

/// What an applied message changed in the set of agents.
#[derive(Debug, PartialEq, Eq)]
pub enum Membership {
    /// Nothing about which agents exist.
    Same,
    /// A new agent to subscribe to.
    Added(u64),
    /// An agent to unsubscribe from.
    Removed(u64),
}

/// The dashboard's state: agents by id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DashboardModel {
    agents: BTreeMap<u64, AgentRow>,
    loaded: bool,
}

impl DashboardModel {
    /// The agents, by id.
    pub fn agents(&self) -> impl Iterator<Item = &AgentRow> {
        self.agents.values()
    }

    /// One agent.
    pub fn agent(&self, id: u64) -> Option<&AgentRow> {
        self.agents.get(&id)
    }

    /// True once the REST list was loaded.
    pub fn is_loaded(&self) -> bool {
        self.loaded
    }

    /// Merges the REST list: agents it lacks were deleted; live updates newer than it win.
    pub fn load(&mut self, agents: Vec<Agent>) -> Vec<Membership> {
        let mut changes = Vec::new();
        let fresh: BTreeMap<u64, Agent> = agents.into_iter().map(|a| (a.id, a)).collect();
        let gone: Vec<u64> = self
            .agents
            .keys()
            .filter(|id| !fresh.contains_key(id))
            .copied()
            .collect();
        for id in gone {
            self.agents.remove(&id);
            changes.push(Membership::Removed(id));
        }
        for (id, agent) in fresh {
            match self.agents.get_mut(&id) {
                Some(row) if row.agent.updated_at > agent.updated_at => {}
                Some(row) => row.agent = agent,
                None => {
                    self.agents.insert(id, AgentRow { agent, run: None });
                    changes.push(Membership::Added(id));
                }
            }
        }
        self.loaded = true;
        changes
    }

    /// Applies one server message.
    pub fn apply(&mut self, msg: &ServerMessage) -> Membership {
        match msg {
            ServerMessage::AgentCreated(a) => self.upsert(a),
            ServerMessage::AgentState(a) | ServerMessage::AgentUpdated(a) => {
                self.upsert(a);
                Membership::Same
            }
            ServerMessage::AgentDeleted(d) => match self.agents.remove(&d.id) {
                Some(_) => Membership::Removed(d.id),
                None => Membership::Same,
            },
            ServerMessage::RunUpdate(run) => {
                if let Some(row) = self.agents.get_mut(&run.agent_id) {
                    row.run = Some(run.clone());
                }
                Membership::Same
            }
            _ => Membership::Same,
        }
    }

    fn upsert(&mut self, agent: &Agent) -> Membership {
        match self.agents.get_mut(&agent.id) {
            Some(row) => {
                row.agent = agent.clone();
                Membership::Same
            }
            None => {
                self.agents.insert(
                    agent.id,
                    AgentRow {
                        agent: agent.clone(),
                        run: None,
                    },
                );
                Membership::Added(agent.id)
            }
        }
    }
}

struct Inner {
    topics: TopicManager,
    model: RefCell<DashboardModel>,
    agent_subs: RefCell<BTreeMap<u64, Subscription>>,
    user_sub: RefCell<Option<Subscription>>,
    stale: Cell<bool>,
    on_change: Box<dyn Fn()>,
}

/// Keeps a dashboard's model live while it is mounted. Dropping it drops every handler.
#[must_use = "the dashboard's handlers are dropped with the manager"]
pub struct DashboardWsManager {
    inner: Rc<Inner>,
}

impl DashboardWsManager {
    /// Mounts for `user`: subscribes to `user:{user}`. Call [`DashboardWsManager::load`] with
    /// the REST list next. `on_change` runs after every change to the model.
    pub fn mount(
        topics: &TopicManager,
        user: u64,
        on_change: impl Fn() + 'static,
    ) -> DashboardWsManager {
        let inner = Rc::new(Inner {
            topics: topics.clone(),
            model: RefCell::new(DashboardModel::default()),
            agent_subs: RefCell::new(BTreeMap::new()),
            user_sub: RefCell::new(None),
            stale: Cell::new(false),
            on_change: Box::new(on_change),
        });
        let sub = topics.subscribe(Topic::User(user), handler(Rc::downgrade(&inner)));
        *inner.user_sub.borrow_mut() = Some(sub);
        DashboardWsManager { inner }
    }

    /// Applies the REST list and subscribes to every agent in it.
    pub fn load(&self, agents: Vec<Agent>) {
        self.inner.stale.set(false);
        let changes = self.inner.model.borrow_mut().load(agents);
        for change in changes {
            self.inner.follow(change);
        }
        (self.inner.on_change)();
    }

    /// Like `is_stale`, and clears the flag: the caller is reloading.
    pub fn take_stale(&self) -> bool {
        self.inner.stale.replace(false)
    }

    /// A copy of the model.
    pub fn model(&self) -> DashboardModel {
        self.inner.model.borrow().clone()
    }

    /// True after a `resync_required`: the caller should load the REST list again.
    pub fn is_stale(&self) -> bool {
        self.inner.stale.get()
    }

    /// The agent topics held.
    pub fn subscribed_agents(&self) -> Vec<u64> {
        self.inner.agent_subs.borrow().keys().copied().collect()
    }
}

fn handler(weak: Weak<Inner>) -> impl Fn(&TopicEvent) + 'static {
    move |event| {
        if let Some(inner) = weak.upgrade() {
            inner.on_event(event);
        }
    }
}

impl Inner {
    fn on_event(self: &Rc<Self>, event: &TopicEvent) {
        if let ServerMessage::ResyncRequired(_) = event.frame.msg {
            self.stale.set(true);
        } else {
            let change = self.model.borrow_mut().apply(&event.frame.msg);
            self.follow(change);
        }
        (self.on_change)();
    }

    fn follow(self: &Rc<Self>, change: Membership) {
        match change {
            Membership::Added(id) => {
                if !self.agent_subs.borrow().contains_key(&id) {
                    let sub = self
                        .topics
                        .subscribe(Topic::Agent(id), handler(Rc::downgrade(self)));
                    self.agent_subs.borrow_mut().insert(id, sub);
                }
            }
            Membership::Removed(id) => {
                let sub = self.agent_subs.borrow_mut().remove(&id);
                drop(sub);
            }
            Membership::Same => {}
        }
    }
}
