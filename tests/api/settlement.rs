use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, Brand, TestApp};

/// Midnight in Shanghai starting the month `back` months before the current one.
pub fn month_start(back: u32) -> (String, DateTime<Utc>) {
    let today = Utc::now().with_timezone(&Shanghai).date_naive();
    let mut first = NaiveDate::from_ymd_opt(today.year(), today.month(), 1).unwrap();
    for _ in 0..back {
        first = (first - Duration::days(1)).with_day(1).unwrap();
    }
    let at = Shanghai.from_local_datetime(&first.and_hms_opt(0, 0, 0).unwrap()).unwrap().with_timezone(&Utc);
    (first.format("%Y-%m").to_string(), at)
}

/// A product at 100.00 for every tier, so volumes are round numbers.
async fn box_product(app: &TestApp, b: &Brand) {
    let prices: serde_json::Map<String, Value> = b.tiers.iter().map(|t| (t.to_string(), json!("100.00"))).collect();
    let (status, body) = app.post("/api/v1/products", &b.hq, json!({"sku": "BOX", "name": "Box", "retail_price": "100.00", "prices": prices})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

async fn buy_at(app: &TestApp, b: &Brand, buyer: i64, sku: &str, qty: i64, at: DateTime<Utc>) -> (StatusCode, Value) {
    app.post("/api/v1/orders", &b.hq, json!({"kind": "purchase", "buyer_id": buyer, "lines": [{"sku": sku, "qty": qty}], "placed_at": at.to_rfc3339()})).await
}

async fn close(app: &TestApp, b: &Brand, month: &str) -> (StatusCode, Value) {
    app.post(&format!("/api/v1/periods/{month}/close"), &b.hq, json!({})).await
}

#[tokio::test]
async fn e5_team_rebates_are_posted_when_a_month_closes() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    box_product(&app, &b).await;
    let plan = json!({"effective_from": "2020-01-01T00:00:00Z", "differential": {"enabled": false},
        "team_rebate": {"enabled": true, "brackets": [{"min_volume": "10000", "rate": "0.02"}, {"min_volume": "50000", "rate": "0.04"}, {"min_volume": "100000", "rate": "0.06"}]}});
    let (status, body) = app.call(Method::PUT, "/api/v1/plan", Some(&b.hq), Some(plan)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let a = app.agent_joined(&b.hq, "A", "13800000001", b.tiers[0], None, month_start(3).1).await;
    let bb = app.agent_joined(&b.hq, "B", "13800000002", b.tiers[0], Some(a), month_start(3).1).await;
    let c = app.agent_joined(&b.hq, "C", "13800000003", b.tiers[0], Some(a), month_start(3).1).await;
    let d = app.agent_joined(&b.hq, "D", "13800000004", b.tiers[0], Some(bb), month_start(3).1).await;
    let (month, start) = month_start(1);
    for (agent, units) in [(a, 200), (bb, 300), (c, 50), (d, 600)] {
        let (status, order) = buy_at(&app, &b, agent, "BOX", units, start + Duration::days(3)).await;
        assert_eq!(status, StatusCode::CREATED, "backdating into an open past month: {order}");
    }
    let (status, result) = close(&app, &b, &month).await;
    assert_eq!(status, StatusCode::CREATED, "{result}");
    assert_eq!((result["statements"].as_i64(), result["team_rebate_total"].as_str()), (Some(4), Some("6900.00")));

    let statement = |id: i64| {
        let app = &app;
        let hq = b.hq.clone();
        let month = month.clone();
        async move { app.get(&format!("/api/v1/agents/{id}/statements/{month}"), &hq).await.1 }
    };
    for (agent, rebate, volume) in [(d, "2400.00", "60000.00"), (bb, "1200.00", "90000.00"), (c, "0.00", "5000.00"), (a, "3300.00", "115000.00")] {
        let s = statement(agent).await;
        assert_eq!((s["team_rebate"].as_str(), s["team_volume"].as_str()), (Some(rebate), Some(volume)), "agent {agent}: {s}");
        assert_eq!(s["closing_balance"], rebate);
    }
    assert_eq!(statement(a).await["purchases_amount"], "20000.00");
    assert_eq!(statement(a).await["purchases_units"], 200);

    // closing twice, closing the running month, backdating into the closed month
    let (status, body) = close(&app, &b, &month).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("period_closed")));
    let (current, _) = month_start(0);
    let (status, body) = close(&app, &b, &current).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("period_not_ended")));
    let (status, body) = buy_at(&app, &b, a, "BOX", 1, start + Duration::days(4)).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("period_closed")));
    let (_, periods) = app.get("/api/v1/periods", &b.hq).await;
    let listed: Vec<(String, String)> =
        periods["items"].as_array().unwrap().iter().map(|p| (p["month"].as_str().unwrap().into(), p["status"].as_str().unwrap().into())).collect();
    assert_eq!(listed, vec![(current.clone(), "open".into()), (month.clone(), "closed".into())]);

    // an agent reads its own statement only; HQ reads them all
    let ta = app.agent_token(&b, "13800000001").await;
    assert_eq!(app.get(&format!("/api/v1/agents/{a}/statements/{month}"), &ta).await.0, StatusCode::OK);
    assert_eq!(app.get(&format!("/api/v1/agents/{bb}/statements/{month}"), &ta).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&format!("/api/v1/periods/{month}/statements"), &ta).await.0, StatusCode::FORBIDDEN);
    assert_eq!(app.collect_ids(&format!("/api/v1/periods/{month}/statements?limit=3"), &b.hq).await.len(), 4);
    app.assert_verified().await;
}

