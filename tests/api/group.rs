//! Orders placed as a group (group commit of `POST /orders`, a batch): every order keeps its
//! own key, answer and refusal, and sees the stock the orders before it left.

use agent_ledger::auth::{Principal, Role, StaffRole};
use agent_ledger::orders::group::{place_group, Job};
use agent_ledger::orders::OrderRequest;
use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::spawn_app;

fn order(v: Value) -> OrderRequest {
    serde_json::from_value(v).unwrap()
}

#[tokio::test]
async fn a_group_gives_each_order_its_own_key_answer_and_refusal() {
    let app = spawn_app().await;
    let b = app.brand("grp").await;
    let a = app.agent(&b.hq, "王芳", "13800000001", b.tiers[0], None).await;
    let c = app.agent(&b.hq, "李雷", "13800000002", b.tiers[2], Some(a)).await;
    let pool = app.pool.clone();
    let code = b.code.clone();
    let (answers, orders_after) = tokio::task::spawn_blocking(move || {
        let mut conn = pool.get().unwrap();
        let (brand_id, user_id): (i64, i64) = agent_ledger::schema::brands::table
            .inner_join(agent_ledger::schema::hq_users::table.on(agent_ledger::schema::hq_users::brand_id.eq(agent_ledger::schema::brands::id)))
            .filter(agent_ledger::schema::brands::code.eq(&code))
            .select((agent_ledger::schema::brands::id, agent_ledger::schema::hq_users::id))
            .first(&mut conn)
            .unwrap();
        let hq = Principal { request: 7, ..Principal::hq(brand_id, user_id, StaffRole::Owner) };
        let agent_c = Principal { brand_id, role: Role::Agent { agent_id: c }, request: 8 };
        let buy = |buyer: i64, qty: i64| order(json!({"kind": "purchase", "buyer_id": buyer, "lines": [{"sku": "MASK-01", "qty": qty}]}));
        let job = |who: Principal, key: Option<&str>, req: OrderRequest| Job { who, key: key.map(str::to_owned), req };
        let jobs = vec![
            job(hq, Some("k1"), buy(a, 2)),
            // the same caller and key again, in the same group: the first's answer
            job(hq, Some("k1"), buy(a, 2)),
            // the same key with another request: refused
            job(hq, Some("k1"), buy(a, 3)),
            // the same key is another caller's own key
            job(agent_c, Some("k1"), order(json!({"kind": "purchase", "lines": [{"sku": "MASK-01", "qty": 1}]}))),
            // an agent buying for someone else: refused, the others go on
            job(agent_c, None, buy(a, 1)),
            // a retail sale beyond what the seller holds: refused, nothing moved
            job(hq, Some("k2"), order(json!({"kind": "retail", "seller_id": a, "lines": [{"sku": "MASK-01", "qty": 50}]}))),
            // a retail sale out of what the first order bought, in the same group
            job(hq, Some("k3"), order(json!({"kind": "retail", "seller_id": a, "lines": [{"sku": "MASK-01", "qty": 2}]}))),
            job(hq, None, buy(999_999, 1)),
        ];
        let answers = conn.transaction(|conn| place_group(conn, &jobs)).unwrap();
        let orders: i64 =
            agent_ledger::schema::orders::table.filter(agent_ledger::schema::orders::brand_id.eq(brand_id)).count().get_result(&mut conn).unwrap();
        (answers, orders)
    })
    .await
    .unwrap();
    let status = |i: usize| match &answers[i] {
        Ok(r) => (r.status, None),
        Err(e) => (0, Some(e.code.to_string())),
    };
    let body = |i: usize| -> Value { serde_json::from_str(&answers[i].as_ref().unwrap().body).unwrap() };
    assert_eq!(status(0), (201, None));
    assert_eq!(status(1), (201, None), "the duplicate is answered");
    assert!(answers[1].as_ref().unwrap().replayed, "…from the first, not placed again");
    assert_eq!(body(1)["id"], body(0)["id"]);
    assert_eq!(status(2), (0, Some("idempotency_conflict".into())));
    assert_eq!(status(3), (201, None), "keys are per caller");
    assert_eq!(status(4), (0, Some("forbidden".into())));
    assert_eq!(status(5), (0, Some("insufficient_stock".into())));
    assert_eq!(status(6), (201, None), "the sale sees the stock the purchase before it brought: {:?}", answers[6]);
    assert_eq!(body(6)["lines"][0]["qty"], 2);
    assert_eq!(status(7), (0, Some("validation".into())));
    assert_eq!(orders_after, 3, "three orders placed, each once");
    // what was placed reads back as it was answered, and the books are whole
    let (_, read) = app.get(&format!("/api/v1/orders/{}", body(0)["id"]), &b.hq).await;
    assert_eq!(read, body(0));
    app.assert_verified().await;
}

