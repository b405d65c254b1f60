//! A chat thread: its history (a REST snapshot) merged with live events, streamed replies, and
//! optimistic sends (over the socket, surviving a disconnection, to a server with tether's
//! extensions; over REST to the origin: [`posting`](super::posting)).
//!
//! [`ChatViewWsManager`] subscribes to `thread:{id}` and asks for the history only once the
//! subscription is active ([`LoadGate`]): every message after the history's `seq` then arrives
//! live, exactly once. [`ChatModel`] is the pure part, tested natively.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use super::posting::{self, Posted, RestPosting};
use crate::core::TopicEvent;
use crate::live::{GateStep, LoadGate, LoadState, LoadTicket};
use crate::protocol::agents::model::ChatMessage;
use crate::protocol::agents::AgentsMessage;
use crate::protocol::{Frame, Topic};
use crate::{AppState, Subscription, TopicManager};

/// Where a message stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Sent by this view (or waiting to be, while disconnected), not yet confirmed.
    Pending,
    /// Stored by the server.
    Confirmed,
    /// The send failed; the text is kept so the user can retry. Says what happened.
    Failed(String),
    /// An assistant reply still streaming.
    Streaming,
}

/// One line of the conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatEntry {
    /// The server's id, once known.
    pub id: Option<u64>,
    /// This view's id for an optimistic send or a stream.
    pub local_id: Option<u64>,
    /// `user` or `assistant`.
    pub role: String,
    /// The text so far.
    pub content: String,
    /// Its state.
    pub delivery: Delivery,
}

/// The thread's state.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChatModel {
    entries: Vec<ChatEntry>,
    loaded: bool,
    history_lost: bool,
    streaming: Option<u64>,
    next_local: u64,
}

impl ChatModel {
    /// The conversation, oldest first.
    pub fn entries(&self) -> &[ChatEntry] {
        &self.entries
    }

    /// True once a history was loaded.
    pub fn is_loaded(&self) -> bool {
        self.loaded
    }

    /// True once the server was found to have lost its history while this view was mounted
    /// (it restarted without persistence): the history was reloaded from what it has now, and
    /// messages shown before may be gone.
    pub fn history_lost(&self) -> bool {
        self.history_lost
    }

    /// Replaces the history, keeping this view's unconfirmed sends after it.
    pub fn load_history(&mut self, messages: Vec<ChatMessage>) {
        let local: Vec<ChatEntry> = self.entries.drain(..).filter(|e| e.id.is_none()).collect();
        self.entries = messages.into_iter().map(confirmed).collect();
        for entry in local {
            if !self.confirms(&entry) {
                self.entries.push(entry);
            }
        }
        self.loaded = true;
    }

    /// Applies one event of the thread.
    pub fn apply(&mut self, event: &Frame) {
        let Ok(message) = event.decode_as::<AgentsMessage>() else {
            return;
        };
        match message {
            AgentsMessage::ThreadMessage(m) => self.message(m),
            AgentsMessage::StreamStart(s) => {
                let at = self.stream_entry(s.message_id);
                self.streaming = self.entries[at].local_id;
            }
            AgentsMessage::AssistantId(a) => {
                let at = self.stream_entry(None);
                self.entries[at].id = Some(a.message_id);
            }
            AgentsMessage::StreamChunk(c) => {
                let at = self.stream_entry(c.message_id);
                self.entries[at].content.push_str(&c.content);
            }
            AgentsMessage::StreamEnd(e) => {
                let at = self.stream_entry(e.message_id);
                self.entries[at].delivery = Delivery::Confirmed;
                self.streaming = None;
            }
            _ => {}
        }
    }

    /// Adds an optimistic user message; returns its local id.
    pub fn add_pending(&mut self, content: &str) -> u64 {
        let local = self.next_local();
        self.entries.push(ChatEntry {
            id: None,
            local_id: Some(local),
            role: "user".into(),
            content: content.to_owned(),
            delivery: Delivery::Pending,
        });
        local
    }

    /// A failed send is tried again: pending once more. Returns its text.
    pub fn retry(&mut self, local_id: u64) -> Option<String> {
        let entry = self
            .entries
            .iter_mut()
            .find(|e| e.local_id == Some(local_id) && matches!(e.delivery, Delivery::Failed(_)))?;
        entry.delivery = Delivery::Pending;
        Some(entry.content.clone())
    }

