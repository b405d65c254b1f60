//! The demo simulator (`--simulate`): every couple of seconds a random agent changes status
//! (`idle` or `waiting`), and now and then one starts a run, so that a connected app has
//! something to show. Rarely (one change in 20) an agent turns `error`, with a `last_error`
//! saying the failure is simulated, so that nobody takes it for a real one.

use rand::seq::IndexedRandom;
use rand::Rng;

use tether_wire::Topic;

use crate::clock::now_ms;
use crate::domain::records::Trigger;
use crate::domain::runs;
use crate::domain::wire::DomainEvent;
use crate::state::ServerState;

/// Statuses the simulator picks from (a run sets `running`; a simulated failure, `error`).
const STATUSES: [&str; 2] = ["idle", "waiting"];

/// The `last_error` of a simulated failure.
pub const SIMULATED_ERROR: &str = "simulated failure (the stub's --simulate), not a real one";

/// One random change.
#[derive(Debug, PartialEq)]
enum Change {
    Status(u64, &'static str),
    Run(u64),
    Failure(u64),
}

/// Runs the simulator until shutdown.
pub fn spawn(state: &ServerState) {
    let state = state.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = state.shutdown.cancelled() => return,
                () = tokio::time::sleep(state.config.simulate_interval()) => apply(&state).await,
            }
        }
    });
}

async fn apply(state: &ServerState) {
    let pick_from: u64 = rand::random();
    let agent = state.read(|store| store.some_agent(pick_from)).await;
    let change = pick(agent.as_slice());
    match change {
        Some(Change::Status(id, status)) => set(state, id, status, None).await,
        Some(Change::Failure(id)) => {
            set(state, id, "error", Some(SIMULATED_ERROR.to_owned())).await
        }
        Some(Change::Run(id)) => {
            // A user with as many runs in flight as it may gets no scheduled one.
            let _ = runs::start(state, id, Trigger::Schedule).await;
        }
        None => {}
    }
}

/// Sets an agent's status and last error, and announces it.
async fn set(state: &ServerState, id: u64, status: &str, error: Option<String>) {
    state
        .commit(|store, out| {
            if let Some((agent, change)) = store.set_status_and_error(id, status, error, now_ms()) {
                out.announce(
                    &Topic::agent(id),
                    &DomainEvent::AgentUpdated(&agent, change),
                );
            }
        })
        .await;
}

fn pick(agent_ids: &[u64]) -> Option<Change> {
    let mut rng = rand::rng();
    let id = *agent_ids.choose(&mut rng)?;
    if rng.random_ratio(1, 20) {
        return Some(Change::Failure(id));
    }
    if rng.random_ratio(1, 3) {
        return Some(Change::Run(id));
    }
    STATUSES
        .choose(&mut rng)
        .map(|status| Change::Status(id, status))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_among_existing_agents_and_fails_rarely() {
        assert!(pick(&[]).is_none());
        let mut failures = 0;
        for _ in 0..2_000 {
            match pick(&[7]) {
                Some(Change::Status(7, status)) => assert!(STATUSES.contains(&status)),
                Some(Change::Run(7)) => {}
                Some(Change::Failure(7)) => failures += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
        // One in 20 of 2,000 is 100; this bound fails once in billions of runs.
        assert!((30..=200).contains(&failures), "{failures} failures");
    }

    #[tokio::test]
    async fn a_simulated_failure_says_so_in_both_profiles() {
        use crate::config::{Config, Profile};
        use crate::domain::records::AgentChange;
        use crate::domain::wire;
        let state = ServerState::new(Config {
            dev: true,
            ..Config::default()
        });
        set(&state, 1, "error", Some(SIMULATED_ERROR.to_owned())).await;
        let agent = state
            .read(|store| store.agent(1).cloned())
            .await
            .expect("agent 1");
        assert_eq!(
            (agent.status.as_str(), agent.last_error.as_deref()),
            ("error", Some(SIMULATED_ERROR))
        );
        let change = AgentChange {
            last_error: true,
            ..AgentChange::STATUS
        };
        for profile in [Profile::Tether, Profile::Origin] {
            let event = wire::encode(profile, &DomainEvent::AgentUpdated(&agent, change))
                .expect("an agent_updated");
            let data: serde_json::Value = serde_json::from_str(event.data.get()).expect("JSON");
            assert_eq!(data["last_error"], SIMULATED_ERROR, "{profile:?}");
        }
        set(&state, 1, "idle", None).await;
        let agent = state
            .read(|store| store.agent(1).cloned())
            .await
            .expect("agent 1");
        assert_eq!(agent.last_error, None, "a later status clears it");
    }
}
