//! B6, stub fan-out: N native clients (the sans-IO core on the tokio driver) each subscribe to
//! 5 of 20 topics while the stub publishes at a fixed rate. Prints deliveries per second and the
//! p99 publish-to-handler latency as N grows, one `BENCH|…` line per N (baseline: N = 1), and
//! the knee: the first N whose p99 is more than twice the smallest one.

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

    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
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
        for n in [1usize, 25, 50, 100, 200, 400] {
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
        let (_, base_rate, _) = rows[0];
        let best_p99 = rows.iter().map(|r| r.2).fold(f64::MAX, f64::min).max(1.0);
        let knee = rows.iter().find(|r| r.2 > 2.0 * best_p99).map(|r| r.0);
        for (n, rate, p99) in &rows {
            println!("BENCH|B6 stub fan-out N={n} deliveries|{rate:.1}|{base_rate:.1}|deliveries/s|p99 {p99:.0} ms; baseline N=1");
        }
        match knee {
            Some(n) => println!("BENCH|B6 knee (p99 > 2x best)|{n}|{}|clients|first N whose p99 doubled", rows[0].0),
            None => println!("BENCH|B6 knee (p99 > 2x best)|0|{}|clients|none up to {} clients", rows[0].0, rows.last().unwrap().0),
        }
    });
}

#[cfg(target_arch = "wasm32")]
fn main() {}