#[tokio::test]
async fn the_month_follows_the_brands_time_zone() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let a = app.agent_joined(&b.hq, "A", "13800000001", b.tiers[1], None, month_start(3).1).await;
    let (last, start) = month_start(1);
    let (before, _) = month_start(2);
    // 00:30 on the 1st in Shanghai is still the previous day in UTC
    let (_, early) = buy_at(&app, &b, a, "MASK-01", 1, start + Duration::minutes(30)).await;
    let (_, late) = buy_at(&app, &b, a, "MASK-01", 2, start - Duration::minutes(30)).await;
    let (status, body) = close(&app, &b, &last).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("earlier_period_open")), "{body}");
    assert_eq!(close(&app, &b, &before).await.0, StatusCode::CREATED);
    assert_eq!(close(&app, &b, &last).await.0, StatusCode::CREATED);
    let units = |month: &str| {
        let (app, hq, month) = (&app, b.hq.clone(), month.to_owned());
        async move { app.get(&format!("/api/v1/agents/{a}/statements/{month}"), &hq).await.1["purchases_units"].as_i64().unwrap() }
    };
    assert_eq!((units(&before).await, units(&last).await), (2, 1), "{late} / {early}");
    app.assert_verified().await;
}

#[tokio::test]
async fn a_refund_after_close_is_a_clawback_that_can_leave_a_debt() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    app.call(Method::PATCH, "/api/v1/settings", Some(&b.hq), Some(json!({"hold_days": 0}))).await;
    let up = app.agent_joined(&b.hq, "Up", "13800000001", b.tiers[0], None, month_start(3).1).await;
    let buyer = app.agent_joined(&b.hq, "Buyer", "13800000002", b.tiers[4], Some(up), month_start(3).1).await;
    let (last, start) = month_start(1);
    let (_, order) = buy_at(&app, &b, buyer, "MASK-01", 10, start + Duration::days(2)).await;
    assert_eq!(close(&app, &b, &last).await.0, StatusCode::CREATED);
    let tu = app.agent_token(&b, "13800000001").await;
    let (_, s) = app.get(&format!("/api/v1/agents/{up}/statements/{last}"), &tu).await;
    assert_eq!((s["differential"].as_str(), s["closing_balance"].as_str()), (Some("796.00"), Some("796.00")));
    // paid out in full, then the order is refunded
    app.set_payee(&tu, up).await;
    let (_, w) = app.post(&format!("/api/v1/agents/{up}/withdrawals"), &tu, json!({"amount": "796.00"})).await;
    app.post(&format!("/api/v1/withdrawals/{}/approve", w["id"]), &b.hq, json!({})).await;
    let (status, refund) = app.post(&format!("/api/v1/orders/{}/refunds", order["id"]), &b.hq, json!({"lines": [{"sku": "MASK-01", "qty": 10}]})).await;
    assert_eq!(status, StatusCode::CREATED, "{refund}");
    let (_, wallet) = app.get(&format!("/api/v1/agents/{up}/wallet"), &tu).await;
    assert_eq!((wallet["balance"].as_str(), wallet["available"].as_str()), (Some("-796.00"), Some("-796.00")), "the debt carries forward");
    // the clawback is dated in the open month; the closed statement is untouched
    let (current, _) = month_start(0);
    let (_, earnings) = app.get(&format!("/api/v1/agents/{up}/earnings?month={current}"), &tu).await;
    assert_eq!(earnings["totals"]["differential"], "-796.00");
    assert_eq!(app.get(&format!("/api/v1/agents/{up}/statements/{last}"), &tu).await.1, s);
    app.assert_verified().await;
}

