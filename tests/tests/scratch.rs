#![cfg(not(target_arch = "wasm32"))]
use tether_tests::e2e::*;
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scratch() {
    let stub = start_stub_with(|c| c.test_control = true).await;
    let (_driver, webdriver) = start_chromedriver().await;
    let c = browser(&webdriver).await;
    control(&stub, "refuse?ms=60000").await;
    c.goto(&format!("{stub}/")).await.unwrap();
    for _ in 0..30 {
        let v = c.execute("const s = document.querySelector('[data-testid=sharing]'); return [s && s.textContent, s && s.getAttribute('data-role'), document.querySelector('[data-testid=conn-label]') && document.querySelector('[data-testid=conn-label]').textContent, Date.now()];", vec![]).await.unwrap();
        println!("{v}");
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
}
