//! Agent runs, started by `POST /api/agents/{id}/run` or the simulator: the agent turns
//! `running`, `run_update`s report the run `queued`, `running` at 25, 50 and 75 percent, then
//! `success`, and the agent turns `idle` again. The agent keeps its latest run (the data of its
//! latest `run_update`), so a view that subscribes later sees it in the agent's snapshot. A user
//! has at most `--max-runs-per-user` runs (and streamed replies) in flight: past it a run is
//! refused with `LIMIT`.

use tether_wire::Topic;

use crate::clock::now_ms;
use crate::domain::access::Denial;
use crate::domain::records::{RunRecord, RunStatus, Trigger};
use crate::domain::store::{Store, IDLE};
use crate::domain::wire::DomainEvent;
use crate::state::{Outbox, ServerState};

/// The status of a running agent.
pub const RUNNING: &str = "running";

/// Progress steps reported while running.
const STEPS: [u8; 3] = [25, 50, 75];

/// Starts a run of an existing agent, if its owner has room for one more in flight; returns
/// its run id, `NOT_FOUND` if the agent is gone, or `LIMIT`.
pub async fn start(state: &ServerState, agent_id: u64, trigger: Trigger) -> Result<u64, Denial> {
    let run = state
        .commit(|store, out| {
            let owner = store
                .agent(agent_id)
                .ok_or_else(|| Denial::NotFound(format!("no agent {agent_id}")))?
                .owner_id;
            let in_flight = state.runs.start(owner)?;
            let run = RunRecord {
                id: store.reserve_run_id(),
                agent_id,
                thread_id: None,
                status: RunStatus::Queued,
                progress: 0,
                trigger,
                started_at: None,
                finished_at: None,
                error: None,
            };
            if let Some((agent, change)) = store.agent_run_started(agent_id, RUNNING, now_ms()) {
                out.announce(
                    &Topic::agent(agent_id),
                    &DomainEvent::AgentUpdated(&agent, change),
                );
            }
            publish(store, out, &run);
            Ok((run, in_flight))
        })
        .await?;
    let (run, in_flight) = run;
    let run_id = run.id;
    let task_state = state.clone();
    tokio::spawn(async move {
        let _in_flight = in_flight;
        tokio::select! {
            () = task_state.shutdown.cancelled() => {}
            () = progress(&task_state, run) => {}
        }
    });
    Ok(run_id)
}

async fn progress(state: &ServerState, mut run: RunRecord) {
    let agent_id = run.agent_id;
    for percent in STEPS {
        tokio::time::sleep(state.config.run_step()).await;
        run.status = RunStatus::Running;
        run.progress = percent;
        run.started_at.get_or_insert_with(now_ms);
        if !step(state, agent_id, |store, out| publish(store, out, &run)).await {
            return;
        }
    }
    tokio::time::sleep(state.config.run_step()).await;
    run.status = RunStatus::Success;
    run.progress = 100;
    run.finished_at = Some(now_ms());
    step(state, agent_id, |store, out| {
        publish(store, out, &run);
        set_status(store, out, agent_id, IDLE);
    })
    .await;
}

/// Keeps `run` as its agent's latest and announces its `run_update`.
fn publish(store: &mut Store, out: &mut Outbox, run: &RunRecord) {
    store.record_run(run);
    out.announce(&Topic::agent(run.agent_id), &DomainEvent::RunUpdate(run));
}

/// Runs `f` if the agent still exists; false when it was deleted.
async fn step(state: &ServerState, agent_id: u64, f: impl FnOnce(&mut Store, &mut Outbox)) -> bool {
    state
        .commit(|store, out| {
            let exists = store.agent(agent_id).is_some();
            if exists {
                f(store, out);
            }
            exists
        })
        .await
}

/// Changes an agent's status and publishes `agent_updated`.
pub fn set_status(store: &mut Store, out: &mut Outbox, agent_id: u64, status: &str) {
    if let Ok((agent, change)) = store.update_agent(agent_id, None, Some(status.into()), now_ms()) {
        out.announce(
            &Topic::agent(agent_id),
            &DomainEvent::AgentUpdated(&agent, change),
        );
    }
}