    /// The send of `local_id` finished: confirmed with the stored message, or failed. A
    /// failure never undoes a message the server already confirmed by its live event.
    pub fn settle(&mut self, local_id: u64, result: Result<ChatMessage, String>) {
        let Some(pos) = self
            .entries
            .iter()
            .position(|e| e.local_id == Some(local_id))
        else {
            return;
        };
        match result {
            Ok(m) => {
                let entry = self.entries.remove(pos);
                let elsewhere = self.entries.iter().any(|e| e.id == Some(m.id));
                if elsewhere {
                    // The live event got here first, as another entry: drop the local one.
                } else if entry.id == Some(m.id) {
                    self.entries.insert(pos, entry); // confirmed by its live event already
                } else {
                    // Confirmed now: its place is after everything the server stored before it
                    // and before what it stored after it (ids grow as messages are stored): the
                    // reply to it may have streamed in before the answer to a REST post did.
                    let at = self
                        .entries
                        .iter()
                        .position(|e| e.id.is_some_and(|id| id > m.id))
                        .unwrap_or(self.entries.len());
                    let entry = ChatEntry {
                        local_id: Some(local_id),
                        ..confirmed(m)
                    };
                    self.entries.insert(at, entry);
                }
            }
            Err(error) if self.entries[pos].delivery == Delivery::Pending => {
                self.entries[pos].delivery = Delivery::Failed(error)
            }
            Err(_) => {}
        }
    }

    fn next_local(&mut self) -> u64 {
        self.next_local += 1;
        self.next_local
    }

    /// True if the history holds the message a local entry was waiting for.
    fn confirms(&self, local: &ChatEntry) -> bool {
        local.delivery == Delivery::Pending
            && self
                .entries
                .iter()
                .any(|e| e.role == local.role && e.content == local.content && e.local_id.is_none())
    }

    fn message(&mut self, m: ChatMessage) {
        if let Some(entry) = self.entries.iter_mut().find(|e| e.id == Some(m.id)) {
            entry.content = m.content;
            entry.delivery = Delivery::Confirmed;
            return;
        }
        // Our own optimistic message, echoed before the request resolved. It moves to where the
        // server stored it: after every message that arrived before its echo (while it waited
        // in the outbox, others may have been stored first).
        let own = self.entries.iter().position(|e| {
            e.id.is_none()
                && e.delivery == Delivery::Pending
                && e.role == m.role
                && e.content == m.content
        });
        match own {
            Some(pos) => {
                let mut entry = self.entries.remove(pos);
                entry.id = Some(m.id);
                entry.delivery = Delivery::Confirmed;
                self.entries.push(entry);
            }
            None => self.entries.push(confirmed(m)),
        }
    }

    /// The entry of a streamed reply: the one with `message_id`, else the one streaming now,
    /// else a new one.
    fn stream_entry(&mut self, message_id: Option<u64>) -> usize {
        let by_id = message_id.and_then(|id| self.entries.iter().position(|e| e.id == Some(id)));
        let current = self
            .streaming
            .and_then(|l| self.entries.iter().position(|e| e.local_id == Some(l)));
        if let Some(pos) = by_id.or(current) {
            return pos;
        }
        let local = self.next_local();
        self.entries.push(ChatEntry {
            id: message_id,
            local_id: Some(local),
            role: "assistant".into(),
            content: String::new(),
            delivery: Delivery::Streaming,
        });
        self.entries.len() - 1
    }
}

fn confirmed(m: ChatMessage) -> ChatEntry {
    ChatEntry {
        id: Some(m.id),
        local_id: None,
        role: m.role,
        content: m.content,
        delivery: Delivery::Confirmed,
    }
}

struct Inner {
    topics: TopicManager,
    thread_id: u64,
    model: RefCell<Rc<ChatModel>>,
    gate: RefCell<LoadGate>,
    on_change: Box<dyn Fn()>,
    load: Box<dyn Fn(LoadTicket)>,
    rest: RefCell<Option<RestPosting>>,
}

/// Keeps one thread's conversation live while its view is mounted. Dropping it drops the
/// handler; the owner aborts its history load.
///
/// ```no_run
/// # use tether_client::agents::ChatViewWsManager;
/// # fn demo(app: &tether_client::AppState) {
/// let chat = ChatViewWsManager::mount(&app.topics, 10, || { /* re-render */ }, |ticket| {
///     // Fetch GET /api/threads/10/messages, then call `chat.load_history(ticket, …)`.
///     let _ = ticket;
/// });
/// for entry in chat.model().entries() {
///     println!("{}: {}", entry.role, entry.content);
/// }
/// # }
/// ```
#[must_use = "the thread's handler is dropped with the manager"]
pub struct ChatViewWsManager {
    inner: Rc<Inner>,
    _sub: Subscription,
}

