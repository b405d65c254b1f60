//! A chat thread: history from REST merged with live events, streamed replies, and optimistic
//! sends.
//!
//! [`ChatViewWsManager`] subscribes to `thread:{id}` *before* the history is loaded and buffers
//! events until it is. The history carries the thread's `seq` it is current to, so buffered and
//! later events at or below it are already in the history and are skipped: a message that
//! arrives while the view switches threads is neither lost nor shown twice.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use crate::core::{RequestError, TopicEvent};
use crate::protocol::model::{ChatMessage, SendMessage};
use crate::protocol::{ClientFrame, ClientMessage, ServerFrame, ServerMessage, Topic};
use crate::{Subscription, TopicManager};

/// Where a message stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Sent by this view, not yet confirmed by the server.
    Pending,
    /// Stored by the server.
    Confirmed,
    /// The send failed; the text is kept so the user can retry.
    Failed(String),
    /// An assistant reply still streaming.
    Streaming,
}

/// One line of the conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatEntry {
    /// The server's id, once known.
    pub id: Option<u64>,
    /// This view's id for an optimistic send.
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
    history_seq: Option<u64>,
    buffered: Vec<Rc<ServerFrame>>,
    next_local: u64,
}

impl ChatModel {
    /// The conversation, oldest first.
    pub fn entries(&self) -> &[ChatEntry] {
        &self.entries
    }

    /// True once the history was loaded.
    pub fn is_loaded(&self) -> bool {
        self.history_seq.is_some()
    }

    /// Events held back until the history arrives.
    pub fn buffered(&self) -> usize {
        self.buffered.len()
    }

    /// Replaces the history (current to `seq`), keeps pending sends, then applies the buffered
    /// events that came after it.
    pub fn load_history(&mut self, messages: Vec<ChatMessage>, seq: u64) {
        let local: Vec<ChatEntry> = self.entries.drain(..).filter(|e| e.id.is_none()).collect();
        self.entries = messages.into_iter().map(confirmed).collect();
        self.entries.extend(local);
        self.history_seq = Some(seq);
        for frame in std::mem::take(&mut self.buffered) {
            self.apply(&frame);
        }
    }

    /// Forgets the history (after `resync_required`): events buffer until it is reloaded.
    pub fn invalidate(&mut self) {
        self.history_seq = None;
    }

    /// Applies one event of the thread.
    pub fn apply(&mut self, frame: &Rc<ServerFrame>) {
        let Some(history_seq) = self.history_seq else {
            self.buffered.push(frame.clone());
            return;
        };
        if frame.seq.is_some_and(|s| s <= history_seq) {
            return; // already in the history
        }
        match &frame.msg {
            ServerMessage::ThreadMessage(m) => self.message(m),
            ServerMessage::StreamStart(s) => {
                self.streaming(s.message_id);
            }
            ServerMessage::StreamChunk(c) => {
                self.streaming(c.message_id).content.push_str(&c.content)
            }
            ServerMessage::StreamEnd(e) => {
                self.streaming(e.message_id).delivery = Delivery::Confirmed
            }
            _ => {}
        }
    }

    /// Adds an optimistic user message; returns its local id.
    pub fn add_pending(&mut self, content: &str) -> u64 {
        self.next_local += 1;
        self.entries.push(ChatEntry {
            id: None,
            local_id: Some(self.next_local),
            role: "user".into(),
            content: content.to_owned(),
            delivery: Delivery::Pending,
        });
        self.next_local
    }

