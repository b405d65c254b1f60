//! One user against the others through the stub's records (issue 21, findings 2, 3 and 10):
//! lists that scanned every user's records and answered them whole, records without a quota,
//! and runs without a bound. Each attack also times a well-behaved user connecting from
//! another loopback address (`fair::served_within`).

mod common;

use common::fair::{
    all_limit, create_agents, dev_token, fill_thread, http_from, rest, served_within, ws_from,
    ATTACKER_IP, VICTIM_IP,
};
use common::hostile::ChildStub;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;

use tether_wire::control::Control;

const SECOND: Duration = Duration::from_secs(1);

/// Walks a list's pages (`?after=` the previous page's `next`); returns every item's id and
/// the largest page seen, in items.
async fn walk(addr: SocketAddr, token: &str, path: &str, key: &str) -> (Vec<u64>, usize) {
    let http = http_from(ATTACKER_IP);
    let (mut ids, mut largest, mut after) = (Vec::new(), 0, None::<u64>);
    for _ in 0..10_000 {
        let page_path = match after {
            Some(after) => format!("{path}?after={after}"),
            None => path.to_owned(),
        };
        let (status, page) = rest(&http, addr, (Method::GET, &page_path), token, None).await;
        assert_eq!(status, 200, "{page_path}: {page}");
        let items = page[key].as_array().expect("a list");
        largest = largest.max(items.len());
        ids.extend(items.iter().filter_map(|a| a["id"].as_u64()));
        match page["next"].as_u64() {
            Some(next) => after = Some(next),
            None => return (ids, largest),
        }
    }
    panic!("more than 10,000 pages");
}

