//! The `chaos` command's native part: the full chaos schedule and a 300-client herd, with their
//! counts. `scripts/chaos.sh` runs it, then the fixed-length fuzz runs.
//!
//! Usage: `chaos [--seed N] [--faults N] [--clients N]`

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    use tether_tests::chaos::{self, ChaosConfig};
    use tether_tests::herd;

    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str, default: u64| -> u64 {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let mut cfg = ChaosConfig::full(arg("--seed", 42));
    cfg.faults = arg("--faults", cfg.faults as u64) as usize;
    let clients = arg("--clients", 300) as usize;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let local = tokio::task::LocalSet::new();
    let (report, herd) = local.block_on(&runtime, async {
        println!(
            "== chaos: seed {}, {} topics, {} faults",
            cfg.seed, cfg.topics, cfg.faults
        );
        let report = chaos::run(&cfg).await;
        println!("{report}");
        println!();
        println!("== thundering herd");
        let herd = herd::run(clients, 1_000).await;
        println!("{herd}");
        (report, herd)
    });
    let ok = report.is_clean() && herd.reopened == herd.clients;
    println!();
    println!(
        "chaos: {}",
        if ok { "every promise held" } else { "FAILED" }
    );
    std::process::exit(if ok { 0 } else { 1 });
}

#[cfg(target_arch = "wasm32")]
fn main() {}
