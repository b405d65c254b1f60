//! The reduced chaos run and the thundering herd, inside the test command. The `chaos` command
//! (scripts/chaos.sh) runs the full schedule.

#![cfg(not(target_arch = "wasm32"))]

use tether_tests::chaos::{self, ChaosConfig};
use tether_tests::herd;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_faults_every_view_sees_every_event_once_and_in_order() {
    let report = tokio::task::LocalSet::new()
        .run_until(async { chaos::run(&ChaosConfig::reduced(7)).await })
        .await;
    println!("{report}");
    assert!(report.total_faults() >= 40);
    assert!(report.published > 100 && report.delivered > 100, "{report}");
    assert!(report.is_clean(), "{report}");
    // The stub repeated events on purpose; the client dropped them before any view saw them.
    assert!(report.faults["duplicate"] > 0, "{report}");
    assert!(report.duplicates_dropped > 0, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jitter_spreads_a_herd_of_reconnects() {
    let report = tokio::task::LocalSet::new()
        .run_until(herd::run(100, 300))
        .await;
    println!("{report}");
    assert_eq!(report.reopened, 100);
    // Without jitter all 100 would retry in one bucket; full jitter spreads the first retry over
    // 500 ms, so no bucket holds much more than a fifth of them.
    assert!(report.peak() <= 45, "{report}");
}