/// Finding 2: one user's 640,256 agents slowed another user's GET of its one agent from 0.4
/// to 32 ms, and one list GET answered 196 MB. Now each user's records are indexed by owner
/// and lists come in pages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_users_many_agents_do_not_slow_another_users_reads() {
    let stub = ChildStub::start(&["--max-records-per-user", "20000"]).await;
    let addr = stub.socket_addr();
    let attacker = dev_token(3);
    let (created, refused) = create_agents(addr, &attacker, 10_000).await;
    assert!(refused.is_empty(), "{refused:?}");
    let stop = Arc::new(AtomicBool::new(false));
    let largest_answer = Arc::new(AtomicUsize::new(0));
    let readers: Vec<_> = (0..4)
        .map(|_| {
            tokio::spawn(read_lists(
                addr,
                attacker.clone(),
                stop.clone(),
                largest_answer.clone(),
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let victim = dev_token(1);
    let http = http_from(VICTIM_IP);
    let mut slowest = Duration::ZERO;
    for path in ["/api/agents/1", "/api/agents"].repeat(10) {
        let start = Instant::now();
        let (status, _) = rest(&http, addr, (Method::GET, path), &victim, None).await;
        assert_eq!(status, 200);
        slowest = slowest.max(start.elapsed());
    }
    println!("finding 2: another user's reads took at most {slowest:?}");
    let took = served_within(addr, &victim, SECOND).await;
    stop.store(true, Ordering::Relaxed);
    let reads: usize = futures_util::future::join_all(readers)
        .await
        .into_iter()
        .map(|r| r.expect("reader"))
        .sum();
    let (listed, largest_page) = walk(addr, &attacker, "/api/agents", "agents").await;
    println!(
        "finding 2: 10,000 agents of one user, 4 readers of its list ({reads} reads, largest \
         answer {} KB): another user served in {took:?}; largest page {largest_page} agents",
        largest_answer.load(Ordering::Relaxed) / 1000
    );
    assert!(largest_page <= 100, "a page of {largest_page} agents");
    let listed: BTreeSet<u64> = listed.into_iter().collect();
    assert!(
        created.iter().all(|id| listed.contains(id)),
        "the pages list every agent created"
    );
    assert!(slowest < Duration::from_millis(250), "{slowest:?}");
}

/// Reads the first page of the attacker's agents until `stop`; returns how many reads.
async fn read_lists(
    addr: SocketAddr,
    token: String,
    stop: Arc<AtomicBool>,
    largest: Arc<AtomicUsize>,
) -> usize {
    let http = http_from(ATTACKER_IP);
    let mut reads = 0;
    while !stop.load(Ordering::Relaxed) {
        let response = http
            .get(format!("http://{addr}/api/agents"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("list");
        let bytes = response.bytes().await.expect("body").len();
        largest.fetch_max(bytes, Ordering::Relaxed);
        reads += 1;
    }
    reads
}

/// Finding 3: one token grew the stub's memory by 139 MiB/s, every answer 201, and deleting
/// the thread did not give the memory back. Now a user's records have a quota, in bytes and in
/// number: past it 429 `LIMIT` (and `error` `LIMIT` on the WebSocket); deleting frees it, and
/// refilling reuses the memory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_users_records_stay_within_its_quota() {
    let stub = ChildStub::start(&[
        "--max-stored-bytes-per-user",
        "2097152",
        "--max-records-per-user",
        "300",
    ])
    .await;
    let addr = stub.socket_addr();
    let attacker = dev_token(2);
    let before = stub.rss_kib();
    let (stored, refused) = fill_thread(addr, &attacker, 11, (400, 16_000)).await;
    let filled = stub.rss_kib();
    let http = http_from(ATTACKER_IP);
    let (status, _) = rest(
        &http,
        addr,
        (Method::DELETE, "/api/threads/11"),
        &attacker,
        None,
    )
    .await;
    assert_eq!(status, 200);
    let new_thread = json!({ "agent_id": 2, "title": "again" });
    let (status, thread) = rest(
        &http,
        addr,
        (Method::POST, "/api/threads"),
        &attacker,
        Some(new_thread),
    )
    .await;
    assert_eq!(status, 201, "{thread}");
    let thread = thread["id"].as_u64().expect("an id");
    let (stored_again, _) = fill_thread(addr, &attacker, thread, (400, 16_000)).await;
    let refilled = stub.rss_kib();
    let (agents, agents_refused) = create_agents(addr, &attacker, 400).await;
    let mut ws = ws_from(addr, &attacker, ATTACKER_IP, None)
        .await
        .expect("ws");
    ws.send_message("over", thread, &"o".repeat(1000)).await;
    let answer = ws.recv().await;
    let took = served_within(addr, &dev_token(1), SECOND).await;
    println!(
        "finding 3: 400 posts of 16 KB: {stored} stored (RSS +{} MiB), then {stored_again} \
         after deleting the thread (RSS +{} MiB more); {} agents created of 400; another user \
         served in {took:?}",
        filled.saturating_sub(before) / 1024,
        refilled.saturating_sub(filled) / 1024,
        agents.len()
    );
    assert!(
        stored * 16_000 <= 2 << 20,
        "{stored} messages of 16 KB stored"
    );
    assert!(
        all_limit(&refused) && stored + refused.len() == 400,
        "{refused:?}"
    );
    assert!(stored_again + 1 >= stored, "deleting gave the quota back");
    assert!(
        refilled.saturating_sub(filled) < 4 * 1024,
        "refilling reused the memory"
    );
    let records = 1 + agents.len() + 1 + stored_again;
    assert!(records <= 300 && !agents.is_empty(), "{records} records");
    assert!(all_limit(&agents_refused), "{:?}", agents_refused.first());
    assert_eq!(answer.req_id.as_deref(), Some("over"));
    let Control::Error(error) = common::control(&answer) else {
        panic!("expected an error, got {answer:?}")
    };
    assert_eq!(error.error, "LIMIT");
}

/// Finding 10: 30,000 runs a second left about 36,000 timer tasks alive. Now a user has at most
/// `--max-runs-per-user` runs in flight: past it 429 `LIMIT`. Counted against the publish log:
/// every accepted run, and only those, reported `run_update`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_in_flight_are_capped_per_user() {
    let stub = ChildStub::start(&[
        "--test-control",
        "--max-runs-per-user",
        "4",
        "--run-step-ms",
        "2000",
    ])
    .await;
    let addr = stub.socket_addr();
    let attacker = dev_token(2);
    let http = http_from(ATTACKER_IP);
    let start = Instant::now();
    let run = (Method::POST, "/api/agents/2/run");
    let answers: Vec<(u16, Value)> = futures_util::stream::iter(0..200)
        .map(|_| rest(&http, addr, run.clone(), &attacker, None))
        .buffer_unordered(16)
        .collect()
        .await;
    let posted_in = start.elapsed();
    let accepted: BTreeSet<u64> = answers
        .iter()
        .filter(|(s, _)| *s == 202)
        .filter_map(|(_, b)| b["run_id"].as_u64())
        .collect();
    let refused: Vec<_> = answers.into_iter().filter(|(s, _)| *s != 202).collect();
    let took = served_within(addr, &dev_token(1), SECOND).await;
    let (_, log) = rest(
        &http,
        addr,
        (Method::GET, "/api/test/published?topic=agent:2"),
        &attacker,
        None,
    )
    .await;
    let reported: BTreeSet<u64> = log["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["type"] == "run_update")
        .filter_map(|e| e["id"].as_u64())
        .collect();
    println!(
        "finding 10: 200 runs asked in {posted_in:?}: {} accepted, {} refused; another user \
         served in {took:?}",
        accepted.len(),
        refused.len()
    );
    assert!(
        posted_in < Duration::from_secs(7),
        "the runs were asked within a run's time"
    );
    assert_eq!(accepted.len(), 4);
    assert!(all_limit(&refused), "{:?}", refused.first());
    assert_eq!(
        reported, accepted,
        "the publish log shows the accepted runs only"
    );
}
