//! The header: a connection badge (state, and RTT while live), this tab's part when tabs share
//! the socket, and a health panel with a latency sparkline, messages per second, reconnects and
//! the subscriptions with their status; and the banner shown while the data is not live. The
//! badge and the banner both read the one [`Status`](crate::status_text::Status).

use std::collections::VecDeque;

use tether_client::hooks::{use_metrics, use_sharing, use_ws};
use tether_client::tabs::{Role, Sharing};
use tether_client::{ConnectionState, Replay, TopicStatus};

use crate::sparkline::{spark_points, SPARK_H, SPARK_W};
use crate::status::{use_status, StatusNow};
use crate::status_text::sharing_text;
use yew::prelude::*;

const SAMPLES: usize = 60;

/// One sample for the health panel, taken at most once a second.
#[derive(Clone, Copy, Default)]
struct Sample {
    at_ms: f64,
    rtt_ms: Option<f64>,
    frames_in: u64,
}

/// The header with the badge and the health panel.
#[component]
pub fn Header() -> Html {
    let metrics = use_metrics(1_000);
    let sharing = use_sharing(250);
    let ws = use_ws();
    let StatusNow { status, .. } = use_status();
    let history = use_mut_ref(VecDeque::<Sample>::new);
    {
        let mut h = history.borrow_mut();
        let at_ms = js_sys::Date::now();
        if h.back().is_none_or(|last| at_ms - last.at_ms >= 1_000.0) {
            let rtt_ms = metrics.rtt.last.map(|m| m.0 as f64);
            h.push_back(Sample {
                at_ms,
                rtt_ms,
                frames_in: metrics.counters.frames_in,
            });
        }
        while h.len() > SAMPLES {
            h.pop_front();
        }
    }
    let open = use_state(|| false);
    let toggle = {
        let open = open.clone();
        Callback::from(move |_| open.set(!*open))
    };
    let h = history.borrow();
    let rate = per_second(&h);
    // No stale figure while down: the latency is the live connection's only.
    let live = status.state == ConnectionState::Open;
    let rtt = metrics
        .rtt
        .ewma
        .filter(|_| live)
        .map(|r| format!("{r:.0} ms"));
    let state = status.state;
    let topics = ws.app.client.topic_statuses();
    html! {
        <header class="header">
            <span class="brand">{ "tether" }</span>
            <button class={classes!("badge", state_class(state))} data-testid="conn-badge" data-state={state.name()}
                    data-try={status.try_number.map(|n| n.to_string())} onclick={toggle} title="Connection health">
                <span class="dot" />
                <span data-testid="conn-label">{ status.label() }</span>
                if let Some(rtt) = &rtt { <span class="rtt" data-testid="conn-rtt">{ rtt }</span> }
            </button>
            { sharing_badge(sharing) }
            if *open {
                <section class="health" data-testid="health-panel">
                    <div class="metric"><span>{ "Latency" }</span>{ sparkline(&h) }<b data-testid="latency">{ rtt.unwrap_or_else(|| "—".into()) }</b></div>
                    <div class="metric"><span>{ "Messages/s" }</span><b>{ format!("{rate:.1}") }</b></div>
                    <div class="metric"><span>{ "Reconnects" }</span><b data-testid="reconnects">{ metrics.counters.reconnects }</b></div>
                    <div class="metric"><span>{ "Failed attempts" }</span><b data-testid="failed-attempts">{ metrics.counters.unproven_sockets }</b></div>
                    <div class="metric"><span>{ "Duplicates dropped" }</span><b>{ metrics.counters.duplicates_dropped }</b></div>
                    <div class="metric replay" data-testid="replay" data-replay={replay_name(metrics.replay)}>
                        <span>{ "Replay" }</span><b>{ replay_text(metrics.replay) }</b>
                    </div>
                    <div class="subs">
                        <span>{ format!("Subscriptions ({})", topics.len()) }</span>
                        <ul>
                            { for topics.iter().map(|(t, s)| html! {
                                <li class={status_class(s)}>{ t.to_string() }<em>{ status_label(s) }</em></li>
                            }) }
                        </ul>
                    </div>
                </section>
            }
        </header>
    }
}

