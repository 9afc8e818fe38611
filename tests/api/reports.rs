use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use agent_ledger::reports::team::{self, SnapshotPolicy};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use crate::helpers::{spawn_app, spawn_app_with, Brand, TestApp};

fn this_month() -> String {
    chrono::Utc::now().with_timezone(&chrono_tz::Asia::Shanghai).format("%Y-%m").to_string()
}

/// HQ → A(联创) → B(省代) → C(特约), with one month of hand-checked activity:
/// B buys 10 from HQ (995.00); C buys 4 from B (557.20), 1 refunded (net 3, 417.90);
/// B sells 3 at retail for 150.00 (450.00); C sells 1 at 199.00.
async fn small_brand(app: &TestApp) -> (Brand, i64, i64, i64) {
    let b = app.brand("acme").await;
    let a = app.agent(&b.hq, "A", "13800000001", b.tiers[0], None).await;
    let bb = app.agent(&b.hq, "B", "13800000002", b.tiers[2], Some(a)).await;
    let c = app.agent(&b.hq, "C", "13800000003", b.tiers[4], Some(bb)).await;
    let ok = |r: (StatusCode, Value)| {
        assert!(r.0.is_success(), "{}", r.1);
        r.1
    };
    ok(app.post("/api/v1/orders", &b.hq, json!({"kind": "purchase", "buyer_id": bb, "lines": [{"sku": "MASK-01", "qty": 10}]})).await);
    let order =
        ok(app.post("/api/v1/orders", &b.hq, json!({"kind": "purchase", "buyer_id": c, "supply": "upline", "lines": [{"sku": "MASK-01", "qty": 4}]})).await);
    assert_eq!((order["seller_id"].as_i64(), order["amount"].as_str()), (Some(bb), Some("557.20")));
    ok(app.post(&format!("/api/v1/orders/{}/refunds", order["id"]), &b.hq, json!({"lines": [{"sku": "MASK-01", "qty": 1}]})).await);
    ok(app.post("/api/v1/orders", &b.hq, json!({"kind": "retail", "seller_id": bb, "lines": [{"sku": "MASK-01", "qty": 3, "unit_price": "150.00"}]})).await);
    ok(app.post("/api/v1/orders", &b.hq, json!({"kind": "retail", "seller_id": c, "lines": [{"sku": "MASK-01", "qty": 1}]})).await);
    (b, a, bb, c)
}

fn volume(v: &Value) -> (i64, String) {
    (v["units"].as_i64().unwrap(), v["amount"].as_str().unwrap().to_owned())
}

fn vol(units: i64, amount: &str) -> (i64, String) {
    (units, amount.to_owned())
}

#[tokio::test]
async fn sales_split_for_brand_agent_and_team() {
    let app = spawn_app().await;
    let (b, a, bb, c) = small_brand(&app).await;
    let m = this_month();
    let split = |query: String, token: String| {
        let app = &app;
        async move {
            let (status, body) = app.get(&format!("/api/v1/reports/sales-split?month={}{query}", this_month()), &token).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            body
        }
    };
    let brand = split(String::new(), b.hq.clone()).await;
    assert_eq!(
        (volume(&brand["purchases"]), volume(&brand["internal_sales"]), volume(&brand["retail_sales"])),
        (vol(13, "1412.90"), vol(13, "1412.90"), vol(4, "649.00"))
    );
    assert_eq!(brand["retail_share"], "0.3148", "649.00 / 2061.90");
    let own = split(format!("&agent_id={bb}&scope=self"), b.hq.clone()).await;
    assert_eq!(
        (volume(&own["purchases"]), volume(&own["internal_sales"]), volume(&own["retail_sales"])),
        (vol(10, "995.00"), vol(3, "417.90"), vol(4 - 1, "450.00"))
    );
    // one retail share everywhere: retail ÷ (retail + purchases), not ÷ (retail + internal sales)
    assert_eq!(own["retail_share"], "0.3114", "450.00 / (450.00 + 995.00)");
    let team = split(format!("&agent_id={a}&scope=team"), b.hq.clone()).await;
    assert_eq!(
        (volume(&team["purchases"]), volume(&team["internal_sales"]), volume(&team["retail_sales"])),
        (vol(13, "1412.90"), vol(3, "417.90"), vol(4, "649.00"))
    );
    assert_eq!(team["retail_share"], "0.3148", "649.00 / (649.00 + 1412.90)");
    let a_alone = split(format!("&agent_id={a}"), b.hq.clone()).await;
    assert_eq!((a_alone["retail_share"].clone(), volume(&a_alone["purchases"])), (Value::Null, vol(0, "0.00")), "nothing sold: share is null");

    // agents: themselves and their subtree only
    let tb = app.agent_token(&b, "13800000002").await;
    assert_eq!(split(String::new(), tb.clone()).await["agent_id"], bb, "an agent defaults to itself");
    assert_eq!(split(format!("&agent_id={c}&scope=team"), tb.clone()).await["retail_sales"]["units"], 1);
    let (status, _) = app.get(&format!("/api/v1/reports/sales-split?month={m}&agent_id={a}"), &tb).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = app.get(&format!("/api/v1/reports/sales-split?month=2026-13&agent_id={bb}"), &tb).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_month")));
}

