use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, Brand, TestApp};

/// Creates a chain under HQ with the given tier indexes (0 = 联创); returns ids, top first.
async fn chain(app: &TestApp, b: &Brand, tiers: &[usize]) -> Vec<i64> {
    let mut ids: Vec<i64> = Vec::new();
    for (i, t) in tiers.iter().enumerate() {
        ids.push(app.agent(&b.hq, &format!("a{i}"), &format!("1380000{i:04}"), b.tiers[*t], ids.last().copied()).await);
    }
    ids
}

fn splits(order: &Value) -> Vec<(String, Option<i64>, String)> {
    order["splits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["kind"].as_str().unwrap().to_owned(), s["agent_id"].as_i64(), s["amount"].as_str().unwrap().to_owned()))
        .collect()
}

fn s(kind: &str, agent: Option<i64>, amount: &str) -> (String, Option<i64>, String) {
    (kind.to_owned(), agent, amount.to_owned())
}

async fn buy(app: &TestApp, token: &str, buyer: i64, qty: i64) -> (StatusCode, Value) {
    app.post("/api/v1/orders", token, json!({"kind": "purchase", "buyer_id": buyer, "lines": [{"sku": "MASK-01", "qty": qty}]})).await
}

async fn wallet(app: &TestApp, token: &str, agent: i64) -> Value {
    let (status, w) = app.get(&format!("/api/v1/agents/{agent}/wallet"), token).await;
    assert_eq!(status, StatusCode::OK, "{w}");
    w
}

async fn put_plan(app: &TestApp, token: &str, plan: Value) -> (StatusCode, Value) {
    app.call(Method::PUT, "/api/v1/plan", Some(token), Some(plan)).await
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339()
}

#[tokio::test]
async fn e1_hq_supplies_and_the_depth_cap() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let [a, bb, c, d, e] = chain(&app, &b, &[0, 1, 2, 3, 4]).await[..] else { panic!() };
    let (status, order) = buy(&app, &b.hq, e, 10).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    assert_eq!((order["amount"].as_str(), order["seller_id"].as_i64(), order["plan_version"].as_i64()), (Some("1393.00"), None, Some(1)));
    assert_eq!(
        splits(&order),
        vec![
            s("proceeds", None, "597.00"),
            s("differential", Some(d), "199.00"),
            s("differential", Some(c), "199.00"),
            s("differential", Some(bb), "199.00"),
            s("differential", Some(a), "199.00")
        ]
    );
    assert_eq!(order["splits"][1]["generation"], 1);
    assert_eq!(order["splits"][4]["generation"], 4);
    let (_, stored) = app.get(&format!("/api/v1/orders/{}", order["id"]), &b.hq).await;
    assert_eq!(stored, order, "the create response is what is stored");
    // cuts are held for hold_days (7): pending, not yet available
    assert_eq!(
        wallet(&app, &b.hq, d).await,
        json!({"agent_id": d, "balance": "199.00", "pending": "199.00", "held": "0.00", "available": "0.00", "pending_withdrawals": "0.00"})
    );
    let (_, stock) = app.get(&format!("/api/v1/agents/{e}/inventory"), &b.hq).await;
    assert_eq!(stock, json!([{"sku": "MASK-01", "qty": 10, "avg_cost": "139.30"}]));

    // with max_depth = 3, A's share stays with HQ
    let (status, plan) = put_plan(&app, &b.hq, json!({"effective_from": now(), "differential": {"enabled": true}, "max_depth": 3})).await;
    assert_eq!(status, StatusCode::OK, "{plan}");
    assert_eq!(plan["version"], 2);
    let (_, order) = buy(&app, &b.hq, e, 10).await;
    assert_eq!(order["plan_version"], 2);
    assert_eq!(
        splits(&order),
        vec![s("proceeds", None, "796.00"), s("differential", Some(d), "199.00"), s("differential", Some(c), "199.00"), s("differential", Some(bb), "199.00")]
    );
    app.assert_verified().await;
}

