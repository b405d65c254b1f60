//! A small client for the agents platform's REST API (PROTOCOL.md, "REST"): what the WebSocket
//! then keeps live. Feature `yew`; it runs in the browser (and compiles everywhere).

use gloo_net::http::{Request, RequestBuilder, Response};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use web_sys::{AbortController, AbortSignal};

use crate::protocol::agents::model::{Agent, ChatMessage, Thread};
use crate::protocol::control::ErrorData;

/// Why a REST call failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// The request did not complete (network down, server unreachable).
    #[error("network error: {0}")]
    Network(String),
    /// The server answered with an error status.
    #[error("HTTP {status}: {details}")]
    Status {
        /// The status code.
        status: u16,
        /// The server's explanation (its JSON error's `details`, else the body as sent).
        details: String,
    },
    /// The body was not what the API promises.
    #[error("unexpected response: {0}")]
    Body(String),
    /// The call's [`AbortOnDrop`] guard was dropped (its view unmounted) before it finished.
    #[error("aborted")]
    Aborted,
}

/// Where the API is and who calls it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Api {
    base: String,
    token: Option<String>,
    signal: Option<AbortSignal>,
}

/// Aborts, when dropped, every call still running on the [`Api`] that [`Api::abortable`]
/// returned with it. A view keeps one for its loads, so that unmounting it cancels them.
#[must_use = "the calls are aborted when this guard is dropped"]
#[derive(Debug)]
pub struct AbortOnDrop(Option<AbortController>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(controller) = &self.0 {
            controller.abort();
        }
    }
}

/// The user's agents and the `seq` of `user:{me}` the list is current to (tether's stub).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct AgentList {
    /// The agents.
    pub agents: Vec<Agent>,
    /// The topic's `seq` the list includes, if the server numbers events.
    #[serde(default)]
    pub seq: Option<u64>,
}

#[derive(Deserialize)]
struct Threads {
    threads: Vec<Thread>,
    /// The cursor of the next page, if any.
    #[serde(default)]
    next: Option<u64>,
}

/// One page of a list: its items under `key`, its `seq`, and the cursor of the next page.
#[derive(Deserialize)]
struct Page<T> {
    #[serde(alias = "agents", alias = "messages")]
    items: Vec<T>,
    #[serde(default)]
    seq: Option<u64>,
    #[serde(default)]
    next: Option<u64>,
}

/// A thread's history and the `seq` of `thread:{id}` it is current to.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct History {
    /// Oldest first.
    pub messages: Vec<ChatMessage>,
    /// The thread topic's `seq` the history includes, if the server numbers events.
    #[serde(default)]
    pub seq: Option<u64>,
}

impl Api {
    /// An API at `base` (empty for the page's own origin), called with `token` if any.
    pub fn new(base: impl Into<String>, token: Option<String>) -> Api {
        Api {
            base: base.into(),
            token,
            signal: None,
        }
    }

    /// This API, with its calls aborted when the returned guard is dropped. (Without an
    /// `AbortController`, the calls simply run to the end.)
    pub fn abortable(&self) -> (Api, AbortOnDrop) {
        let controller = AbortController::new().ok();
        let api = Api {
            signal: controller.as_ref().map(AbortController::signal),
            ..self.clone()
        };
        (api, AbortOnDrop(controller))
    }

    fn aborted(&self) -> bool {
        self.signal.as_ref().is_some_and(AbortSignal::aborted)
    }

    async fn send(
        &self,
        req: RequestBuilder,
        body: Option<serde_json::Value>,
    ) -> Result<Response, ApiError> {
        let mut req = req.abort_signal(self.signal.as_ref());
        if let Some(token) = &self.token {
            req = req.header("Authorization", &format!("Bearer {token}"));
        }
        let sent = match body {
            Some(body) => {
                req.json(&body)
                    .map_err(|e| ApiError::Body(e.to_string()))?
                    .send()
                    .await
            }
            None => req.send().await,
        };
        let resp = sent.map_err(|e| self.failure(ApiError::Network(e.to_string())))?;
        if resp.ok() {
            return Ok(resp);
        }
        // The stub answers `{"error": CODE, "details": …}`; show the explanation, not the JSON.
        let body = resp.text().await.unwrap_or_default();
        let details =
            serde_json::from_str::<ErrorData>(&body).map_or(body, |e| e.explanation().to_owned());
        Err(ApiError::Status {
            status: resp.status(),
            details,
        })
    }

    async fn json<T: DeserializeOwned>(
        &self,
        req: RequestBuilder,
        body: Option<serde_json::Value>,
    ) -> Result<T, ApiError> {
        let resp = self.send(req, body).await?;
        resp.json()
            .await
            .map_err(|e| self.failure(ApiError::Body(e.to_string())))
    }