#[tokio::test]
async fn exports_are_byte_identical_and_total_to_the_ledger() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let up = app.agent_joined(&b.hq, "王芳", "13800000001", b.tiers[0], None, month_start(3).1).await;
    let buyer = app.agent_joined(&b.hq, "李雷", "13800000002", b.tiers[3], Some(up), month_start(3).1).await;
    let (last, start) = month_start(1);
    buy_at(&app, &b, buyer, "MASK-01", 7, start + Duration::days(1)).await;
    buy_at(&app, &b, buyer, "MASK-01", 3, start + Duration::days(9)).await;
    let url = |fmt: &str| format!("{}/api/v1/periods/{last}/export?format={fmt}", app.address);
    let (status, body) = app.get(&format!("/api/v1/periods/{last}/export?format=csv"), &b.hq).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("period_open")));
    close(&app, &b, &last).await;
    // once the close has committed the service vacuums the statements in the background, so
    // the first reader of the month does not set the hint bits of its rows (after_commit)
    let vacuumed = "SELECT count(*) AS n FROM pg_stat_user_tables WHERE relname = 'statements' AND last_vacuum IS NOT NULL";
    let mut waited = 0;
    while crate::asof::count(&app, vacuumed).await == 0 && waited < 100 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        waited += 1;
    }
    assert_eq!(crate::asof::count(&app, vacuumed).await, 1, "the statements were vacuumed after the close");
    let download = |fmt: &'static str| {
        let (client, url, hq) = (app.client.clone(), url(fmt), b.hq.clone());
        async move {
            let resp = client.get(url).bearer_auth(hq).send().await.unwrap();
            assert_eq!(resp.status(), StatusCode::OK);
            resp.bytes().await.unwrap().to_vec()
        }
    };
    let (csv1, csv2) = (download("csv").await, download("csv").await);
    assert_eq!(csv1, csv2, "CSV downloads are byte-identical");
    let (x1, x2) = (download("xlsx").await, download("xlsx").await);
    assert_eq!(x1, x2, "XLSX downloads are byte-identical");
    assert!(x1.starts_with(b"PK"), "an XLSX is a zip");
    assert!(csv1.starts_with("\u{feff}".as_bytes()), "BOM for Excel");
    let text = String::from_utf8(csv1[3..].to_vec()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("代理ID Agent ID,姓名 Name"), "{}", lines[0]);
    assert!(lines[1].contains("王芳") && lines[2].contains("李雷"));
    // one line per statement, by agent id, each with every column
    let ids: Vec<i64> = lines[1..lines.len() - 1].iter().map(|l| l.split(',').next().unwrap().parse().unwrap()).collect();
    assert!(ids.len() >= 2 && ids.windows(2).all(|w| w[0] < w[1]), "lines by agent id: {ids:?}");
    assert!(lines.iter().all(|l| l.split(',').count() == lines[0].split(',').count()), "every line has every column");
    let total = lines.last().unwrap();
    assert!(total.starts_with("合计 Total"), "{total}");
    // the totals row's closing balance equals the sum of the wallets in the ledger
    let closing_col = lines[0].split(',').position(|h| h == "期末余额 Closing balance").unwrap();
    let mut ledger = rust_decimal::Decimal::ZERO;
    for agent in [up, buyer] {
        ledger += app.get(&format!("/api/v1/agents/{agent}/wallet"), &b.hq).await.1["balance"].as_str().unwrap().parse::<rust_decimal::Decimal>().unwrap();
    }
    assert_eq!(total.split(',').nth(closing_col).unwrap(), ledger.to_string());
    assert_eq!(ledger.to_string(), "597.00", "联创 earns (119.40 - 59.70) × 10 from its 市代");
    app.assert_verified().await;
}

