//! The HQ console in a real headless Chromium (Debian's `chromium` and `chromium-driver`,
//! which `.ci/run` installs): a staff journey clicked through, the CSRF and role rules.
//! `SCREENSHOTS=docs/screenshots cargo test console` also writes the pages' screenshots.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use thirtyfour::prelude::*;

use crate::helpers::{spawn_app, TestApp, PASSWORD};

/// chromedriver on a free port, stopped when dropped.
pub(crate) struct Driver {
    child: Child,
    pub(crate) url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn chromedriver() -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let bin = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"].into_iter().find(|p| std::path::Path::new(p).exists());
    let bin = bin.expect("chromedriver not found: apt-get install chromium chromium-driver (.ci/run does)");
    let child = Command::new(bin).arg(format!("--port={port}")).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("start chromedriver");
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Driver { child, url: format!("http://127.0.0.1:{port}") }
}

pub(crate) async fn browser(driver: &Driver, width: u32, height: u32) -> WebDriver {
    let mut caps = DesiredCapabilities::chrome();
    // uncaught errors and failed loads are kept for `no_console_errors`
    caps.set_browser_log_level(thirtyfour::LoggingPrefsLogLevel::Severe).unwrap();
    caps.set_binary("/usr/bin/chromium").unwrap();
    for arg in [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--lang=zh-CN",
    ] {
        caps.add_arg(arg).unwrap();
    }
    caps.add_arg(&format!("--window-size={width},{height}")).unwrap();
    WebDriver::new(&driver.url, caps).await.expect("a headless Chromium session")
}

pub(crate) async fn shot(page: &WebDriver, name: &str) {
    if let Ok(dir) = std::env::var("SCREENSHOTS") {
        std::fs::create_dir_all(&dir).unwrap();
        page.screenshot(&std::path::Path::new(&dir).join(format!("{name}.png"))).await.unwrap();
    }
}

