//! Right as of any date (issue 10): the two money races, orders priced with the tree as of
//! placed_at, frozen closed months, and the verify checks that catch what slipped through.

use chrono::{Duration, Utc};
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};
use crate::settlement::month_start;

async fn put_plan(app: &TestApp, token: &str, plan: Value) -> (StatusCode, Value) {
    app.call(Method::PUT, "/api/v1/plan", Some(token), Some(plan)).await
}

/// One number from the test's database.
pub(crate) async fn count(app: &TestApp, sql: &str) -> i64 {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let (pool, sql) = (app.pool.clone(), sql.to_owned());
    tokio::task::spawn_blocking(move || diesel::sql_query(sql).get_result::<N>(&mut pool.get().unwrap()).unwrap().n).await.unwrap()
}

async fn execute(app: &TestApp, sql: &str) {
    let (pool, sql) = (app.pool.clone(), sql.to_owned());
    tokio::task::spawn_blocking(move || diesel::sql_query(sql).execute(&mut pool.get().unwrap()).unwrap()).await.unwrap();
}

async fn verify_failures(app: &TestApp) -> Vec<(&'static str, Vec<String>)> {
    let pool = app.pool.clone();
    tokio::task::spawn_blocking(move || agent_ledger::verify::run(&mut pool.get().unwrap()).unwrap()).await.unwrap()
}

/// `n` purchase orders sent at once; their statuses.
async fn concurrent_orders(app: &TestApp, token: &str, buyers: &[i64], n: usize) -> Vec<StatusCode> {
    let mut handles = Vec::new();
    for i in 0..n {
        let (url, token, buyer) = (format!("{}/api/v1/orders", app.address), token.to_owned(), buyers[i % buyers.len()]);
        handles.push(tokio::spawn(async move {
            let body = json!({"kind": "purchase", "buyer_id": buyer, "lines": [{"sku": "MASK-01", "qty": 1}]});
            reqwest::Client::new().post(url).bearer_auth(token).json(&body).send().await.unwrap().status()
        }));
    }
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test]
async fn a_first_purchase_referral_bonus_is_paid_once_under_32_concurrent_first_orders() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let plan = json!({"effective_from": "2020-01-01T00:00:00Z", "referral_bonus": {"enabled": true, "rate": "0.10", "months": 0}});
    let (status, body) = put_plan(&app, &b.hq, plan).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let sponsor = app.agent(&b.hq, "S", "13800000000", b.tiers[0], None).await;
    for round in 0..3 {
        let buyer = app.agent(&b.hq, &format!("B{round}"), &format!("1380000010{round}"), b.tiers[4], Some(sponsor)).await;
        let statuses = concurrent_orders(&app, &b.hq, &[buyer], 32).await;
        assert!(statuses.iter().all(|s| *s == StatusCode::CREATED), "{statuses:?}");
        let bonuses = count(&app, &format!("SELECT count(*) AS n FROM postings p JOIN orders o ON o.brand_id = p.brand_id AND o.id = p.order_id WHERE o.buyer_id = {buyer} AND p.split_kind = 'referral_bonus'")).await;
        assert_eq!(bonuses, 1, "round {round}: 32 concurrent first orders pay one referral bonus");
        assert_eq!(count(&app, &format!("SELECT count(*) AS n FROM orders WHERE buyer_id = {buyer} AND first_purchase")).await, 1);
    }
    // 0.10 × 139.30, three buyers
    let (_, w) = app.get(&format!("/api/v1/agents/{sponsor}/wallet"), &b.hq).await;
    let differentials = count(&app, &format!("SELECT count(*) AS n FROM postings WHERE agent_id = {sponsor} AND split_kind = 'differential'")).await;
    assert_eq!(differentials, 96, "every order still pays the sponsor its differential");
    let referral: rust_decimal::Decimal = w["balance"].as_str().unwrap().parse::<rust_decimal::Decimal>().unwrap() - rust_decimal::Decimal::new(7960 * 96, 2);
    assert_eq!(referral.to_string(), "41.79", "3 × 13.93");
    app.assert_verified().await;
}

