//! The dashboard: a live list of the user's agents.
//!
//! [`DashboardWsManager`] subscribes to `user:{me}` (agents created or deleted) and, once that
//! subscription is active, asks for the REST list ([`LoadGate`]); then it follows `agent:{id}`
//! for every agent it knows, subscribing to created agents and dropping deleted ones. Each agent
//! topic starts with its `agent_state` snapshot. [`DashboardModel`] is the pure part.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::{Rc, Weak};

use crate::core::TopicEvent;
use crate::live::{GateStep, LoadGate, LoadState, LoadTicket};
use crate::protocol::agents::model::{Agent, RunUpdate};
use crate::protocol::agents::AgentsMessage;
use crate::protocol::{Frame, Topic};
use crate::{Subscription, TopicManager};

/// One agent and its latest run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentRow {
    /// The agent.
    pub agent: Agent,
    /// Its latest run, if one was seen: by a `run_update`, or in the agent's own data (its
    /// `last_run`, which tether's stub sends in the snapshot and the REST list, so that a
    /// dashboard mounted again still shows the runs).
    pub run: Option<RunUpdate>,
}

impl AgentRow {
    fn new(agent: Agent) -> AgentRow {
        let run = agent.last_run.clone();
        AgentRow { agent, run }
    }

    /// Takes the run the agent's data carries: it replaces the row's, unless it is the same
    /// run seen less far along (a list fetched before the latest `run_update`).
    fn take_run(&mut self, run: Option<&RunUpdate>) {
        let Some(run) = run else {
            return;
        };
        let behind = self
            .run
            .as_ref()
            .is_some_and(|seen| seen.id == run.id && !run.is_as_far_as(seen));
        if !behind {
            self.run = Some(run.clone());
        }
    }
}

/// What an applied message changed in the set of agents.
#[derive(Debug, PartialEq, Eq)]
pub enum Membership {
    /// Nothing about which agents exist.
    Same,
    /// A new agent to follow.
    Added(u64),
    /// An agent to stop following.
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

    /// Merges the REST list: agents it lacks were deleted; a live update newer than the list
    /// (by `updated_at`) wins.
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
                Some(row) if row.agent.updated_at > agent.updated_at => {
                    row.take_run(agent.last_run.as_ref())
                }
                Some(row) => {
                    row.agent.merge(&agent);
                    row.take_run(agent.last_run.as_ref());
                }
                None => {
                    self.agents.insert(id, AgentRow::new(agent));
                    changes.push(Membership::Added(id));
                }
            }
        }
        self.loaded = true;
        changes
    }

    /// Applies one event.
    pub fn apply(&mut self, event: &Frame) -> Membership {
        let Ok(message) = event.decode_as::<AgentsMessage>() else {
            return Membership::Same;
        };
        match message {
            AgentsMessage::AgentCreated(a) => self.upsert(a),
            AgentsMessage::AgentState(a) | AgentsMessage::AgentUpdated(a) => {
                self.upsert(a);
                Membership::Same
            }
            AgentsMessage::AgentDeleted(d) => match self.agents.remove(&d.id) {
                Some(_) => Membership::Removed(d.id),
                None => Membership::Same,
            },
            AgentsMessage::RunUpdate(run) => {
                if let Some(row) = self.agents.get_mut(&run.agent_id) {
                    row.run = Some(run);
                }
                Membership::Same
            }
            _ => Membership::Same,
        }
    }

    /// Adds or updates an agent (the answer to a REST create, or an event).
    pub fn upsert(&mut self, agent: Agent) -> Membership {
        match self.agents.get_mut(&agent.id) {
            Some(row) => {
                row.agent.merge(&agent);
                row.take_run(agent.last_run.as_ref());
                Membership::Same
            }
            None => {
                let id = agent.id;
                self.agents.insert(id, AgentRow::new(agent));
                Membership::Added(id)
            }
        }
    }
}

struct Inner {
    topics: TopicManager,
    model: RefCell<Rc<DashboardModel>>,
    gate: RefCell<LoadGate>,
    agent_subs: RefCell<BTreeMap<u64, Subscription>>,
    on_change: Box<dyn Fn()>,
    load: Box<dyn Fn(LoadTicket)>,
}

