//! `POST /orders/batch`: each order placed as alone, one result each in order, a refused
//! order leaving the others placed, the same batch again writing nothing.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::spawn_app;

#[tokio::test]
async fn a_batch_places_each_order_answers_each_and_a_rerun_writes_nothing() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let a = app.agent(&b.hq, "王芳", "13800000001", b.tiers[0], None).await;
    let c = app.agent(&b.hq, "李雷", "13800000002", b.tiers[2], Some(a)).await;
    let mut orders: Vec<Value> = (0..48)
        .map(|i| json!({"idempotency_key": format!("imp-{i}"), "kind": "purchase", "buyer_id": if i % 2 == 0 { a } else { c }, "lines": [{"sku": "MASK-01", "qty": 1 + i % 3}]}))
        .collect();
    orders.insert(10, json!({"idempotency_key": "imp-bad-agent", "kind": "purchase", "buyer_id": 999999, "lines": [{"sku": "MASK-01", "qty": 1}]}));
    orders.insert(20, json!({"idempotency_key": "imp-no-stock", "kind": "retail", "seller_id": c, "lines": [{"sku": "MASK-01", "qty": 500}]}));
    let batch = json!({"orders": orders});
    let (status, results) = app.post("/api/v1/orders/batch", &b.hq, batch.clone()).await;
    assert_eq!(status, StatusCode::OK, "{results}");
    let results = results.as_array().unwrap().clone();
    assert_eq!(results.len(), 50);
    assert!(results.iter().enumerate().all(|(i, r)| r["index"].as_u64() == Some(i as u64)), "in the request's order");
    assert_eq!((results[10]["status"].as_u64(), results[10]["problem"]["code"].as_str()), (Some(422), Some("validation")), "{}", results[10]);
    assert_eq!((results[20]["status"].as_u64(), results[20]["problem"]["code"].as_str()), (Some(409), Some("insufficient_stock")), "{}", results[20]);
    let placed: Vec<i64> = results.iter().filter(|r| r["status"] == 201).map(|r| r["order"]["id"].as_i64().unwrap()).collect();
    assert_eq!(placed.len(), 48, "the refused two did not refuse the others: {}", results[0]);
    // each placed as alone: the same splits as a single order of the same kind
    let (_, one) = app.get(&format!("/api/v1/orders/{}", placed[1]), &b.hq).await;
    assert_eq!(one["splits"].as_array().map(|s| !s.is_empty()), Some(true), "{one}");
    // the same batch again: every placed order answered from its key, nothing new
    let (_, again) = app.post("/api/v1/orders/batch", &b.hq, batch).await;
    let again_ids: Vec<i64> = again.as_array().unwrap().iter().filter(|r| r["status"] == 201).map(|r| r["order"]["id"].as_i64().unwrap()).collect();
    assert_eq!(again_ids, placed);
    let (_, all) = app.get("/api/v1/orders?limit=1000", &b.hq).await;
    assert_eq!(all["items"].as_array().map(Vec::len), Some(48), "no order twice");
    // one key, one request, by either door: POST /orders with a batch's key answers its order
    let first = json!({"kind": "purchase", "buyer_id": a, "lines": [{"sku": "MASK-01", "qty": 1}]});
    let (status, single) = app.call_with(reqwest::Method::POST, "/api/v1/orders", Some(&b.hq), Some(first.clone()), Some("imp-0")).await;
    assert_eq!((status, single["id"].as_i64()), (StatusCode::CREATED, Some(placed[0])), "{single}");
    let mut other = first.clone();
    other["lines"][0]["qty"] = json!(3);
    let (status, e) = app.call_with(reqwest::Method::POST, "/api/v1/orders", Some(&b.hq), Some(other.clone()), Some("imp-0")).await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::CONFLICT, Some("idempotency_conflict")));
    let mut item = other;
    item["idempotency_key"] = json!("imp-0");
    let (_, r) = app.post("/api/v1/orders/batch", &b.hq, json!({"orders": [item]})).await;
    assert_eq!((r[0]["status"].as_u64(), r[0]["problem"]["code"].as_str()), (Some(409), Some("idempotency_conflict")), "{r}");
    // the batch is one line of the audit log, naming its orders
    let (_, log) = app.get("/api/v1/audit?action=order.batch", &b.hq).await;
    let rows = log["items"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "one batch placed orders, the rerun none: {log}");
    assert_eq!(rows[0]["after"]["orders"], 48, "{log}");
    // refusals of the whole batch
    let too_many: Vec<Value> =
        (0..1001).map(|i| json!({"idempotency_key": format!("x{i}"), "kind": "purchase", "buyer_id": a, "lines": [{"sku": "MASK-01", "qty": 1}]})).collect();
    assert_eq!(app.post("/api/v1/orders/batch", &b.hq, json!({"orders": too_many})).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    let twice = json!({"orders": [{"idempotency_key": "k", "kind": "purchase", "buyer_id": a, "lines": [{"sku": "MASK-01", "qty": 1}]}, {"idempotency_key": "k", "kind": "purchase", "buyer_id": a, "lines": [{"sku": "MASK-01", "qty": 1}]}]});
    assert_eq!(app.post("/api/v1/orders/batch", &b.hq, twice).await.1["code"], "validation");
    let token = app.agent_token(&b, "13800000001").await;
    assert_eq!(app.post("/api/v1/orders/batch", &token, json!({"orders": []})).await.0, StatusCode::FORBIDDEN, "HQ imports");
    app.assert_verified().await;
}

/// The same batch sent 32 times at once: each order exists once, and every answer names it.
#[tokio::test]
async fn thirty_two_concurrent_copies_of_a_batch_place_each_order_once() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let a = app.agent(&b.hq, "王芳", "13800000001", b.tiers[0], None).await;
    let orders: Vec<Value> =
        (0..20).map(|i| json!({"idempotency_key": format!("dup-{i}"), "kind": "purchase", "buyer_id": a, "lines": [{"sku": "MASK-01", "qty": 1}]})).collect();
    let batch = json!({"orders": orders});
    let mut handles = Vec::new();
    for _ in 0..32 {
        let (url, token, body) = (format!("{}/api/v1/orders/batch", app.address), b.hq.clone(), batch.clone());
        handles.push(tokio::spawn(async move {
            reqwest::Client::new().post(url).bearer_auth(token).json(&body).send().await.unwrap().json::<Value>().await.unwrap()
        }));
    }
    let mut answers = std::collections::BTreeSet::new();
    for h in handles {
        let results = h.await.unwrap();
        let ids: Vec<i64> = results.as_array().unwrap_or_else(|| panic!("{results}")).iter().map(|r| r["order"]["id"].as_i64().unwrap()).collect();
        answers.insert(ids);
    }
    assert_eq!(answers.len(), 1, "every copy answered with the same 20 orders");
    let (_, all) = app.get("/api/v1/orders?limit=1000", &b.hq).await;
    assert_eq!(all["items"].as_array().map(Vec::len), Some(20));
    app.assert_verified().await;
}
