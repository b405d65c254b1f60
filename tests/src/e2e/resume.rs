//! The resume tests' helpers: the events page's log kept across reloads, and what every view
//! delivered across all of them, counted against the stub's publish log.
//!
//! A reload wipes `window.tetherEvents`. So that the test keeps what each page delivered, a
//! `pagehide` listener the test adds once the page is up (after the app's own, which stores the
//! client's positions in the same event) appends the page's log to
//! `sessionStorage['e2e-pages']`. Nothing runs between the two listeners, so the positions the
//! client stored and the events the test kept describe the same moment.

use std::collections::BTreeMap;

use fantoccini::Client;
use serde_json::Value;

use super::{eventually, wait_for};

/// Adds the listener that keeps this page's log on `pagehide`.
const KEEP_LOG: &str = "
    if (!window.__keepsLog) {
        window.__keepsLog = true;
        addEventListener('pagehide', () => {
            const pages = JSON.parse(sessionStorage.getItem('e2e-pages') || '[]');
            pages.push(window.tetherEvents || []);
            sessionStorage.setItem('e2e-pages', JSON.stringify(pages));
        });
    }";

/// One page's log: per topic, the `seq` its view started after, its events in order, and the
/// resyncs.
#[derive(Debug, Default)]
pub struct PageLog {
    pub subscribed: BTreeMap<String, u64>,
    pub messages: BTreeMap<String, Vec<u64>>,
    pub snapshots: usize,
    pub resyncs: usize,
}

fn page_log(entries: &Value) -> PageLog {
    let mut log = PageLog::default();
    for entry in entries.as_array().expect("a page's log is an array") {
        let topic = entry[1].as_str().unwrap().to_owned();
        let seq = entry[2].as_u64();
        match entry[0].as_str().unwrap() {
            "subscribed" => {
                let seq = seq.expect("a numbered topic");
                log.subscribed.entry(topic).or_insert(seq);
            }
            // Events without `seq` are the snapshots a topic sends on subscribe.
            "message" => match seq {
                Some(seq) => log.messages.entry(topic).or_default().push(seq),
                None => log.snapshots += 1,
            },
            "resync" => log.resyncs += 1,
            other => panic!("{other} on {topic}"),
        }
    }
    log
}

/// Waits until the events page shows every topic of `topics` live on an open connection, then
/// adds the listener that keeps the page's log across its reload.
pub async fn page_up(c: &Client, topics: &[String]) {
    wait_for(c, "[data-testid=conn-badge][data-state=open]").await;
    for topic in topics {
        wait_for(
            c,
            &format!("[data-testid=topic-log][data-topic='{topic}'][data-standing=live]"),
        )
        .await;
    }
    c.execute(KEEP_LOG, vec![]).await.unwrap();
}

/// The current page's log, as it is now.
pub async fn current_page(c: &Client) -> PageLog {
    page_log(
        &c.execute("return window.tetherEvents || [];", vec![])
            .await
            .unwrap(),
    )
}

/// The logs of the pages this tab had before the current one, oldest first.
pub async fn earlier_pages(c: &Client) -> Vec<PageLog> {
    let pages = c
        .execute(
            "return JSON.parse(sessionStorage.getItem('e2e-pages') || '[]');",
            vec![],
        )
        .await
        .unwrap();
    pages.as_array().unwrap().iter().map(page_log).collect()
}

/// Waits until the current page has at least `n` events on every topic.
pub async fn received(c: &Client, topics: &[String], n: usize) {
    eventually(&format!("{n} events on each topic"), async || {
        let page = current_page(c).await;
        topics
            .iter()
            .all(|t| page.messages.get(t).map_or(0, Vec::len) >= n)
            .then_some(())
    })
    .await;
}

/// What one tab's views delivered across all its pages, against the publish log.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Events published after each view's first start.
    pub due: usize,
    /// Events delivered.
    pub delivered: usize,
    /// Due events never delivered.
    pub lost: usize,
    /// Deliveries of an event already delivered.
    pub duplicated: usize,
    /// Deliveries of an event older than the one before.
    pub reordered: usize,
    /// `ResyncRequired` on any page.
    pub resyncs: usize,
    /// Views on reloaded pages (one per topic and reload) that started exactly after the last
    /// event the page before delivered.
    pub resumed_views: usize,
}

/// Counts `pages` (a tab's, oldest first) against `truth` (each topic's published seqs). A
/// view's first start is the `seq` its first page's `Subscribed` named.
pub fn tally(pages: &[PageLog], truth: &BTreeMap<String, Vec<u64>>) -> Tally {
    let mut t = Tally::default();
    for (topic, published) in truth {
        let start = pages[0].subscribed[topic];
        let due: Vec<u64> = published.iter().copied().filter(|s| *s > start).collect();
        let got: Vec<u64> = pages
            .iter()
            .flat_map(|p| p.messages.get(topic).cloned().unwrap_or_default())
            .collect();
        let mut seen = std::collections::BTreeSet::new();
        for (i, seq) in got.iter().enumerate() {
            if !seen.insert(*seq) {
                t.duplicated += 1;
            } else if i > 0 && *seq < got[i - 1] {
                t.reordered += 1;
            }
        }
        t.lost += due.iter().filter(|s| !seen.contains(s)).count();
        t.due += due.len();
        t.delivered += got.len();
        let mut last = start;
        for (i, page) in pages.iter().enumerate() {
            if i > 0 && page.subscribed.get(topic) == Some(&last) {
                t.resumed_views += 1;
            }
            last = page
                .messages
                .get(topic)
                .and_then(|m| m.last().copied())
                .unwrap_or(last);
        }
    }
    t.resyncs = pages.iter().map(|p| p.resyncs).sum();
    t
}