    /// The send of `local_id` finished: confirmed with the stored message, or failed.
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
                let elsewhere = self
                    .entries
                    .iter()
                    .enumerate()
                    .any(|(i, e)| i != pos && e.id == Some(m.id));
                if elsewhere {
                    self.entries.remove(pos); // the live event got here first, as another entry
                } else {
                    self.entries[pos] = ChatEntry {
                        local_id: Some(local_id),
                        ..confirmed(m)
                    };
                }
            }
            Err(error) => self.entries[pos].delivery = Delivery::Failed(error),
        }
    }

    fn message(&mut self, m: &ChatMessage) {
        if let Some(entry) = self.entries.iter_mut().find(|e| e.id == Some(m.id)) {
            entry.content = m.content.clone();
            entry.delivery = Delivery::Confirmed;
            return;
        }
        // Our own optimistic message, echoed before the request resolved.
        let own = self.entries.iter_mut().find(|e| {
            e.id.is_none()
                && e.delivery == Delivery::Pending
                && e.role == m.role
                && e.content == m.content
        });
        match own {
            Some(entry) => {
                entry.id = Some(m.id);
                entry.delivery = Delivery::Confirmed;
            }
            None => self.entries.push(confirmed(m.clone())),
        }
    }

    fn streaming(&mut self, message_id: u64) -> &mut ChatEntry {
        let pos = match self.entries.iter().position(|e| e.id == Some(message_id)) {
            Some(pos) => pos,
            None => {
                self.entries.push(ChatEntry {
                    id: Some(message_id),
                    local_id: None,
                    role: "assistant".into(),
                    content: String::new(),
                    delivery: Delivery::Streaming,
                });
                self.entries.len() - 1
            }
        };
        &mut self.entries[pos]
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
    model: RefCell<ChatModel>,
    stale: Cell<bool>,
    on_change: Box<dyn Fn()>,
}

/// Keeps one thread's conversation live while its view is mounted.
#[must_use = "the thread's handler is dropped with the manager"]
pub struct ChatViewWsManager {
    inner: Rc<Inner>,
    _sub: Subscription,
}

impl ChatViewWsManager {
    /// Mounts for `thread_id`: subscribes at once and buffers events until
    /// [`ChatViewWsManager::load_history`]. `on_change` runs after every change.
    pub fn mount(
        topics: &TopicManager,
        thread_id: u64,
        on_change: impl Fn() + 'static,
    ) -> ChatViewWsManager {
        let inner = Rc::new(Inner {
            topics: topics.clone(),
            thread_id,
            model: RefCell::new(ChatModel::default()),
            stale: Cell::new(false),
            on_change: Box::new(on_change),
        });
        let weak: Weak<Inner> = Rc::downgrade(&inner);
        let sub = topics.subscribe(Topic::Thread(thread_id), move |event: &TopicEvent| {
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

    /// Applies the REST history, current to the thread's `seq`.
    pub fn load_history(&self, messages: Vec<ChatMessage>, seq: u64) {
        self.inner.stale.set(false);
        self.inner.model.borrow_mut().load_history(messages, seq);
        (self.inner.on_change)();
    }

    /// True after a `resync_required`: the caller should load the history again.
    pub fn is_stale(&self) -> bool {
        self.inner.stale.get()
    }

    /// Like `is_stale`, and clears the flag: the caller is reloading.
    pub fn take_stale(&self) -> bool {
        self.inner.stale.replace(false)
    }

    /// A copy of the model.
    pub fn model(&self) -> ChatModel {
        self.inner.model.borrow().clone()
    }

    /// Sends `content` with an optimistic pending entry that becomes confirmed or failed.
    pub async fn send(&self, content: String) {
        let inner = self.inner.clone();
        let local = inner.model.borrow_mut().add_pending(&content);
        (inner.on_change)();
        let frame = ClientFrame::new(ClientMessage::SendMessage(SendMessage {
            thread_id: inner.thread_id,
            content,
        }))
        .with_topic(Topic::Thread(inner.thread_id).to_string());
        let result = match inner.topics.client().request(frame).await {
            Ok(reply) => match &reply.msg {
                ServerMessage::ThreadMessage(m) => Ok(m.clone()),
                other => Err(format!("unexpected reply {other:?}")),
            },
            Err(e) => Err(describe(&e)),
        };
        inner.model.borrow_mut().settle(local, result);
        (inner.on_change)();
    }
}

fn describe(e: &RequestError) -> String {
    match e {
        RequestError::Server { error, details } if details.is_empty() => error.clone(),
        RequestError::Server { details, .. } => details.clone(),
        other => other.to_string(),
    }
}

impl Inner {
    fn on_event(&self, event: &TopicEvent) {
        match &event.frame.msg {
            ServerMessage::ResyncRequired(_) => {
                self.model.borrow_mut().invalidate();
                self.stale.set(true);
            }
            _ => self.model.borrow_mut().apply(&event.frame),
        }
        (self.on_change)();
    }
}
