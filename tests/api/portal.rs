//! The agent portal (`/m/`) in headless Chromium at 390 × 844 with a phone's user agent:
//! an agent's journey, the pages never wider than the phone, and nothing outside the own
//! subtree — another subtree's URL is the same "not found" as a missing one.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;
use thirtyfour::prelude::*;

use crate::console::{chromedriver, shot, text_of, wait_text, Driver};
use crate::helpers::{spawn_app, PASSWORD};

async fn phone(driver: &Driver) -> WebDriver {
    let mut caps = DesiredCapabilities::chrome();
    caps.set_binary("/usr/bin/chromium").unwrap();
    caps.set_browser_log_level(thirtyfour::LoggingPrefsLogLevel::Severe).unwrap();
    for arg in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--lang=zh-CN"] {
        caps.add_arg(arg).unwrap();
    }
    caps.add_experimental_option(
        "mobileEmulation",
        json!({"deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 3.0},
               "userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47"}),
    )
    .unwrap();
    WebDriver::new(&driver.url, caps).await.expect("a headless Chromium session")
}

/// Fills the portal's login form (already open) as 王芳 of `acme` and waits for her home.
async fn log_in_wang(page: &WebDriver) {
    page.find(By::Name("brand")).await.unwrap().send_keys("acme").await.unwrap();
    page.find(By::Name("phone")).await.unwrap().send_keys("13800000001").await.unwrap();
    page.find(By::Name("password")).await.unwrap().send_keys(PASSWORD).await.unwrap();
    page.find(By::Css("button[type=submit]")).await.unwrap().click().await.unwrap();
    wait_text(page, "header.top", "王芳").await;
}

/// No sideways scrolling: the page is never wider than the phone.
async fn fits(page: &WebDriver, what: &str) {
    let widths = page.execute("return [document.documentElement.scrollWidth, document.documentElement.clientWidth]", vec![]).await.unwrap();
    let (scroll, client): (i64, i64) = widths.convert().unwrap();
    assert!(client <= 390 && scroll <= client, "{what}: {scroll} px wide in a {client} px viewport");
}

