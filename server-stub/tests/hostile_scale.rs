//! Memory at scale (issue 16): the stub binary holding 10,000 idle WebSockets, its resident
//! memory read from /proc. Raises this process's open-file limit to its hard limit first (the
//! stub inherits it); the run needs about 10,100 descriptors in each process.

mod common;

use std::time::Duration;

use common::hostile::ChildStub;

const SOCKETS: u64 = 10_000;

/// Raises the soft limit on open files to the hard limit; returns the new soft limit.
fn raise_open_files() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct given.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        limit.rlim_cur = limit.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
    }
    limit.rlim_cur
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_idle_connections_stay_under_400_mib() {
    let files = raise_open_files();
    assert!(
        files >= SOCKETS + 200,
        "this test needs {} open files per process; the hard limit here is {files}",
        SOCKETS + 200
    );
    let stub = ChildStub::start(&[
        "--max-connections",
        "20000",
        "--max-connections-per-user",
        "20000",
    ])
    .await;
    let url = format!("ws://{}/api/ws/v2?token=dev-token&tether=1", stub.addr);
    let before = stub.rss_kib();
    let mut sockets = Vec::new();
    for _ in 0..SOCKETS {
        let (ws, _) = tokio_tungstenite::connect_async(&url)
            .await
            .expect("connect");
        sockets.push(ws);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = stub.rss_kib();
    let stats: serde_json::Value = reqwest::get(format!("http://{}/api/stats", stub.addr))
        .await
        .expect("stats")
        .json()
        .await
        .expect("json");
    assert_eq!(stats["connections_open"].as_u64(), Some(SOCKETS));
    println!(
        "10,000 idle WebSockets: the stub's RSS {} MiB (from {} MiB with none), {} bytes each",
        after / 1024,
        before / 1024,
        (after - before) * 1024 / SOCKETS
    );
    assert!(after < 400 * 1024, "{after} KiB");
}
