//! "Retry now" and the client's own retries, which race: every helper here allows for the
//! client's scheduled try removing the button before the test acts, and times what it checks
//! on the page's clock, which a loaded test machine cannot skew.

use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};

use super::{click_retry_now_in_page, control, eventually, seen, status_texts, wait_for};
use super::{StatusTexts, WAIT};

/// After the server is reachable again, waits for the badge to show the socket open, clicking
/// "Retry now" whenever it is shown. The button shows only while a retry is scheduled (not
/// during an attempt), and the client's own scheduled retry may reconnect first and remove it:
/// waiting for the button would then hang, so the race is allowed either way.
pub async fn reconnect_clicking_retry_now(c: &Client) {
    let started = Instant::now();
    while c
        .find(Locator::Css("[data-testid=conn-badge][data-state=open]"))
        .await
        .is_err()
    {
        assert!(started.elapsed() < WAIT, "not open again within {WAIT:?}");
        if let Ok(retry) = c.find(Locator::Css("[data-testid=retry-now]")).await {
            let _ = retry.click().await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits (up to 50 s of backoff) until the next automatic try is at least 6 s away, and
/// returns what the badge and the banner show then, read at once.
pub async fn far_retry(c: &Client) -> StatusTexts {
    let started = Instant::now();
    loop {
        let s = status_texts(c).await;
        if s.retry_in.as_deref().and_then(|r| r.parse::<u64>().ok()) >= Some(6) {
            return s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(50),
            "the backoff never reached a 6 s wait: {s:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// With the server refusing sockets and a try at least 6 s away, lets it take sockets again
/// and clicks "Retry now"; returns when the pre-empted try was due and when the badge showed
/// open, both on the page's clock (a loaded test machine cannot skew them). If the client's
/// own try wins the race (the button gone before the click), the server goes down again and
/// it starts over, up to 3 times.
pub async fn retry_now_reconnects(c: &Client, stub: &str) -> (f64, f64) {
    for _ in 0..3 {
        far_retry(c).await;
        control(stub, "admit").await;
        let clicked = status_texts(c).await.at;
        let due = click_retry_now_in_page(c).await;
        wait_for(c, "[data-testid=conn-badge][data-state=open]").await;
        let Some(due) = due else {
            control(stub, "restart?down_ms=60000").await;
            continue;
        };
        let open_at = seen(c)
            .await
            .iter()
            .find(|s| s.at >= clicked && s.state.as_deref() == Some("open"))
            .map(|s| s.at)
            .expect("the recorder saw the badge open");
        return (due, open_at);
    }
    panic!("the client's own try won the race 3 times");
}

/// With the server still refusing sockets, clicks "Retry now" and returns the try numbers the
/// badge showed from then on, once the next try is scheduled (the first is that try's).
pub async fn retry_now_while_down(c: &Client) -> Vec<u32> {
    let before = status_texts(c).await;
    let n = before.badge_try.clone();
    assert!(
        click_retry_now_in_page(c).await.is_some(),
        "Retry now was shown: {before:?}"
    );
    eventually("the next try scheduled", async || {
        let s = status_texts(c).await;
        (s.retry_in.is_some() && s.badge_try != n).then_some(())
    })
    .await;
    let tries: Vec<u32> = seen(c)
        .await
        .iter()
        .filter(|s| s.at >= before.at && s.badge_try != n)
        .filter_map(|s| s.badge_try.as_deref()?.parse().ok())
        .collect();
    tries
}