#[tokio::test]
async fn us_ftc_holds_downline_pay_until_the_team_sells_at_retail() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    app.call(Method::PATCH, "/api/v1/settings", Some(&b.hq), Some(json!({"jurisdiction": "us_ftc", "hold_days": 0}))).await;
    let a = app.agent_joined(&b.hq, "A", "13800000001", b.tiers[0], None, month_start(3).1).await;
    let seller = app.agent_joined(&b.hq, "B", "13800000002", b.tiers[3], Some(a), month_start(3).1).await;
    let c = app.agent_joined(&b.hq, "C", "13800000003", b.tiers[0], None, month_start(3).1).await;
    let loader = app.agent_joined(&b.hq, "D", "13800000004", b.tiers[3], Some(c), month_start(3).1).await;
    let (last, start) = month_start(1);
    // both downlines buy 10 市代 units (1194.00): each upline earns (119.40 - 59.70) × 10
    for buyer in [seller, loader] {
        let (status, body) = buy_at(&app, &b, buyer, "MASK-01", 10, start + Duration::days(2)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let wallet = |id: i64| {
        let (app, hq) = (&app, b.hq.clone());
        async move { app.get(&format!("/api/v1/agents/{id}/wallet"), &hq).await.1 }
    };
    let w = wallet(a).await;
    assert_eq!(
        (w["balance"].as_str(), w["held"].as_str(), w["available"].as_str()),
        (Some("597.00"), Some("597.00"), Some("0.00")),
        "held: the team sold nothing at retail"
    );
    // B sells 7 at retail in the same month: 1393.00 / (1393.00 + 1194.00) = 0.538 > 0.5
    // retail with no customer contact does not count toward the share (a finding)
    let sale = json!({"kind": "retail", "seller_id": seller, "lines": [{"sku": "MASK-01", "qty": 7}], "placed_at": (start + Duration::days(5)).to_rfc3339()});
    let (status, invented) = app.post("/api/v1/orders", &b.hq, sale).await;
    assert_eq!(status, StatusCode::CREATED, "{invented}");
    assert_eq!(wallet(a).await["held"], "597.00", "retail naming nobody is not believed");
    let (_, report) = app.get(&format!("/api/v1/reports/compliance?month={last}"), &b.hq).await;
    let f = &report["retail_findings"];
    assert_eq!((f["orders"].as_i64(), f["amount"].as_str(), f["excluded_from_us_ftc_share"].as_bool()), (Some(1), Some("1393.00"), Some(true)), "{f}");
    assert_eq!((f["listed"][0]["order_id"].as_i64(), f["listed"][0]["reasons"].clone()), (invented["id"].as_i64(), json!(["no_contact"])));
    let (status, _) = app
        .post(
            &format!("/api/v1/orders/{}/refunds", invented["id"]),
            &b.hq,
            json!({"lines": [{"sku": "MASK-01", "qty": 7}], "refunded_at": (start + Duration::days(5) + Duration::hours(1)).to_rfc3339()}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let sale = json!({"kind": "retail", "seller_id": seller, "customer": {"name": "王女士", "phone": "138 0013 8000"}, "lines": [{"sku": "MASK-01", "qty": 7}], "placed_at": (start + Duration::days(5)).to_rfc3339()});
    assert_eq!(app.post("/api/v1/orders", &b.hq, sale).await.0, StatusCode::CREATED);
    let w = wallet(a).await;
    assert_eq!((w["held"].as_str(), w["available"].as_str()), (Some("0.00"), Some("597.00")), "released when the share recovers");
    assert_eq!(wallet(c).await["held"], "597.00");

    // at close, C's unreleased pay is reversed inside the month; A keeps its own
    let (status, closed) = close(&app, &b, &last).await;
    assert_eq!(status, StatusCode::CREATED, "{closed}");
    let statement = |id: i64| {
        let (app, hq, last) = (&app, b.hq.clone(), last.clone());
        async move { app.get(&format!("/api/v1/agents/{id}/statements/{last}"), &hq).await.1 }
    };
    let sc = statement(c).await;
    assert_eq!((sc["differential"].as_str(), sc["other"].as_str(), sc["closing_balance"].as_str()), (Some("597.00"), Some("-597.00"), Some("0.00")));
    let sa = statement(a).await;
    assert_eq!((sa["other"].as_str(), sa["closing_balance"].as_str()), (Some("0.00"), Some("597.00")));
    let wc = wallet(c).await;
    assert_eq!((wc["balance"].as_str(), wc["held"].as_str(), wc["available"].as_str()), (Some("0.00"), Some("0.00"), Some("0.00")));
    app.assert_verified().await;
}

#[tokio::test]
async fn agents_confirm_or_dispute_a_closed_statement_once_and_hq_resolves_disputes() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let (last, start) = month_start(1);
    let joined = start + Duration::hours(1);
    let a = app.agent_joined(&b.hq, "A", "13800000001", b.tiers[0], None, joined).await;
    let c = app.agent_joined(&b.hq, "C", "13800000002", b.tiers[4], Some(a), joined).await;
    let d = app.agent_joined(&b.hq, "D", "13800000003", b.tiers[4], Some(a), joined).await;
    let (current, _) = month_start(0);
    let (ta, tc, td) = (app.agent_token(&b, "13800000001").await, app.agent_token(&b, "13800000002").await, app.agent_token(&b, "13800000003").await);
    // an open month has no statement to sign
    let (status, body) = app.post(&format!("/api/v1/agents/{a}/statements/{current}/confirm"), &ta, json!({})).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("period_open")), "{body}");
    let (status, body) = app.post(&format!("/api/v1/periods/{last}/close"), &b.hq, json!({})).await;
    assert!(status.is_success(), "{body}");
    let confirm = |id: i64| format!("/api/v1/agents/{id}/statements/{last}/confirm");
    let dispute = |id: i64| format!("/api/v1/agents/{id}/statements/{last}/dispute");
    // A signs off, once
    let (status, r) = app.post(&confirm(a), &ta, json!({})).await;
    assert_eq!((status, r["state"].as_str()), (StatusCode::CREATED, Some("confirmed")), "{r}");
    for (path, body) in [(confirm(a), json!({})), (dispute(a), json!({"reason": "on second thoughts"}))] {
        let (status, e) = app.post(&path, &ta, body).await;
        assert_eq!((status, e["code"].as_str()), (StatusCode::CONFLICT, Some("already_reviewed")));
    }
    // only the agent itself reviews: HQ is refused, another agent sees nothing
    assert_eq!(app.post(&confirm(c), &b.hq, json!({})).await.0, StatusCode::FORBIDDEN);
    assert_eq!(app.post(&confirm(c), &td, json!({})).await.0, StatusCode::NOT_FOUND);
    // C disputes, with a reason
    let (status, e) = app.post(&dispute(c), &tc, json!({})).await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::BAD_REQUEST, Some("reason_required")));
    let (status, r) = app.post(&dispute(c), &tc, json!({"reason": "少算了一笔级差 a differential is missing"})).await;
    assert_eq!((status, r["state"].as_str()), (StatusCode::CREATED, Some("disputed")), "{r}");
    // D: 32 concurrent confirms and disputes decide its statement once
    let mut handles = Vec::new();
    for i in 0..32 {
        let (address, token, path) = (app.address.clone(), td.clone(), if i % 2 == 0 { confirm(d) } else { dispute(d) });
        handles.push(tokio::spawn(async move {
            reqwest::Client::new().post(format!("{address}{path}")).bearer_auth(token).json(&json!({"reason": "x"})).send().await.unwrap().status()
        }));
    }
    let mut statuses = Vec::new();
    for h in handles {
        statuses.push(h.await.unwrap());
    }
    let created = statuses.iter().filter(|s| **s == StatusCode::CREATED).count();
    assert_eq!(created, 1, "{statuses:?}");
    // HQ's queue of disputes, and the answer
    let (status, queue) = app.get("/api/v1/disputes?status=disputed", &b.hq).await;
    assert_eq!(status, StatusCode::OK);
    let open: Vec<i64> = queue["items"].as_array().unwrap().iter().map(|r| r["agent_id"].as_i64().unwrap()).collect();
    assert!(open.contains(&c), "{queue}");
    assert_eq!(app.get("/api/v1/disputes", &tc).await.0, StatusCode::FORBIDDEN);
    let id = queue["items"].as_array().unwrap().iter().find(|r| r["agent_id"] == c).unwrap()["id"].as_i64().unwrap();
    let (status, e) = app.post(&format!("/api/v1/disputes/{id}/resolve"), &b.hq, json!({})).await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::BAD_REQUEST, Some("reason_required")));
    // the missing differential is credited by an adjustment linked to the dispute: made by
    // finance, approved by the owner; only then does it settle the dispute
    let finance = crate::staff::staff_token(&app, &b, "cashier", "finance").await;
    let (status, adj) = app
        .post(
            "/api/v1/adjustments",
            &finance,
            json!({"agent_id": c, "amount": "59.70", "category": "dispute", "reason": "补发级差 the missing differential", "dispute_id": id}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{adj}");
    let resolve = json!({"note": "已补发 ¥59.70 credited", "adjustment_id": adj["id"]});
    let (status, e) = app.post(&format!("/api/v1/disputes/{id}/resolve"), &b.hq, resolve.clone()).await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::CONFLICT, Some("adjustment_not_approved")));
    assert_eq!(app.post(&format!("/api/v1/adjustments/{}/approve", adj["id"]), &b.hq, json!({})).await.0, StatusCode::OK);
    let (status, r) = app.post(&format!("/api/v1/disputes/{id}/resolve"), &b.hq, resolve).await;
    assert_eq!((status, r["state"].as_str(), r["adjustment_id"].as_i64()), (StatusCode::OK, Some("resolved"), adj["id"].as_i64()), "{r}");
    assert!(r["entry_id"].as_i64().is_some(), "{r}");
    assert_eq!(app.get(&format!("/api/v1/agents/{c}/wallet"), &tc).await.1["balance"], "59.70");
    let (status, e) = app.post(&format!("/api/v1/disputes/{id}/resolve"), &b.hq, json!({"note": "again"})).await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::CONFLICT, Some("not_disputed")));
    app.assert_verified().await;
}