#[tokio::test]
async fn downline_summary_counts_tiers_depths_and_purchases() {
    let app = spawn_app().await;
    let (b, a, bb, c) = small_brand(&app).await;
    let m = this_month();
    let (status, s) = app.get(&format!("/api/v1/agents/{a}/downline/summary?month={m}"), &b.hq).await;
    assert_eq!(status, StatusCode::OK, "{s}");
    assert_eq!(s["total"], 2);
    assert_eq!(s["by_tier"], json!({b.tiers[2].to_string(): 1, b.tiers[4].to_string(): 1}));
    assert_eq!(s["by_depth"], json!({"1": 1, "2": 1}));
    assert_eq!((volume(&s["own_purchases"]), volume(&s["team_purchases"])), (vol(0, "0.00"), vol(13, "1412.90")));
    let (_, s) = app.get(&format!("/api/v1/agents/{bb}/downline/summary?month={m}"), &b.hq).await;
    assert_eq!((volume(&s["own_purchases"]), volume(&s["team_purchases"])), (vol(10, "995.00"), vol(13, "1412.90")));
    let tc = app.agent_token(&b, "13800000003").await;
    assert_eq!(app.get(&format!("/api/v1/agents/{a}/downline/summary?month={m}"), &tc).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&format!("/api/v1/agents/{c}/downline/summary?month={m}"), &tc).await.1["total"], 0);
}

#[derive(QueryableByName, Debug, PartialEq)]
struct StoredSnapshot {
    #[diesel(sql_type = BigInt)]
    team_units: i64,
    #[diesel(sql_type = BigInt)]
    tree_version: i64,
}

fn stored_snapshot(app: &TestApp, agent_id: i64, month: &str) -> Option<StoredSnapshot> {
    diesel::sql_query("SELECT team_units, tree_version FROM team_snapshots WHERE agent_id = $1 AND month = $2")
        .bind::<BigInt, _>(agent_id)
        .bind::<Text, _>(month)
        .get_result(&mut app.pool.get().unwrap())
        .optional()
        .unwrap()
}