    /// `error`, or [`ApiError::Aborted`] if the call failed because it was aborted.
    fn failure(&self, error: ApiError) -> ApiError {
        if self.aborted() {
            ApiError::Aborted
        } else {
            error
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Every page of a list at `path` (the server's lists come in pages; see PROTOCOL.md,
    /// "REST"): its items, and the first page's `seq` (events after it may repeat what later
    /// pages show; applying them again changes nothing).
    async fn all_pages<T: DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<(Vec<T>, Option<u64>), ApiError> {
        let first: Page<T> = self.json(Request::get(&self.url(path)), None).await?;
        let (mut items, seq, mut next) = (first.items, first.seq, first.next);
        let join = if path.contains('?') { '&' } else { '?' };
        while let Some(after) = next {
            let url = self.url(&format!("{path}{join}after={after}"));
            let page: Page<T> = self.json(Request::get(&url), None).await?;
            items.extend(page.items);
            next = page.next;
        }
        Ok((items, seq))
    }

    /// The user's agents, every page.
    pub async fn agents(&self) -> Result<AgentList, ApiError> {
        let (agents, seq) = self.all_pages("/api/agents").await?;
        Ok(AgentList { agents, seq })
    }

    /// Creates an agent.
    pub async fn create_agent(&self, name: &str) -> Result<Agent, ApiError> {
        let body = serde_json::json!({ "name": name });
        self.json(Request::post(&self.url("/api/agents")), Some(body))
            .await
    }

    /// Deletes an agent.
    pub async fn delete_agent(&self, id: u64) -> Result<(), ApiError> {
        let url = self.url(&format!("/api/agents/{id}"));
        self.send(Request::delete(&url), None).await.map(drop)
    }

    /// Starts a run.
    pub async fn run_agent(&self, id: u64) -> Result<(), ApiError> {
        let url = self.url(&format!("/api/agents/{id}/run"));
        self.send(Request::post(&url), None).await.map(drop)
    }

    /// The threads of an agent, every page.
    pub async fn threads(&self, agent_id: u64) -> Result<Vec<Thread>, ApiError> {
        let path = format!("/api/threads?agent_id={agent_id}");
        let mut page: Threads = self.json(Request::get(&self.url(&path)), None).await?;
        let mut threads = std::mem::take(&mut page.threads);
        while let Some(after) = page.next {
            let url = self.url(&format!("{path}&after={after}"));
            page = self.json(Request::get(&url), None).await?;
            threads.append(&mut page.threads);
        }
        Ok(threads)
    }

    /// Creates a thread.
    pub async fn create_thread(&self, agent_id: u64, title: &str) -> Result<Thread, ApiError> {
        let body = serde_json::json!({ "agent_id": agent_id, "title": title });
        self.json(Request::post(&self.url("/api/threads")), Some(body))
            .await
    }

    /// Posts a user message to a thread over REST (the WebSocket's `send_message` is the other
    /// way). tether's stub answers it at once; the origin stores it for the next
    /// [`run_thread`](Api::run_thread).
    pub async fn post_message(
        &self,
        thread_id: u64,
        content: &str,
    ) -> Result<ChatMessage, ApiError> {
        let url = self.url(&format!("/api/threads/{thread_id}/messages"));
        let body = serde_json::json!({ "role": "user", "content": content });
        self.json(Request::post(&url), Some(body)).await
    }

    /// Runs a thread: the agent answers the messages posted since its last run, streaming its
    /// reply on `thread:{id}` (the origin's way; on tether's stub nothing is left to answer).
    pub async fn run_thread(&self, thread_id: u64) -> Result<(), ApiError> {
        let url = self.url(&format!("/api/threads/{thread_id}/run"));
        self.send(Request::post(&url), None).await.map(drop)
    }

    /// Posts a user message and runs its thread, as the origin's own front end does: the
    /// stored message, or why it was not stored. A failed run leaves the message stored; its
    /// error comes second.
    pub async fn post_and_run(
        &self,
        thread_id: u64,
        content: &str,
    ) -> (Result<ChatMessage, ApiError>, Result<(), ApiError>) {
        let posted = self.post_message(thread_id, content).await;
        let ran = match &posted {
            Ok(_) => self.run_thread(thread_id).await,
            Err(e) => Err(e.clone()),
        };
        (posted, ran)
    }

    /// A thread's history, every page.
    pub async fn history(&self, thread_id: u64) -> Result<History, ApiError> {
        let path = format!("/api/threads/{thread_id}/messages");
        let (messages, seq) = self.all_pages(&path).await?;
        Ok(History { messages, seq })
    }
}