#[tokio::test]
async fn thirty_two_concurrent_first_exports_store_one_file_and_all_get_it() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let up = app.agent_joined(&b.hq, "王芳", "13800000001", b.tiers[0], None, month_start(3).1).await;
    let buyer = app.agent_joined(&b.hq, "李雷", "13800000002", b.tiers[3], Some(up), month_start(3).1).await;
    let (last, start) = month_start(1);
    buy_at(&app, &b, buyer, "MASK-01", 4, start + Duration::days(3)).await;
    assert_eq!(close(&app, &b, &last).await.0, StatusCode::CREATED);
    let mut handles = Vec::new();
    for i in 0..32 {
        let fmt = if i % 2 == 0 { "csv" } else { "xlsx" };
        let (url, hq) = (format!("{}/api/v1/periods/{last}/export?format={fmt}", app.address), b.hq.clone());
        handles.push(tokio::spawn(async move {
            let resp = reqwest::Client::new().get(url).bearer_auth(hq).send().await.unwrap();
            (fmt, resp.status(), resp.bytes().await.unwrap().to_vec())
        }));
    }
    let mut files: std::collections::HashMap<&str, Vec<Vec<u8>>> = std::collections::HashMap::new();
    for h in handles {
        let (fmt, status, bytes) = h.await.unwrap();
        assert_eq!(status, StatusCode::OK);
        files.entry(fmt).or_default().push(bytes);
    }
    for (fmt, all) in &files {
        assert_eq!(all.len(), 16);
        assert!(all.iter().all(|f| f == &all[0]), "every concurrent first {fmt} download gets the same bytes");
    }
    assert!(String::from_utf8_lossy(&files["csv"][0]).contains("李雷"));
    let pool = app.pool.clone();
    let stored: Vec<(String, String)> = tokio::task::spawn_blocking(move || {
        use agent_ledger::schema::period_exports::dsl::*;
        use diesel::prelude::*;
        period_exports.select((format, sha256)).order(format).load(&mut pool.get().unwrap()).unwrap()
    })
    .await
    .unwrap();
    assert_eq!(stored.iter().map(|s| s.0.as_str()).collect::<Vec<_>>(), vec!["csv", "xlsx"], "one stored file per format");
    use sha2::Digest;
    assert_eq!(stored[0].1, hex::encode(sha2::Sha256::digest(&files["csv"][0])), "the stored hash is the served file's");
    app.assert_verified().await;
}