/// The text of the first element matching `css`, or "" (absent, or swapped out mid-read).
pub(crate) async fn text_of(page: &WebDriver, css: &str) -> String {
    match page.find(By::Css(css)).await {
        Ok(el) => el.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Waits until `css` matches an element whose text contains `text`.
/// Patient (15 s): CI runs the suite's browsers beside a debug build on two cores.
pub(crate) async fn wait_text(page: &WebDriver, css: &str, text: &str) -> WebElement {
    for _ in 0..300 {
        for el in page.find_all(By::Css(css)).await.unwrap() {
            if el.text().await.unwrap_or_default().contains(text) {
                return el;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no {css} containing {text:?} in {}", page.source().await.unwrap_or_default());
}

async fn seeded(app: &TestApp) -> (crate::helpers::Brand, i64, i64) {
    let b = app.brand("acme").await;
    let a = app.agent(&b.hq, "王芳", "13800000001", b.tiers[0], None).await;
    let c = app.agent(&b.hq, "李雷", "13912345678", b.tiers[3], Some(a)).await;
    let (status, o) = app.post("/api/v1/orders", &b.hq, json!({"kind": "purchase", "buyer_id": c, "lines": [{"sku": "MASK-01", "qty": 10}]})).await;
    assert_eq!(status, StatusCode::CREATED, "{o}");
    (b, a, c)
}

#[tokio::test]
async fn a_staff_member_logs_in_sees_the_dashboard_and_finds_an_agent_by_phone() {
    let app = spawn_app().await;
    let (_b, _a, c) = seeded(&app).await;
    let driver = chromedriver();
    for (width, height, suffix) in [(1280, 900, ""), (390, 844, "-390")] {
        let page = browser(&driver, width, height).await;
        // `/` leads to the console, which asks for a login
        page.goto(&format!("{}/", app.address)).await.unwrap();
        assert!(page.current_url().await.unwrap().as_str().ends_with("/console/login"));
        shot(&page, &format!("login{suffix}")).await;
        page.find(By::Name("brand")).await.unwrap().send_keys("acme").await.unwrap();
        page.find(By::Name("login")).await.unwrap().send_keys("hq").await.unwrap();
        page.find(By::Name("password")).await.unwrap().send_keys(PASSWORD).await.unwrap();
        page.find(By::Css("button[type=submit]")).await.unwrap().click().await.unwrap();
        // the dashboard: this month's purchases (10 × 119.40) and the chart drawn by ECharts
        wait_text(&page, "h1", "概览").await;
        wait_text(&page, ".card", "¥1,194.00").await;
        for _ in 0..100 {
            if page.find_all(By::Css("#trend canvas")).await.unwrap().len() == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(page.find_all(By::Css("#trend canvas")).await.unwrap().len(), 1, "the chart is drawn");
        shot(&page, &format!("dashboard{suffix}")).await;
        // agents: type a phone prefix, the table narrows in place (htmx)
        page.find(By::Css("a[href='/console/agents']")).await.unwrap().click().await.unwrap();
        wait_text(&page, "table.agents", "王芳").await;
        page.find(By::Name("q")).await.unwrap().send_keys("13912").await.unwrap();
        // htmx swaps the table as the input changes: read it whole, tolerating a swap mid-read
        let mut body = String::new();
        for _ in 0..200 {
            body = text_of(&page, "table.agents tbody").await;
            if body.contains("李雷") && !body.contains("王芳") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(body.contains("李雷") && !body.contains("王芳"), "only the match is left: {body}");
        assert_eq!(page.find_all(By::Css(&format!("tr[data-agent='{c}']"))).await.unwrap().len(), 1);
        assert!(page.current_url().await.unwrap().as_str().ends_with("/console/agents"), "no full page load");
        shot(&page, &format!("agents{suffix}")).await;
        // the agent's page: its upline, its stock, its history
        // (found afresh: htmx may still swap the table once more)
        for _ in 0..50 {
            if page.current_url().await.unwrap().as_str().ends_with(&format!("/console/agents/{c}")) {
                break;
            }
            if let Ok(link) = page.find(By::Css(&format!("tr[data-agent='{c}'] a"))).await {
                let _ = link.click().await; // a stale link is tried again
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        wait_text(&page, "h1", "李雷").await;
        wait_text(&page, ".path", "王芳").await;
        let stock = text_of(&page, "section.panel:nth-of-type(2) table").await;
        assert!(stock.contains("MASK-01") && stock.contains("10"), "{stock}");
        wait_text(&page, "table.history", "joined").await;
        shot(&page, &format!("agent{suffix}")).await;
        page.back().await.unwrap();
        // log out: the session ends, the console asks for a login again
        page.find(By::Css(".logout button")).await.unwrap().click().await.unwrap();
        wait_text(&page, "h1", "agent-ledger").await;
        page.goto(&format!("{}/console/", app.address)).await.unwrap();
        assert!(page.current_url().await.unwrap().as_str().ends_with("/console/login"));
        page.quit().await.unwrap();
    }
}

/// A client that keeps cookies and does not follow redirects.
pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

#[tokio::test]
async fn forms_need_their_csrf_token_and_agents_get_no_console() {
    let app = spawn_app().await;
    let (_b, _a, _c) = seeded(&app).await;
    let http = client();
    let login = |login: &str| [("brand", "acme".to_owned()), ("login", login.to_owned()), ("password", PASSWORD.to_owned())];
    let resp = http.post(format!("{}/console/login", app.address)).form(&login("hq")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let page = http.get(format!("{}/console/", app.address)).send().await.unwrap().text().await.unwrap();
    let csrf = page.split("name=\"csrf\" value=\"").nth(1).and_then(|s| s.split('"').next()).unwrap().to_owned();
    // without the token, or with another: refused, still logged in
    for sent in ["", "0123456789abcdef0123456789abcdef"] {
        let resp = http.post(format!("{}/console/logout", app.address)).form(&[("csrf", sent)]).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        assert!(resp.text().await.unwrap().contains("CSRF"));
    }
    assert_eq!(http.get(format!("{}/console/", app.address)).send().await.unwrap().status(), StatusCode::OK);
    let resp = http.post(format!("{}/console/logout", app.address)).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(http.get(format!("{}/console/", app.address)).send().await.unwrap().status(), StatusCode::SEE_OTHER, "logged out");
    // a page of a missing agent is a 404 page
    let http2 = client();
    http2.post(format!("{}/console/login", app.address)).form(&login("hq")).send().await.unwrap();
    let resp = http2.get(format!("{}/console/agents/999999", app.address)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert!(resp.text().await.unwrap().contains("agent 999999 not found"));
    // an agent's password opens no console session
    let agent = client();
    let resp = agent.post(format!("{}/console/login", app.address)).form(&login("13800000001")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_eq!(agent.get(format!("{}/console/", app.address)).send().await.unwrap().status(), StatusCode::SEE_OTHER);
    let resp = client()
        .post(format!("{}/console/login", app.address))
        .form(&[("brand", "acme"), ("login", "hq"), ("password", "wrong-password")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(resp.text().await.unwrap().contains("Wrong brand, login or password"));
}

#[tokio::test]
async fn the_console_refuses_what_a_role_may_not_do_before_reading_the_form() {
    let app = spawn_app().await;
    let (b, a, _c) = seeded(&app).await;
    crate::staff::staff_token(&app, &b, "shenji", "auditor").await;
    crate::staff::staff_token(&app, &b, "caiwu", "finance").await;
    let login = |login: &str| [("brand", "acme".to_owned()), ("login", login.to_owned()), ("password", PASSWORD.to_owned())];
    let auditor = client();
    auditor.post(format!("{}/console/login", app.address)).form(&login("shenji")).send().await.unwrap();
    // the auditor reads every page, the audit log included
    for path in ["/console/", "/console/withdrawals", "/console/adjustments", "/console/audit", "/console/staff"] {
        assert_eq!(auditor.get(format!("{}{path}", app.address)).send().await.unwrap().status(), StatusCode::OK, "{path}");
    }
    // and writes nothing: refused with the role's page, whatever the form holds (even no CSRF token)
    let resp = auditor.post(format!("{}/console/agents/{a}/status", app.address)).form(&[("status", "suspended")]).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let text = resp.text().await.unwrap();
    assert!(text.contains("无权操作") && text.contains("auditor"), "{text}");
    assert_eq!(app.get(&format!("/api/v1/agents/{a}"), &b.hq).await.1["status"], "active");
    // finance may not touch the tree, nor read the audit log
    let finance = client();
    finance.post(format!("{}/console/login", app.address)).form(&login("caiwu")).send().await.unwrap();
    assert_eq!(finance.get(format!("{}/console/audit", app.address)).send().await.unwrap().status(), StatusCode::FORBIDDEN);
    let page = finance.get(format!("{}/console/", app.address)).send().await.unwrap().text().await.unwrap();
    let csrf = page.split("name=\"csrf\" value=\"").nth(1).and_then(|s| s.split('"').next()).unwrap().to_owned();
    let resp = finance.post(format!("{}/console/agents/{a}/tier", app.address)).form(&[("csrf", csrf.as_str()), ("tier_id", "1")]).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
}