/// "this tab leads; 2 tabs share the socket": which tab holds the shared socket, and how many
/// share it. Nothing when this tab has its own socket.
fn sharing_badge(sharing: Option<Sharing>) -> Html {
    let Some(s) = sharing else {
        return html! {};
    };
    let leads = s.role == Role::Leader;
    let role = if leads { "leader" } else { "follower" };
    let Some(text) = sharing_text(leads, s.tabs) else {
        return html! {};
    };
    html! {
        <span class="sharing" data-testid="sharing" data-role={role} data-tabs={s.tabs.to_string()}
              title="Tabs of this app share one connection">{ text }</span>
    }
}

fn replay_name(replay: Replay) -> &'static str {
    match replay {
        Replay::Unknown => "unknown",
        Replay::Offered => "offered",
        Replay::NotOffered => "not-offered",
    }
}

/// What the panel says about replay: whether events sent during a gap come back.
fn replay_text(replay: Replay) -> &'static str {
    match replay {
        Replay::Unknown => "not known yet",
        Replay::Offered => "offered: events sent while disconnected arrive after the reconnect",
        Replay::NotOffered => {
            "not offered by this server: events sent while disconnected are not recovered; \
             views reload instead"
        }
    }
}

fn per_second(h: &VecDeque<Sample>) -> f64 {
    match (h.front(), h.back()) {
        (Some(a), Some(b)) if h.len() > 1 => {
            (b.frames_in - a.frames_in) as f64 / (h.len() - 1) as f64
        }
        _ => 0.0,
    }
}

/// An inline SVG polyline of the RTT samples, with a dot on the latest.
fn sparkline(h: &VecDeque<Sample>) -> Html {
    let values: Vec<f64> = h.iter().filter_map(|s| s.rtt_ms).collect();
    let points = spark_points(&values);
    let last = points.last().copied();
    let points: Vec<String> = points
        .iter()
        .map(|(x, y)| format!("{x:.1},{y:.1}"))
        .collect();
    html! {
        <svg class="spark" viewBox={format!("0 0 {SPARK_W} {SPARK_H}")} width="120" height="30" role="img"
             aria-label={format!("latency, {} samples", values.len())}>
            <polyline points={points.join(" ")} fill="none" stroke="currentColor" stroke-width="1.5" />
            if let Some((x, y)) = last { <circle cx={format!("{x:.1}")} cy={format!("{y:.1}")} r="2" fill="currentColor" /> }
        </svg>
    }
}

fn state_class(state: ConnectionState) -> &'static str {
    match state {
        ConnectionState::Open => "ok",
        ConnectionState::Connecting
        | ConnectionState::Reconnecting { .. }
        | ConnectionState::Idle => "warn",
        _ => "bad",
    }
}

fn status_class(s: &TopicStatus) -> &'static str {
    match s {
        TopicStatus::Active => "ok",
        TopicStatus::Pending => "warn",
        TopicStatus::Failed { .. } => "bad",
    }
}

fn status_label(s: &TopicStatus) -> String {
    match s {
        TopicStatus::Active => "active".into(),
        TopicStatus::Pending => "pending".into(),
        TopicStatus::Failed { code, .. } => code.to_lowercase(),
    }
}

/// A banner shown while the connection is not live, so stale data is never mistaken for live:
/// what happens next, and what the data on screen is. While a try is scheduled it counts down
/// to it and offers to try now.
#[component]
pub fn OfflineBanner() -> Html {
    let ws = use_ws();
    let StatusNow { status, now } = use_status();
    let Some(text) = status.banner(now) else {
        return html! {};
    };
    let retry = status.retry_in_secs(now).map(|secs| {
        let app = ws.app.clone();
        let at = match status.state {
            ConnectionState::Reconnecting { retry_at, .. } => retry_at.0,
            _ => now.0,
        };
        html! {
            <button data-testid="retry-now" data-retry-in={secs.to_string()} data-retry-at={at.to_string()}
                    onclick={move |_| app.retry_now()}>{ "Retry now" }</button>
        }
    });
    html! {
        <div class="banner" data-testid="disconnected" data-state={status.state.name()}
             data-try={status.try_number.map(|n| n.to_string())} role="status">
            <span data-testid="banner-text">{ text }</span>
            { for retry }
        </div>
    }
}