#[tokio::test]
async fn thirty_two_concurrent_orders_short_of_stock_fail_alone() {
    let app = spawn_app().await;
    let b = app.brand("grp2").await;
    let a = app.agent(&b.hq, "王芳", "13800000011", b.tiers[0], None).await;
    let (status, _) = app.post("/api/v1/orders", &b.hq, json!({"kind": "purchase", "buyer_id": a, "lines": [{"sku": "MASK-01", "qty": 20}]})).await;
    assert_eq!(status, StatusCode::CREATED);
    // 32 retail sales at once, 16 of 1 unit and 16 of 100: whatever groups they share, the
    // big ones are refused alone and the small ones all land
    let mut tasks = Vec::new();
    for i in 0..32 {
        let (client, url, token) = (app.client.clone(), format!("{}/api/v1/orders", app.address), b.hq.clone());
        let qty = if i % 2 == 0 { 1 } else { 100 };
        tasks.push(tokio::spawn(async move {
            let body = json!({"kind": "retail", "seller_id": a, "lines": [{"sku": "MASK-01", "qty": qty}]});
            let resp = client.post(url).bearer_auth(token).header("Idempotency-Key", format!("sale-{i}")).json(&body).send().await.unwrap();
            (qty, resp.status())
        }));
    }
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap());
    }
    assert!(outcomes.iter().all(|(q, s)| (*q == 1 && *s == StatusCode::CREATED) || (*q == 100 && *s == StatusCode::CONFLICT)), "{outcomes:?}");
    let (_, stock) = app.get(&format!("/api/v1/agents/{a}/inventory"), &b.hq).await;
    assert_eq!(stock[0]["qty"], 4, "20 bought, 16 sold: {stock}");
    app.assert_verified().await;
}

#[tokio::test]
async fn in_a_batch_each_order_sees_the_stock_the_orders_before_it_left() {
    let app = spawn_app().await;
    let b = app.brand("grp3").await;
    let a = app.agent(&b.hq, "王芳", "13800000021", b.tiers[0], None).await;
    let sale = |k: &str, qty: i64| json!({"idempotency_key": k, "kind": "retail", "seller_id": a, "lines": [{"sku": "MASK-01", "qty": qty}]});
    let batch = json!({"orders": [
        sale("s0", 3),
        {"idempotency_key": "p1", "kind": "purchase", "buyer_id": a, "lines": [{"sku": "MASK-01", "qty": 3}]},
        sale("s2", 3),
        sale("s3", 1),
    ]});
    let (status, results) = app.post("/api/v1/orders/batch", &b.hq, batch).await;
    assert_eq!(status, StatusCode::OK, "{results}");
    let statuses: Vec<u64> = results.as_array().unwrap().iter().map(|r| r["status"].as_u64().unwrap()).collect();
    assert_eq!(statuses, [409, 201, 201, 409], "{results}");
    let (_, stock) = app.get(&format!("/api/v1/agents/{a}/inventory"), &b.hq).await;
    assert_eq!(stock[0]["qty"], 0, "{stock}");
    app.assert_verified().await;
}
