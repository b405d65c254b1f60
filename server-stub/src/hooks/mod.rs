//! The stub's hooks into `tether-server`: who connects (the stub's tokens; a bad one is closed
//! with 4401, or refused with HTTP 403 in the origin profile), who may hold which topic (the
//! domain's access rules; refusals worded per profile), the `agent_state` snapshot of an agent
//! topic (at the position it is current to; in the origin profile echoing the subscribe's
//! `message_id`), `send_message` ([`send_message`], read the way each profile reads it), and
//! the recorder of how each subscribe was answered ([`crate::membership`], with test control
//! only).
//!
//! The hooks hold a weak reference to the state, which holds the server that holds them.

use axum::http::request::Parts;
use axum::http::StatusCode;
use std::sync::Weak;

use tether_server::session::tether_refusal;
use tether_server::{Authenticate, Authorize, Snapshots};
use tether_server::{Builder, Denial, Refusal, Snapshot, SnapshotRequest};
use tether_server::{TetherServer, Topic};
use tether_wire::control::ErrorData;

use crate::auth::{Authenticator, UserId};
use crate::config::{Config, Profile};
use crate::domain::access;
use crate::domain::wire::{self, DomainEvent};
use crate::http::rest_auth::query_token;
use crate::membership::Recorder;
use crate::state::{ServerState, Shared};

mod send_message;

use send_message::PostMessage;
pub use send_message::SEND_MESSAGE;

/// The server's builder with the stub's hooks.
pub fn build(config: &Config, auth: &Authenticator, state: Weak<Shared>) -> Builder<Tokens> {
    let profile = config.profile;
    let tokens = Tokens {
        auth: auth.clone(),
        profile,
    };
    let builder = TetherServer::builder(tokens)
        .authorize(Access {
            state: state.clone(),
            profile,
        })
        .snapshots(AgentState {
            state: state.clone(),
        })
        .on_request(
            SEND_MESSAGE,
            PostMessage {
                state: state.clone(),
                profile,
            },
        );
    // The membership log is test control's: without it, nothing is recorded (a hostile client
    // churning topics would otherwise fill it).
    if config.test_control {
        builder.observe(Recorder { state })
    } else {
        builder
    }
}

/// The stub's tokens, from `?token=`.
#[derive(Debug)]
pub struct Tokens {
    auth: Authenticator,
    profile: Profile,
}

impl Authenticate for Tokens {
    type User = UserId;

    async fn authenticate(&self, request: &Parts) -> Result<UserId, Refusal> {
        let user = query_token(request).and_then(|token| self.auth.verify(&token));
        user.ok_or(match self.profile {
            Profile::Tether => Refusal::Close,
            // The origin closes the socket before accepting it, which its ASGI server answers
            // with HTTP 403 (its handler asks for close code 4401, which nobody sees).
            Profile::Origin => Refusal::Http(StatusCode::FORBIDDEN),
        })
    }
}

/// Who may hold which topic: the domain's rules.
struct Access {
    state: Weak<Shared>,
    profile: Profile,
}

/// The denial of a server that is shutting down.
pub(crate) fn gone() -> Denial {
    Denial::NotFound("the server is shutting down".into())
}

impl Authorize<UserId> for Access {
    async fn authorize(&self, user: &UserId, topic: &Topic) -> Result<(), Denial> {
        let state = ServerState::upgrade(&self.state).ok_or_else(gone)?;
        let open = &state.config.open_topics;
        state
            .read(|store| access::topic(store, *user, topic, open))
            .await
    }

    fn refusal(&self, topic: &Topic, denial: &Denial, message_id: Option<&str>) -> ErrorData {
        match self.profile {
            Profile::Tether => tether_refusal(topic, denial, message_id),
            Profile::Origin => wire::origin::refusal(topic, denial, message_id),
        }
    }
}

/// `agent_state` for an agent topic; other topics have no snapshot.
struct AgentState {
    state: Weak<Shared>,
}

impl Snapshots<UserId> for AgentState {
    async fn snapshot(&self, request: SnapshotRequest<'_, UserId>) -> Option<Snapshot> {
        let state = ServerState::upgrade(&self.state)?;
        let Some(("agent", id)) = request.topic.resource() else {
            return None;
        };
        let profile = state.config.profile;
        let encode = |store: &crate::domain::store::Store| {
            let agent = store.agent(id)?;
            wire::encode(profile, &DomainEvent::AgentState(agent))
        };
        let (event, position) = state.read_at(request.topic, encode).await.ok()?;
        // The origin echoes the subscribe's message_id on the snapshot.
        let req_id = request
            .message_id
            .filter(|_| profile == Profile::Origin)
            .map(str::to_owned);
        Some(Snapshot {
            event: event?.with_req_id(req_id).into(),
            position: Some(position),
        })
    }
}