/// Every team is "big" here, so every summary after the first is a stored snapshot plus
/// what was committed since; each step asserts the hand-computed figures.
#[tokio::test]
async fn downline_summary_from_a_snapshot_stays_exact() {
    let app = spawn_app_with(|s| s.summaries = SnapshotPolicy::with_min_team(1)).await;
    let (b, a, bb, c) = small_brand(&app).await;
    let m = this_month();
    let summary = || async { app.get(&format!("/api/v1/agents/{a}/downline/summary?month={}", this_month()), &b.hq).await.1 };
    let first = summary().await;
    assert_eq!((first["total"].as_i64(), volume(&first["team_purchases"])), (Some(2), vol(13, "1412.90")));
    assert_eq!(stored_snapshot(&app, a, &m), Some(StoredSnapshot { team_units: 13, tree_version: 0 }), "taken by the first read");

    // committed after the snapshot: an order, a new agent, a partial refund
    let (status, order) =
        app.post("/api/v1/orders", &b.hq, json!({"kind": "purchase", "buyer_id": c, "supply": "upline", "lines": [{"sku": "MASK-01", "qty": 2}]})).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    let d = app.agent(&b.hq, "D", "13800000004", b.tiers[4], Some(c)).await;
    let s = summary().await;
    assert_eq!(volume(&s["team_purchases"]), vol(15, "1691.50"), "13 + 2 × 139.30");
    assert_eq!((s["total"].as_i64(), s["by_depth"].clone()), (Some(3), json!({"1": 1, "2": 1, "3": 1})));
    assert_eq!(s["by_tier"], json!({b.tiers[2].to_string(): 1, b.tiers[4].to_string(): 2}));
    assert_eq!(stored_snapshot(&app, a, &m).unwrap().team_units, 13, "served from the snapshot plus the rows since");
    let (status, _) = app.post(&format!("/api/v1/orders/{}/refunds", order["id"]), &b.hq, json!({"lines": [{"sku": "MASK-01", "qty": 1}]})).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(volume(&summary().await["team_purchases"]), vol(14, "1552.20"));
    let bb_view = app.get(&format!("/api/v1/agents/{bb}/downline/summary?month={m}"), &b.hq).await.1;
    assert_eq!(
        (bb_view["total"].as_i64(), volume(&bb_view["own_purchases"]), volume(&bb_view["team_purchases"])),
        (Some(2), vol(10, "995.00"), vol(14, "1552.20"))
    );

    // a tier change and a move retire the snapshot (tree version); the answer stays exact
    assert_eq!(app.post(&format!("/api/v1/agents/{c}/tier"), &b.hq, json!({"tier_id": b.tiers[3]})).await.0, StatusCode::OK);
    let s = summary().await;
    assert_eq!(s["by_tier"], json!({b.tiers[2].to_string(): 1, b.tiers[3].to_string(): 1, b.tiers[4].to_string(): 1}));
    assert_eq!(stored_snapshot(&app, a, &m), Some(StoredSnapshot { team_units: 14, tree_version: 1 }), "retaken under the new version");
    assert_eq!(app.post(&format!("/api/v1/agents/{d}/move"), &b.hq, json!({"parent_id": a})).await.0, StatusCode::OK);
    let s = summary().await;
    assert_eq!((s["by_depth"].clone(), volume(&s["team_purchases"])), (json!({"1": 2, "2": 1}), vol(14, "1552.20")));

    // an agent inserted by a transaction still open while the snapshot is retaken: not in
    // the snapshot, so it is counted as "since" once it commits
    #[derive(QueryableByName)]
    struct Found {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let count = |sql: &str| diesel::sql_query(sql).bind::<BigInt, _>(a).get_result::<Found>(&mut app.pool.get().unwrap()).unwrap().n;
    let brand_id = count("SELECT brand_id AS n FROM agents WHERE id = $1");
    let pool = app.pool.clone();
    let (opened_tx, opened_rx) = std::sync::mpsc::channel();
    let (commit_tx, commit_rx) = std::sync::mpsc::channel::<()>();
    let writer = std::thread::spawn(move || {
        let mut conn = pool.get().unwrap();
        conn.transaction::<_, diesel::result::Error, _>(|c| {
            diesel::sql_query(
                "INSERT INTO agents (brand_id, id, name, phone, tier_id, parent_id, path, password_hash)
                 SELECT p.brand_id, n.id, 'E', '13800000005', p.tier_id, p.id, p.path || n.id, p.password_hash
                   FROM agents p, (SELECT nextval(pg_get_serial_sequence('agents', 'id')) AS id) n WHERE p.id = $1",
            )
            .bind::<BigInt, _>(bb)
            .execute(c)?;
            opened_tx.send(()).unwrap();
            commit_rx.recv().unwrap();
            Ok(())
        })
        .unwrap();
    });
    opened_rx.recv().unwrap();
    // a later transaction commits first, so E's is listed as in flight (not just "after")
    app.agent(&b.hq, "F", "13800000006", b.tiers[4], Some(a)).await;
    team::refresh(&mut app.pool.get().unwrap(), brand_id, a, &m).unwrap();
    assert_eq!(summary().await["total"], 4, "F is in, the open insert is invisible");
    commit_tx.send(()).unwrap();
    writer.join().unwrap();
    let s = summary().await;
    assert_eq!((s["total"].as_i64(), s["by_depth"].clone()), (Some(5), json!({"1": 3, "2": 2})), "E under B: counted once committed");
    let in_flight = count(
        "SELECT count(*) AS n FROM team_snapshots s, agents e
          WHERE s.agent_id = $1 AND e.name = 'E' AND e.created_xid IN (SELECT pg_snapshot_xip(s.snap))",
    );
    assert_eq!(in_flight, 1, "the snapshot in use saw E's transaction in flight");
    app.assert_verified().await;
    // verify recounts every current snapshot from the books: a wrong one is reported
    diesel::sql_query("UPDATE team_snapshots SET team_amount = team_amount + 0.01 WHERE agent_id = $1")
        .bind::<BigInt, _>(a)
        .execute(&mut app.pool.get().unwrap())
        .unwrap();
    let failures = agent_ledger::verify::run(&mut app.pool.get().unwrap()).unwrap();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(failures[0].0.starts_with("reports: each current team snapshot") && failures[0].1[0].contains(&format!("agent {a} ")), "{failures:?}");
}

#[tokio::test]
async fn retail_below_the_price_floor_is_refused_or_flagged() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let seller = app.agent(&b.hq, "S", "13800000001", b.tiers[0], None).await;
    app.post("/api/v1/orders", &b.hq, json!({"kind": "purchase", "buyer_id": seller, "lines": [{"sku": "MASK-01", "qty": 5}]})).await;
    let (_, product) = app.get("/api/v1/products/MASK-01", &b.hq).await;
    let mut update = json!({"name": "Mask", "retail_price": "199.00", "prices": product["prices"], "retail_floor": "150.00"});
    let (status, p) = app.call(Method::PUT, "/api/v1/products/MASK-01", Some(&b.hq), Some(update.clone())).await;
    assert_eq!((status, p["retail_floor"].as_str()), (StatusCode::OK, Some("150.00")));
    update["retail_floor"] = json!("250.00");
    let (status, body) = app.call(Method::PUT, "/api/v1/products/MASK-01", Some(&b.hq), Some(update)).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("price_order")), "a floor above retail");

    let sale = |price: &str| json!({"kind": "retail", "seller_id": seller, "lines": [{"sku": "MASK-01", "qty": 1, "unit_price": price}]});
    let (status, body) = app.post("/api/v1/orders", &b.hq, sale("149.99")).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("below_price_floor")), "{body}");
    let (status, order) = app.post("/api/v1/orders", &b.hq, sale("150.00")).await;
    assert_eq!((status, order["lines"][0]["below_floor"].as_bool()), (StatusCode::CREATED, Some(false)));
    app.call(Method::PATCH, "/api/v1/settings", Some(&b.hq), Some(json!({"price_floor_mode": "flag"}))).await;
    let (status, order) = app.post("/api/v1/orders", &b.hq, sale("120.00")).await;
    assert_eq!((status, order["lines"][0]["below_floor"].as_bool()), (StatusCode::CREATED, Some(true)));
    assert_eq!(app.get(&format!("/api/v1/orders/{}", order["id"]), &b.hq).await.1["lines"][0]["below_floor"], true);
}

