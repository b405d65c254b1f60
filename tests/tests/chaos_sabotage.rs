//! Scratch: each sabotage against the checks as they are.
#![cfg(not(target_arch = "wasm32"))]
use tether_tests::chaos::{self, ChaosConfig, Sabotage};
use tether_tests::stub::Profile;

async fn one(profile: Profile, sabotage: Sabotage) {
    let cfg = ChaosConfig { faults: 12, sabotage: Some(sabotage), ..ChaosConfig::reduced(7, profile) };
    let report = tokio::task::LocalSet::new().run_until(async move { chaos::run(&cfg).await }).await;
    println!("SABOTAGE {sabotage:?} {profile:?}: sound {} lost {} announced {}\n{report}", report.is_sound(), report.tally.lost, report.tally.announced);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sabotage_runs() {
    one(Profile::Tether, Sabotage::Deaf).await;
    one(Profile::Tether, Sabotage::LateStart).await;
    one(Profile::Tether, Sabotage::SpuriousResync).await;
    one(Profile::Origin, Sabotage::DropOne).await;
    one(Profile::Origin, Sabotage::MuteResyncs).await;
    let cfg = chaos::tabs::TabChaosConfig { faults: 12, sabotage: Some(Sabotage::StopAfterTwo), ..chaos::tabs::TabChaosConfig::reduced(17) };
    let report = tokio::task::LocalSet::new().run_until(async move { chaos::tabs::run(&cfg).await }).await;
    println!("SABOTAGE StopAfterTwo tabs: sound {}\n{report}", report.is_sound());
}
