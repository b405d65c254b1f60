//! B6, stub fan-out: native clients (the sans-IO core on the tokio driver, all on one thread)
//! each subscribe to 5 of 20 topics on an in-process stub with its default send queue, which
//! publishes 50 events/s on every topic. The clients double at each step (so does the offered
//! load) until the deliveries per second stop growing or a step is not sustained: an event
//! lost, a socket closed as a slow consumer, or p99 over 100 ms. Three ramps; prints
//! `BENCH|…` lines in the browser benchmarks' format: each step, the maximum sustained, and
//! where it broke, with the CPU each side used. It exits with status 1, after its figures,
//! if any step broke an invariant (an event lost or repeated, a client left without its
//! socket), printing `B6 INVARIANT BROKEN: …` for each.

#[cfg(not(target_arch = "wasm32"))]
mod cpu;
#[cfg(not(target_arch = "wasm32"))]
mod ramp;

/// Ramps to run: 3, or `TETHER_FANOUT_RAMPS`.
#[cfg(not(target_arch = "wasm32"))]
fn ramp_count() -> usize {
    std::env::var("TETHER_FANOUT_RAMPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
}

/// A number with as many decimals as its size deserves.
#[cfg(not(target_arch = "wasm32"))]
fn num(v: f64) -> String {
    match v.abs() {
        a if a >= 1000.0 || v.fract() == 0.0 => format!("{v:.0}"),
        a if a >= 10.0 => format!("{v:.1}"),
        _ => format!("{v:.2}"),
    }
}

/// The median and `min–max` of runs (`none` without any: a baseline no step met).
#[cfg(not(target_arch = "wasm32"))]
fn stat(runs: &[f64]) -> (String, String) {
    if runs.is_empty() {
        return ("none".into(), String::new());
    }
    let mut v = runs.to_vec();
    v.sort_by(f64::total_cmp);
    let spread = if v.len() > 1 {
        format!("{}–{}", num(v[0]), num(v[v.len() - 1]))
    } else {
        String::new()
    };
    (num(v[(v.len() - 1) / 2]), spread)
}

#[cfg(not(target_arch = "wasm32"))]
fn report(name: &str, value: &[f64], baseline: &[f64], unit: &str, limit: &str, note: &str) {
    let ((v, vs), (b, bs)) = (stat(value), stat(baseline));
    let runs = if value.len() == baseline.len() {
        format!("{} each", value.len())
    } else {
        format!("{} / {}", value.len(), baseline.len())
    };
    println!("BENCH|{name}|{v}|{vs}|{b}|{bs}|{unit}|{runs}|{limit}|{note}");
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    use ramp::{Step, CLIENTS, P99_LIMIT_MS, RATE, SECONDS};
    use tether_tests::stub::Stub;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let local = tokio::task::LocalSet::new();
    let ramps: Vec<Vec<Step>> = local.block_on(&runtime, async {
        // Direct: the native tests' wire audit (a proxy) would be measured too.
        // Every client is one user's (300): the per-user cap on sockets (16) is raised to the
        // ramp's largest step, or the stub closes the 17th with 1008 and the ramp stalls.
        let stub = Stub::start_direct(|c| {
            c.max_subscriptions = 64;
            c.max_connections_per_user = ramp::CLIENTS[ramp::CLIENTS.len() - 1];
        })
        .await;
        let user = 300;
        let (ids, _) = stub.seed(user, 20, 0).await;
        let topics: Vec<String> = ids
            .iter()
            .map(|id| {
                tether_client::protocol::Topic::agent(*id)
                    .as_str()
                    .to_owned()
            })
            .collect();
        let token = stub.token(user).await;
        let mut ramps = Vec::new();
        let count = ramp_count();
        for r in 1..=count {
            println!("fanout: ramp {r} of {count}");
            ramps.push(ramp::ramp(&stub, &topics, &token).await);
        }
        ramps
    });

    let cpu = |s: &Step| s.cpu.to_string();
    for n in CLIENTS {
        let at: Vec<&Step> = ramps
            .iter()
            .filter_map(|r| r.iter().find(|s| s.clients == n))
            .collect();
        if at.is_empty() {
            continue;
        }
        let col = |f: fn(&Step) -> f64| at.iter().map(|s| f(s)).collect::<Vec<_>>();
        let states: Vec<String> = at
            .iter()
            .map(|s| {
                if s.sustained() {
                    "sustained".into()
                } else {
                    s.failure()
                }
            })
            .collect();
        report(
            &format!("B6 fan-out, {n} clients: deliveries"),
            &col(|s| s.delivered),
            &col(|s| s.offered),
            "deliveries/s",
            &format!(
                "the cores: while publishing, CPU in % of a core ({:.0}% = all) for the clients' thread/the stub/other processes: {}",
                at[0].cpu.capacity,
                at.iter().map(|s| s.cpu.short()).collect::<Vec<_>>().join("; ")
            ),
            &format!("baseline: offered (published events × the stub's subscriber count, over the publishing time); {}", states.join("; ")),
        );
        let first: Vec<f64> = ramps.iter().map(|r| r[0].p99).collect();
        report(
            &format!("B6 fan-out, {n} clients: p99 latency"),
            &col(|s| s.p99),
            &first,
            "ms",
            &format!(
                "the stub stamps ts in whole ms; {}",
                at.iter().map(|s| verdict(s)).collect::<Vec<_>>().join("; ")
            ),
            &format!(
                "p50 {} ms; baseline: p99 at {} clients",
                at.iter()
                    .map(|s| format!("{:.0}", s.p50))
                    .collect::<Vec<_>>()
                    .join(", "),
                CLIENTS[0]
            ),
        );
    }

    // Each ramp's best step by each criterion, and where each limit was met.
    let best = |keep: fn(&Step) -> bool| -> Vec<&Step> {
        ramps
            .iter()
            .filter_map(|r| {
                r.iter()
                    .filter(|s| keep(s))
                    .max_by(|a, b| a.delivered.total_cmp(&b.delivered))
            })
            .collect()
    };
    let clients = |steps: &[&Step]| steps.iter().map(|s| s.clients as f64).collect::<Vec<_>>();
    let delivered = |steps: &[&Step]| steps.iter().map(|s| s.delivered).collect::<Vec<_>>();
    let offered = |steps: &[&Step]| steps.iter().map(|s| s.offered).collect::<Vec<_>>();
    let at = |steps: &[&Step]| {
        steps
            .iter()
            .map(|s| format!("{} clients: {}", s.clients, cpu(s)))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let (sustained, lossless) = (best(Step::sustained), best(Step::holds));
    let late: Vec<&Step> = ramps
        .iter()
        .filter_map(|r| r.iter().find(|s| s.p99 > P99_LIMIT_MS))
        .collect();
    let ends: Vec<&Step> = ramps.iter().filter_map(|r| r.last()).collect();
    let why = ramps
        .iter()
        .map(|r| end_reason(r))
        .collect::<Vec<_>>()
        .join("; ");
    let setup = format!("{RATE} events/s on each of 20 topics for {SECONDS} s per step, each client on 5 topics; default send queue (1024 frames)");
    if !sustained.is_empty() {
        report(
            "B6 maximum sustained deliveries (p99 ≤ 100 ms, nothing lost)",
            &delivered(&sustained),
            &offered(&sustained),
            "deliveries/s",
            &format!(
                "the p99 limit at the next step (see where latency broke); at the best step {}",
                at(&sustained)
            ),
            &format!("{setup}; baseline: offered"),
        );
    }
    if !late.is_empty() {
        report(
            "B6 where latency broke (first step with p99 > 100 ms)",
            &clients(&late),
            &clients(&sustained),
            "clients",
            &late
                .iter()
                .map(|s| {
                    format!(
                        "{} clients: p50 {:.0} ms, p99 {:.0} ms, {}; {}",
                        s.clients,
                        s.p50,
                        s.p99,
                        s.cpu,
                        verdict(s)
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
            "baseline: the largest sustained step",
        );
    }
    if !lossless.is_empty() {
        report(
            "B6 maximum throughput held (≥ 95% of the offered rate, nothing lost; p99 aside)",
            &delivered(&lossless),
            &offered(&lossless),
            "deliveries/s",
            &format!("at the best step {}", at(&lossless)),
            &format!("{setup}; baseline: offered"),
        );
    }
    report(
        "B6 where throughput broke (clients)",
        &clients(&ends),
        &clients(&lossless),
        "clients",
        &format!("{why}; {}", ends.iter().map(|s| verdict(s)).collect::<Vec<_>>().join("; ")),
        "the first step that fell under 95% of the offered rate, lost events or sockets, or whose deliveries grew under 10% while the offered load doubled; baseline: the largest step that held",
    );
    let breaks = invariant_breaks(&ramps);
    if !breaks.is_empty() {
        for b in &breaks {
            eprintln!("B6 INVARIANT BROKEN: {b}");
        }
        std::process::exit(1);
    }
}

/// Every step of every ramp that broke an invariant, with why.
#[cfg(not(target_arch = "wasm32"))]
fn invariant_breaks(ramps: &[Vec<ramp::Step>]) -> Vec<String> {
    let mut out = Vec::new();
    for (r, steps) in ramps.iter().enumerate() {
        for s in steps {
            if let Some(why) = s.invariant_break() {
                out.push(format!("ramp {}, {} clients: {why}", r + 1, s.clients));
            }
        }
    }
    out
}

/// Whether a step's CPU use explains it: saturated cores, or not.
#[cfg(not(target_arch = "wasm32"))]
fn verdict(s: &ramp::Step) -> String {
    let c = &s.cpu;
    if c.total() >= 0.85 * c.capacity {
        format!(
            "the cores are saturated ({:.0}% of {:.0}%)",
            c.total(),
            c.capacity
        )
    } else {
        format!(
            "the cores are not saturated ({:.0}% of {:.0}%), so the wait is in the sockets' queues (cause not measured apart)",
            c.total(),
            c.capacity
        )
    }
}

/// Why a ramp ended.
#[cfg(not(target_arch = "wasm32"))]
fn end_reason(r: &[ramp::Step]) -> String {
    let last = r.last().expect("a step");
    if !last.holds() {
        return format!("{} clients: {}", last.clients, last.failure());
    }
    match r.len().checked_sub(2).map(|i| &r[i]) {
        Some(prev) if last.delivered < 1.1 * prev.delivered => format!(
            "{} clients: deliveries grew {:.0}% while the offered load doubled",
            last.clients,
            100.0 * (last.delivered / prev.delivered - 1.0)
        ),
        _ => format!("no break up to {} clients", last.clients),
    }
}

#[cfg(target_arch = "wasm32")]
fn main() {}