#[tokio::test]
async fn every_order_uses_the_plan_in_force_at_its_placed_at_while_plans_are_published() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let top = app.agent(&b.hq, "top", "13800000000", b.tiers[0], None).await;
    let mut buyers = Vec::new();
    for i in 0..8 {
        buyers.push(app.agent(&b.hq, &format!("b{i}"), &format!("1381000{i:04}"), b.tiers[4], Some(top)).await);
    }
    let mut published = 0;
    for round in 0..8i64 {
        // a version dated a little in the past (refused once an order placed after it has
        // committed: the race) or after the round (always accepted), published while 32
        // orders run
        let offset = if round % 2 == 0 { Duration::milliseconds(-2) } else { Duration::seconds(3) };
        let plan = json!({"effective_from": (Utc::now() + offset).to_rfc3339(), "peer_bonus": {"enabled": true, "rates": [format!("0.0{}", round + 1)]}});
        let (orders, (status, body)) = tokio::join!(concurrent_orders(&app, &b.hq, &buyers, 32), async {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            put_plan(&app, &b.hq, plan).await
        });
        assert!(orders.iter().all(|s| *s == StatusCode::CREATED), "{orders:?}");
        match status {
            StatusCode::OK => published += 1,
            StatusCode::CONFLICT => assert_eq!(body["code"], "plan_in_use", "{body}"),
            other => panic!("publish answered {other}: {body}"),
        }
    }
    assert!(published >= 4, "versions dated after the orders are accepted");
    let wrong = count(
        &app,
        "SELECT count(*) AS n FROM orders o WHERE o.kind = 'purchase' AND o.plan_version IS DISTINCT FROM
           (SELECT version FROM plan_versions p WHERE p.brand_id = o.brand_id AND p.effective_from <= o.placed_at ORDER BY effective_from DESC, version DESC LIMIT 1)",
    )
    .await;
    assert_eq!(wrong, 0, "no order was split with a version that was not in force at its placed_at");
    assert_eq!(count(&app, "SELECT count(*) AS n FROM orders").await, 8 * 32);
    app.assert_verified().await;
}