/// Keeps a dashboard's model live while it is mounted. Dropping it drops every handler.
///
/// ```no_run
/// # use tether_client::agents::DashboardWsManager;
/// # fn demo(app: &tether_client::AppState) {
/// let dashboard = DashboardWsManager::mount(&app.topics, 1, || { /* re-render */ }, |ticket| {
///     // Fetch GET /api/agents, then call `dashboard.load_agents(ticket, …)`.
///     let _ = ticket;
/// });
/// for row in dashboard.model().agents() {
///     println!("{} is {:?}", row.agent.display_name(), row.agent.status);
/// }
/// # }
/// ```
#[must_use = "the dashboard's handlers are dropped with the manager"]
pub struct DashboardWsManager {
    inner: Rc<Inner>,
    _user: Subscription,
}

impl DashboardWsManager {
    /// Mounts for `user`: subscribes to `user:{user}`. When that is active (and after any
    /// resync), `load` is called with a ticket: fetch the REST list and hand it to
    /// [`DashboardWsManager::load_agents`]. `on_change` runs after every change.
    pub fn mount(
        topics: &TopicManager,
        user: u64,
        on_change: impl Fn() + 'static,
        load: impl Fn(LoadTicket) + 'static,
    ) -> DashboardWsManager {
        let inner = Rc::new(Inner {
            topics: topics.clone(),
            model: RefCell::default(),
            gate: RefCell::default(),
            agent_subs: RefCell::default(),
            on_change: Box::new(on_change),
            load: Box::new(load),
        });
        let weak = Rc::downgrade(&inner);
        let user = topics.subscribe(Topic::user(user), move |event: &TopicEvent| {
            if let Some(inner) = weak.upgrade() {
                inner.on_user_event(event);
            }
        });
        DashboardWsManager { inner, _user: user }
    }

    /// The REST list for `ticket` arrived, current to `user:{me}`'s `seq` (if numbered): it is
    /// merged, and every agent in it is followed.
    pub fn load_agents(&self, ticket: LoadTicket, agents: Vec<Agent>, seq: Option<u64>) {
        let Some(after) = self.inner.gate.borrow_mut().loaded(ticket, seq) else {
            return;
        };
        let mut changes = self.inner.update(|m| m.load(agents));
        for event in &after {
            changes.push(self.inner.update(|m| m.apply(event)));
        }
        for change in changes {
            self.inner.follow(change);
        }
    }

    /// Adds an agent the app created over REST, without waiting for its event.
    pub fn add_agent(&self, agent: Agent) {
        let change = self.inner.update(|m| m.upsert(agent));
        self.inner.follow(change);
    }

    /// The model now. Cheap: it is shared until the next change.
    pub fn model(&self) -> Rc<DashboardModel> {
        self.inner.model.borrow().clone()
    }

    /// Where the REST list load stands.
    pub fn load_state(&self) -> LoadState {
        self.inner.gate.borrow().state()
    }

    /// The agent topics followed.
    pub fn subscribed_agents(&self) -> Vec<u64> {
        self.inner.agent_subs.borrow().keys().copied().collect()
    }
}

fn agent_handler(weak: Weak<Inner>) -> impl Fn(&TopicEvent) + 'static {
    move |event| {
        if let (Some(inner), Some(m)) = (weak.upgrade(), event.message()) {
            let change = inner.update(|model| model.apply(m));
            inner.follow(change);
        }
    }
}

impl Inner {
    fn update<R>(&self, f: impl FnOnce(&mut DashboardModel) -> R) -> R {
        let r = f(Rc::make_mut(&mut self.model.borrow_mut()));
        (self.on_change)();
        r
    }

    fn on_user_event(self: &Rc<Self>, event: &TopicEvent) {
        let step = self.gate.borrow_mut().on_event(event);
        match step {
            GateStep::Load(ticket) => (self.load)(ticket),
            GateStep::Apply(event) => {
                let change = self.update(|m| m.apply(&event));
                self.follow(change);
            }
            GateStep::Wait => {}
        }
    }

    fn follow(self: &Rc<Self>, change: Membership) {
        match change {
            Membership::Added(id) => {
                if !self.agent_subs.borrow().contains_key(&id) {
                    let sub = self
                        .topics
                        .subscribe(Topic::agent(id), agent_handler(Rc::downgrade(self)));
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
