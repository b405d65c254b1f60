//! Resume across reloads, end to end: the demo app (`www/`, built by the test command, resume on
//! by default, keyed by the user) in headless Chromium, against an in-process stub publishing
//! continuously on three topics while the events page is reloaded five times. What every view
//! delivered on every page is counted against the stub's publish log from the view's first
//! start; the same run with `?resume=0` is the baseline.

#![cfg(not(target_arch = "wasm32"))]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use fantoccini::Client;
use tether_tests::e2e::resume::*;
use tether_tests::e2e::tabs::{leader_tab, open_shared_tabs, publish_until, published, seed};
use tether_tests::e2e::*;

const RELOADS: usize = 5;
/// Events each topic delivers on a page before it is reloaded.
const PER_PAGE: usize = 10;

/// One tab on the events page of three topics, reloaded [`RELOADS`] times while events are
/// published on each topic every 25 ms; `resume` is the page's `?resume=`. Returns the tally
/// of every page against the publish log.
async fn reload_while_publishing(c: &Client, resume: bool) -> Tally {
    let stub = start_stub_with(|c| c.test_control = true).await;
    let agents = seed(&stub, 1, 3).await;
    let topics: Vec<String> = agents.iter().map(|a| format!("agent:{a}")).collect();
    let page = format!(
        "{stub}/?page=events&share=0&resume={}&topics={}",
        u8::from(resume),
        topics.join(",")
    );
    c.goto(&page).await.unwrap();
    page_up(c, &topics).await;
    let stop = Arc::new(AtomicBool::new(false));
    let publisher = tokio::spawn(publish_until(stub.clone(), topics.clone(), stop.clone()));
    for _ in 0..RELOADS {
        received(c, &topics, PER_PAGE).await;
        c.refresh().await.unwrap();
        page_up(c, &topics).await;
    }
    received(c, &topics, PER_PAGE).await;
    stop.store(true, Ordering::SeqCst);
    publisher.await.unwrap();
    let mut truth = BTreeMap::new();
    for topic in &topics {
        truth.insert(topic.clone(), published(&stub, topic).await);
    }
    // The last page gets the tail: wait until each topic's last published event arrived.
    eventually(
        "the last page has the last event of each topic",
        async || {
            let page = current_page(c).await;
            truth
                .iter()
                .all(|(t, seqs)| page.messages.get(t).and_then(|m| m.last()) == seqs.last())
                .then_some(())
        },
    )
    .await;
    let mut pages = earlier_pages(c).await;
    assert_eq!(pages.len(), RELOADS, "every reloaded page's log was kept");
    pages.push(current_page(c).await);
    tally(&pages, &truth)
}

/// Resume on: every view remounted after a reload has every event from its first start once
/// and in order, and starts where the page before stopped. Resume off, in the same run: the
/// events published while each page reloaded are lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reloaded_page_misses_nothing_and_without_resume_it_does() {
    let (_driver, webdriver) = start_chromedriver().await;
    let c = browser(&webdriver).await;
    let off = reload_while_publishing(&c, false).await;
    let on = reload_while_publishing(&c, true).await;
    println!("resume on:  {on:?}");
    println!("resume off: {off:?}");
    assert!(on.due > 0);
    assert_eq!(
        (on.lost, on.duplicated, on.reordered, on.resyncs),
        (0, 0, 0, 0),
        "{on:?}"
    );
    assert_eq!(on.delivered, on.due);
    assert_eq!(
        on.resumed_views,
        3 * RELOADS,
        "each view resumed where it stopped"
    );
    assert!(off.lost > 0, "the baseline must show the loss: {off:?}");
    c.close().await.unwrap();
}