#[tokio::test]
async fn exit_buys_back_recent_stock_and_moves_the_downline_up() {
    let app = spawn_app().await;
    let (b, a, bb, c) = small_brand(&app).await;
    let tb = app.agent_token(&b, "13800000002").await;
    // B holds 10 - 4 + 1 - 3 = 4 units at 99.50, all bought this year
    assert_eq!(app.get(&format!("/api/v1/agents/{bb}/inventory"), &b.hq).await.1, json!([{"sku": "MASK-01", "qty": 4, "avg_cost": "99.50"}]));
    let before = app.get(&format!("/api/v1/agents/{bb}/wallet"), &b.hq).await.1["balance"].as_str().unwrap().parse::<rust_decimal::Decimal>().unwrap();
    assert_eq!(app.post(&format!("/api/v1/agents/{bb}/exit"), &tb, json!({})).await.0, StatusCode::FORBIDDEN);
    let (status, exit) = app.post(&format!("/api/v1/agents/{bb}/exit"), &b.hq, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{exit}");
    assert_eq!(
        (exit["buyback_total"].as_str(), exit["buyback"][0]["qty"].as_i64(), exit["buyback"][0]["amount"].as_str()),
        (Some("358.20"), Some(4), Some("358.20")),
        "4 × 99.50 × 0.90"
    );
    assert_eq!((exit["moved_children"].clone(), exit["new_parent_id"].as_i64()), (json!([c]), Some(a)));
    let after = app.get(&format!("/api/v1/agents/{bb}/wallet"), &b.hq).await.1["balance"].as_str().unwrap().parse::<rust_decimal::Decimal>().unwrap();
    assert_eq!(after - before, "358.20".parse().unwrap());
    assert_eq!(app.get(&format!("/api/v1/agents/{bb}/inventory"), &b.hq).await.1[0]["qty"], 0);
    let (_, moved) = app.get(&format!("/api/v1/agents/{c}"), &b.hq).await;
    assert_eq!((moved["parent_id"].as_i64(), moved["depth"].as_i64(), moved["sponsor_id"].as_i64()), (Some(a), Some(2), Some(bb)));
    assert_eq!(app.get(&format!("/api/v1/agents/{bb}"), &b.hq).await.1["status"], "exited");
    // the exited agent's session ends, and a repeated exit changes nothing
    assert_eq!(app.get(&format!("/api/v1/agents/{bb}"), &tb).await.0, StatusCode::UNAUTHORIZED);
    let (status, again) = app.post(&format!("/api/v1/agents/{bb}/exit"), &b.hq, json!({})).await;
    assert_eq!((status, &again), (StatusCode::OK, &exit));
    assert_eq!(app.get(&format!("/api/v1/agents/{bb}/wallet"), &b.hq).await.1["balance"].as_str().unwrap().parse::<rust_decimal::Decimal>().unwrap(), after);
    app.assert_verified().await;
}

#[tokio::test]
async fn compliance_report_on_a_hand_checked_month() {
    let app = spawn_app().await;
    let (b, a, bb, c) = small_brand(&app).await;
    // A buys 5 for itself and sells nothing at retail
    app.post("/api/v1/orders", &b.hq, json!({"kind": "purchase", "buyer_id": a, "lines": [{"sku": "MASK-01", "qty": 5}]})).await;
    app.call(Method::PATCH, "/api/v1/settings", Some(&b.hq), Some(json!({"min_retail_share": "0.7"}))).await;
    let m = this_month();
    let (status, r) = app.get(&format!("/api/v1/reports/compliance?month={m}"), &b.hq).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    let ids = |v: &Value| v.as_array().unwrap().iter().map(|x| x["agent_id"].as_i64().unwrap()).collect::<Vec<_>>();
    // retail ÷ (retail + purchases): A 0 / 298.50 = 0; B 450.00 / 1445.00 = 0.3114;
    // C 199.00 / 616.90 = 0.3226; teams: A 649.00 / 2360.40 = 0.2750, B 649.00 / 2061.90 = 0.3148
    assert_eq!(ids(&r["agents_below"]), vec![a, bb, c]);
    assert_eq!((r["agents_below"][1]["retail_share"].as_str(), r["agents_below"][2]["retail_share"].as_str()), (Some("0.3114"), Some("0.3226")));
    assert_eq!(ids(&r["teams_below"]), vec![a, bb, c]);
    assert_eq!((r["teams_below"][0]["retail_share"].as_str(), r["teams_below"][0]["purchased_amount"].as_str()), (Some("0.2750"), Some("1711.40")));
    assert_eq!(r["teams_below"][1]["retail_share"], "0.3148");
    assert_eq!((r["bought_no_retail_count"].as_i64(), ids(&r["bought_no_retail"])), (Some(1), vec![a]));
    // stock: A 5 with no retail first, then C 2 units / 1 sold = 2.0 months, B 4 / 3 = 1.3
    assert_eq!(ids(&r["inventory_loading"]), vec![a, c, bb]);
    assert_eq!((r["inventory_loading"][1]["months_of_cover"].as_str(), r["inventory_loading"][2]["months_of_cover"].as_str()), (Some("2.0"), Some("1.3")));
    assert_eq!(r["inventory_loading"][0]["months_of_cover"], Value::Null);
    // cuts: A's differential on B's 10 units, (99.50 - 59.70) × 10 = 398.00; purchases 1412.90 + 298.50
    assert_eq!(r["payout"], json!({"cuts": "398.00", "purchases": "1711.40", "ratio": "0.2326"}));
    assert_eq!(r["deepest_level_paid"], 1);
    assert_eq!(r["network"], json!({"agents": 3, "active": 3, "levels": 3, "threshold_members": 30, "threshold_levels": 3, "meets_threshold": false}));
    // net = earnings + retail - purchases: A 398.00 - 298.50 = 99.50; B 417.90 + 450.00 - 995.00 = -127.10; C 199.00 - 417.90 = -218.90
    let bands = &r["income_disclosure"]["bands"];
    assert_eq!((bands[0]["agents"].as_i64(), bands[0]["total_net"].as_str(), bands[0]["share_of_agents"].as_str()), (Some(2), Some("-346.00"), Some("0.6667")));
    assert_eq!((bands[2]["agents"].as_i64(), bands[2]["total_net"].as_str()), (Some(1), Some("99.50")));
    assert_eq!(r["income_disclosure"]["median_net"], "-127.10");
    assert!(r["disclaimer"].as_str().unwrap().contains("not legal advice"));

    let resp =
        app.client.get(format!("{}/api/v1/reports/compliance?month={m}&format=csv&table=teams_below", app.address)).bearer_auth(&b.hq).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let text = resp.text().await.unwrap();
    let lines: Vec<&str> = text.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(lines[0].starts_with("agent_id,name,purchased_amount,internal_amount") && lines[1].ends_with(",0.2750"), "{text}");
    let (status, body) = app.get(&format!("/api/v1/reports/compliance?month={m}&format=csv&table=nope"), &b.hq).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_query")));
    let tb = app.agent_token(&b, "13800000002").await;
    assert_eq!(app.get(&format!("/api/v1/reports/compliance?month={m}"), &tb).await.0, StatusCode::FORBIDDEN);
}
