//! The HQ console's whole staff journey in headless Chromium — find an agent by phone, open
//! its order and read every cut, refund a unit, approve a withdrawal, close last month after
//! its confirmation, download the export — and every menu page loaded without a browser
//! console error, with the in-place behaviours (tree, plan check, price row) exercised.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use thirtyfour::prelude::*;

use crate::console::{browser, chromedriver, client, shot, text_of, wait_text};
use crate::helpers::{spawn_app, Brand, TestApp, PASSWORD};
use crate::settlement::month_start;

struct World {
    b: Brand,
    last_month: String,
    wang: i64,
    li: i64,
    order: i64,
    withdrawal: i64,
}

/// Last month: 王芳 (best tier) and 李雷 (市代) under her joined; 李雷 bought 10 masks from
/// HQ; 王芳 asks to withdraw ¥100.00 of her differential.
async fn world(app: &TestApp) -> World {
    let b = app.brand("acme").await;
    let (last_month, start) = month_start(1);
    let wang = app.agent_joined(&b.hq, "王芳", "13800000001", b.tiers[0], None, start + chrono::Duration::hours(1)).await;
    let li = app.agent_joined(&b.hq, "李雷", "13912345678", b.tiers[3], Some(wang), start + chrono::Duration::hours(2)).await;
    let placed = (start + chrono::Duration::days(1)).to_rfc3339();
    let (status, o) =
        app.post("/api/v1/orders", &b.hq, json!({"kind": "purchase", "buyer_id": li, "lines": [{"sku": "MASK-01", "qty": 10}], "placed_at": placed})).await;
    assert_eq!(status, StatusCode::CREATED, "{o}");
    let token = app.agent_token(&b, "13800000001").await;
    app.set_payee(&token, wang).await;
    let (status, w) = app.post(&format!("/api/v1/agents/{wang}/withdrawals"), &token, json!({"amount": "100.00"})).await;
    assert_eq!(status, StatusCode::CREATED, "{w}");
    World { b, last_month, wang, li, order: o["id"].as_i64().unwrap(), withdrawal: w["id"].as_i64().unwrap() }
}

async fn log_in(page: &WebDriver, app: &TestApp) {
    page.goto(&format!("{}/console/login", app.address)).await.unwrap();
    page.find(By::Name("brand")).await.unwrap().send_keys("acme").await.unwrap();
    page.find(By::Name("login")).await.unwrap().send_keys("hq").await.unwrap();
    page.find(By::Name("password")).await.unwrap().send_keys(PASSWORD).await.unwrap();
    page.find(By::Css("button[type=submit]")).await.unwrap().click().await.unwrap();
    wait_text(page, "h1", "概览").await;
}

