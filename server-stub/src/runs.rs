//! Agent runs, started by `POST /api/agents/{id}/run`: the agent turns `running`, a few
//! `run_update`s report progress, and the agent turns `idle` again.

use tether::protocol::model::RunUpdate;
use tether::protocol::{Frame, ServerMessage, Topic};

use crate::clock::now_ms;
use crate::hub::HubGuard;
use crate::state::AppState;
use crate::store::{Store, IDLE};

/// The status of a running agent.
pub const RUNNING: &str = "running";

/// Progress steps reported while running.
const STEPS: [u8; 3] = [25, 50, 75];

/// Starts a run of an existing agent; returns its run id, or `None` if the agent is gone.
pub fn start(state: &AppState, agent_id: u64) -> Option<u64> {
    let run_id = state.commit(|store, hub| {
        store.agent(agent_id)?;
        let run_id = store.reserve_run_id();
        set_status(store, hub, agent_id, RUNNING);
        publish_update(hub, agent_id, run_id, "queued", 0);
        Some(run_id)
    })?;
    let task_state = state.clone();
    tokio::spawn(async move {
        tokio::select! {
            () = task_state.shutdown.cancelled() => {}
            () = progress(&task_state, agent_id, run_id) => {}
        }
    });
    Some(run_id)
}

async fn progress(state: &AppState, agent_id: u64, run_id: u64) {
    for percent in STEPS {
        tokio::time::sleep(state.config.run_step()).await;
        if !step(state, agent_id, |_, hub| {
            publish_update(hub, agent_id, run_id, RUNNING, percent)
        }) {
            return;
        }
    }
    tokio::time::sleep(state.config.run_step()).await;
    step(state, agent_id, |store, hub| {
        publish_update(hub, agent_id, run_id, "succeeded", 100);
        set_status(store, hub, agent_id, IDLE);
    });
}

/// Runs `f` if the agent still exists; false when it was deleted.
fn step(state: &AppState, agent_id: u64, f: impl FnOnce(&mut Store, &mut HubGuard<'_>)) -> bool {
    state.commit(|store, hub| {
        let exists = store.agent(agent_id).is_some();
        if exists {
            f(store, hub);
        }
        exists
    })
}

/// Changes an agent's status and publishes `agent_updated`.
pub fn set_status(store: &mut Store, hub: &mut HubGuard<'_>, agent_id: u64, status: &str) {
    if let Some(agent) = store.update_agent(agent_id, None, Some(status.into()), now_ms()) {
        hub.publish(
            &Topic::Agent(agent_id),
            Frame::new(ServerMessage::AgentUpdated(agent)),
            None,
        );
    }
}

fn publish_update(hub: &mut HubGuard<'_>, agent_id: u64, run_id: u64, status: &str, progress: u8) {
    let update = RunUpdate {
        agent_id,
        run_id,
        status: status.into(),
        progress,
    };
    hub.publish(
        &Topic::Agent(agent_id),
        Frame::new(ServerMessage::RunUpdate(update)),
        None,
    );
}
