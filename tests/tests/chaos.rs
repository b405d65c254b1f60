//! The reduced chaos runs and the thundering herds, inside the test command. The `chaos` command
//! (scripts/chaos.sh) runs the full schedules. `chaos_sabotage.rs` shows each check can fail.

#![cfg(not(target_arch = "wasm32"))]

use tether_tests::chaos::{self, ChaosConfig};
use tether_tests::herd;
use tether_tests::stub::Profile;

async fn chaos_run(cfg: ChaosConfig) -> chaos::ChaosReport {
    tokio::task::LocalSet::new()
        .run_until(async move { chaos::run(&cfg).await })
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_faults_every_view_sees_every_event_from_mount_once_and_in_order() {
    let report = chaos_run(ChaosConfig::reduced(7, Profile::Tether)).await;
    println!("{report}");
    assert!(report.total_effective() >= 30, "{report}");
    assert!(
        report.published > 100 && report.tally.delivered > 100,
        "{report}"
    );
    assert!(
        report.mounted_offline > 0,
        "views mounted while down: {report}"
    );
    assert!(report.sends.queued > 0, "sends while down: {report}");
    assert!(
        report.answers > 100,
        "the stub's record of its answers: {report}"
    );
    assert!(report.is_sound(), "{report}");
    assert!(
        report.duplicates_dropped > 0,
        "the stub repeated events on purpose: {report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_buffer_too_small_makes_views_reload_and_lose_nothing_they_can_load() {
    let report = chaos_run(ChaosConfig::reduced(11, Profile::Tether).with_small_buffer()).await;
    println!("{report}");
    assert!(report.resyncs > 0, "the buffer was exceeded: {report}");
    assert!(report.reloads > 0, "history views reloaded: {report}");
    assert!(
        report.tally.announced > 0,
        "evictions accounted for: {report}"
    );
    assert!(report.is_sound(), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn against_the_origin_profile_views_that_reload_lose_nothing_and_none_repeats() {
    let report = chaos_run(ChaosConfig::reduced(13, Profile::Origin)).await;
    println!("{report}");
    assert!(report.total_effective() >= 30, "{report}");
    assert!(report.tally.delivered > 100, "{report}");
    assert!(report.history_tally.delivered > 20, "{report}");
    // Without replay, event views lose exactly what was published while no connection held
    // their topic, each gap announced; history views reload after each reconnect and lose
    // nothing (both checked by is_sound).
    assert!(report.tally.gaps > 0, "gaps were lived through: {report}");
    assert!(
        report.frames.server > 100,
        "the origin's frames were validated: {report}"
    );
    assert!(report.is_sound(), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tabs_opening_closing_and_losing_their_leader_under_faults_lose_nothing() {
    let cfg = chaos::tabs::TabChaosConfig {
        // CHAOS_TEXT=1: the same run on text frames.
        binary_frames: std::env::var("CHAOS_TEXT").is_err(),
        ..chaos::tabs::TabChaosConfig::reduced(17)
    };
    let binary = cfg.binary_frames;
    let report = tokio::task::LocalSet::new()
        .run_until(async move { chaos::tabs::run(&cfg).await })
        .await;
    println!("{report}");
    assert!(report.faults.1 >= 20, "{report}");
    assert!(
        report.leaders_closed + report.leaders_killed >= 3,
        "the leader went away: {report}"
    );
    assert!(report.tally.delivered > 100, "{report}");
    assert_eq!(
        report.frames.server_binary > 0,
        binary,
        "the server's frames came as asked: {report}"
    );
    assert!(report.is_sound(), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jitter_spreads_a_herd_of_reconnects() {
    let report = tokio::task::LocalSet::new()
        .run_until(herd::run(100, 300))
        .await;
    println!("{report}");
    assert!(report.is_sound(2.0), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tabs_sharing_a_socket_cut_the_herd_to_one_connection_per_user() {
    let report = tokio::task::LocalSet::new()
        .run_until(tether_tests::herd_tabs::run(300, 3, 300))
        .await;
    println!("{report}");
    assert!(report.is_sound(), "{report}");
}
