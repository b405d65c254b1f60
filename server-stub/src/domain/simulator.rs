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
                () = tokio::time::sleep(state.config.simulate_interval()) => apply(&state),
            }
        }
    });
}

fn apply(state: &ServerState) {
    match pick(&state.read(|store| store.agent_ids())) {
        Some(Change::Status(id, status)) => state.commit(|store, hub| {
            if let Some((agent, change)) = store.set_status_and_error(id, status, None, now_ms()) {
                hub.announce(
                    &Topic::agent(id),
                    &DomainEvent::AgentUpdated(&agent, change),
                );
            }
        }),
        Some(Change::Failure(id)) => state.commit(|store, hub| {
            let error = Some(SIMULATED_ERROR.to_owned());
            if let Some((agent, change)) = store.set_status_and_error(id, "error", error, now_ms())
            {
                hub.announce(
                    &Topic::agent(id),
                    &DomainEvent::AgentUpdated(&agent, change),
                );
            }
        }),
        Some(Change::Run(id)) => {
            runs::start(state, id, Trigger::Schedule);
        }
        None => {}
    }
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
}