#[tokio::test]
async fn an_agent_checks_earnings_orders_sells_and_withdraws_on_a_phone() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    app.call(Method::PATCH, "/api/v1/settings", Some(&b.hq), Some(json!({"hold_days": 0}))).await;
    let wang = app.agent(&b.hq, "王芳", "13800000001", b.tiers[0], None).await;
    let li = app.agent(&b.hq, "李雷", "13912345678", b.tiers[3], Some(wang)).await;
    let other = app.agent(&b.hq, "外人", "13700000000", b.tiers[0], None).await;
    let (status, _) = app.post("/api/v1/orders", &b.hq, json!({"kind": "purchase", "buyer_id": li, "lines": [{"sku": "MASK-01", "qty": 10}]})).await;
    assert_eq!(status, StatusCode::CREATED);
    let driver = chromedriver();
    let page = phone(&driver).await;
    page.goto(&format!("{}/m/", app.address)).await.unwrap();
    assert!(page.current_url().await.unwrap().as_str().ends_with("/m/login"), "the portal asks for a login");
    log_in_wang(&page).await;

    // home: this month's earnings, to the cent the ledger's (10 × (119.40 − 59.70) = 597.00)
    wait_text(&page, "header.top", "王芳").await;
    // the phone stays logged in: the portal session now runs 30 days from its last use
    let pool = app.pool.clone();
    let days: i64 = tokio::task::spawn_blocking(move || {
        use diesel::prelude::*;
        #[derive(QueryableByName)]
        struct Days {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            d: i64,
        }
        diesel::sql_query(format!("SELECT extract(day FROM max(expires_at) - now())::bigint AS d FROM sessions WHERE agent_id = {wang}"))
            .get_result::<Days>(&mut pool.get().unwrap())
            .unwrap()
            .d
    })
    .await
    .unwrap();
    assert!(days >= 29, "the portal session lasts {days} more days");
    let token = app.agent_token(&b, "13800000001").await;
    let month = chrono::Utc::now().with_timezone(&chrono_tz::Asia::Shanghai).format("%Y-%m").to_string();
    let (_, earned) = app.get(&format!("/api/v1/agents/{wang}/earnings?month={month}"), &token).await;
    assert_eq!(earned["total"], "597.00");
    assert_eq!(text_of(&page, ".earned").await, "¥597.00");
    assert_eq!(text_of(&page, ".team").await, "¥1,194.00", "team volume");
    fits(&page, "home").await;
    shot(&page, "portal-home").await;

    // team: 李雷 with his purchases; search stays inside the own subtree
    page.goto(&format!("{}/m/team", app.address)).await.unwrap();
    let team = wait_text(&page, "ul.members", "李雷").await.text().await.unwrap();
    assert!(team.contains("¥1,194.00"), "{team}");
    fits(&page, "team").await;
    shot(&page, "portal-team").await;
    page.goto(&format!("{}/m/team/search?q=137", app.address)).await.unwrap();
    wait_text(&page, "ul.found", "没有匹配").await;

    // another subtree's agent: the same "not found" as a missing one
    for id in [other, 999_999] {
        page.goto(&format!("{}/m/team?root={id}", app.address)).await.unwrap();
        wait_text(&page, "h1", "找不到").await;
        assert!(!page.source().await.unwrap().contains("外人"), "nothing of the other agent shows");
    }

    // buy 20 masks from HQ, then sell one at retail
    page.goto(&format!("{}/m/order", app.address)).await.unwrap();
    fits(&page, "order").await;
    shot(&page, "portal-order").await;
    let qty = page.find(By::Css("form.purchase input[name=qty]")).await.unwrap();
    qty.clear().await.unwrap();
    qty.send_keys("20").await.unwrap();
    page.find(By::Css("form.purchase button[type=submit]")).await.unwrap().click().await.unwrap();
    wait_text(&page, ".order-amount", "¥1,194.00").await; // 20 × 59.70
    page.goto(&format!("{}/m/order", app.address)).await.unwrap();
    page.find(By::Css("form.retail input[name=customer]")).await.unwrap().send_keys("张女士").await.unwrap();
    tap(&page, "form.retail button[type=submit]").await;
    wait_text(&page, ".order-amount", "¥199.00").await;
    let (_, stock) = app.get(&format!("/api/v1/agents/{wang}/inventory"), &token).await;
    assert!(stock.to_string().contains(r#""qty":19"#), "20 bought, 1 sold: {stock}");

    // earnings: every cut with its order and rule
    page.goto(&format!("{}/m/earnings", app.address)).await.unwrap();
    let cuts = wait_text(&page, "ul.cuts", "级差").await.text().await.unwrap();
    assert!(cuts.contains("¥597.00") && cuts.contains("订单 #"), "{cuts}");
    assert!(cuts.contains("597.00 = 10 × (119.40 − 59.70)"), "the arithmetic, to check: {cuts}");
    fits(&page, "earnings").await;
    shot(&page, "portal-earnings").await;

    // withdraw ¥100.00: first where to be paid, then the fee and tax shown while typing;
    // the request waits in HQ's queue and in the agent's history
    app.call(
        Method::PATCH,
        "/api/v1/settings",
        Some(&b.hq),
        Some(json!({"withdrawal": {"min": "10.00", "max": "5000.00", "fee_rate": "0.006", "fee_min": "2.00", "tax_rate": "0"}})),
    )
    .await;
    page.goto(&format!("{}/m/withdraw", app.address)).await.unwrap();
    page.find(By::Css("a.button[href='/m/payee']")).await.unwrap().click().await.unwrap();
    page.find(By::Name("name")).await.unwrap().send_keys("王芳").await.unwrap();
    page.find(By::Name("account")).await.unwrap().send_keys("6222 0212 3456 7890 123").await.unwrap();
    page.find(By::Name("bank")).await.unwrap().send_keys("工商银行").await.unwrap();
    page.find(By::Css("main form button[type=submit]")).await.unwrap().click().await.unwrap();
    let payee = wait_text(&page, "p.payee", "**** 0123").await.text().await.unwrap();
    assert!(!payee.contains("6222"), "masked on the phone too: {payee}");
    page.find(By::Name("amount")).await.unwrap().send_keys("100.00").await.unwrap();
    let quote = wait_text(&page, "#quote", "实到").await.text().await.unwrap();
    assert!(quote.contains("¥2.00") && quote.contains("¥98.00"), "fee 2.00 (the minimum), net 98.00: {quote}");
    page.find(By::Css("main form button[type=submit]")).await.unwrap().click().await.unwrap();
    wait_text(&page, "ul.history", "审核中").await;
    let (_, queue) = app.get("/api/v1/withdrawals?status=requested", &b.hq).await;
    assert_eq!(queue["items"][0]["amount"], "100.00");
    fits(&page, "withdraw").await;
    shot(&page, "portal-withdraw").await;
    let severe: Vec<String> =
        page.browser_log().await.unwrap().into_iter().filter(|e| e.level == "SEVERE" && !e.message.contains("/m/team?root=")).map(|e| e.message).collect();
    assert!(severe.is_empty(), "browser console errors beyond the expected 404s: {severe:?}");
    page.quit().await.unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await;

    // HQ's console session does not open the portal, and the agent's does not open the console
    let (status, _) = (
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .get(format!("{}/m/", app.address))
            .send()
            .await
            .unwrap()
            .status(),
        (),
    );
    assert_eq!(status, StatusCode::SEE_OTHER);
    let hq = crate::console::client();
    let resp = hq.post(format!("{}/m/login", app.address)).form(&[("brand", "acme"), ("phone", "hq"), ("password", PASSWORD)]).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    app.assert_verified().await;
}

#[tokio::test]
async fn an_agent_confirms_one_statement_disputes_another_and_reads_hq_s_answer() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let (older, start) = crate::settlement::month_start(2);
    let (last, _) = crate::settlement::month_start(1);
    let wang = app.agent_joined(&b.hq, "王芳", "13800000001", b.tiers[0], None, start + chrono::Duration::hours(1)).await;
    for month in [&older, &last] {
        let (status, body) = app.post(&format!("/api/v1/periods/{month}/close"), &b.hq, json!({})).await;
        assert!(status.is_success(), "{body}");
    }
    let driver = chromedriver();
    let page = phone(&driver).await;
    page.goto(&format!("{}/m/login", app.address)).await.unwrap();
    log_in_wang(&page).await;
    page.goto(&format!("{}/m/statements", app.address)).await.unwrap();
    let list = wait_text(&page, "ul.months", &last).await.text().await.unwrap();
    assert!(list.contains(&older) && list.contains("待确认"), "{list}");
    fits(&page, "statements").await;
    // confirm the older month
    page.goto(&format!("{}/m/statements/{older}", app.address)).await.unwrap();
    page.find(By::Css("form.confirm button")).await.unwrap().click().await.unwrap();
    wait_text(&page, ".review .state", "已确认").await;
    // dispute last month, with a reason
    page.goto(&format!("{}/m/statements/{last}", app.address)).await.unwrap();
    page.find(By::Css("form.dispute input[name=reason]")).await.unwrap().send_keys("少了一笔返利 a rebate is missing").await.unwrap();
    page.find(By::Css("form.dispute button")).await.unwrap().click().await.unwrap();
    wait_text(&page, ".review .state", "申诉中").await;
    fits(&page, "statement").await;
    shot(&page, "portal-statement").await;
    // HQ answers in the console
    let hq = crate::console::client();
    hq.post(format!("{}/console/login", app.address)).form(&[("brand", "acme"), ("login", "hq"), ("password", PASSWORD)]).send().await.unwrap();
    let html = hq.get(format!("{}/console/disputes", app.address)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("少了一笔返利"), "the dispute is in HQ's queue");
    let csrf = html.split("name=\"csrf\" value=\"").nth(1).and_then(|s| s.split('"').next()).unwrap().to_owned();
    let (_, queue) = app.get("/api/v1/disputes?status=disputed", &b.hq).await;
    let id = queue["items"][0]["id"].as_i64().unwrap();
    let resp = hq
        .post(format!("{}/console/disputes/{id}/resolve", app.address))
        .form(&[("csrf", csrf.as_str()), ("note", "已核对，无遗漏 checked: nothing is missing")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    // the agent reads the answer; the statement itself never changed
    page.refresh().await.unwrap();
    wait_text(&page, ".review .state", "已核对").await;
    let (_, s) = app.get(&format!("/api/v1/agents/{wang}/statements/{last}"), &b.hq).await;
    assert_eq!(s["closing_balance"], "0.00");
    // the agent changes its password on the phone; the old one no longer logs in
    page.goto(&format!("{}/m/password", app.address)).await.unwrap();
    page.find(By::Name("old")).await.unwrap().send_keys(PASSWORD).await.unwrap();
    page.find(By::Name("new")).await.unwrap().send_keys("a-new-secret-1").await.unwrap();
    page.find(By::Css("form.password button")).await.unwrap().click().await.unwrap();
    wait_text(&page, "form.password", "密码已修改").await;
    assert_eq!(app.login("acme", "13800000001", PASSWORD).await.0, StatusCode::UNAUTHORIZED);
    page.quit().await.unwrap();
    app.assert_verified().await;
}

#[tokio::test]
async fn phones_get_small_gzipped_pages_and_revalidate_our_stylesheet_by_its_hash() {
    let app = spawn_app().await;
    let http = reqwest::Client::new();
    let resp = http.get(format!("{}/static/portal.css", app.address)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["cache-control"], "no-cache");
    let etag = resp.headers()["etag"].to_str().unwrap().to_owned();
    let again = http.get(format!("{}/static/portal.css", app.address)).header("If-None-Match", &etag).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "unchanged: a 304, no body");
    let vendor = http.get(format!("{}/static/vendor/htmx-2.0.4.min.js", app.address)).header("Accept-Encoding", "gzip").send().await.unwrap();
    assert!(vendor.headers()["cache-control"].to_str().unwrap().contains("immutable"), "versioned names are kept a year");
    assert_eq!(vendor.headers()["content-encoding"], "gzip");
    let bytes = vendor.bytes().await.unwrap().len();
    assert!(bytes < 30_000, "htmx is {bytes} bytes gzipped");
    let login = http.get(format!("{}/m/login", app.address)).header("Accept-Encoding", "gzip").send().await.unwrap();
    assert_eq!(login.headers()["content-encoding"], "gzip");
}

/// 招代理 from the phone: the agent shows its QR code, a newcomer applies on the public link
/// (another phone, no login), the agent approves, the newcomer sees it on the same link and
/// logs in; a consumer checks the newcomer's certificate on /verify. No call to HQ.
#[tokio::test]
async fn an_agent_recruits_from_its_phone_and_a_consumer_checks_the_certificate() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    app.agent(&b.hq, "王芳", "13800000001", b.tiers[1], None).await;
    let driver = chromedriver();
    let agent = phone(&driver).await;
    agent.goto(&format!("{}/m/login", app.address)).await.unwrap();
    log_in_wang(&agent).await;
    tap(&agent, "a.invite-link").await;
    let link = wait_text(&agent, ".invite .link", "/join/").await.text().await.unwrap();
    assert!(agent.find(By::Css(".invite .qr svg")).await.is_ok(), "the QR code to post in WeChat");
    fits(&agent, "invite").await;
    shot(&agent, "portal-invite").await;

    // the newcomer, on its own phone, without an account
    let newcomer = phone(&driver).await;
    newcomer.goto(link.trim()).await.unwrap();
    wait_text(&newcomer, ".join-form", "王*").await;
    newcomer.find(By::Name("name")).await.unwrap().send_keys("赵新").await.unwrap();
    newcomer.find(By::Name("phone")).await.unwrap().send_keys("13911112222").await.unwrap();
    newcomer.find(By::Name("wechat")).await.unwrap().send_keys("zhaoxin88").await.unwrap();
    newcomer.find(By::Name("password")).await.unwrap().send_keys("zhao-pass-2026").await.unwrap();
    fits(&newcomer, "join").await;
    shot(&newcomer, "public-join").await;
    newcomer.find(By::Css(".join-form button[type=submit]")).await.unwrap().click().await.unwrap();
    wait_text(&newcomer, ".progress", "审核中").await;

    // the inviter approves on its phone
    agent.refresh().await.unwrap();
    wait_text(&agent, "ul.applications", "赵新").await;
    shot(&agent, "portal-applications").await;
    agent.find(By::Css("ul.applications button.approve")).await.unwrap().click().await.unwrap();
    wait_text(&agent, "main", "已加入").await;

    // the newcomer sees it on the same link and logs in; its certificate checks out
    newcomer.refresh().await.unwrap();
    wait_text(&newcomer, ".progress", "已通过").await;
    let (status, login) = app.login(&b.code, "13911112222", "zhao-pass-2026").await;
    assert_eq!(status, StatusCode::OK, "{login}");
    let (_, cert) = app.get(&format!("/api/v1/agents/{}/certificate", login["agent_id"]), login["token"].as_str().unwrap()).await;
    newcomer.goto(&format!("{}/verify?n={}", app.address, cert["number"].as_str().unwrap())).await.unwrap();
    let result = wait_text(&newcomer, ".result", "有效").await.text().await.unwrap();
    assert!(result.contains("赵*") && !result.contains("赵新") && !result.contains("13911112222"), "{result}");
    fits(&newcomer, "verify").await;
    shot(&newcomer, "public-verify").await;
    let severe: Vec<String> = newcomer.browser_log().await.unwrap().into_iter().filter(|e| e.level == "SEVERE").map(|e| e.message).collect();
    assert!(severe.is_empty(), "{severe:?}");
    agent.quit().await.unwrap();
    newcomer.quit().await.unwrap();
}

