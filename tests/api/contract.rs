//! The reproductions of issue 15, each a test: money is cents (no exponent, at most 2
//! decimals, answered with 2, a retry with "199.50" for "199.5" is the same request), months
//! and dates in a sane range, text without control characters and with caps, 405 for a
//! method a path does not serve, no upline stock figures for an agent, gzip on the API.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, PASSWORD};

#[tokio::test]
async fn money_is_cents_on_the_way_in_and_out() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let prices: serde_json::Map<String, Value> = b.tiers.iter().map(|t| (t.to_string(), json!("100.5"))).collect();
    let (status, p) = app.post("/api/v1/products", &b.hq, json!({"sku": "BOX", "name": "Box", "retail_price": "189.5", "prices": prices})).await;
    assert_eq!(status, StatusCode::CREATED, "{p}");
    assert_eq!((p["retail_price"].as_str(), p["prices"][b.tiers[0].to_string()].as_str()), (Some("189.50"), Some("100.50")), "answered with 2 decimals: {p}");
    for bad in [json!("1e3"), json!("10.005"), json!(189.5), json!("１８９"), json!(" 189"), json!("-0.5.0")] {
        let (status, e) = app.post("/api/v1/products", &b.hq, json!({"sku": "BAD", "name": "Bad", "retail_price": bad.clone(), "prices": {}})).await;
        assert_eq!((status, e["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("validation")), "{bad}: {e}");
        assert!(e["detail"].as_str().unwrap().contains("money") || e["detail"].as_str().unwrap().contains("amounts"), "{e}");
    }
    let (status, e) = app.call(Method::PATCH, "/api/v1/settings", Some(&b.hq), Some(json!({"buyback_ratio": "1e-1"}))).await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("validation")), "rates: one rule too: {e}");

    // a retail sale retried under the same key with "199.50" for "199.5" is the same request
    let seller = app.agent(&b.hq, "王芳", "13800000001", b.tiers[0], None).await;
    let (status, _) = app.post("/api/v1/orders", &b.hq, json!({"kind": "purchase", "buyer_id": seller, "lines": [{"sku": "MASK-01", "qty": 5}]})).await;
    assert_eq!(status, StatusCode::CREATED);
    let sale = |price: &str| json!({"kind": "retail", "seller_id": seller, "lines": [{"sku": "MASK-01", "qty": 1, "unit_price": price}]});
    let (s1, first) = app.call_with(Method::POST, "/api/v1/orders", Some(&b.hq), Some(sale("199.5")), Some("sale-1")).await;
    let (s2, again) = app.call_with(Method::POST, "/api/v1/orders", Some(&b.hq), Some(sale("199.50")), Some("sale-1")).await;
    assert_eq!((s1, s2), (StatusCode::CREATED, StatusCode::CREATED), "{again}");
    assert_eq!(first["id"], again["id"]);
    assert_eq!(first["lines"][0]["unit_price"], "199.50");
    let (s3, other) = app.call_with(Method::POST, "/api/v1/orders", Some(&b.hq), Some(sale("199.51")), Some("sale-1")).await;
    assert_eq!((s3, other["code"].as_str()), (StatusCode::CONFLICT, Some("idempotency_conflict")));
    // stock averages answer in cents too
    let (_, stock) = app.get(&format!("/api/v1/agents/{seller}/inventory"), &b.hq).await;
    assert_eq!(stock[0]["avg_cost"], "59.70");
    app.assert_verified().await;
}

