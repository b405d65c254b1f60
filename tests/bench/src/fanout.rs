//! B6, stub fan-out: N native clients (the sans-IO core on the tokio driver) each subscribe to
//! 5 of 20 topics while the stub publishes at a fixed rate. Prints deliveries per second and the
//! p99 publish-to-handler latency as N grows, one `BENCH|…` line per N (baseline: N = 1), and
//! the knee: the first N where deliveries stop scaling linearly or the p99 passes 50 ms.

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    use std::cell::RefCell;
    use std::rc::Rc;
    use std::time::{Duration, Instant};

    use tether::core::{Config, TopicEvent};
    use tether::protocol::Topic;
    use tether::AppState;
    use tether_tests::stub::Stub;

    const TOPICS: usize = 20;
    const RATE_PER_TOPIC: u32 = 50; // 1,000 events/s in all
    const SECONDS: u64 = 3;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async {
        let stub = Stub::start(|c| {
            c.queue_capacity = 100_000;
            c.max_subscriptions = 64;
        })
        .await;
        let user = 300;
        let ids = stub.seed(user, TOPICS).await;
        let token = stub.token(user).await;
        let mut rows: Vec<(usize, f64, f64)> = Vec::new();
        for n in [1usize, 25, 50, 100, 200, 400, 800] {
            let latencies = Rc::new(RefCell::new(Vec::<u64>::new()));
            let mut apps = Vec::new();
            for i in 0..n {
                let token = token.clone();
                let config = Config::new(stub.ws_url()).with_token(move || Some(token.clone()));
                let (client, driver, _) = tether::native::client(config, i as u64);
                tokio::task::spawn_local(driver.run());
                let app = AppState::new(client);
                app.client.connect();
                let subs: Vec<_> = (0..5)
                    .map(|k| {
                        let l = latencies.clone();
                        let topic = Topic::Agent(ids[(i * 5 + k * 4) % TOPICS]);
                        app.topics.subscribe(topic, move |e: &TopicEvent| {
                            if e.frame.seq.is_some() {
                                let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
                                l.borrow_mut().push(now.saturating_sub(e.frame.ts));
                            }
                        })
                    })
                    .collect();
                apps.push((app, subs));
            }
            let ready = Instant::now();
            while apps.iter().any(|(a, _)| a.client.metrics().subscriptions.active < 5) && ready.elapsed() < Duration::from_secs(60) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            latencies.borrow_mut().clear();
            let started = Instant::now();
            let count = RATE_PER_TOPIC as u64 * SECONDS;
            let publishes: Vec<_> = ids
                .iter()
                .map(|id| {
                    let stub = stub.clone();
                    let topic = Topic::Agent(*id).to_string();
                    tokio::spawn(async move {
                        stub.control(&format!("publish?topic={topic}&count={count}&rate={RATE_PER_TOPIC}&size=120")).await
                    })
                })
                .collect();
            for p in publishes {
                let _ = p.await;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
            let elapsed = started.elapsed().as_secs_f64();
            let mut l = latencies.borrow().clone();
            l.sort_unstable();
            let p99 = l.get(((l.len().max(1) - 1) as f64 * 0.99) as usize).copied().unwrap_or(0) as f64;
            let rate = l.len() as f64 / elapsed;
            println!("fanout N={n:>4}: {rate:>9.0} deliveries/s, p99 {p99:>5.0} ms ({} deliveries)", l.len());
            rows.push((n, rate, p99));
            for (app, subs) in apps {
                drop(subs);
                app.client.close();
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        // The knee: the first N where deliveries stop scaling linearly (below 90% of N times
        // the single client's rate) or the p99 passes 50 ms.
        let (base_n, base_rate, base_p99) = rows[0];
        let knee = rows.iter().find(|(n, rate, p99)| *rate < 0.9 * base_rate * *n as f64 / base_n as f64 || *p99 > 50.0);
        for (n, rate, p99) in &rows {
            println!("BENCH|B6 stub fan-out N={n}: deliveries|{rate:.1}|{base_rate:.1}|deliveries/s|baseline: N=1");
            println!("BENCH|B6 stub fan-out N={n}: p99 latency|{p99:.1}|{base_p99:.1}|ms|baseline: N=1; clients and stub share the 2 cores");
        }
        match knee {
            Some((n, _, _)) => println!("BENCH|B6 knee: first N below linear scaling or p99 > 50 ms|{n}|{base_n}|clients|"),
            None => println!("BENCH|B6 knee: first N below linear scaling or p99 > 50 ms|0|{base_n}|clients|none up to {} clients", rows.last().map_or(0, |r| r.0)),
        }
    });
}

#[cfg(target_arch = "wasm32")]
fn main() {}
