//! B7, fan-out through the broker: the same offered load (200 native clients, each on 5 of 20
//! open topics, 50 events/s on every topic for 3 s, so about 50,000 deliveries/s) on three
//! setups, as real processes: one stub with its broker in memory, one stub on Redis, and two
//! stubs on one Redis (clients and publishing split between them). Three runs of each,
//! alternating. Prints `BENCH|…` lines: deliveries/s against the offered rate, and p99 against
//! the in-memory p99, each with the CPU the clients, the node(s), redis-server and other
//! processes used while publishing.

#[cfg(not(target_arch = "wasm32"))]
mod measure;

#[cfg(not(target_arch = "wasm32"))]
fn num(v: f64) -> String {
    match v.abs() {
        a if a >= 1000.0 || v.fract() == 0.0 => format!("{v:.0}"),
        a if a >= 10.0 => format!("{v:.1}"),
        _ => format!("{v:.2}"),
    }
}

/// The median and `min–max` of runs.
#[cfg(not(target_arch = "wasm32"))]
fn stat(runs: &[f64]) -> (String, String) {
    let mut v = runs.to_vec();
    v.sort_by(f64::total_cmp);
    let spread = format!("{}–{}", num(v[0]), num(v[v.len() - 1]));
    (num(v[(v.len() - 1) / 2]), spread)
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    use measure::{Run, Setup, CLIENTS, RATE, SECONDS, TOPICS};

    let runs: usize = std::env::var("TETHER_B7_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let setups = [Setup::Memory, Setup::RedisOne, Setup::RedisTwo];
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let local = tokio::task::LocalSet::new();
    let results: Vec<Vec<Run>> = local.block_on(&runtime, async {
        let mut results = vec![Vec::new(); setups.len()];
        for r in 1..=runs {
            for (k, setup) in setups.iter().enumerate() {
                let run = measure::run(*setup).await;
                println!(
                    "B7 run {r}/{runs}, {}: offered {:.0}/s, delivered {:.0}/s, p50 {:.0} ms, p99 {:.0} ms, missing {}, CPU % of a core: clients {:.0}, node(s) {:.0}, redis-server {:.0}, others {:.0}",
                    setup.name(), run.offered, run.delivered, run.p50, run.p99, run.missing,
                    run.cpu[0], run.cpu[1], run.cpu[2], run.cpu[3]
                );
                results[k].push(run);
            }
        }
        results
    });
    let memory_p99: Vec<f64> = results[0].iter().map(|r| r.p99).collect();
    let setup = format!(
        "{CLIENTS} clients on 5 of {TOPICS} topics, {RATE} events/s on each for {SECONDS} s"
    );
    for (setup_k, runs) in setups.iter().zip(&results) {
        let col = |f: fn(&Run) -> f64| runs.iter().map(f).collect::<Vec<_>>();
        let cpu = runs
            .iter()
            .map(|r| {
                format!(
                    "{:.0}/{:.0}/{:.0}/{:.0}",
                    r.cpu[0], r.cpu[1], r.cpu[2], r.cpu[3]
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        let limit = format!(
            "CPU while publishing, % of one core (200% = both) for the clients/the node(s)/redis-server/other processes: {cpu}; {}",
            limit(runs)
        );
        let missing: u64 = runs.iter().map(|r| r.missing).sum();
        let line = |name: &str, value: &[f64], base: &[f64], unit: &str, note: &str| {
            let ((v, vs), (b, bs)) = (stat(value), stat(base));
            println!(
                "BENCH|B7 {}: {name}|{v}|{vs}|{b}|{bs}|{unit}|{} each|{limit}|{note}",
                setup_k.name(),
                value.len()
            );
        };
        line(
            "deliveries",
            &col(|r| r.delivered),
            &col(|r| r.offered),
            "deliveries/s",
            &format!("{setup}; baseline: offered; {missing} deliveries missing over the runs"),
        );
        line(
            "p99 latency",
            &col(|r| r.p99),
            &memory_p99,
            "ms",
            &format!(
                "publish to handler; p50 {}; baseline: the in-memory broker's p99 in the same runs",
                stat(&col(|r| r.p50)).0
            ),
        );
    }
}

/// What bounds a setup's runs: saturated cores (and by whom), or not.
#[cfg(not(target_arch = "wasm32"))]
fn limit(runs: &[measure::Run]) -> String {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64 * 100.0;
    let busiest = runs
        .iter()
        .max_by(|a, b| {
            a.cpu
                .iter()
                .sum::<f64>()
                .total_cmp(&b.cpu.iter().sum::<f64>())
        })
        .map_or([0.0; 4], |r| r.cpu);
    let busy: f64 = busiest.iter().sum();
    let ours = busiest[0] + busiest[1] + busiest[2];
    if busy < 0.85 * cores {
        format!("the cores are not saturated (at most {busy:.0}% of {cores:.0}%): the offered load, not the server, sets the rate")
    } else if busiest[3] > ours {
        format!(
            "the cores are saturated ({busy:.0}% of {cores:.0}%), mostly by other processes ({:.0}%): latency here is the machine's, the delivery rate still the offered one",
            busiest[3]
        )
    } else {
        format!(
            "the cores are saturated ({busy:.0}% of {cores:.0}%) by the benchmark itself: clients {:.0}%, node(s) {:.0}%, redis-server {:.0}%",
            busiest[0], busiest[1], busiest[2]
        )
    }
}

#[cfg(target_arch = "wasm32")]
fn main() {}