/// Clicks a submit button whose form asks for a confirmation, and accepts it.
async fn click_and_confirm(page: &WebDriver, css: &str) {
    page.find(By::Css(css)).await.unwrap().click().await.unwrap();
    for _ in 0..50 {
        if page.accept_alert().await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no confirmation after clicking {css}");
}

/// Follows a link, found afresh until the page changes (htmx may swap it meanwhile).
async fn follow(page: &WebDriver, css: &str, url_end: &str) {
    for _ in 0..50 {
        if page.current_url().await.unwrap().as_str().ends_with(url_end) {
            return;
        }
        if let Ok(link) = page.find(By::Css(css)).await {
            let _ = link.click().await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css} did not lead to {url_end}");
}

async fn no_console_errors(page: &WebDriver, what: &str) {
    let severe: Vec<String> = page.browser_log().await.unwrap().into_iter().filter(|e| e.level == "SEVERE").map(|e| e.message).collect();
    assert!(severe.is_empty(), "{what}: browser console errors {severe:?}");
}

#[tokio::test]
async fn a_staff_member_refunds_approves_a_withdrawal_closes_the_month_and_downloads_its_export() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let driver = chromedriver();
    let page = browser(&driver, 1280, 900).await;
    log_in(&page, &app).await;

    // find 李雷 by phone, open his page, then his order
    follow(&page, ".menu a[href='/console/agents']", "/console/agents").await;
    page.find(By::Name("q")).await.unwrap().send_keys("13912").await.unwrap();
    wait_text(&page, "table.agents tbody", "李雷").await;
    follow(&page, &format!("tr[data-agent='{}'] a", w.li), &format!("/console/agents/{}", w.li)).await;
    follow(&page, &format!("a[href='/console/orders/{}']", w.order), &format!("/console/orders/{}", w.order)).await;

    // every cut with its rule, receiver and arithmetic: 级差 597.00 = 10 × (119.40 − 59.70)
    let cuts = wait_text(&page, "table.cuts", "级差").await.text().await.unwrap();
    assert!(cuts.contains("597.00 = 10 × (119.40 − 59.70)") && cuts.contains("王芳"), "{cuts}");
    assert!(cuts.contains("597.00 = 10 × 59.70") && cuts.contains("总部 HQ"), "HQ's proceeds: {cuts}");
    shot(&page, "order").await;

    // refund one unit: the differential and the proceeds of that unit are reversed
    let qty = page.find(By::Name("qty_1")).await.unwrap();
    qty.clear().await.unwrap();
    qty.send_keys("1").await.unwrap();
    click_and_confirm(&page, ".refund-form button[type=submit]").await;
    let refunds = wait_text(&page, "table.refunds", "冲回").await.text().await.unwrap_or_default();
    let refunds = if refunds.contains("-¥59.70") { refunds } else { wait_text(&page, "table.refunds", "-¥59.70").await.text().await.unwrap() };
    assert!(refunds.contains("王芳"), "{refunds}");
    let (_, order) = app.get(&format!("/api/v1/orders/{}", w.order), &w.b.hq).await;
    assert_eq!(order["lines"][0]["refunded_qty"], 1);

    // the withdrawal queue: approve 王芳's request; it leaves the queue for the history
    follow(&page, ".menu a[href='/console/withdrawals']", "/console/withdrawals").await;
    wait_text(&page, "table.withdrawals", "王芳").await;
    assert!(text_of(&page, "table.withdrawals").await.contains("¥100.00"));
    shot(&page, "withdrawals").await;
    click_and_confirm(&page, "button.approve").await;
    wait_text(&page, "table.withdrawals", "没有待审核").await;
    let (_, wallet) = app.get(&format!("/api/v1/agents/{}/wallet", w.wang), &w.b.hq).await;
    assert_eq!(wallet["pending_withdrawals"], "0.00");
    page.goto(&format!("{}/console/withdrawals?status=approved", app.address)).await.unwrap();
    wait_text(&page, "table.withdrawals", "王芳").await;
    // the payout file for the bank (the whole account only there), then paid with the reference
    let csv = page.execute("return fetch('/console/payouts/payouts.csv').then(r => r.text())", vec![]).await.unwrap().json().as_str().unwrap().to_owned();
    assert!(csv.contains(&format!("1,{},{},bank,收款人,62220210{:011},ICBC,100.00,0.00,0.00,100.00", w.withdrawal, w.wang, w.wang)), "{csv}");
    page.refresh().await.unwrap();
    wait_text(&page, "table.batches", "#1").await;
    assert!(text_of(&page, "table.withdrawals").await.contains("#1"), "the row shows its batch");
    shot(&page, "withdrawals-to-pay").await;
    page.find(By::Name("reference")).await.unwrap().send_keys("ICBC20261127001").await.unwrap();
    page.find(By::Css("button.pay")).await.unwrap().click().await.unwrap();
    wait_text(&page, "table.withdrawals", "没有记录").await;
    page.goto(&format!("{}/console/withdrawals?status=paid", app.address)).await.unwrap();
    wait_text(&page, "table.withdrawals", "ICBC20261127001").await;

    // close last month: the confirmation shows what closing will post, then it is closed
    follow(&page, ".menu a[href='/console/settlement']", "/console/settlement").await;
    follow(&page, "a.close-link", &format!("/console/settlement/{}/close", w.last_month)).await;
    let count = wait_text(&page, ".statement-count", "2").await.text().await.unwrap();
    assert!(count.contains('2'), "{count}");
    shot(&page, "settlement-close").await;
    let (_, periods) = app.get("/api/v1/periods", &w.b.hq).await;
    assert!(periods.to_string().contains(&format!(r#""month":"{}","status":"open""#, w.last_month)), "the confirmation writes nothing: {periods}");
    click_and_confirm(&page, "button.confirm-close").await;
    wait_text(&page, "h1", &format!("对账单 {}", w.last_month)).await;
    wait_text(&page, "table.statements", "王芳").await;
    shot(&page, "statements").await;

    // the export the link downloads is the API's file, byte for byte
    let href = page.find(By::Css("a.export-csv")).await.unwrap().attr("href").await.unwrap().unwrap();
    let bytes =
        page.execute("return fetch(arguments[0]).then(r => r.arrayBuffer()).then(b => Array.from(new Uint8Array(b)))", vec![json!(href)]).await.unwrap();
    let bytes: Vec<u8> = bytes.convert().unwrap();
    let api = reqwest::Client::new()
        .get(format!("{}/api/v1/periods/{}/export?format=csv", app.address, w.last_month))
        .bearer_auth(&w.b.hq)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&bytes).contains("王芳,13800000001"), "the statement of 王芳 is in the file");
    assert_eq!(bytes, api.to_vec(), "the console's CSV is the API's, byte for byte");
    no_console_errors(&page, "journey").await;
    page.quit().await.unwrap();
    app.assert_verified().await;
}

#[tokio::test]
async fn every_menu_page_loads_without_console_errors_and_edits_happen_in_place() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let driver = chromedriver();
    let page = browser(&driver, 1280, 900).await;
    log_in(&page, &app).await;
    let menu: Vec<String> = {
        let mut out = Vec::new();
        for a in page.find_all(By::Css(".menu a:not(.lang)")).await.unwrap() {
            out.push(a.attr("href").await.unwrap().unwrap());
        }
        out
    };
    assert_eq!(menu.len(), 17, "{menu:?}");
    for href in &menu {
        page.goto(&format!("{}{href}", app.address)).await.unwrap();
        let h1 = wait_text(&page, "h1", "").await.text().await.unwrap();
        assert!(!h1.contains("出错") && !h1.contains("Not found"), "{href}: {h1}");
        // htmx-loaded parts (the dashboard's ranking) and charts get a moment
        tokio::time::sleep(Duration::from_millis(300)).await;
        no_console_errors(&page, href).await;
        let name = href.trim_start_matches("/console/").trim_end_matches('/');
        shot(&page, if name.is_empty() { "dashboard-full" } else { name }).await;
    }

    // the tree opens a level only when asked
    page.goto(&format!("{}/console/tree", app.address)).await.unwrap();
    wait_text(&page, ".tree", "王芳").await;
    assert!(!text_of(&page, ".tree").await.contains("李雷"), "children are not loaded up front");
    page.execute(&format!("document.querySelector(\"li[data-agent='{}'] > details\").open = true", w.wang), vec![]).await.unwrap();
    wait_text(&page, ".tree .kids", "李雷").await;

    // the plan editor is checked in place before publishing
    page.goto(&format!("{}/console/plan", app.address)).await.unwrap();
    page.find(By::Css("button[hx-post='/console/plan/check']")).await.unwrap().click().await.unwrap();
    wait_text(&page, "#findings", "可以发布").await;
    no_console_errors(&page, "tree and plan").await;

    // a refused price row keeps what was typed and says why, in the row
    page.goto(&format!("{}/console/products", app.address)).await.unwrap();
    let retail = page.find(By::Css("tr[data-sku='MASK-01'] input[name=retail_price]")).await.unwrap();
    retail.clear().await.unwrap();
    retail.send_keys("abc").await.unwrap();
    page.find(By::Css("tr[data-sku='MASK-01'] button")).await.unwrap().click().await.unwrap();
    wait_text(&page, "tr[data-sku='MASK-01'] .row-error", "abc").await;
    let typed = page.find(By::Css("tr[data-sku='MASK-01'] input[name=retail_price]")).await.unwrap().value().await.unwrap();
    assert_eq!(typed.as_deref(), Some("abc"));
    let (_, product) = app.get("/api/v1/products/MASK-01", &w.b.hq).await;
    assert_eq!(product["retail_price"], "199.00", "nothing was written");
    shot(&page, "products-error").await;

    // the English switch hides the Chinese labels (never the data) and comes back to the page
    page.goto(&format!("{}/console/agents/{}", app.address, w.li)).await.unwrap();
    page.find(By::Css(".menu a.lang-to-en")).await.unwrap().click().await.unwrap();
    for _ in 0..50 {
        if !text_of(&page, ".menu").await.contains("代理") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let menu_text = text_of(&page, ".menu").await;
    assert!(menu_text.contains("Agents") && !menu_text.contains("代理"), "{menu_text}");
    let heading = text_of(&page, "h1").await;
    assert!(heading.contains("李雷"), "names stay: {heading}");
    assert!(text_of(&page, ".actions-panel").await.contains("Change tier") && !text_of(&page, ".actions-panel").await.contains("改等级"));
    assert!(page.current_url().await.unwrap().as_str().ends_with(&format!("/console/agents/{}", w.li)), "back on the same page");
    shot(&page, "agent-en").await;
    page.find(By::Css(".menu a.lang-to-zh")).await.unwrap().click().await.unwrap();
    wait_text(&page, ".menu", "代理").await;
    // the refused row's 422 is the only thing the browser reports
    let severe: Vec<String> = page.browser_log().await.unwrap().into_iter().filter(|e| e.level == "SEVERE").map(|e| e.message).collect();
    assert!(severe.iter().all(|m| m.contains("/console/products/MASK-01") && m.contains("422")), "{severe:?}");
    page.quit().await.unwrap();

    // every console form wants its CSRF token: without it, nothing is approved or refunded
    let http = client();
    http.post(format!("{}/console/login", app.address)).form(&[("brand", "acme"), ("login", "hq"), ("password", PASSWORD)]).send().await.unwrap();
    let (_, queue) = app.get("/api/v1/withdrawals?status=requested", &w.b.hq).await;
    let id = queue["items"][0]["id"].as_i64().unwrap();
    for (path, form) in [
        (format!("/console/withdrawals/{id}/approve"), vec![("csrf", "")]),
        (format!("/console/orders/{}/refunds", w.order), vec![("qty_1", "1")]),
        (format!("/console/settlement/{}/close", w.last_month), vec![("csrf", "0123456789abcdef0123456789abcdef")]),
    ] {
        let resp = http.post(format!("{}{path}", app.address)).form(&form).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let (_, queue) = app.get("/api/v1/withdrawals?status=requested", &w.b.hq).await;
    assert_eq!(queue["items"].as_array().unwrap().len(), 1, "still waiting");
    // a move under its own team is refused on the preview already, in words
    let resp = http.get(format!("{}/console/agents/{}/move?parent_id={}", app.address, w.wang, w.li)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    assert!(resp.text().await.unwrap().contains("cycle"));
    // bad input in a filter is a 400 page, never a 500
    let resp = http.get(format!("{}/console/orders?sku=%00", app.address)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let (_, order) = app.get(&format!("/api/v1/orders/{}", w.order), &w.b.hq).await;
    assert_eq!(order["lines"][0]["refunded_qty"], 0);
}