/// Two tabs of one user sharing one socket, in a browser session of their own, `resume` the
/// pages' `?resume=`: whichever tab leads and then the other (a follower) are reloaded in turn,
/// [`RELOADS`] times each role, while events are published on three topics. Returns each tab's
/// reloads and tally, and how many reloaded leaders came back leading.
async fn two_tabs_reloaded_in_turn(webdriver: &str, resume: bool) -> (Vec<(usize, Tally)>, usize) {
    let stub = start_stub_with(|c| c.test_control = true).await;
    let agents = seed(&stub, 1, 3).await;
    let topics: Vec<String> = agents.iter().map(|a| format!("agent:{a}")).collect();
    let page = format!(
        "{stub}/?page=events&resume={}&topics={}",
        u8::from(resume),
        topics.join(",")
    );
    let c = browser(webdriver).await;
    let tabs = open_shared_tabs(&c, &page, 2).await;
    for tab in &tabs {
        c.switch_to_window(tab.clone()).await.unwrap();
        page_up(&c, &topics).await;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let publisher = tokio::spawn(publish_until(stub.clone(), topics.clone(), stop.clone()));
    let mut leads_again = 0;
    for round in 0..2 * RELOADS {
        let leader = leader_tab(&c, &tabs).await;
        let reloaded = match round % 2 {
            0 => leader,
            _ => tabs.iter().find(|t| **t != leader).unwrap().clone(),
        };
        c.switch_to_window(reloaded.clone()).await.unwrap();
        received(&c, &topics, PER_PAGE).await;
        c.refresh().await.unwrap();
        page_up(&c, &topics).await;
        wait_for(&c, "[data-testid=sharing][data-tabs='2']").await;
        if round % 2 == 0 && leader_tab(&c, &tabs).await == reloaded {
            leads_again += 1;
        }
    }
    for tab in &tabs {
        c.switch_to_window(tab.clone()).await.unwrap();
        received(&c, &topics, PER_PAGE).await;
    }
    stop.store(true, Ordering::SeqCst);
    publisher.await.unwrap();
    let mut truth = BTreeMap::new();
    for topic in &topics {
        truth.insert(topic.clone(), published(&stub, topic).await);
    }
    let mut tallies = Vec::new();
    for tab in &tabs {
        c.switch_to_window(tab.clone()).await.unwrap();
        eventually("the tab has the last event of each topic", async || {
            let page = current_page(&c).await;
            truth
                .iter()
                .all(|(t, seqs)| page.messages.get(t).and_then(|m| m.last()) == seqs.last())
                .then_some(())
        })
        .await;
        let mut pages = earlier_pages(&c).await;
        pages.push(current_page(&c).await);
        tallies.push((pages.len() - 1, tally(&pages, &truth)));
    }
    c.close().await.unwrap();
    assert_eq!(tallies.iter().map(|(n, _)| n).sum::<usize>(), 2 * RELOADS);
    (tallies, leads_again)
}

/// Two tabs sharing one socket, the leader and a follower reloaded in turn: a reloaded
/// follower resumes through the leader's hub; a reloaded leader hands over on `pagehide`, comes
/// back as a follower (or leads again) and resumes. Every view of both tabs has every event
/// from its first start once and in order. Without resume, in the same run, events are lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sharing_tabs_reloaded_in_turn_miss_nothing_and_without_resume_they_do() {
    let (_driver, webdriver) = start_chromedriver().await;
    let (off, _) = two_tabs_reloaded_in_turn(&webdriver, false).await;
    let (on, leads_again) = two_tabs_reloaded_in_turn(&webdriver, true).await;
    println!("resume on: reloaded leaders that led again: {leads_again} of {RELOADS}");
    for (reloads, t) in &on {
        println!("resume on, a tab reloaded {reloads} times: {t:?}");
        assert!(t.due > 0);
        assert_eq!(
            (t.lost, t.duplicated, t.reordered, t.resyncs),
            (0, 0, 0, 0),
            "{t:?}"
        );
        assert_eq!(t.delivered, t.due);
        assert_eq!(
            t.resumed_views,
            3 * reloads,
            "each view resumed where it stopped"
        );
    }
    for (reloads, t) in &off {
        println!("resume off, a tab reloaded {reloads} times: {t:?}");
    }
    let lost: usize = off.iter().map(|(_, t)| t.lost).sum();
    assert!(lost > 0, "the baseline must show the loss: {off:?}");
}

/// Records every `pageshow`'s `persisted` in `window.__shows`: a page restored from the
/// back/forward cache keeps its memory, so the list then grows; a reloaded page starts a new one.
const RECORD_PAGESHOW: &str = "
    window.__shows = [];
    addEventListener('pageshow', (e) => window.__shows.push(e.persisted));";

/// The back/forward cache, as headless Chromium treats the app: the events page (alone, or
/// sharing its socket across tabs, which holds Web Locks) is left for another page of the
/// origin and brought back with Back, three times, while events are published. Chromium
/// restores it from the cache every time (`pageshow` with `persisted`), memory and all; the
/// client checks its socket on `pageshow` and every view has every event from its first start
/// once and in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_restored_from_the_back_forward_cache_misses_nothing() {
    let (_driver, webdriver) = start_chromedriver().await;
    for share in [false, true] {
        let stub = start_stub_with(|c| c.test_control = true).await;
        let agents = seed(&stub, 1, 3).await;
        let topics: Vec<String> = agents.iter().map(|a| format!("agent:{a}")).collect();
        let page = format!(
            "{stub}/?page=events&share={}&topics={}",
            u8::from(share),
            topics.join(",")
        );
        let c = browser(&webdriver).await;
        c.goto(&page).await.unwrap();
        page_up(&c, &topics).await;
        c.execute(RECORD_PAGESHOW, vec![]).await.unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let publisher = tokio::spawn(publish_until(stub.clone(), topics.clone(), stop.clone()));
        for round in 1..=3 {
            received(&c, &topics, PER_PAGE * round).await;
            c.goto(&format!("{stub}/api/stats")).await.unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            c.back().await.unwrap();
            wait_for(&c, "[data-testid=conn-badge][data-state=open]").await;
        }
        received(&c, &topics, PER_PAGE * 4).await;
        stop.store(true, Ordering::SeqCst);
        publisher.await.unwrap();
        let shows = c
            .execute("return window.__shows || null;", vec![])
            .await
            .unwrap();
        assert_eq!(
            shows,
            serde_json::json!([true, true, true]),
            "share {share}"
        );
        let mut truth = BTreeMap::new();
        for topic in &topics {
            truth.insert(topic.clone(), published(&stub, topic).await);
        }
        eventually("the page has the last event of each topic", async || {
            let page = current_page(&c).await;
            truth
                .iter()
                .all(|(t, seqs)| page.messages.get(t).and_then(|m| m.last()) == seqs.last())
                .then_some(())
        })
        .await;
        let t = tally(&[current_page(&c).await], &truth);
        let sockets = stats(&stub).await["per_user"]["1"]["connections_opened"].clone();
        println!("back/forward cache, share {share}: {t:?}; sockets opened: {sockets}");
        assert_eq!((t.lost, t.duplicated, t.reordered), (0, 0, 0), "{t:?}");
        assert_eq!(t.delivered, t.due);
        c.close().await.unwrap();
    }
}