#[tokio::test]
async fn backfills_are_priced_and_split_with_the_tree_and_tier_as_of_placed_at() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let (_, start) = month_start(2);
    let a = app.agent_joined(&b.hq, "A", "13800000001", b.tiers[0], None, start).await;
    let bb = app.agent_joined(&b.hq, "B", "13800000002", b.tiers[1], Some(a), start).await;
    let c = app.agent_joined(&b.hq, "C", "13800000003", b.tiers[3], Some(a), start + Duration::days(1)).await;
    // today C becomes 省代 and moves under B
    assert_eq!(app.post(&format!("/api/v1/agents/{c}/tier"), &b.hq, json!({"tier_id": b.tiers[2]})).await.0, StatusCode::OK);
    assert_eq!(app.post(&format!("/api/v1/agents/{c}/move"), &b.hq, json!({"parent_id": bb})).await.0, StatusCode::OK);

    let order_at = |at: Option<chrono::DateTime<Utc>>| {
        let mut body = json!({"kind": "purchase", "buyer_id": c, "lines": [{"sku": "MASK-01", "qty": 1}]});
        if let Some(at) = at {
            body["placed_at"] = json!(at.to_rfc3339());
        }
        let (app, hq) = (&app, b.hq.clone());
        async move { app.post("/api/v1/orders", &hq, body).await }
    };
    let cuts = |o: &Value| {
        o["splits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["kind"].as_str().unwrap().to_owned(), s["agent_id"].as_i64(), s["amount"].as_str().unwrap().to_owned()))
            .collect::<Vec<_>>()
    };
    // a backfill dated before the changes: 市代's price, and A (its parent then) earns
    let (status, old) = order_at(Some(start + Duration::days(5))).await;
    assert_eq!(status, StatusCode::CREATED, "{old}");
    assert_eq!(old["amount"], "119.40");
    assert_eq!(cuts(&old), vec![("proceeds".into(), None, "59.70".into()), ("differential".into(), Some(a), "59.70".into())]);
    // today: 省代's price, through B
    let (_, new) = order_at(None).await;
    assert_eq!(new["amount"], "99.50");
    assert_eq!(
        cuts(&new),
        vec![("proceeds".into(), None, "59.70".into()), ("differential".into(), Some(bb), "19.90".into()), ("differential".into(), Some(a), "19.90".into())]
    );
    // the history answers for any instant: C then, and C now
    let at = |t: chrono::DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (status, then) = app.get(&format!("/api/v1/agents/{c}?as_of={}", at(start + Duration::days(5))), &b.hq).await;
    assert_eq!(status, StatusCode::OK, "{then}");
    assert_eq!(
        (then["parent_id"].as_i64(), then["tier_id"].as_i64(), then["depth"].as_i64(), then["sponsor_id"].as_i64()),
        (Some(a), Some(b.tiers[3]), Some(2), Some(a))
    );
    let (_, now) = app.get(&format!("/api/v1/agents/{c}"), &b.hq).await;
    assert_eq!((now["parent_id"].as_i64(), now["tier_id"].as_i64(), now["depth"].as_i64()), (Some(bb), Some(b.tiers[2]), Some(3)));
    assert_eq!(app.get(&format!("/api/v1/agents/{c}?as_of={}", at(start)), &b.hq).await.0, StatusCode::NOT_FOUND, "not joined yet");
    // before C joined: refused, nothing written
    let (status, body) = order_at(Some(start + Duration::hours(12))).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("before_joining")), "{body}");
    assert_eq!(count(&app, &format!("SELECT count(*) AS n FROM orders WHERE buyer_id = {c}")).await, 2);
    // joined_at: HQ only, not before the parent, not in the future
    let ta = app.agent_token(&b, "13800000001").await;
    let body = |phone: &str, at: chrono::DateTime<Utc>| json!({"name": "D", "phone": phone, "tier_id": b.tiers[4], "parent_id": a, "password": crate::helpers::PASSWORD, "joined_at": at.to_rfc3339()});
    assert_eq!(app.post("/api/v1/agents", &ta, body("13800000004", start + Duration::days(3))).await.0, StatusCode::FORBIDDEN);
    let (status, refused) = app.post("/api/v1/agents", &b.hq, body("13800000004", start - Duration::days(1))).await;
    assert_eq!((status, refused["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("before_parent_joined")), "{refused}");
    assert_eq!(app.post("/api/v1/agents", &b.hq, body("13800000004", Utc::now() + Duration::hours(1))).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    app.assert_verified().await;
}

#[tokio::test]
async fn a_closed_month_never_changes_whatever_the_tree_does_afterwards() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let (last, start) = month_start(1);
    let joined = month_start(3).1;
    let a = app.agent_joined(&b.hq, "A", "13800000001", b.tiers[0], None, joined).await;
    let bb = app.agent_joined(&b.hq, "B", "13800000002", b.tiers[3], Some(a), joined).await;
    let c = app.agent_joined(&b.hq, "C", "13800000003", b.tiers[0], None, joined).await;
    let (status, order) = app
        .post(
            "/api/v1/orders",
            &b.hq,
            json!({"kind": "purchase", "buyer_id": bb, "lines": [{"sku": "MASK-01", "qty": 10}], "placed_at": (start + Duration::days(2)).to_rfc3339()}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    let sale = json!({"kind": "retail", "seller_id": bb, "lines": [{"sku": "MASK-01", "qty": 2}], "placed_at": (start + Duration::days(3)).to_rfc3339()});
    assert_eq!(app.post("/api/v1/orders", &b.hq, sale).await.0, StatusCode::CREATED);
    assert_eq!(app.post(&format!("/api/v1/periods/{last}/close"), &b.hq, json!({})).await.0, StatusCode::CREATED);

    let reports = || {
        let (app, hq, last) = (&app, b.hq.clone(), last.clone());
        async move {
            let mut out = Vec::new();
            for path in [
                format!("/api/v1/reports/compliance?month={last}"),
                format!("/api/v1/reports/sales-split?month={last}"),
                format!("/api/v1/reports/sales-split?month={last}&agent_id={a}&scope=team"),
                format!("/api/v1/reports/sales-split?month={last}&agent_id={bb}&scope=self"),
                format!("/api/v1/reports/sales-split?month={last}&agent_id={c}&scope=team"),
                format!("/api/v1/agents/{a}/downline/summary?month={last}"),
                format!("/api/v1/agents/{c}/downline/summary?month={last}"),
            ] {
                let (status, body) = app.get(&path, &hq).await;
                assert_eq!(status, StatusCode::OK, "{path}: {body}");
                out.push(body);
            }
            out
        }
    };
    let before = reports().await;
    assert_eq!(before[2]["purchases"]["amount"], "1194.00", "A's team bought B's 10 units");
    assert_eq!(before[4]["purchases"]["amount"], "0.00", "C's team had nobody who bought");
    assert_eq!(before[0]["network"]["agents"], 3);
    assert_eq!((before[5]["total"].as_i64(), before[5]["team_purchases"]["amount"].as_str()), (Some(1), Some("1194.00")), "{}", before[5]);
    assert_eq!(before[6]["total"], 0);
    // afterwards: an agent joins, B moves to C's team, and 1 unit is refunded (a clawback)
    app.agent(&b.hq, "D", "13800000004", b.tiers[4], Some(a)).await;
    assert_eq!(app.post(&format!("/api/v1/agents/{bb}/move"), &b.hq, json!({"parent_id": c})).await.0, StatusCode::OK);
    let (status, refund) = app.post(&format!("/api/v1/orders/{}/refunds", order["id"]), &b.hq, json!({"lines": [{"sku": "MASK-01", "qty": 1}]})).await;
    assert_eq!(status, StatusCode::CREATED, "{refund}");
    assert_eq!(reports().await, before, "the closed month reads as it was closed");
    // the open month sees today's tree
    let (_, now_team) = app.get(&format!("/api/v1/reports/sales-split?month={}&agent_id={c}&scope=team", month_start(0).0), &b.hq).await;
    assert_eq!(now_team["purchases"]["amount"], "0.00");
    app.assert_verified().await;
}

#[tokio::test]
async fn verify_catches_a_wrong_plan_version_and_a_duplicate_referral_bonus() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    // referral bonus on every purchase within 3 months of joining: two orders, two bonuses
    let (status, body) =
        put_plan(&app, &b.hq, json!({"effective_from": "2020-01-01T00:00:00Z", "referral_bonus": {"enabled": true, "rate": "0.05", "months": 3}})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let a = app.agent(&b.hq, "A", "13800000001", b.tiers[0], None).await;
    let buyer = app.agent(&b.hq, "B", "13800000002", b.tiers[4], Some(a)).await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let (status, o) = app.post("/api/v1/orders", &b.hq, json!({"kind": "purchase", "buyer_id": buyer, "lines": [{"sku": "MASK-01", "qty": 1}]})).await;
        assert_eq!(status, StatusCode::CREATED, "{o}");
        ids.push(o["id"].as_i64().unwrap());
    }
    app.assert_verified().await;
    let names = |f: &[(&'static str, Vec<String>)]| f.iter().map(|(n, _)| *n).collect::<Vec<_>>();
    // planted: the version turns into a first-purchase rule, so two bonuses are one too many
    execute(&app, "UPDATE plan_versions SET body = jsonb_set(body, '{referral_bonus,months}', '0') WHERE version = 2").await;
    let failures = verify_failures(&app).await;
    assert_eq!(names(&failures), vec!["orders: a first-purchase referral bonus is paid at most once per buyer"], "{failures:?}");
    assert!(failures[0].1[0].contains(&format!("buyer {buyer}: 2 orders")), "{failures:?}");
    execute(&app, "UPDATE plan_versions SET body = jsonb_set(body, '{referral_bonus,months}', '3') WHERE version = 2").await;
    // planted: an order split with a version that was not in force
    execute(&app, &format!("UPDATE orders SET plan_version = 1 WHERE id = {}", ids[0])).await;
    let failures = verify_failures(&app).await;
    assert_eq!(names(&failures), vec!["orders: every purchase was split with the plan version in force at its placed_at"], "{failures:?}");
    assert!(failures[0].1[0].contains(&format!("order {}", ids[0])), "{failures:?}");
    execute(&app, &format!("UPDATE orders SET plan_version = 2 WHERE id = {}", ids[0])).await;
    assert!(verify_failures(&app).await.is_empty());
    // planted: a dashboard figure off by a cent
    execute(&app, "UPDATE month_figures SET purchases = purchases + 0.01 WHERE shard = (SELECT min(shard) FROM month_figures WHERE purchases <> 0)").await;
    let failures = verify_failures(&app).await;
    assert_eq!(names(&failures), vec!["dashboard: each month's kept figures equal the books"], "{failures:?}");
}

#[tokio::test]
async fn what_if_replays_a_hand_checked_closed_month() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let (last, start) = month_start(1);
    let joined = month_start(3).1;
    let a = app.agent_joined(&b.hq, "A", "13800000001", b.tiers[0], None, joined).await;
    let bb = app.agent_joined(&b.hq, "B", "13800000002", b.tiers[1], Some(a), joined).await;
    let c = app.agent_joined(&b.hq, "C", "13800000003", b.tiers[4], Some(bb), joined).await;
    let d = app.agent_joined(&b.hq, "D", "13800000004", b.tiers[4], Some(c), joined).await;
    let buy = |buyer: i64, qty: i64| {
        let body =
            json!({"kind": "purchase", "buyer_id": buyer, "lines": [{"sku": "MASK-01", "qty": qty}], "placed_at": (start + Duration::days(4)).to_rfc3339()});
        let (app, hq) = (&app, b.hq.clone());
        async move { app.post("/api/v1/orders", &hq, body).await.1 }
    };
    let order_c = buy(c, 10).await; // 1393.00: B 597.00, A 199.00
    buy(d, 5).await; // 696.50: B 298.50, A 99.50
    let (status, _) = app.post(&format!("/api/v1/orders/{}/refunds", order_c["id"]), &b.hq, json!({"lines": [{"sku": "MASK-01", "qty": 1}]})).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(app.post(&format!("/api/v1/periods/{last}/close"), &b.hq, json!({})).await.0, StatusCode::CREATED);
    // the tree changes after the close: the replay still uses the tree as it was
    app.post(&format!("/api/v1/agents/{c}/tier"), &b.hq, json!({"tier_id": b.tiers[3]})).await;
    app.post(&format!("/api/v1/agents/{d}/move"), &b.hq, json!({"parent_id": a})).await;

    let what_if = |plan: Value| {
        let (app, hq, last) = (&app, b.hq.clone(), last.clone());
        async move {
            let (status, body) = app.post("/api/v1/plan/what-if", &hq, json!({"plan": plan, "months": [last]})).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            body["months"][0].clone()
        }
    };
    // the plan in force (differentials only): nothing changes, to the cent
    let same = what_if(json!({"effective_from": "2020-01-01T00:00:00Z"})).await;
    assert_eq!(same["current"]["differential"], "1114.40", "B 537.30 + 298.50, A 179.10 + 99.50");
    assert_eq!(same["purchases"], "1950.20");
    assert_eq!(same["current"], same["proposed"]);
    assert_eq!(same["delta"]["total"], "0.00");
    assert_eq!(same["top_changes"], json!([]));

    // peer 3%, referral 10% on first purchases, team rebate 2% from 1,000
    let plan = json!({"effective_from": "2020-01-01T00:00:00Z", "peer_bonus": {"enabled": true, "rates": ["0.03"]},
        "referral_bonus": {"enabled": true, "rate": "0.10", "months": 0},
        "team_rebate": {"enabled": true, "brackets": [{"min_volume": "1000.00", "rate": "0.02"}]}});
    let m = what_if(plan).await;
    // peer: C is D's first peer, 3% × 696.50 = 20.90; referral: B on C's order 139.30 less
    // the refunded tenth 13.93 = 125.37, C on D's 69.65; rebate: teams of A, B, C 1950.20
    // → 39.00 each, paid to C (A and B pass it down): 39.00
    assert_eq!(
        (
            m["proposed"]["differential"].as_str(),
            m["proposed"]["peer_bonus"].as_str(),
            m["proposed"]["referral_bonus"].as_str(),
            m["proposed"]["team_rebate"].as_str()
        ),
        (Some("1114.40"), Some("20.90"), Some("195.02"), Some("39.00"))
    );
    assert_eq!((m["proposed"]["total"].as_str(), m["delta"]["total"].as_str()), (Some("1369.32"), Some("254.92")));
    assert_eq!((m["current"]["payout_ratio"].as_str(), m["proposed"]["payout_ratio"].as_str()), (Some("0.5714"), Some("0.7021")));
    let tier = |p: &Value, i: usize| p["by_tier"][i]["amount"].as_str().unwrap().to_owned();
    assert_eq!(
        (tier(&m["proposed"], 0), tier(&m["proposed"], 1), tier(&m["proposed"], 4)),
        ("278.60".into(), "961.17".into(), "129.55".into()),
        "C counted as 特约, its tier at close"
    );
    let top: Vec<(i64, String)> =
        m["top_changes"].as_array().unwrap().iter().map(|x| (x["agent_id"].as_i64().unwrap(), x["delta"].as_str().unwrap().to_owned())).collect();
    assert_eq!(top, vec![(c, "129.55".to_owned()), (bb, "125.37".to_owned())]);

    // closed months only; HQ only; it wrote nothing
    let (status, body) =
        app.post("/api/v1/plan/what-if", &b.hq, json!({"plan": {"effective_from": "2020-01-01T00:00:00Z"}, "months": [month_start(0).0]})).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("period_open")));
    let ta = app.agent_token(&b, "13800000001").await;
    assert_eq!(
        app.post("/api/v1/plan/what-if", &ta, json!({"plan": {"effective_from": "2020-01-01T00:00:00Z"}, "months": [last]})).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(count(&app, "SELECT count(*) AS n FROM plan_versions").await, 1);
    app.assert_verified().await;
}

#[tokio::test]
async fn the_dashboard_shows_each_month_and_keeps_closed_ones() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    app.call(Method::PATCH, "/api/v1/settings", Some(&b.hq), Some(json!({"hold_days": 0}))).await;
    let (last, start) = month_start(1);
    let a = app.agent_joined(&b.hq, "A", "13800000001", b.tiers[0], None, start + Duration::days(1)).await;
    let bb = app.agent_joined(&b.hq, "B", "13800000002", b.tiers[4], Some(a), start + Duration::days(2)).await;
    let (_, order) = app
        .post(
            "/api/v1/orders",
            &b.hq,
            json!({"kind": "purchase", "buyer_id": bb, "lines": [{"sku": "MASK-01", "qty": 10}], "placed_at": (start + Duration::days(3)).to_rfc3339()}),
        )
        .await;
    let sale = json!({"kind": "retail", "seller_id": bb, "lines": [{"sku": "MASK-01", "qty": 2}], "placed_at": (start + Duration::days(4)).to_rfc3339()});
    assert_eq!(app.post("/api/v1/orders", &b.hq, sale).await.0, StatusCode::CREATED);
    assert_eq!(app.post(&format!("/api/v1/periods/{last}/close"), &b.hq, json!({})).await.0, StatusCode::CREATED);
    // this month: C joins and buys 1; A asks to withdraw 100.00; 1 unit of B's order is refunded
    let c = app.agent(&b.hq, "C", "13800000003", b.tiers[4], Some(a)).await;
    app.post("/api/v1/orders", &b.hq, json!({"kind": "purchase", "buyer_id": c, "lines": [{"sku": "MASK-01", "qty": 1}]})).await;
    let ta = app.agent_token(&b, "13800000001").await;
    app.set_payee(&ta, a).await;
    let (status, w) = app.post(&format!("/api/v1/agents/{a}/withdrawals"), &ta, json!({"amount": "100.00"})).await;
    assert_eq!(status, StatusCode::CREATED, "{w}");
    assert_eq!(
        app.post(&format!("/api/v1/orders/{}/refunds", order["id"]), &b.hq, json!({"lines": [{"sku": "MASK-01", "qty": 1}]})).await.0,
        StatusCode::CREATED
    );

    let (status, d) = app.get("/api/v1/reports/dashboard?months=3", &b.hq).await;
    assert_eq!(status, StatusCode::OK, "{d}");
    let months = d["months"].as_array().unwrap();
    assert_eq!(months.len(), 3);
    let (prev, now) = (&months[1], &months[2]);
    // last month as closed: 10 × 139.30 bought, 2 × 199.00 sold; A's differential 10 × 79.60
    assert_eq!(
        (prev["month"].as_str(), prev["status"].as_str(), prev["purchases"].as_str(), prev["retail"].as_str(), prev["retail_share"].as_str()),
        (Some(last.as_str()), Some("closed"), Some("1393.00"), Some("398.00"), Some("0.2222"))
    );
    assert_eq!(
        (prev["new_agents"].as_i64(), prev["active_agents"].as_i64(), prev["payouts"].as_str(), prev["payout_ratio"].as_str()),
        (Some(2), Some(1), Some("796.00"), Some("0.5714"))
    );
    // this month: C's order, its 79.60 to A, and the clawback of 79.60 for the refund
    assert_eq!(
        (now["status"].as_str(), now["purchases"].as_str(), now["new_agents"].as_i64(), now["active_agents"].as_i64()),
        (Some("open"), Some("139.30"), Some(1), Some(1))
    );
    assert_eq!(now["payouts"], "0.00", "79.60 earned, 79.60 clawed back");
    assert_eq!(months[0]["purchases"], "0.00");
    assert_eq!(d["pending_withdrawals"], json!({"count": 1, "amount": "100.00"}));
    assert_eq!(app.get("/api/v1/reports/dashboard", &ta).await.0, StatusCode::FORBIDDEN);
    assert_eq!(app.get("/api/v1/reports/dashboard?months=0", &b.hq).await.0, StatusCode::BAD_REQUEST);
}
