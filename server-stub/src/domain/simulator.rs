//! The demo simulator (`--simulate`): every couple of seconds a random agent changes status,
//! and now and then one starts a run, so that a connected app has something to show.

use rand::seq::IndexedRandom;
use rand::Rng;

use crate::domain::records::Trigger;
use crate::domain::runs;
use crate::state::ServerState;

/// Statuses the simulator picks from.
const STATUSES: [&str; 4] = ["idle", "running", "waiting", "error"];

/// One random change.
#[derive(Debug)]
enum Change {
    Status(u64, &'static str),
    Run(u64),
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
        Some(Change::Status(id, status)) => {
            state
                .commit(|store, out| runs::set_status(store, out, id, status))
                .await;
        }
        Some(Change::Run(id)) => {
            // A user with as many runs in flight as it may gets no scheduled one.
            let _ = runs::start(state, id, Trigger::Schedule).await;
        }
        None => {}
    }
}

fn pick(agent_ids: &[u64]) -> Option<Change> {
    let mut rng = rand::rng();
    let id = *agent_ids.choose(&mut rng)?;
    if rng.random_ratio(1, 4) {
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
    fn picks_among_existing_agents() {
        assert!(pick(&[]).is_none());
        for _ in 0..50 {
            match pick(&[7]) {
                Some(Change::Status(7, status)) => assert!(STATUSES.contains(&status)),
                Some(Change::Run(7)) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
    }
}
