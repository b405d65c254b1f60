//! A small client for the stub's REST API (PROTOCOL.md, "REST"), used by the Yew hooks to load
//! what the WebSocket then keeps live. wasm32 with the `yew` feature only.

use gloo_net::http::{Request, RequestBuilder, Response};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use web_sys::{AbortController, AbortSignal};

use crate::protocol::model::{Agent, ChatMessage, ErrorData, Thread};

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
    token: String,
    signal: Option<AbortSignal>,
}

/// Aborts, when dropped, every call still running on the [`Api`] that
/// [`Api::abortable`] returned with it. A view keeps one for its loads, so that unmounting it
/// cancels them instead of leaving requests (and what they hold) queued behind the browser's
/// connection limit.
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

#[derive(Deserialize)]
struct Agents {
    agents: Vec<Agent>,
}

#[derive(Deserialize)]
struct Threads {
    threads: Vec<Thread>,
}

/// A thread's history and the `seq` of `thread:{id}` it is current to.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct History {
    /// Oldest first.
    pub messages: Vec<ChatMessage>,
    /// The thread topic's `seq` the history includes.
    pub seq: u64,
}

impl Api {
    /// An API at `base` (empty for the page's own origin) called with `token`.
    pub fn new(base: impl Into<String>, token: impl Into<String>) -> Api {
        Api {
            base: base.into(),
            token: token.into(),
            signal: None,
        }
    }

    /// This API, with its calls aborted when the returned guard is dropped. (If the browser
    /// has no `AbortController`, the calls simply run to the end.)
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

    fn auth(&self, req: RequestBuilder) -> RequestBuilder {
        req.header("Authorization", &format!("Bearer {}", self.token))
    }

    async fn send(
        &self,
        req: RequestBuilder,
        body: Option<serde_json::Value>,
    ) -> Result<Response, ApiError> {
        let req = self.auth(req).abort_signal(self.signal.as_ref());
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
        // The stub answers `{"error": CODE, "details": "…"}`; show the explanation, not the JSON.
        let body = resp.text().await.unwrap_or_default();
        let details = serde_json::from_str::<ErrorData>(&body).map_or(body, |e| e.details);
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

    /// The user's agents.
    pub async fn agents(&self) -> Result<Vec<Agent>, ApiError> {
        Ok(self
            .json::<Agents>(Request::get(&self.url("/api/agents")), None)
            .await?
            .agents)
    }

    /// Creates an agent.
    pub async fn create_agent(&self, name: &str) -> Result<Agent, ApiError> {
        self.json(
            Request::post(&self.url("/api/agents")),
            Some(serde_json::json!({ "name": name })),
        )
        .await
    }

    /// Deletes an agent.
    pub async fn delete_agent(&self, id: u64) -> Result<(), ApiError> {
        self.send(
            Request::delete(&self.url(&format!("/api/agents/{id}"))),
            None,
        )
        .await
        .map(drop)
    }

    /// Starts a run.
    pub async fn run_agent(&self, id: u64) -> Result<(), ApiError> {
        self.send(
            Request::post(&self.url(&format!("/api/agents/{id}/run"))),
            None,
        )
        .await
        .map(drop)
    }

    /// The threads of an agent.
    pub async fn threads(&self, agent_id: u64) -> Result<Vec<Thread>, ApiError> {
        let url = self.url(&format!("/api/threads?agent_id={agent_id}"));
        Ok(self
            .json::<Threads>(Request::get(&url), None)
            .await?
            .threads)
    }

    /// Creates a thread.
    pub async fn create_thread(&self, agent_id: u64, title: &str) -> Result<Thread, ApiError> {
        let body = serde_json::json!({ "agent_id": agent_id, "title": title });
        self.json(Request::post(&self.url("/api/threads")), Some(body))
            .await
    }

    /// A thread's history.
    pub async fn history(&self, thread_id: u64) -> Result<History, ApiError> {
        self.json(
            Request::get(&self.url(&format!("/api/threads/{thread_id}/messages"))),
            None,
        )
        .await
    }
}
