//! Money out end to end: payees, fee and tax quoted then fixed, requested → approved → paid
//! (or failed, or rejected), the payout file in batches, an exited agent paid out, and
//! adjustments made by one staff member and approved by another.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, Brand, TestApp};

/// A (best tier) over B (worst tier), hold days 0; B buys 10 masks so A earns 796.00.
async fn earner(app: &TestApp, b: &Brand) -> (i64, String) {
    let a = app.agent(&b.hq, "甲", "13800000001", b.tiers[0], None).await;
    let buyer = app.agent(&b.hq, "乙", "13800000002", b.tiers[4], Some(a)).await;
    let (status, o) = app.post("/api/v1/orders", &b.hq, json!({"kind": "purchase", "buyer_id": buyer, "lines": [{"sku": "MASK-01", "qty": 10}]})).await;
    assert_eq!(status, StatusCode::CREATED, "{o}");
    (a, app.agent_token(b, "13800000001").await)
}

async fn rules(app: &TestApp, b: &Brand, max: &str) {
    let (status, s) = app
        .call(
            Method::PATCH,
            "/api/v1/settings",
            Some(&b.hq),
            Some(json!({"hold_days": 0, "withdrawal": {"min": "10.00", "max": max, "fee_rate": "0.006", "fee_min": "2.00", "tax_rate": "0.2"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{s}");
}

async fn bytes(app: &TestApp, path: &str, token: &str) -> (StatusCode, Option<String>, Vec<u8>) {
    let resp = app.client.get(format!("{}{path}", app.address)).bearer_auth(token).send().await.unwrap();
    let batch = resp.headers().get("x-payout-batch").map(|v| v.to_str().unwrap().to_owned());
    (resp.status(), batch, resp.bytes().await.unwrap().to_vec())
}

/// Sum of an HQ account's postings, straight from the ledger.
async fn account(app: &TestApp, name: &'static str) -> String {
    use diesel::prelude::*;
    let pool = app.pool.clone();
    tokio::task::spawn_blocking(move || {
        #[derive(QueryableByName)]
        struct S {
            #[diesel(sql_type = diesel::sql_types::Text)]
            total: String,
        }
        let s: S = diesel::sql_query("SELECT coalesce(sum(amount), 0)::numeric(16,2)::text AS total FROM postings WHERE account = $1")
            .bind::<diesel::sql_types::Text, _>(name)
            .get_result(&mut pool.get().unwrap())
            .unwrap();
        s.total
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn a_withdrawal_is_quoted_requested_approved_exported_and_paid_once() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    rules(&app, &b, "600.00").await;
    let (a, t) = earner(&app, &b).await;
    // the quote the agent sees first: 500.00 → fee 3.00 (0.6%), tax 100.00 (20%), net 397.00
    let (status, q) = app.get(&format!("/api/v1/agents/{a}/withdrawals/quote?amount=500.00"), &t).await;
    assert_eq!(status, StatusCode::OK, "{q}");
    assert_eq!(
        (q["fee"].as_str(), q["tax"].as_str(), q["net"].as_str(), q["wallet"]["available"].as_str()),
        (Some("3.00"), Some("100.00"), Some("397.00"), Some("796.00"))
    );
    // no payee yet; then the limits, then more than available
    let ask = |amount: &str| json!({"amount": amount});
    let (status, body) = app.post(&format!("/api/v1/agents/{a}/withdrawals"), &t, ask("500.00")).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("no_payee")));
    let (status, payee) = app
        .call(
            Method::PUT,
            &format!("/api/v1/agents/{a}/payee"),
            Some(&t),
            Some(json!({"method": "bank", "name": "甲", "account": "6222 0212 3456 7890 123", "bank": "工商银行"})),
        )
        .await;
    assert_eq!((status, payee["account"].as_str()), (StatusCode::OK, Some("**** 0123")), "masked even to its owner");
    assert_eq!(
        app.call(Method::PUT, &format!("/api/v1/agents/{a}/payee"), Some(&b.hq), Some(json!({"method": "alipay", "name": "x", "account": "hq@evil.example"})))
            .await
            .0,
        StatusCode::FORBIDDEN,
        "HQ cannot redirect an agent's money"
    );
    assert_eq!(app.post(&format!("/api/v1/agents/{a}/withdrawals"), &t, ask("700.00")).await.1["code"], "above_maximum");
    assert_eq!(app.post(&format!("/api/v1/agents/{a}/withdrawals"), &t, ask("5.00")).await.1["code"], "below_minimum");
    let (status, w) = app.post(&format!("/api/v1/agents/{a}/withdrawals"), &t, ask("500.00")).await;
    assert_eq!(status, StatusCode::CREATED, "{w}");
    assert_eq!(
        (w["fee"].as_str(), w["tax"].as_str(), w["net"].as_str(), w["payee_account"].as_str()),
        (Some("3.00"), Some("100.00"), Some("397.00"), Some("**** 0123"))
    );
    assert_eq!(app.post(&format!("/api/v1/agents/{a}/withdrawals"), &t, ask("296.01")).await.1["code"], "insufficient_funds");
    let id = w["id"].as_i64().unwrap();
    // paying before approval is refused; approval posts the three wallet lines
    assert_eq!(app.post(&format!("/api/v1/withdrawals/{id}/pay"), &b.hq, json!({"reference": "X"})).await.1["code"], "wrong_state");
    assert_eq!(app.post(&format!("/api/v1/withdrawals/{id}/approve"), &b.hq, json!({})).await.0, StatusCode::OK);
    let (_, wallet) = app.get(&format!("/api/v1/agents/{a}/wallet"), &t).await;
    assert_eq!((wallet["balance"].as_str(), wallet["available"].as_str()), (Some("296.00"), Some("296.00")));
    let month = chrono::Utc::now().with_timezone(&chrono_tz::Asia::Shanghai).format("%Y-%m").to_string();
    let (_, earnings) = app.get(&format!("/api/v1/agents/{a}/earnings?month={month}"), &t).await;
    let kinds: Vec<(&str, &str)> =
        earnings["postings"].as_array().unwrap().iter().map(|p| (p["kind"].as_str().unwrap(), p["amount"].as_str().unwrap())).collect();
    for line in [("withdrawal", "-397.00"), ("withdrawal_fee", "-3.00"), ("withholding_tax", "-100.00")] {
        assert!(kinds.contains(&line), "{line:?} in {kinds:?}");
    }
    assert_eq!(earnings["total"], "796.00", "money out is not earnings");
    // the payout file: the whole account, batch 1, totals; the same bytes on every download
    let (status, batch, csv1) = bytes(&app, "/api/v1/payouts/export?status=approved&format=csv", &b.hq).await;
    assert_eq!((status, batch.as_deref()), (StatusCode::OK, Some("1")));
    let text = String::from_utf8(csv1.clone()).unwrap();
    assert!(text.contains(&format!("1,{id},{a},bank,甲,6222021234567890123,工商银行,500.00,3.00,100.00,397.00")), "{text}");
    assert!(text.trim_end().ends_with("合计 Total,1,,,,,,500.00,3.00,100.00,397.00"), "{text}");
    let (_, again, csv2) = bytes(&app, "/api/v1/payouts/export?status=approved&format=csv", &b.hq).await;
    assert_eq!((again, &csv2), (None, &csv1), "nothing new: no new batch, same bytes");
    let (_, _, x1) = bytes(&app, "/api/v1/payouts/export?batch=1&format=xlsx", &b.hq).await;
    let (_, _, x2) = bytes(&app, "/api/v1/payouts/export?batch=1&format=xlsx", &b.hq).await;
    assert!(x1.starts_with(b"PK") && x1 == x2, "xlsx byte-identical");
    assert_eq!(account(&app, "payouts_due").await, "397.00", "the file's net is what HQ owes");
    // paid once: a reference is needed, a second payment is refused
    assert_eq!(app.post(&format!("/api/v1/withdrawals/{id}/pay"), &b.hq, json!({})).await.1["code"], "reference_required");
    let (status, paid) = app.post(&format!("/api/v1/withdrawals/{id}/pay"), &b.hq, json!({"reference": "ICBC202611270001"})).await;
    assert_eq!((status, paid["status"].as_str(), paid["reference"].as_str()), (StatusCode::OK, Some("paid"), Some("ICBC202611270001")), "{paid}");
    let (status, twice) = app.post(&format!("/api/v1/withdrawals/{id}/pay"), &b.hq, json!({"reference": "ICBC202611270002"})).await;
    assert_eq!((status, twice["code"].as_str()), (StatusCode::CONFLICT, Some("already_paid")));
    assert_eq!(app.post(&format!("/api/v1/withdrawals/{id}/fail"), &b.hq, json!({"reason": "late bounce"})).await.1["code"], "already_paid");
    assert_eq!((account(&app, "payouts_due").await, account(&app, "payouts").await), ("0.00".into(), "397.00".into()));
    assert_eq!((account(&app, "withdrawal_fees").await, account(&app, "tax_withheld").await), ("3.00".into(), "100.00".into()));
    // nothing approved is left: the next file is empty but for its totals
    let (_, none, empty) = bytes(&app, "/api/v1/payouts/export?status=approved&format=csv", &b.hq).await;
    assert!(none.is_none() && String::from_utf8(empty).unwrap().contains("合计 Total,0,"));
    let (_, batches) = app.get("/api/v1/payouts/batches", &b.hq).await;
    assert_eq!((batches[0]["no"].as_i64(), batches[0]["paid"].as_i64(), batches[0]["net"].as_str()), (Some(1), Some(1), Some("397.00")));
    app.assert_verified().await;
}

#[tokio::test]
async fn a_failed_transfer_returns_the_whole_amount_and_the_month_file_shows_only_what_is_payable() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    rules(&app, &b, "50000.00").await;
    let (a, t) = earner(&app, &b).await;
    app.set_payee(&t, a).await;
    let (_, w) = app.post(&format!("/api/v1/agents/{a}/withdrawals"), &t, json!({"amount": "200.00"})).await;
    let id = w["id"].as_i64().unwrap();
    assert_eq!(app.post(&format!("/api/v1/withdrawals/{id}/approve"), &b.hq, json!({})).await.0, StatusCode::OK);
    assert_eq!(app.post(&format!("/api/v1/withdrawals/{id}/fail"), &b.hq, json!({})).await.1["code"], "reason_required");
    let (status, failed) = app.post(&format!("/api/v1/withdrawals/{id}/fail"), &b.hq, json!({"reason": "账号不存在 no such account"})).await;
    assert_eq!((status, failed["status"].as_str(), failed["failure"].as_str()), (StatusCode::OK, Some("failed"), Some("账号不存在 no such account")));
    let (_, wallet) = app.get(&format!("/api/v1/agents/{a}/wallet"), &t).await;
    assert_eq!(wallet["available"], "796.00", "fee and tax come back too");
    assert_eq!(app.post(&format!("/api/v1/withdrawals/{id}/pay"), &b.hq, json!({"reference": "R"})).await.1["code"], "already_failed");
    assert_eq!(
        (account(&app, "payouts_due").await, account(&app, "withdrawal_fees").await, account(&app, "tax_withheld").await),
        ("0.00".into(), "0.00".into(), "0.00".into())
    );
    // a rejected one keeps its reason and posts nothing
    let (_, w2) = app.post(&format!("/api/v1/agents/{a}/withdrawals"), &t, json!({"amount": "100.00"})).await;
    let (_, rejected) = app.post(&format!("/api/v1/withdrawals/{}/reject", w2["id"]), &b.hq, json!({"reason": "请先完成实名 verify your name first"})).await;
    assert_eq!(rejected["status"], "rejected");
    let (_, failed_list) = app.get("/api/v1/withdrawals?status=failed", &t).await;
    assert_eq!(failed_list["items"][0]["id"].as_i64(), Some(id), "the agent sees what bounced");
    app.assert_verified().await;
}

#[tokio::test]
async fn thirty_two_concurrent_payments_of_one_withdrawal_pay_it_once() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    app.call(Method::PATCH, "/api/v1/settings", Some(&b.hq), Some(json!({"hold_days": 0}))).await;
    let (a, t) = earner(&app, &b).await;
    app.set_payee(&t, a).await;
    let mut paid = 0;
    for round in 0..3 {
        let (_, w) = app.post(&format!("/api/v1/agents/{a}/withdrawals"), &t, json!({"amount": "100.00"})).await;
        let id = w["id"].as_i64().unwrap();
        assert_eq!(app.post(&format!("/api/v1/withdrawals/{id}/approve"), &b.hq, json!({})).await.0, StatusCode::OK);
        let mut handles = Vec::new();
        for i in 0..32 {
            let (address, hq) = (app.address.clone(), b.hq.clone());
            handles.push(tokio::spawn(async move {
                let (path, body) = if i % 4 == 3 { ("fail", json!({"reason": "bounced"})) } else { ("pay", json!({"reference": format!("REF-{i}")})) };
                let resp = reqwest::Client::new().post(format!("{address}/api/v1/withdrawals/{id}/{path}")).bearer_auth(hq).json(&body).send().await.unwrap();
                (resp.status(), resp.json::<Value>().await.unwrap())
            }));
        }
        let mut ok = Vec::new();
        let mut conflicts = 0;
        for h in handles {
            let (status, body) = h.await.unwrap();
            match status {
                StatusCode::OK => ok.push(body),
                StatusCode::CONFLICT => conflicts += 1,
                other => panic!("round {round}: {other} {body}"),
            }
        }
        assert_eq!((ok.len(), conflicts), (1, 31), "round {round}");
        paid += i64::from(ok[0]["status"] == "paid");
    }
    assert_eq!(account(&app, "payouts").await, format!("{}.00", 100 * paid), "each paid withdrawal reached the bank account once");
    app.assert_verified().await;
}

#[tokio::test]
async fn hq_pays_out_what_an_exited_agent_has_left_without_taxing_its_buyback_money() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    rules(&app, &b, "100.00").await;
    let a = app.agent(&b.hq, "甲", "13800000001", b.tiers[0], None).await;
    let bb = app.agent(&b.hq, "乙", "13800000002", b.tiers[2], Some(a)).await;
    let (status, _) = app.post("/api/v1/orders", &b.hq, json!({"kind": "purchase", "buyer_id": bb, "lines": [{"sku": "MASK-01", "qty": 4}]})).await;
    assert_eq!(status, StatusCode::CREATED);
    let payee = json!({"method": "bank", "name": "乙", "account": "6222021000000000002", "bank": "建设银行"});
    let (status, body) = app.post(&format!("/api/v1/agents/{bb}/withdrawals"), &b.hq, json!({"amount": "358.20", "payee": payee})).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("not_exited")), "an active agent asks for itself");
    let (status, exit) = app.post(&format!("/api/v1/agents/{bb}/exit"), &b.hq, json!({})).await;
    assert_eq!((status, exit["buyback_total"].as_str()), (StatusCode::OK, Some("358.20")), "{exit}");
    // above the per-request maximum, untaxed (it is the agent's own purchase money), no fee
    let (status, w) = app.post(&format!("/api/v1/agents/{bb}/withdrawals"), &b.hq, json!({"amount": "358.20", "payee": payee})).await;
    assert_eq!(status, StatusCode::CREATED, "{w}");
    assert_eq!((w["status"].as_str(), w["fee"].as_str(), w["tax"].as_str(), w["net"].as_str()), (Some("approved"), Some("0.00"), Some("0.00"), Some("358.20")));
    let (status, paid) = app.post(&format!("/api/v1/withdrawals/{}/pay", w["id"]), &b.hq, json!({"reference": "CCB-EXIT-1"})).await;
    assert_eq!((status, paid["status"].as_str()), (StatusCode::OK, Some("paid")));
    assert_eq!(app.get(&format!("/api/v1/agents/{bb}/wallet"), &b.hq).await.1["balance"], "0.00");
    app.assert_verified().await;
}

