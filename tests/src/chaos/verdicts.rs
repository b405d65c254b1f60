//! The end of a single-client run: every view lifetime checked against the stub's records, and
//! what was left behind (handlers, subscriptions, listeners, sockets, timers).

use std::time::Duration;

use tether_client::native::DriverProbe;
use tether_client::ListenerGuard;

use super::check::{self, Truth};
use super::report::ChaosReport;
use super::views::Mark;
use super::{Scene, USER};
use crate::stub::{Point, Profile};
use crate::wait;

/// Checks every view that was mounted, against its topic's publish log, the user's membership
/// log and the faults that hit (`faults`).
pub(super) async fn views(
    scene: &Scene,
    live: &super::live::Live,
    faults: &[Point],
    report: &mut ChaosReport,
) {
    let stub = &scene.stub;
    let membership = stub.membership(USER).await.entries;
    report.answers = membership.len();
    let numbered = stub.profile == Profile::Tether;
    for (t, topic) in scene.agent_topics.iter().enumerate() {
        let log = stub.published(topic).await;
        let truth = Truth::of(topic, &log, &membership, faults);
        for v in live.done_event.iter().filter(|v| v.topic == t) {
            let tally = if numbered {
                check::event_view(v, &truth)
            } else {
                check::origin_view(v, &truth)
            };
            debug_lost(topic, v, &tally, &truth);
            report.add(tally, v.offline, false);
            let resyncs = v
                .marks
                .borrow()
                .iter()
                .filter(|m| matches!(m, Mark::Resync { .. }))
                .count();
            report.resyncs += resyncs as u64;
        }
    }
    for (h, topic) in scene.thread_topics.iter().enumerate() {
        let log = stub.published(topic).await;
        for v in live.done_history.iter().filter(|v| v.thread == h) {
            report.add(check::history_view(v, &log), v.offline, true);
            report.reloads += v.loads.get().saturating_sub(1);
        }
    }
}

/// With `CHAOS_DEBUG` set, prints a lifetime that is not clean, with its records.
pub(crate) fn debug_lost(
    topic: &str,
    v: &super::views::EventView,
    tally: &check::Tally,
    truth: &Truth<'_>,
) {
    if tally.is_clean() || std::env::var("CHAOS_DEBUG").is_err() {
        return;
    }
    let log: Vec<(u64, u64, u64, Option<u64>)> = truth
        .log
        .iter()
        .map(|e| (e.n, e.epoch, e.seq, e.id))
        .collect();
    eprintln!(
        "NOT CLEAN {topic}: {tally:?}\n  mount {:?} end {:?}\n  marks {:?}\n  log (n, epoch, seq, id) {log:?}\n  membership {:?}\n  faults {:?}",
        v.mount,
        v.end,
        v.marks.borrow(),
        truth.membership,
        truth.faults
    );
}

/// What the run left behind, once every view unmounted.
pub(super) async fn leaks(
    scene: &Scene,
    probe: &DriverProbe,
    reauth_listener: ListenerGuard,
    report: &mut ChaosReport,
) {
    let (app, stub) = (&scene.app, &scene.stub);
    let m = app.client.metrics();
    report.duplicates_dropped = m.counters.duplicates_dropped;
    report.dead_detected = m.counters.dead_connections;
    report.final_state = app.client.state().name().to_owned();
    report.sockets_opened = app.client.sockets_opened();
    report.driver_sockets = probe.stats().sockets;
    report.stub_sockets_open = stub.user_stat(USER, "connections_open").await;
    report.leaked_handlers = app.topics.total_handlers();
    let released = wait::until_async(
        "the stub to drop the user's subscriptions",
        Duration::from_secs(5),
        || async { stub.user_stat(USER, "subscriptions").await == 0 },
    );
    report.timeouts.note(released.await);
    report.leaked_subscriptions = stub.user_stat(USER, "subscriptions").await;
    drop(reauth_listener);
    report.leaked_listeners = app.client.listener_count();
    report.driver_timers = probe.stats().timers;
}
