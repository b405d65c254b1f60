//! Reading what the page shows, atomically: the connection's badge and banner read in one
//! script (so a countdown cannot tick between two reads), a recorder installed before the app
//! starts (every text the badge and banner showed, on the page's clock), screenshots at both
//! widths, and Chrome DevTools commands through ChromeDriver.

use fantoccini::Client;
use serde::Deserialize;
use serde_json::{json, Value};

use super::workspace;

/// What the badge and the banner show at one moment.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct StatusTexts {
    /// The badge's `data-state`.
    pub state: Option<String>,
    /// The badge's label.
    pub label: Option<String>,
    /// The badge's latency, when it shows one.
    pub rtt: Option<String>,
    /// The badge's try number (`data-try`).
    pub badge_try: Option<String>,
    /// The banner's sentences, when there is a banner.
    pub banner: Option<String>,
    /// The banner's try number (`data-try`).
    pub banner_try: Option<String>,
    /// "Retry now"'s `data-retry-in` (seconds), when it is shown.
    pub retry_in: Option<String>,
    /// "Retry now"'s `data-retry-at` (ms on the page's clock), when it is shown.
    pub retry_at: Option<String>,
    /// The page's clock.
    pub at: f64,
}

/// The script that reads [`StatusTexts`]; it defines `window.__status()` too.
const READ_STATUS: &str = r#"
window.__status = () => {
  const q = (s) => document.querySelector(s);
  const text = (e) => (e ? e.textContent : null);
  const attr = (e, a) => (e ? e.getAttribute(a) : null);
  const badge = q('[data-testid=conn-badge]');
  const banner = q('[data-testid=disconnected]');
  const retry = q('[data-testid=retry-now]');
  return {
    state: attr(badge, 'data-state'), label: text(q('[data-testid=conn-label]')),
    rtt: text(q('[data-testid=conn-rtt]')), badge_try: attr(badge, 'data-try'),
    banner: text(q('[data-testid=banner-text]')), banner_try: attr(banner, 'data-try'),
    retry_in: attr(retry, 'data-retry-in'), retry_at: attr(retry, 'data-retry-at'),
    at: Date.now(),
  };
};
"#;

/// The badge and the banner as they are now, read in one script.
pub async fn status_texts(c: &Client) -> StatusTexts {
    let v = c
        .execute(&format!("{READ_STATUS} return window.__status();"), vec![])
        .await
        .expect("reading the status");
    serde_json::from_value(v).expect("status texts")
}

/// Records every change of what the badge and the banner show, from the start of every page
/// this session loads from now on (a script run before the page's own), into
/// `window.__seen`; read it with [`seen`].
pub async fn record_status_from_load(c: &Client, webdriver: &str) {
    let source = format!(
        "{READ_STATUS}
         window.__seen = [];
         const note = () => {{
           const s = window.__status();
           const last = window.__seen[window.__seen.length - 1];
           const same = last && ['state', 'label', 'rtt', 'badge_try', 'banner', 'banner_try']
             .every((k) => last[k] === s[k]);
           if (!same && window.__seen.length < 20000) window.__seen.push(s);
         }};
         new MutationObserver(note).observe(document,
           {{ subtree: true, childList: true, characterData: true, attributes: true }});"
    );
    cdp(
        c,
        webdriver,
        "Page.addScriptToEvaluateOnNewDocument",
        json!({ "source": source }),
    )
    .await;
}

/// What the recorder installed by [`record_status_from_load`] saw on this page, in order.
pub async fn seen(c: &Client) -> Vec<StatusTexts> {
    let v = c
        .execute("return window.__seen || [];", vec![])
        .await
        .expect("reading the recording");
    serde_json::from_value(v).expect("recorded status texts")
}

/// Runs a Chrome DevTools command on `c`'s current page, through ChromeDriver at `webdriver`.
pub async fn cdp(c: &Client, webdriver: &str, cmd: &str, params: Value) -> Value {
    let session = c.session_id().await.unwrap().expect("a session");
    let reply = crate::stub::http_client()
        .post(format!("{webdriver}/session/{session}/goog/cdp/execute"))
        .json(&json!({ "cmd": cmd, "params": params }))
        .send()
        .await
        .unwrap();
    let ok = reply.status().is_success();
    let body: Value = reply.json().await.unwrap_or(Value::Null);
    assert!(ok, "{cmd}: {body}");
    body
}

/// Saves `target/e2e/{name}-1280.png` and `target/e2e/{name}-390.png` (a phone's width), and
/// leaves the window at 1280×900.
pub async fn screenshots(c: &Client, name: &str) {
    screenshot(c, &format!("{name}-1280.png")).await;
    c.set_window_size(390, 844).await.unwrap();
    screenshot(c, &format!("{name}-390.png")).await;
    c.set_window_size(1280, 900).await.unwrap();
}

/// Saves a screenshot as `target/e2e/{name}`.
pub async fn screenshot(c: &Client, name: &str) {
    let dir = workspace().join("target/e2e");
    std::fs::create_dir_all(&dir).unwrap();
    let png = c.screenshot().await.unwrap();
    std::fs::write(dir.join(name), png).unwrap();
}

/// Clicks "Retry now" in one script if it is shown, and returns when the automatic try it
/// pre-empts was due (`data-retry-at`, on the page's clock); `None` if it was not shown. One
/// script, so that the client's own retry cannot remove the button between finding it and
/// clicking it.
pub async fn click_retry_now_in_page(c: &Client) -> Option<f64> {
    let v = c
        .execute(
            "const b = document.querySelector('[data-testid=retry-now]');
             if (!b) return null;
             const at = Number(b.getAttribute('data-retry-at'));
             b.click();
             return at;",
            vec![],
        )
        .await
        .expect("clicking Retry now");
    v.as_f64()
}