#[tokio::test]
async fn an_adjustment_needs_a_second_staff_member_and_settles_a_dispute() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let (a, t) = earner(&app, &b).await;
    let finance = crate::staff::staff_token(&app, &b, "cashier", "finance").await;
    let body = json!({"agent_id": a, "amount": "-12.34", "category": "correction", "reason": "多计级差 differential counted twice"});
    let (status, adj) = app.post("/api/v1/adjustments", &finance, body.clone()).await;
    assert_eq!((status, adj["status"].as_str(), adj["amount"].as_str()), (StatusCode::CREATED, Some("requested"), Some("-12.34")), "{adj}");
    let id = adj["id"].as_i64().unwrap();
    let before = app.get(&format!("/api/v1/agents/{a}/wallet"), &t).await.1["balance"].clone();
    let (status, own) = app.post(&format!("/api/v1/adjustments/{id}/approve"), &finance, json!({})).await;
    assert_eq!((status, own["code"].as_str()), (StatusCode::FORBIDDEN, Some("maker_checker")));
    assert_eq!(app.get(&format!("/api/v1/agents/{a}/wallet"), &t).await.1["balance"], before, "nothing posted");
    // 32 concurrent approvals by the owner post it once
    let mut handles = Vec::new();
    for _ in 0..32 {
        let (address, hq) = (app.address.clone(), b.hq.clone());
        handles.push(tokio::spawn(async move {
            reqwest::Client::new().post(format!("{address}/api/v1/adjustments/{id}/approve")).bearer_auth(hq).json(&json!({})).send().await.unwrap().status()
        }));
    }
    let mut statuses = Vec::new();
    for h in handles {
        statuses.push(h.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::OK).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CONFLICT).count(), 31, "{statuses:?}");
    assert_eq!(app.get(&format!("/api/v1/agents/{a}/wallet"), &t).await.1["balance"], "783.66");
    assert_eq!(account(&app, "adjustments").await, "12.34");
    // bad input writes nothing
    for (bad, code) in [
        (json!({"agent_id": a, "amount": "0.00", "category": "bonus", "reason": "x"}), "validation"),
        (json!({"agent_id": a, "amount": "1.00", "category": "gift", "reason": "x"}), "validation"),
        (json!({"agent_id": a, "amount": "1.00", "category": "bonus", "reason": " "}), "reason_required"),
        (json!({"agent_id": 999999, "amount": "1.00", "category": "bonus", "reason": "x"}), "unknown_agent"),
    ] {
        assert_eq!(app.post("/api/v1/adjustments", &finance, bad.clone()).await.1["code"], code, "{bad}");
    }
    let (_, list) = app.get("/api/v1/adjustments", &b.hq).await;
    assert_eq!(
        (list["items"].as_array().unwrap().len(), list["items"][0]["made_by_login"].as_str(), list["items"][0]["checked_by_login"].as_str()),
        (1, Some("cashier"), Some("hq"))
    );
    app.assert_verified().await;
    let _ = Method::GET;
}