#[tokio::test]
async fn months_dates_and_text_are_in_range() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    for month in ["0000-01", "-001-01", "2026-13", "99999-01", "2026-1"] {
        let (status, e) = app.get(&format!("/api/v1/reports/sales-split?month={month}"), &b.hq).await;
        assert_eq!((status, e["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_month")), "{month}: {e}");
    }
    let (status, e) = app.call(Method::PUT, "/api/v1/plan", Some(&b.hq), Some(json!({"effective_from": "2150-01-01T00:00:00Z"}))).await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("validation")), "{e}");
    let (status, _) = app.call(Method::PUT, "/api/v1/plan", Some(&b.hq), Some(json!({"effective_from": "+99999-01-01T00:00:00Z"}))).await;
    assert!(status.is_client_error(), "{status}");
    let (_, versions) = app.get("/api/v1/plan/versions", &b.hq).await;
    assert_eq!(versions.as_array().map(Vec::len), Some(1), "nothing published");
    let a = app.agent(&b.hq, "王芳", "13800000001", b.tiers[0], None).await;
    let (status, e) = app
        .post("/api/v1/orders", &b.hq, json!({"kind": "purchase", "buyer_id": a, "lines": [{"sku": "MASK-01", "qty": 1}], "placed_at": "1999-12-31T00:00:00Z"}))
        .await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("validation")), "{e}");

    // control characters anywhere, overlong text, overlong names and passwords
    let (status, e) = app.post("/api/v1/tiers", &b.hq, json!({"rank": 9, "name": "a\u{7}b"})).await;
    assert_eq!((status, e["detail"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("`name` must not contain control characters (such as NUL, \\u0000)")));
    let (status, _) = app.post("/api/v1/tiers", &b.hq, json!({"rank": 9, "name": "级".repeat(41)})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, e) = app.call(Method::POST, "/api/v1/auth/password", Some(&b.hq), Some(json!({"old": PASSWORD, "new": "p".repeat(900_000)}))).await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("validation")), "a 900 KB password");
    let (status, e) = app.call(Method::POST, "/api/v1/auth/password", Some(&b.hq), Some(json!({"old": PASSWORD, "new": "p".repeat(129)}))).await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("validation")), "{e}");
    assert_eq!(app.login("acme", "hq", PASSWORD).await.0, StatusCode::OK, "the password did not change");
    let (_, tiers) = app.get("/api/v1/tiers", &b.hq).await;
    assert_eq!(tiers["items"].as_array().map(Vec::len), Some(5), "no tier written");
}

#[tokio::test]
async fn a_method_a_path_does_not_serve_is_405_with_allow() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let resp = app.client.request(Method::TRACE, format!("{}/api/v1/periods", app.address)).bearer_auth(&b.hq).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(resp.headers().get("allow").and_then(|v| v.to_str().ok()), Some("GET"));
    let resp = app.client.delete(format!("{}/api/v1/agents/7/move", app.address)).bearer_auth(&b.hq).send().await.unwrap();
    assert_eq!((resp.status(), resp.headers().get("allow").and_then(|v| v.to_str().ok())), (StatusCode::METHOD_NOT_ALLOWED, Some("POST")));
    assert_eq!(app.get("/api/v1/nowhere/at/all", &b.hq).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_agent_is_not_told_its_uplines_stock_and_api_answers_are_gzipped() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let up = app.agent(&b.hq, "王芳", "13800000001", b.tiers[0], None).await;
    let _down = app.agent(&b.hq, "李雷", "13800000002", b.tiers[2], Some(up)).await;
    let (status, _) = app.post("/api/v1/orders", &b.hq, json!({"kind": "purchase", "buyer_id": up, "lines": [{"sku": "MASK-01", "qty": 7}]})).await;
    assert_eq!(status, StatusCode::CREATED);
    let token = app.agent_token(&b, "13800000002").await;
    let (status, e) = app.post("/api/v1/orders", &token, json!({"kind": "purchase", "supply": "upline", "lines": [{"sku": "MASK-01", "qty": 9}]})).await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::CONFLICT, Some("insufficient_stock")), "{e}");
    let detail = e["detail"].as_str().unwrap();
    assert!(!detail.contains('7') && !detail.contains("王芳"), "nothing about the upline's stock: {detail}");
    let resp = app.client.get(format!("{}/api/v1/agents", app.address)).bearer_auth(&b.hq).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(resp.headers().get("content-encoding").and_then(|v| v.to_str().ok()), Some("gzip"));
}

#[tokio::test]
async fn a_plan_published_twice_under_one_key_is_one_version() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let plan = json!({"effective_from": "2026-01-01T00:00:00Z", "peer_bonus": {"enabled": true, "rates": ["0.03"]}});
    let (s1, first) = app.call_with(Method::PUT, "/api/v1/plan", Some(&b.hq), Some(plan.clone()), Some("plan-1")).await;
    let (s2, again) = app.call_with(Method::PUT, "/api/v1/plan", Some(&b.hq), Some(plan), Some("plan-1")).await;
    assert_eq!((s1, s2), (StatusCode::OK, StatusCode::OK), "{first} {again}");
    assert_eq!(first, again, "the same answer");
    let (_, versions) = app.get("/api/v1/plan/versions", &b.hq).await;
    assert_eq!(versions.as_array().map(Vec::len), Some(2), "the default and one published: {versions}");
    assert!(first["warnings"].is_array(), "warnings are part of the answer and of its schema");
}

