//! The hidden-tabs measurement (`scripts/hidden_tabs.sh`): a tab-sharing leader in a
//! background tab of headful Chromium for minutes, its followers in the foreground (see
//! `tether_tests::e2e::hidden`). Prints the figures; exits 1 if any tab lost, repeated or was
//! resynced on an event.
//!
//! Usage: `hidden_tabs [--secs N] [--publish-ms N] [--grace-secs N]` (`--grace-secs 0` leaves
//! Chromium's own 5-minute grace period before intensive wake-up throttling).

#[cfg(not(target_arch = "wasm32"))]
#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    use std::time::Duration;
    use tether_tests::e2e::hidden::{run, HiddenConfig};

    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str, default: u64| -> u64 {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let grace = arg("--grace-secs", 10);
    let cfg = HiddenConfig {
        duration: Duration::from_secs(arg("--secs", 600)),
        publish_every: Duration::from_millis(arg("--publish-ms", 1000)),
        grace_secs: (grace > 0).then_some(grace),
    };
    println!("[hidden] {cfg:?}");
    let r = run(&cfg).await;
    println!("hidden tabs: {}", r.chromium);
    println!(
        "  {:.1} min, {} events published (2 topics); {} socket(s) through the tap, \
         connections_opened at the stub {}; closes at the stub {}",
        r.minutes, r.published, r.sockets, r.connections_opened, r.closes
    );
    for h in &r.heartbeat {
        println!("  {h}");
    }
    for t in &r.tabs {
        println!(
            "  {}: due {} got {} lost {} duplicated {} resynced/refused {}; visibility {:?}; \
             250 ms timer wake-ups: {} intervals, median {} ms, max {} ms, {} of >= 50 s",
            t.role,
            t.due,
            t.got,
            t.lost,
            t.duplicated,
            t.resyncs,
            t.visibility,
            t.wakes.0,
            t.wakes.1,
            t.wakes.2,
            t.wakes.3,
        );
    }
    let ok = r.is_sound();
    println!(
        "hidden tabs: {}",
        if ok { "0 lost, 0 duplicated" } else { "FAILED" }
    );
    std::process::exit(if ok { 0 } else { 1 });
}

#[cfg(target_arch = "wasm32")]
fn main() {}
