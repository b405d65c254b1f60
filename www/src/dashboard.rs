//! The dashboard view: the agents table with live status and run progress, and create, delete
//! and run buttons. Its handlers live only while it is mounted (`use_dashboard`); the runs come
//! back when it mounts again, because the server sends each agent's latest run with it. The
//! columns have fixed widths, so that rows coming and going do not move them.

use tether_client::agents::hooks::{use_dashboard, UseDashboard};
use tether_client::agents::AgentRow;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::app::View;
use crate::chat::waiting_for;
use crate::header::OfflineBanner;
use crate::status::use_status;

/// Props of [`Dashboard`].
#[derive(Properties, PartialEq)]
pub struct DashboardProps {
    /// Opens the chat with an agent.
    pub open_chat: Callback<View>,
}

/// The agents table.
#[component]
pub fn Dashboard(props: &DashboardProps) -> Html {
    let dash = use_dashboard();
    let input = use_node_ref();
    let create = {
        let (input, create) = (input.clone(), dash.create.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if let Some(el) = input.cast::<HtmlInputElement>() {
                let name = el.value().trim().to_owned();
                if !name.is_empty() {
                    create.emit(name);
                    el.set_value("");
                }
            }
        })
    };
    let rows: Vec<&AgentRow> = dash.model.agents().collect();
    let state = use_status().status.state;
    let body = if dash.loading && !dash.model.is_loaded() && dash.error.is_none() {
        html! { <p class="muted" data-testid="loading">{ waiting_for("agents", state) }</p> }
    } else if rows.is_empty() && dash.model.is_loaded() {
        html! { <p class="empty" data-testid="empty">{ "No agents yet. Create one above." }</p> }
    } else {
        html! {
            <table class="agents" data-testid="agents">
                <colgroup><col class="c-name" /><col class="c-status" /><col class="c-run" /><col class="c-actions" /></colgroup>
                <thead><tr><th>{ "Agent" }</th><th>{ "Status" }</th><th>{ "Latest run" }</th><th><span class="sr-only">{ "Actions" }</span></th></tr></thead>
                <tbody>{ for rows.iter().map(|row| agent_row(row, &dash, &props.open_chat)) }</tbody>
            </table>
        }
    };
    html! {
        <section class="view" data-testid="dashboard">
            <OfflineBanner />
            <form class="create" onsubmit={create}>
                <input ref={input} data-testid="new-agent-name" placeholder="New agent name" aria-label="New agent name" maxlength="60" />
                <button type="submit" data-testid="create-agent">{ "Create" }</button>
            </form>
            if let Some(e) = &dash.error { <p class="error" role="alert">{ e }</p> }
            { body }
        </section>
    }
}

/// A run in words: "queued", "running 75%", "succeeded", "failed".
fn run_text(status: &str, percent: u8) -> String {
    match status {
        "success" | "succeeded" => "succeeded".into(),
        "running" => format!("running {percent}%"),
        other => other.into(),
    }
}

fn agent_row(row: &AgentRow, dash: &UseDashboard, open_chat: &Callback<View>) -> Html {
    let id = row.agent.id;
    let (run, delete, chat) = (dash.run.clone(), dash.delete.clone(), open_chat.clone());
    let progress = row.run.as_ref().map_or(
        html! { <span class="muted" data-testid="run" data-run="none">{ "no run yet" }</span> },
        |r| {
            let percent = r.progress.unwrap_or(if r.is_finished() { 100 } else { 0 }).min(100);
            html! {
                <span class={classes!("progress", r.status.clone())} data-testid="run" data-run={r.id.to_string()}
                      data-run-status={r.status.clone()}>
                    <span style={format!("width:{percent}%")} /><em>{ run_text(&r.status, percent) }</em>
                </span>
            }
        },
    );
    let status = row.agent.status.clone().unwrap_or_default();
    // An error says what it was (the simulator labels its own as simulated).
    let error = row.agent.last_error.clone().filter(|_| status == "error");
    html! {
        <tr key={id} data-testid="agent-row" data-agent={id.to_string()}>
            <td class="name">{ row.agent.display_name() }</td>
            <td>
                <span class={classes!("status", status.clone())} data-testid="agent-status">{ status }</span>
                if let Some(error) = error { <small class="why" data-testid="agent-error">{ error }</small> }
            </td>
            <td>{ progress }</td>
            <td><div class="actions">
                <button data-testid="run-agent" onclick={move |_| run.emit(id)}>{ "Run" }</button>
                <button onclick={move |_| chat.emit(View::Chat { agent: Some(id) })}>{ "Chat" }</button>
                <button class="danger" onclick={move |_| delete.emit(id)} aria-label="Delete">{ "Delete" }</button>
            </div></td>
        </tr>
    }
}