async fn e2(app: &TestApp) -> (Brand, [i64; 4], Value) {
    let b = app.brand("acme").await;
    let ids = chain(app, &b, &[0, 1, 1, 1]).await;
    let (status, body) =
        put_plan(app, &b.hq, json!({"effective_from": now(), "differential": {"enabled": true}, "peer_bonus": {"enabled": true, "rates": ["0.03", "0.01"]}}))
            .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, order) = buy(app, &b.hq, ids[3], 100).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    (b, [ids[0], ids[1], ids[2], ids[3]], order)
}

#[tokio::test]
async fn e2_peer_bonus_and_e4_partial_refunds_net_to_zero() {
    let app = spawn_app().await;
    let (b, [a, bb, c, d], order) = e2(&app).await;
    assert_eq!(order["amount"], "7960.00");
    assert_eq!(
        splits(&order),
        vec![s("proceeds", None, "5970.00"), s("differential", Some(a), "1990.00"), s("peer_bonus", Some(c), "238.80"), s("peer_bonus", Some(bb), "79.60")]
    );
    let month = chrono::Utc::now().with_timezone(&chrono_tz::Asia::Shanghai).format("%Y-%m").to_string();
    let (status, earnings) = app.get(&format!("/api/v1/agents/{c}/earnings?month={month}"), &b.hq).await;
    assert_eq!(status, StatusCode::OK, "{earnings}");
    assert_eq!((earnings["totals"]["peer_bonus"].as_str(), earnings["postings"].as_array().unwrap().len()), (Some("238.80"), 1));

    // E4: refund 1 unit, then the remaining 99
    let id = order["id"].as_i64().unwrap();
    let (status, r1) = app.post(&format!("/api/v1/orders/{id}/refunds"), &b.hq, json!({"lines": [{"sku": "MASK-01", "qty": 1}]})).await;
    assert_eq!(status, StatusCode::CREATED, "{r1}");
    let peer_c = |r: &Value| {
        r["splits"].as_array().unwrap().iter().find(|s| s["kind"] == "peer_bonus" && s["agent_id"] == c).unwrap()["amount"].as_str().unwrap().to_owned()
    };
    assert_eq!(peer_c(&r1), "-2.39");
    assert_eq!(r1["lines"][0]["amount"], "79.60");
    let (status, body) = app.post(&format!("/api/v1/orders/{id}/refunds"), &b.hq, json!({"lines": [{"sku": "MASK-01", "qty": 100}]})).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("refund_exceeds_order")));
    let (_, r2) = app.post(&format!("/api/v1/orders/{id}/refunds"), &b.hq, json!({"lines": [{"sku": "MASK-01", "qty": 99}]})).await;
    assert_eq!(peer_c(&r2), "-236.41");
    for agent in [a, bb, c] {
        let w = wallet(&app, &b.hq, agent).await;
        assert_eq!((w["balance"].as_str(), w["pending"].as_str(), w["available"].as_str()), (Some("0.00"), Some("0.00"), Some("0.00")), "agent {agent}");
    }
    let (_, order) = app.get(&format!("/api/v1/orders/{id}"), &b.hq).await;
    assert_eq!(order["lines"][0]["refunded_qty"], 100);
    assert_eq!(order["splits"].as_array().unwrap().len(), 12, "4 splits and 2 × 4 reversals");
    let (_, stock) = app.get(&format!("/api/v1/agents/{d}/inventory"), &b.hq).await;
    assert_eq!(stock[0]["qty"], 0);
    app.assert_verified().await;
}