/// What Schemathesis's two strict checks found, each a reproduction: the server refuses what
/// the document rules out (400 for the shape, 422 for a bound), takes what it allows, and a
/// schema-valid request is never 400.
#[tokio::test]
async fn the_server_takes_what_the_document_allows_and_refuses_what_it_rules_out() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let top = app.agent(&b.hq, "王芳", "13800000001", b.tiers[0], None).await;
    let plan = |limits: Value| json!({"effective_from": "2020-01-01T00:00:00Z", "limits": limits});
    // an array is not an object, even where serde would read it as one
    let (status, e) = app.post("/api/v1/plan/validate", &b.hq, plan(json!([null, null]))).await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_body")), "{e}");
    assert!(e["detail"].as_str().unwrap().contains("`limits`"), "the field is named: {e}");
    let (status, _) = app.post("/api/v1/plan/validate", &b.hq, plan(json!({"max_paid_levels": 2}))).await;
    assert_eq!(status, StatusCode::OK);
    // a rate is a string, even a whole one
    let (status, e) =
        app.post("/api/v1/plan/validate", &b.hq, json!({"effective_from": "2020-01-01T00:00:00Z", "referral_bonus": {"enabled": true, "rate": 0}})).await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("validation")), "{e}");
    // a staff member's name is not blank, on the way in or when changed
    let (_, staff) = app.get("/api/v1/staff", &b.hq).await;
    let owner = staff.as_array().and_then(|s| s.first()).map(|s| s["id"].as_i64().unwrap()).expect("the owner");
    let (status, e) = app.call(Method::PATCH, &format!("/api/v1/staff/{owner}"), Some(&b.hq), Some(json!({"name": ""}))).await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("validation")), "{e}");
    // integers as JSON Schema counts them: 147.0 is 147 in a body, a path and a query
    let (status, a) = app.get(&format!("/api/v1/agents/{top}.0"), &b.hq).await;
    assert_eq!((status, a["id"].as_i64()), (StatusCode::OK, Some(top)), "{a}");
    let (status, page) = app.get(&format!("/api/v1/orders?agent_id={top}.0&limit=5.0"), &b.hq).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let (status, o) = app.post("/api/v1/orders", &b.hq, json!({"kind": "purchase", "buyer_id": top as f64, "lines": [{"sku": "MASK-01", "qty": 2.0}]})).await;
    assert_eq!((status, o["lines"][0]["qty"].as_i64()), (StatusCode::CREATED, Some(2)), "{o}");
    let (status, e) = app.post("/api/v1/orders", &b.hq, json!({"kind": "purchase", "buyer_id": top, "lines": [{"sku": "MASK-01", "qty": 2.5}]})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "2.5 units is not an integer: {e}");
    // a whole float of a safe integer is read exactly (3704988558768906.0 is not ...905.9)
    let (status, e) = app.post(&format!("/api/v1/agents/{top}/move"), &b.hq, json!({"parent_id": 3704988558768906.0_f64, "reason": "测试 test"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "no such parent, not a malformed body: {e}");
    // a search text has no control characters
    assert_eq!(app.get("/api/v1/agents?q=a%00b", &b.hq).await.0, StatusCode::BAD_REQUEST);
    // a SKU is text: "1.0" stays "1.0"
    let (status, e) = app.get("/api/v1/products/1.0", &b.hq).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{e}");
    // a cursor: not base64url is 400 (the document's pattern); base64url not issued here is 422
    assert_eq!(app.get("/api/v1/agents?cursor=!!", &b.hq).await.0, StatusCode::BAD_REQUEST);
    let (status, e) = app.get("/api/v1/agents?cursor=bm9wZQ", &b.hq).await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("bad_cursor")), "{e}");
    // filters that contradict each other are a rule, not a malformed query
    let (status, e) = app.get("/api/v1/payouts/export?status=approved&batch=1", &b.hq).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let (status, e) = app.get("/api/v1/audit?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", &b.hq).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    // the Idempotency-Key header has the documented pattern
    let (status, e) = app
        .call_with(
            Method::POST,
            "/api/v1/orders",
            Some(&b.hq),
            Some(json!({"kind": "purchase", "buyer_id": top, "lines": [{"sku": "MASK-01", "qty": 1}]})),
            Some("has space"),
        )
        .await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_idempotency_key")), "{e}");
    // a required reason: missing, null or blank is reason_required
    for body in [json!({}), json!({"reason": null}), json!({"reason": "  "})] {
        let (status, e) = app.post("/api/v1/withdrawals/1/reject", &b.hq, body.clone()).await;
        assert_eq!((status, e["code"].as_str()), (StatusCode::BAD_REQUEST, Some("reason_required")), "{body}: {e}");
    }
    // no session: 401 before anything is said about the body
    let (status, _) = app.call(Method::POST, "/api/v1/agents", None, Some(json!({}))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // a compliance table is one of the six, with csv or without
    let (status, _) = app.get(&format!("/api/v1/reports/compliance?month={}&table=nope", crate::settlement::month_start(0).0), &b.hq).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