#[tokio::test]
async fn an_agent_sees_its_way_up_applies_and_hq_approves_in_the_console() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let (status, s) = app.call(Method::PATCH, "/api/v1/settings", Some(&b.hq), Some(json!({"upgrade_mode": "approval"}))).await;
    assert_eq!(status, StatusCode::OK, "{s}");
    let (status, r) = app
        .call(
            Method::PUT,
            &format!("/api/v1/upgrades/rules/{}", b.tiers[3]),
            Some(&b.hq),
            Some(json!({"months": 1, "own_purchases_min": "1000", "direct_recruits_min": 1, "combine": "any"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    let wang = app.agent(&b.hq, "王芳", "13800000001", b.tiers[4], None).await;
    app.agent(&b.hq, "赵新", "13800000002", b.tiers[4], Some(wang)).await;
    let driver = chromedriver();
    let agent = phone(&driver).await;
    agent.goto(&format!("{}/m/login", app.address)).await.unwrap();
    log_in_wang(&agent).await;
    tap(&agent, "a.upgrade-link").await;
    let card = wait_text(&agent, ".target", "市代").await;
    let met = card.find(By::Css(".checks li.met")).await.unwrap().text().await.unwrap();
    assert!(met.contains("1 / 1"), "one direct recruit of one: {met}");
    fits(&agent, "upgrade").await;
    card.find(By::Css("button[type=submit]")).await.unwrap().click().await.unwrap();
    wait_text(&agent, ".proposal", "审批中").await;
    shot(&agent, "portal-upgrade").await;

    // HQ approves it in the console's queue
    let desk = crate::console::browser(&driver, 1400, 1000).await;
    desk.goto(&format!("{}/console/login", app.address)).await.unwrap();
    desk.find(By::Name("brand")).await.unwrap().send_keys("acme").await.unwrap();
    desk.find(By::Name("login")).await.unwrap().send_keys("hq").await.unwrap();
    desk.find(By::Name("password")).await.unwrap().send_keys(PASSWORD).await.unwrap();
    desk.find(By::Css("button[type=submit]")).await.unwrap().click().await.unwrap();
    wait_text(&desk, "h1", "概览").await;
    desk.goto(&format!("{}/console/upgrades", app.address)).await.unwrap();
    let row = wait_text(&desk, "tr[data-proposal]", "王芳").await;
    assert!(row.text().await.unwrap().contains("特约 → 市代"));
    shot(&desk, "console-upgrades").await;
    row.find(By::Css("button.approve")).await.unwrap().click().await.unwrap();
    wait_text(&desk, "table.proposals", "没有记录").await;
    let (_, now) = app.get(&format!("/api/v1/agents/{wang}"), &b.hq).await;
    assert_eq!(now["tier_id"].as_i64(), Some(b.tiers[3]), "{now}");

    agent.refresh().await.unwrap();
    wait_text(&agent, ".proposal", "已升级").await;
    assert_eq!(text_of(&agent, "b.tier").await, "市代");
    for page in [&agent, &desk] {
        let severe: Vec<String> = page.browser_log().await.unwrap().into_iter().filter(|e| e.level == "SEVERE").map(|e| e.message).collect();
        assert!(severe.is_empty(), "{severe:?}");
    }
    agent.quit().await.unwrap();
    desk.quit().await.unwrap();
}

/// Taps what a thumb would: scrolled to the middle of the screen first, clear of the tab bar.
/// Cards that load after the page (htmx) move what is below them: the tap waits until the
/// element stays put, as a thumb does.
async fn tap(page: &WebDriver, css: &str) {
    let el = page.find(By::Css(css)).await.unwrap();
    let mut last = String::new();
    for _ in 0..40 {
        let at = page
            .execute("arguments[0].scrollIntoView({block: 'center'}); const r = arguments[0].getBoundingClientRect(); return document.querySelector('.htmx-request') ? 'busy' : r.top + ',' + r.left;", vec![el.to_json().unwrap()])
            .await
            .unwrap()
            .json()
            .to_string();
        if at == last && at != "\"busy\"" {
            break;
        }
        last = at;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    el.click().await.unwrap();
}

#[tokio::test]
async fn an_agent_records_a_customer_and_sees_who_to_call_hq_sees_growth_per_team() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let (last, start) = crate::settlement::month_start(1);
    let wang = app.agent_joined(&b.hq, "王芳", "13800000001", b.tiers[0], None, start).await;
    // a 30-day mask: one box bought early last month is due by now
    let prices: serde_json::Map<String, serde_json::Value> =
        b.tiers.iter().zip(["59.70", "79.60", "99.50", "119.40", "139.30"]).map(|(t, p)| (t.to_string(), json!(p))).collect();
    let (status, _) = app
        .call(
            Method::PUT,
            "/api/v1/products/MASK-01",
            Some(&b.hq),
            Some(json!({"name": "面膜", "retail_price": "199.00", "prices": prices, "repurchase_days": 30})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let day = |d: i64| (start + chrono::Duration::days(d)).to_rfc3339();
    for body in [
        json!({"kind": "purchase", "buyer_id": wang, "lines": [{"sku": "MASK-01", "qty": 10}], "placed_at": day(0)}),
        json!({"kind": "retail", "seller_id": wang, "customer": {"name": "刘女士", "phone": "13600000001"}, "lines": [{"sku": "MASK-01", "qty": 1}], "placed_at": day(1)}),
    ] {
        let (status, order) = app.post("/api/v1/orders", &b.hq, body).await;
        assert_eq!(status, StatusCode::CREATED, "{order}");
    }
    let driver = chromedriver();
    let page = phone(&driver).await;
    page.goto(&format!("{}/m/login", app.address)).await.unwrap();
    log_in_wang(&page).await;
    // record a sale to a new customer, with her phone as typed
    page.goto(&format!("{}/m/order", app.address)).await.unwrap();
    page.find(By::Css("form.retail input[name=customer]")).await.unwrap().send_keys("张女士").await.unwrap();
    page.find(By::Css("form.retail input[name=phone]")).await.unwrap().send_keys("136 0000 0002").await.unwrap();
    tap(&page, "form.retail button[type=submit]").await;
    wait_text(&page, ".order-amount", "¥199.00").await;
    // home: one new customer this month, one to call this week
    page.goto(&format!("{}/m/", app.address)).await.unwrap();
    assert_eq!(text_of(&page, ".new-customers").await, "1");
    assert_eq!(text_of(&page, ".due-count").await, "1");
    // and its team's (loaded after the page): the same customer, 王芳 bought last month, not this one
    wait_text(&page, ".team-customers", "1 / 0").await;
    assert_eq!(text_of(&page, ".team-retention").await, "0.00%");
    // 客户: both, the newest first, phones in full for their own agent
    tap(&page, "a.customers-link").await;
    let list = wait_text(&page, "ul.customers", "张女士").await.text().await.unwrap();
    assert!(list.find("张女士").unwrap() < list.find("刘女士").unwrap(), "{list}");
    assert!(list.contains("13600000002") && list.contains("13600000001"), "{list}");
    fits(&page, "customers").await;
    shot(&page, "portal-customers").await;
    // 复购提醒: only 刘女士, whose box ran out
    tap(&page, "a.due-tab").await;
    let due = wait_text(&page, "ul.customers", "刘女士").await.text().await.unwrap();
    assert!(!due.contains("张女士") && due.contains("逾期"), "{due}");
    fits(&page, "due").await;
    shot(&page, "portal-customers-due").await;

    // HQ: last month on the growth page, 王芳's team: one customer, new
    let hq = crate::console::browser(&driver, 1280, 900).await;
    hq.goto(&format!("{}/console/login", app.address)).await.unwrap();
    hq.find(By::Name("brand")).await.unwrap().send_keys("acme").await.unwrap();
    hq.find(By::Name("login")).await.unwrap().send_keys("hq").await.unwrap();
    hq.find(By::Name("password")).await.unwrap().send_keys(PASSWORD).await.unwrap();
    hq.find(By::Css("button[type=submit]")).await.unwrap().click().await.unwrap();
    wait_text(&hq, "h1", "概览").await;
    hq.goto(&format!("{}/console/growth?month={last}", app.address)).await.unwrap();
    let row = wait_text(&hq, &format!("table.teams tr[data-agent='{wang}']"), "王芳").await.text().await.unwrap();
    assert!(row.starts_with("王芳 1 1 0"), "last month: 1 customer, new: {row}");
    assert_eq!(text_of(&hq, ".customers").await, "1 / 0");
    for _ in 0..100 {
        if hq.find_all(By::Css("#growth-chart canvas")).await.unwrap().len() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(hq.find_all(By::Css("#growth-chart canvas")).await.unwrap().len(), 1, "the chart is drawn");
    shot(&hq, "growth").await;
    // an agent's customers in the console, phones in full for the owner (masked for finance: API test)
    hq.goto(&format!("{}/console/agents/{wang}/customers", app.address)).await.unwrap();
    assert!(wait_text(&hq, "table.customers", "刘女士").await.text().await.unwrap().contains("13600000001"), "the owner sees phones");
    page.quit().await.unwrap();
    hq.quit().await.unwrap();
}