#[tokio::test]
async fn e3_upline_supplies_from_its_own_stock() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let [a, bb, c] = chain(&app, &b, &[0, 1, 2]).await[..] else { panic!() };
    app.call(Method::PATCH, "/api/v1/settings", Some(&b.hq), Some(json!({"supply_mode": "upline"}))).await;
    let (status, adj) = app
        .post("/api/v1/inventory/adjustments", &b.hq, json!({"agent_id": bb, "sku": "MASK-01", "qty": 50, "unit_cost": "79.60", "reason": "opening stock"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{adj}");
    let tc = app.agent_token(&b, "13800000002").await;
    let (status, order) = app.post("/api/v1/orders", &tc, json!({"kind": "purchase", "lines": [{"sku": "MASK-01", "qty": 20}]})).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    assert_eq!((order["amount"].as_str(), order["seller_id"].as_i64(), order["buyer_id"].as_i64()), (Some("1990.00"), Some(bb), Some(c)));
    assert_eq!(splits(&order), vec![s("proceeds", Some(bb), "1990.00")]);
    assert_eq!(wallet(&app, &b.hq, bb).await["balance"], "1990.00");
    assert_eq!(wallet(&app, &b.hq, a).await["balance"], "0.00");
    assert_eq!(app.get(&format!("/api/v1/agents/{bb}/inventory"), &b.hq).await.1[0]["qty"], 30);
    assert_eq!(app.get(&format!("/api/v1/agents/{c}/inventory"), &b.hq).await.1, json!([{"sku": "MASK-01", "qty": 20, "avg_cost": "99.50"}]));

    // the seller must hold the stock, or nothing changes
    let (status, body) = app.post("/api/v1/orders", &tc, json!({"kind": "purchase", "lines": [{"sku": "MASK-01", "qty": 31}]})).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("insufficient_stock")), "{body}");
    assert_eq!(app.get(&format!("/api/v1/agents/{bb}/inventory"), &b.hq).await.1[0]["qty"], 30);
    assert_eq!(app.collect_ids(&format!("/api/v1/orders?agent_id={c}"), &b.hq).await.len(), 1);
    // per-order override: HQ supplies although the brand says upline
    let (_, order) = app.post("/api/v1/orders", &tc, json!({"kind": "purchase", "supply": "hq", "lines": [{"sku": "MASK-01", "qty": 31}]})).await;
    assert_eq!(order["seller_id"], Value::Null);
    app.assert_verified().await;
}

#[tokio::test]
async fn concurrent_buyers_never_overdraw_a_sellers_stock() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let top = app.agent(&b.hq, "top", "13800000000", b.tiers[0], None).await;
    let mut buyers = Vec::new();
    for i in 0..12 {
        buyers.push(app.agent(&b.hq, &format!("buyer{i}"), &format!("1381000{i:04}"), b.tiers[2], Some(top)).await);
    }
    app.call(Method::PATCH, "/api/v1/settings", Some(&b.hq), Some(json!({"supply_mode": "upline"}))).await;
    app.post("/api/v1/inventory/adjustments", &b.hq, json!({"agent_id": top, "sku": "MASK-01", "qty": 50, "unit_cost": "59.70", "reason": "opening stock"}))
        .await;
    let mut handles = Vec::new();
    for buyer in &buyers {
        let (url, token, buyer) = (format!("{}/api/v1/orders", app.address), b.hq.clone(), *buyer);
        handles.push(tokio::spawn(async move {
            let resp = reqwest::Client::new()
                .post(url)
                .bearer_auth(token)
                .json(&json!({"kind": "purchase", "buyer_id": buyer, "lines": [{"sku": "MASK-01", "qty": 8}]}))
                .send()
                .await
                .unwrap();
            resp.status()
        }));
    }
    let mut ok = 0;
    for h in handles {
        match h.await.unwrap() {
            StatusCode::CREATED => ok += 1,
            StatusCode::CONFLICT => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(ok, 6, "50 units serve six orders of 8");
    let left = app.get(&format!("/api/v1/agents/{top}/inventory"), &b.hq).await.1[0]["qty"].as_i64().unwrap();
    let mut held = 0;
    for buyer in &buyers {
        held += app.get(&format!("/api/v1/agents/{buyer}/inventory"), &b.hq).await.1.as_array().unwrap().first().map_or(0, |l| l["qty"].as_i64().unwrap());
    }
    assert_eq!((left, held), (2, 48), "units conserved");
    app.assert_verified().await;
}

#[tokio::test]
async fn fifty_concurrent_retries_post_exactly_once() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let [_, buyer] = chain(&app, &b, &[0, 3]).await[..] else { panic!() };
    let body = json!({"kind": "purchase", "buyer_id": buyer, "lines": [{"sku": "MASK-01", "qty": 3}]});
    let mut handles = Vec::new();
    for _ in 0..50 {
        let (url, token, body) = (format!("{}/api/v1/orders", app.address), b.hq.clone(), body.clone());
        handles.push(tokio::spawn(async move {
            let resp = reqwest::Client::new().post(url).bearer_auth(token).header("Idempotency-Key", "order-77").json(&body).send().await.unwrap();
            (resp.status(), resp.text().await.unwrap())
        }));
    }
    let mut bodies = BTreeSet::new();
    for h in handles {
        let (status, text) = h.await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{text}");
        bodies.insert(text);
    }
    assert_eq!(bodies.len(), 1, "all 50 got the first response");
    assert_eq!(app.collect_ids(&format!("/api/v1/orders?agent_id={buyer}"), &b.hq).await.len(), 1);
    assert_eq!(app.get(&format!("/api/v1/agents/{buyer}/inventory"), &b.hq).await.1[0]["qty"], 3);
    let mut other = body.clone();
    other["lines"][0]["qty"] = json!(4);
    let (status, problem) = app.call_with(Method::POST, "/api/v1/orders", Some(&b.hq), Some(other), Some("order-77")).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::CONFLICT, Some("idempotency_conflict")));
    app.assert_verified().await;
}

