//! The `chaos` command's native part: the full chaos schedule for each server the stub can be
//! (tether's profile, the same with a replay buffer so small reconnects exceed it, and the
//! origin's profile), then tabs sharing one socket while they open, close and lose their leader,
//! then the run across two stub processes on one Redis, then a 300-client herd with and without
//! jitter, then a herd of 300 browsers of 3 tabs each, sharing a socket and not, with their
//! counts; it fails unless every run is sound (its checks: `ChaosReport::is_sound`,
//! `TabChaosReport::is_sound`, `NodesReport::is_sound` with at least 200 effective faults and
//! every kind hit, `HerdReport::is_sound` with jitter cutting the largest bucket at least 2x,
//! `TabHerdReport::is_sound`).
//! `scripts/chaos.sh` runs it, then the fixed-length fuzz runs.
//!
//! Usage: `chaos [--seed N] [--faults N] [--clients N] [--browsers N]`

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    use tether_tests::chaos::{self, ChaosConfig};
    use tether_tests::stub::Profile;
    use tether_tests::{herd, herd_tabs};

    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str, default: u64| -> u64 {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let seed = arg("--seed", 42);
    let faults = |cfg: ChaosConfig| ChaosConfig {
        faults: arg("--faults", cfg.faults as u64) as usize,
        ..cfg
    };
    let runs = [
        faults(ChaosConfig::full(seed, Profile::Tether)),
        faults(ChaosConfig::full(seed, Profile::Tether).with_small_buffer()),
        faults(ChaosConfig::full(seed, Profile::Origin)),
    ];
    let clients = arg("--clients", 300) as usize;
    let browsers = arg("--browsers", 300) as usize;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let local = tokio::task::LocalSet::new();
    let ok = local.block_on(&runtime, async {
        let mut ok = true;
        for cfg in &runs {
            println!(
                "== chaos, {}: seed {}, {} agent topics, {} threads, {} faults",
                cfg.label, cfg.seed, cfg.agent_topics, cfg.threads, cfg.faults
            );
            let report = chaos::run(cfg).await;
            println!("{report}\n");
            ok &= report.is_sound() && report.total_effective() >= cfg.faults * 5 / 6;
        }
        let tabs = chaos::tabs::TabChaosConfig {
            faults: arg("--faults", 200) as usize,
            ..chaos::tabs::TabChaosConfig::full(seed)
        };
        println!(
            "== chaos, tabs: seed {}, {} agent topics, {}..={} tabs, {} faults",
            tabs.seed, tabs.agent_topics, tabs.min_tabs, tabs.max_tabs, tabs.faults
        );
        let report = chaos::tabs::run(&tabs).await;
        println!("{report}\n");
        ok &= report.is_sound() && report.faults.1 >= tabs.faults * 3 / 4;
        let nodes = chaos::nodes::NodesConfig {
            faults: arg("--faults", 240) as usize,
            ..chaos::nodes::NodesConfig::full(seed)
        };
        println!(
            "== chaos, two stub processes on one Redis: seed {}, {} topics, {} faults",
            nodes.seed, nodes.topics, nodes.faults
        );
        let report = chaos::nodes::run(&nodes).await;
        println!("{report}\n");
        let kinds = [
            "node killed",
            "redis restart keeping data",
            "redis restart losing data",
        ];
        ok &= report.is_sound()
            && report.chaos.total_effective() >= 200
            && kinds.iter().all(|k| report.chaos.hits(k) > 0);
        println!("== thundering herd");
        let herd = herd::run(clients, 1_000).await;
        println!("{herd}\n");
        ok &= herd.is_sound(2.0);
        println!("== thundering herd of browsers");
        let browsers = herd_tabs::run(browsers, 3, 300).await;
        println!("{browsers}");
        ok && browsers.is_sound()
    });
    println!();
    println!(
        "chaos: {}",
        if ok { "every promise held" } else { "FAILED" }
    );
    std::process::exit(if ok { 0 } else { 1 });
}

#[cfg(target_arch = "wasm32")]
fn main() {}