impl ChatViewWsManager {
    /// Mounts for `thread_id`: subscribes at once. When the subscription is active (and after
    /// any resync), `load` is called with a ticket: fetch the history and hand it to
    /// [`ChatViewWsManager::load_history`]. `on_change` runs after every change.
    pub fn mount(
        topics: &TopicManager,
        thread_id: u64,
        on_change: impl Fn() + 'static,
        load: impl Fn(LoadTicket) + 'static,
    ) -> ChatViewWsManager {
        let inner = Rc::new(Inner {
            topics: topics.clone(),
            thread_id,
            model: RefCell::default(),
            gate: RefCell::default(),
            on_change: Box::new(on_change),
            load: Box::new(load),
            rest: RefCell::default(),
        });
        let weak: Weak<Inner> = Rc::downgrade(&inner);
        let sub = topics.subscribe(Topic::thread(thread_id), move |event: &TopicEvent| {
            if let Some(inner) = weak.upgrade() {
                inner.on_event(event);
            }
        });
        ChatViewWsManager { inner, _sub: sub }
    }

    /// The thread.
    pub fn thread_id(&self) -> u64 {
        self.inner.thread_id
    }

    /// The model now. Cheap: it is shared until the next change.
    pub fn model(&self) -> Rc<ChatModel> {
        self.inner.model.borrow().clone()
    }

    /// Where the history load stands.
    pub fn load_state(&self) -> LoadState {
        self.inner.gate.borrow().state()
    }

    /// The history for `ticket` arrived, current to the thread's `seq` (`None` from a server
    /// that does not number events). An answer to an older ticket is ignored.
    pub fn load_history(&self, ticket: LoadTicket, messages: Vec<ChatMessage>, seq: Option<u64>) {
        let Some(after) = self.inner.gate.borrow_mut().loaded(ticket, seq) else {
            return;
        };
        self.inner.update(|m| {
            m.load_history(messages);
            for event in &after {
                m.apply(event);
            }
        });
    }

    /// Posts messages with `post` (given the thread and the text, it stores the message and
    /// has it answered) whenever `app`'s server is not known to speak tether's extensions: the
    /// origin takes chat messages over REST, not over its socket ([`posting`](super::posting)).
    pub fn post_without_extensions(
        &self,
        app: &Rc<AppState>,
        post: impl Fn(u64, String) -> Posted + 'static,
    ) {
        *self.inner.rest.borrow_mut() = Some(RestPosting {
            app: Rc::downgrade(app),
            post: Rc::new(post),
        });
    }

    /// Sends `content` with an optimistic pending entry that becomes confirmed or failed.
    /// Over the socket, while disconnected it waits in the client's outbox (for up to its
    /// queue timeout); over REST ([`post_without_extensions`](Self::post_without_extensions))
    /// it fails at once, and the user can retry.
    pub async fn send(&self, content: String) {
        let local = self.inner.update(|m| m.add_pending(&content));
        self.inner.deliver(local, content).await;
    }

    /// Sends a failed message again.
    pub async fn retry(&self, local_id: u64) {
        if let Some(content) = self.inner.update(|m| m.retry(local_id)) {
            self.inner.deliver(local_id, content).await;
        }
    }
}

impl Inner {
    fn update<R>(&self, f: impl FnOnce(&mut ChatModel) -> R) -> R {
        let r = f(Rc::make_mut(&mut self.model.borrow_mut()));
        (self.on_change)();
        r
    }

    fn on_event(&self, event: &TopicEvent) {
        if let TopicEvent::ResyncRequired {
            history_lost: true, ..
        } = event
        {
            self.update(|m| m.history_lost = true);
        }
        let step = self.gate.borrow_mut().on_event(event);
        match step {
            GateStep::Load(ticket) => (self.load)(ticket),
            GateStep::Apply(event) => self.update(|m| m.apply(&event)),
            GateStep::Wait => {}
        }
    }

    async fn deliver(&self, local: u64, content: String) {
        let rest = self.rest.borrow().clone();
        let result = posting::post(&self.topics, rest, self.thread_id, content).await;
        self.update(|m| m.settle(local, result));
    }
}