#[tokio::test]
async fn retail_sales_move_stock_but_no_money() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let [_, seller] = chain(&app, &b, &[0, 2]).await[..] else { panic!() };
    buy(&app, &b.hq, seller, 5).await;
    let token = app.agent_token(&b, "13800000001").await;
    let sale =
        json!({"kind": "retail", "customer": {"name": "王女士", "phone": "13812345678"}, "lines": [{"sku": "MASK-01", "qty": 2, "unit_price": "189.00"}]});
    let (status, order) = app.post("/api/v1/orders", &token, sale).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    assert_eq!((order["amount"].as_str(), order["seller_id"].as_i64(), order["customer"]["name"].as_str()), (Some("378.00"), Some(seller), Some("王女士")));
    assert!(order["splits"].as_array().unwrap().is_empty());
    let (_, order) = app.post("/api/v1/orders", &token, json!({"kind": "retail", "lines": [{"sku": "MASK-01", "qty": 1}]})).await;
    assert_eq!(order["amount"], "199.00", "defaults to the retail price");
    assert_eq!(app.get(&format!("/api/v1/orders/{}", order["id"]), &token).await.1, order, "the create response is what is stored");
    let (status, body) = app.post("/api/v1/orders", &token, json!({"kind": "retail", "lines": [{"sku": "MASK-01", "qty": 3}]})).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("insufficient_stock")));
    assert_eq!(app.get(&format!("/api/v1/agents/{seller}/inventory"), &token).await.1[0]["qty"], 2);
    assert_eq!(wallet(&app, &token, seller).await["balance"], "0.00");
    app.assert_verified().await;
}