#[tokio::test]
async fn the_month_file_shows_what_is_payable_not_what_was_asked_for() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let (last, start) = crate::settlement::month_start(1);
    let a = app.agent_joined(&b.hq, "甲", "13800000001", b.tiers[0], None, start + chrono::Duration::hours(1)).await;
    let buyer = app.agent_joined(&b.hq, "乙", "13800000002", b.tiers[4], Some(a), start + chrono::Duration::hours(2)).await;
    let placed = (start + chrono::Duration::days(1)).to_rfc3339();
    let (status, o) =
        app.post("/api/v1/orders", &b.hq, json!({"kind": "purchase", "buyer_id": buyer, "lines": [{"sku": "MASK-01", "qty": 10}], "placed_at": placed})).await;
    assert_eq!(status, StatusCode::CREATED, "{o}");
    // A asks for 300.00 of its 796.00 before last month is closed
    let t = app.agent_token(&b, "13800000001").await;
    app.set_payee(&t, a).await;
    assert_eq!(app.post(&format!("/api/v1/agents/{a}/withdrawals"), &t, json!({"amount": "300.00"})).await.0, StatusCode::CREATED);
    assert_eq!(app.post(&format!("/api/v1/periods/{last}/close"), &b.hq, json!({})).await.0, StatusCode::CREATED);
    let (_, s) = app.get(&format!("/api/v1/agents/{a}/statements/{last}"), &b.hq).await;
    assert_eq!((s["closing_balance"].as_str(), s["payable"].as_str()), (Some("796.00"), Some("496.00")), "{s}");
    let (_, _, csv) = bytes(&app, &format!("/api/v1/periods/{last}/export?format=csv"), &b.hq).await;
    let text = String::from_utf8(csv).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().trim_start_matches('\u{feff}').split(',').collect();
    let col = header.iter().position(|h| *h == "应付 Payable").unwrap();
    let row: Vec<&str> = text.lines().find(|l| l.starts_with(&format!("{a},"))).unwrap().split(',').collect();
    assert_eq!(row[col], "496.00", "the file's payable leaves out what was asked for: {row:?}");
    app.assert_verified().await;
}