#[tokio::test]
async fn agents_see_only_their_own_subtrees_orders_stock_and_wallet() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let [a, bb, c] = chain(&app, &b, &[0, 1, 2]).await[..] else { panic!() };
    let other = app.agent(&b.hq, "other", "13899999999", b.tiers[1], Some(a)).await;
    let (_, order) = buy(&app, &b.hq, c, 2).await;
    let (_, other_order) = buy(&app, &b.hq, other, 2).await;
    let tb = app.agent_token(&b, "13800000001").await;
    assert_eq!(app.get(&format!("/api/v1/orders/{}", order["id"]), &tb).await.0, StatusCode::OK, "a downline's order");
    assert_eq!(app.get(&format!("/api/v1/orders/{}", other_order["id"]), &tb).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&format!("/api/v1/agents/{other}/inventory"), &tb).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&format!("/api/v1/agents/{c}/inventory"), &tb).await.0, StatusCode::OK);
    assert_eq!(app.get(&format!("/api/v1/agents/{other}/wallet"), &tb).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&format!("/api/v1/agents/{c}/wallet"), &tb).await.0, StatusCode::NOT_FOUND, "money is private even to the upline");
    assert_eq!(app.get(&format!("/api/v1/agents/{bb}/wallet"), &tb).await.0, StatusCode::OK);
    assert_eq!(app.get(&format!("/api/v1/orders?agent_id={other}"), &tb).await.0, StatusCode::NOT_FOUND);
    // A earned a differential from `other`'s order and may see it
    let ta = app.agent_token(&b, "13800000000").await;
    assert_eq!(app.get(&format!("/api/v1/orders/{}", other_order["id"]), &ta).await.0, StatusCode::OK);
    // agents neither backdate, nor buy for others, nor refund
    let (status, _) =
        app.post("/api/v1/orders", &tb, json!({"kind": "purchase", "lines": [{"sku": "MASK-01", "qty": 1}], "placed_at": "2026-01-01T00:00:00+08:00"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(buy(&app, &tb, c, 1).await.0, StatusCode::FORBIDDEN);
    assert_eq!(
        app.post(&format!("/api/v1/orders/{}/refunds", order["id"]), &tb, json!({"lines": [{"sku": "MASK-01", "qty": 1}]})).await.0,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn withdrawals_never_exceed_available() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let [a, buyer] = chain(&app, &b, &[0, 4]).await[..] else { panic!() };
    app.call(Method::PATCH, "/api/v1/settings", Some(&b.hq), Some(json!({"hold_days": 0}))).await;
    buy(&app, &b.hq, buyer, 10).await; // A earns (139.30 - 59.70) * 10 = 796.00
    let ta = app.agent_token(&b, "13800000000").await;
    assert_eq!(wallet(&app, &ta, a).await["available"], "796.00");
    app.set_payee(&ta, a).await;
    let (status, w) = app.post(&format!("/api/v1/agents/{a}/withdrawals"), &ta, json!({"amount": "500.00"})).await;
    assert_eq!(status, StatusCode::CREATED, "{w}");
    assert_eq!(
        (wallet(&app, &ta, a).await["available"].as_str(), wallet(&app, &ta, a).await["pending_withdrawals"].as_str()),
        (Some("296.00"), Some("500.00"))
    );
    let (status, body) = app.post(&format!("/api/v1/agents/{a}/withdrawals"), &ta, json!({"amount": "296.01"})).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("insufficient_funds")));
    assert_eq!(app.post(&format!("/api/v1/agents/{a}/withdrawals"), &ta, json!({"amount": "-1.00"})).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.post(&format!("/api/v1/withdrawals/{}/approve", w["id"]), &ta, json!({})).await.0, StatusCode::FORBIDDEN);
    let (status, approved) = app.post(&format!("/api/v1/withdrawals/{}/approve", w["id"]), &b.hq, json!({})).await;
    assert_eq!((status, approved["status"].as_str()), (StatusCode::OK, Some("approved")));
    assert_eq!(app.post(&format!("/api/v1/withdrawals/{}/reject", w["id"]), &b.hq, json!({"reason": "late"})).await.0, StatusCode::CONFLICT);
    let w = wallet(&app, &ta, a).await;
    assert_eq!((w["balance"].as_str(), w["available"].as_str(), w["pending_withdrawals"].as_str()), (Some("296.00"), Some("296.00"), Some("0.00")));
    app.assert_verified().await;
}

#[tokio::test]
async fn plan_versions_are_validated_and_never_rewritten() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let [_, buyer] = chain(&app, &b, &[0, 4]).await[..] else { panic!() };
    let (status, body) = put_plan(&app, &b.hq, json!({"effective_from": now(), "peer_bonus": {"enabled": true, "rates": ["1.5"]}})).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("plan_invalid")));
    assert_eq!(body["errors"][0]["code"], "rate_out_of_range");
    let (status, report) = app
        .post(
            "/api/v1/plan/validate",
            &b.hq,
            json!({"effective_from": now(), "referral_bonus": {"enabled": true, "rate": "0.05"}, "limits": {"max_paid_levels": 2}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let codes = |v: &Value| v.as_array().unwrap().iter().map(|f| f["code"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
    assert_eq!(codes(&report["errors"]), vec!["paid_levels"], "{report}");
    assert_eq!(codes(&report["warnings"]), vec!["team_pay_depth", "recruitment_reward"]);
    // cn_direct_selling turns the warnings into errors: the switch is refused while the
    // plan in force (differentials) breaks that profile, and nothing changes
    let (status, body) = app.call(Method::PATCH, "/api/v1/settings", Some(&b.hq), Some(json!({"jurisdiction": "cn_direct_selling"}))).await;
    assert_eq!(
        (status, body["code"].as_str(), body["plan_version"].as_i64()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("plan_breaks_profile"), Some(1)),
        "{body}"
    );
    assert!(codes(&body["errors"]).contains(&"team_pay_depth".to_owned()), "{body}");
    assert_eq!(app.get("/api/v1/settings", &b.hq).await.1["jurisdiction"], "none");
    let (status, published) = put_plan(&app, &b.hq, json!({"effective_from": now(), "differential": {"enabled": true}})).await;
    assert_eq!((status, published["version"].as_i64()), (StatusCode::OK, Some(2)));
    assert_eq!(codes(&published["warnings"]), vec!["team_pay_depth"]);
    buy(&app, &b.hq, buyer, 1).await;
    // a version that would take effect before an existing order is refused
    let (status, body) = put_plan(&app, &b.hq, json!({"effective_from": "2020-01-01T00:00:00+08:00", "differential": {"enabled": true}})).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("plan_in_use")));
    assert_eq!(app.get("/api/v1/plan", &b.hq).await.1["version"], 2);
}

#[tokio::test]
async fn bad_orders_are_4xx_and_write_nothing() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let [_, buyer] = chain(&app, &b, &[0, 4]).await[..] else { panic!() };
    let cases = [
        (json!({"kind": "gift", "buyer_id": buyer, "lines": []}), StatusCode::BAD_REQUEST),
        (json!({"kind": "purchase", "buyer_id": buyer, "lines": [{"sku": "MASK-01", "qty": 0}]}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"kind": "purchase", "buyer_id": buyer, "lines": [{"sku": "NOPE", "qty": 1}]}), StatusCode::UNPROCESSABLE_ENTITY),
        (
            json!({"kind": "purchase", "buyer_id": buyer, "lines": [{"sku": "MASK-01", "qty": 1}, {"sku": "MASK-01", "qty": 2}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (json!({"kind": "purchase", "buyer_id": buyer, "lines": []}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"kind": "purchase", "buyer_id": 999999, "lines": [{"sku": "MASK-01", "qty": 1}]}), StatusCode::UNPROCESSABLE_ENTITY),
        (
            json!({"kind": "purchase", "buyer_id": buyer, "lines": [{"sku": "MASK-01", "qty": 1}], "placed_at": "2999-01-01T00:00:00Z"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (json!({"kind": "purchase", "buyer_id": buyer, "lines": [{"sku": "MASK-01", "qty": 1, "price": "1.00"}]}), StatusCode::BAD_REQUEST),
        (json!({"kind": "retail", "seller_id": buyer, "lines": [{"sku": "MASK-01", "qty": 1, "unit_price": "-5.00"}]}), StatusCode::UNPROCESSABLE_ENTITY),
    ];
    for (body, expected) in cases {
        let (status, problem) = app.post("/api/v1/orders", &b.hq, body.clone()).await;
        assert_eq!(status, expected, "{body} → {problem}");
        assert!(!problem["detail"].as_str().unwrap_or("").is_empty());
    }
    app.post(&format!("/api/v1/agents/{buyer}/status"), &b.hq, json!({"status": "suspended"})).await;
    let (status, problem) = buy(&app, &b.hq, buyer, 1).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::CONFLICT, Some("agent_inactive")));
    assert!(app.collect_ids("/api/v1/orders", &b.hq).await.is_empty(), "nothing was written");
    assert_eq!(app.get("/api/v1/orders/424242", &b.hq).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_journal_is_append_only_and_verify_catches_corruption() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let [_, buyer] = chain(&app, &b, &[0, 4]).await[..] else { panic!() };
    buy(&app, &b.hq, buyer, 2).await;
    app.assert_verified().await;
    let pool = app.pool.clone();
    let failures = tokio::task::spawn_blocking(move || {
        use diesel::RunQueryDsl;
        let mut conn = pool.get().unwrap();
        for sql in ["UPDATE postings SET amount = amount + 1", "DELETE FROM postings", "DELETE FROM journal_entries", "TRUNCATE postings CASCADE", "UPDATE stock_moves SET qty = 1"] {
            let err = diesel::sql_query(sql).execute(&mut conn).expect_err(sql);
            assert!(err.to_string().contains("append-only"), "{sql}: {err}");
        }
        // an unbalanced entry is refused at commit
        let err = diesel::sql_query(
            "INSERT INTO postings (brand_id, entry_id, account, amount, occurred_at, available_at, entry_kind)
             SELECT brand_id, entry_id, 'revenue', 1.00, now(), now(), entry_kind FROM postings LIMIT 1",
        )
        .execute(&mut conn)
        .expect_err("unbalanced");
        assert!(err.to_string().contains("does not balance"), "{err}");
        // corrupt this test's database behind the guards' backs, as a broken restore would
        diesel::sql_query("SET session_replication_role = replica").execute(&mut conn).unwrap();
        diesel::sql_query("INSERT INTO postings (brand_id, entry_id, account, amount, occurred_at, available_at, entry_kind) SELECT brand_id, entry_id, 'revenue', 1.00, now(), now(), entry_kind FROM postings LIMIT 1").execute(&mut conn).unwrap();
        diesel::sql_query("SET session_replication_role = origin").execute(&mut conn).unwrap();
        diesel::sql_query("UPDATE stock SET qty = qty + 5").execute(&mut conn).unwrap();
        agent_ledger::verify::run(&mut conn).unwrap()
    })
    .await
    .unwrap();
    let names: Vec<&str> = failures.iter().map(|(name, _)| *name).collect();
    assert!(names.iter().any(|n| n.contains("sums to 0.00")), "{failures:?}");
    assert!(names.iter().any(|n| n.starts_with("stock")), "{failures:?}");
}

#[tokio::test]
async fn plan_versions_are_listed_newest_first_for_hq_only() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let (status, _) = put_plan(&app, &b.hq, json!({"effective_from": now(), "peer_bonus": {"enabled": true, "rates": ["0.03"]}})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, versions) = app.get("/api/v1/plan/versions", &b.hq).await;
    assert_eq!(status, StatusCode::OK, "{versions}");
    let listed: Vec<(i64, String)> =
        versions.as_array().unwrap().iter().map(|v| (v["version"].as_i64().unwrap(), v["created_by"].as_str().unwrap().to_owned())).collect();
    assert_eq!(listed, vec![(2, "hq:1".to_owned()), (1, "system".to_owned())], "{versions}");
    assert_eq!(versions[0]["peer_bonus"]["rates"], json!(["0.03"]));
    chain(&app, &b, &[0, 4]).await;
    let ta = app.agent_token(&b, "13800000001").await;
    assert_eq!(app.get("/api/v1/plan/versions", &ta).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn off_sale_products_take_no_purchases_but_held_stock_still_sells_and_refunds_go_on() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let [_, buyer] = chain(&app, &b, &[0, 4]).await[..] else { panic!() };
    let (status, order) = buy(&app, &b.hq, buyer, 5).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    let (status, p) = app.post("/api/v1/products/MASK-01/sale", &b.hq, json!({"on_sale": false})).await;
    assert_eq!((status, p["on_sale"].as_bool()), (StatusCode::OK, Some(false)));
    let (status, body) = buy(&app, &b.hq, buyer, 1).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("off_sale")));
    let (status, body) = app.post("/api/v1/orders", &b.hq, json!({"kind": "retail", "seller_id": buyer, "lines": [{"sku": "MASK-01", "qty": 1}]})).await;
    assert_eq!(status, StatusCode::CREATED, "what the agent holds still sells: {body}");
    let (status, body) = app.post(&format!("/api/v1/orders/{}/refunds", order["id"]), &b.hq, json!({"lines": [{"sku": "MASK-01", "qty": 1}]})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let tb = app.agent_token(&b, "13800000001").await;
    assert_eq!(app.post("/api/v1/products/MASK-01/sale", &tb, json!({"on_sale": true})).await.0, StatusCode::FORBIDDEN);
    assert_eq!(app.post("/api/v1/products/NOPE/sale", &b.hq, json!({"on_sale": true})).await.0, StatusCode::NOT_FOUND);
    app.post("/api/v1/products/MASK-01/sale", &b.hq, json!({"on_sale": true})).await;
    assert_eq!(buy(&app, &b.hq, buyer, 1).await.0, StatusCode::CREATED);
    app.assert_verified().await;
}

#[tokio::test]
async fn a_backfilled_refund_is_dated_inside_an_open_month_and_the_list_filters_by_sku_newest_first() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let [_, buyer] = chain(&app, &b, &[0, 4]).await[..] else { panic!() };
    let (_, first) = buy(&app, &b.hq, buyer, 3).await;
    let (_, serum) = app.post("/api/v1/orders", &b.hq, json!({"kind": "purchase", "buyer_id": buyer, "lines": [{"sku": "SERUM-02", "qty": 1}]})).await;
    let (_, last) = buy(&app, &b.hq, buyer, 2).await;
    let id = first["id"].as_i64().unwrap();
    let refund = |at: String| json!({"lines": [{"sku": "MASK-01", "qty": 1}], "refunded_at": at});
    let future = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let before_order = (chrono::Utc::now() - chrono::Duration::days(400)).to_rfc3339();
    for at in [future, before_order] {
        let (status, body) = app.post(&format!("/api/v1/orders/{id}/refunds"), &b.hq, refund(at)).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("validation")), "{body}");
    }
    let at = chrono::Utc::now();
    let (status, body) = app.post(&format!("/api/v1/orders/{id}/refunds"), &b.hq, refund(at.to_rfc3339())).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, tb) = (0, app.agent_token(&b, "13800000001").await);
    let (_, mine) = app.get("/api/v1/orders?sku=MASK-01&order=desc", &tb).await;
    let ids: Vec<i64> = mine["items"].as_array().unwrap().iter().map(|o| o["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, vec![last["id"].as_i64().unwrap(), id], "MASK-01 orders only, newest first (not {})", serum["id"]);
    let (status, body) = app.get("/api/v1/orders?sku=%00", &b.hq).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_query")), "a NUL byte is bad input, not a 500");
    let (status, body) = app.get("/api/v1/orders?order=sideways", &b.hq).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_query")));
    app.assert_verified().await;
}

#[tokio::test]
async fn the_orders_list_reads_a_page_in_the_same_few_queries_whatever_its_size() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use diesel::connection::{Connection, InstrumentationEvent};

    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let a = app.agent(&b.hq, "A", "13800000001", b.tiers[0], None).await;
    let c = app.agent(&b.hq, "C", "13800000002", b.tiers[3], Some(a)).await;
    for i in 0..12 {
        let (status, order) = buy(&app, &b.hq, c, 2).await;
        assert_eq!(status, StatusCode::CREATED);
        if i % 4 == 0 {
            let (status, _) = app.post(&format!("/api/v1/orders/{}/refunds", order["id"]), &b.hq, json!({"lines": [{"sku": "MASK-01", "qty": 1}]})).await;
            assert_eq!(status, StatusCode::CREATED);
        }
    }
    let url = app.url.clone();
    let (counts, listed, single) = tokio::task::spawn_blocking(move || {
        let mut conn = diesel::PgConnection::establish(&url).unwrap();
        let queries = Arc::new(AtomicUsize::new(0));
        let counter = queries.clone();
        conn.set_instrumentation(move |e: InstrumentationEvent<'_>| {
            if matches!(e, InstrumentationEvent::StartQuery { .. }) {
                counter.fetch_add(1, Ordering::SeqCst);
            }
        });
        let hq = agent_ledger::auth::Principal::hq(1, 1, agent_ledger::auth::StaffRole::Owner);
        let mut counts = Vec::new();
        let mut listed = Vec::new();
        for limit in [2, 12] {
            queries.store(0, Ordering::SeqCst);
            listed = agent_ledger::orders::list(&mut conn, &hq, &agent_ledger::orders::ListQuery::default(), 0, limit).unwrap();
            counts.push(queries.load(Ordering::SeqCst));
        }
        let single: Vec<_> = listed.iter().map(|o| agent_ledger::orders::view(&mut conn, 1, o.id).unwrap()).collect();
        (counts, listed, single)
    })
    .await
    .unwrap();
    assert_eq!(counts[0], counts[1], "a page of 2 and a page of 12 take the same number of queries: {counts:?}");
    assert!(counts[1] <= 8, "{counts:?}");
    assert_eq!(listed.len(), 12);
    assert_eq!(serde_json::to_value(&listed).unwrap(), serde_json::to_value(&single).unwrap(), "the list shows each order as GET /orders/{{id}} does");
}
