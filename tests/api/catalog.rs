use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::spawn_app;

fn prices(tiers: &[i64], values: [&str; 5]) -> Value {
    Value::Object(tiers.iter().zip(values).map(|(t, p)| (t.to_string(), json!(p))).collect())
}

#[tokio::test]
async fn price_lists_must_never_rise_toward_better_tiers_nor_exceed_retail() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let good = prices(&b.tiers, ["89.70", "119.60", "149.50", "179.40", "209.30"]);
    let (status, p) = app.post("/api/v1/products", &b.hq, json!({"sku": "SERUM-02", "name": "Serum", "retail_price": "299.00", "prices": good})).await;
    assert_eq!(status, StatusCode::CREATED, "{p}");
    assert_eq!(p["prices"][b.tiers[0].to_string()], "89.70");
    assert_eq!(p["retail_price"], "299.00");

    let cases = [
        (["119.60", "89.70", "149.50", "179.40", "209.30"], "299.00", "price_order"), // 联创 pays more than 总代
        (["89.70", "119.60", "149.50", "179.40", "309.30"], "299.00", "price_order"), // above retail
        (["-1.00", "119.60", "149.50", "179.40", "209.30"], "299.00", "validation"),  // negative
        (["89.705", "119.60", "149.50", "179.40", "209.30"], "299.00", "validation"), // sub-cent
        (["89.70", "119.60", "149.50", "179.40", "209.30"], "-5.00", "validation"),   // negative retail
    ];
    for (i, (list, retail, code)) in cases.into_iter().enumerate() {
        let (status, body) = app
            .post("/api/v1/products", &b.hq, json!({"sku": format!("BAD-{i}"), "name": "Bad", "retail_price": retail, "prices": prices(&b.tiers, list)}))
            .await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(code)), "case {i}: {body}");
        assert!(body["detail"].as_str().unwrap().len() > 10, "a clear detail: {body}");
    }
    // a missing tier price, an unknown tier
    let mut partial = prices(&b.tiers, ["89.70", "119.60", "149.50", "179.40", "209.30"]);
    partial.as_object_mut().unwrap().remove(&b.tiers[4].to_string());
    assert_eq!(
        app.post("/api/v1/products", &b.hq, json!({"sku": "BAD-X", "name": "Bad", "retail_price": "299.00", "prices": partial})).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let mut unknown = prices(&b.tiers, ["89.70", "119.60", "149.50", "179.40", "209.30"]);
    unknown.as_object_mut().unwrap().insert("999999".into(), json!("1.00"));
    assert_eq!(
        app.post("/api/v1/products", &b.hq, json!({"sku": "BAD-Y", "name": "Bad", "retail_price": "299.00", "prices": unknown})).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // nothing bad was written
    let (_, list) = app.get("/api/v1/products", &b.hq).await;
    let skus: Vec<&str> = list["items"].as_array().unwrap().iter().map(|p| p["sku"].as_str().unwrap()).collect();
    assert_eq!(skus, vec!["MASK-01", "SERUM-02"]);

    // PUT applies the same rules and replaces the list
    let inverted = prices(&b.tiers, ["99.00", "89.00", "149.50", "179.40", "209.30"]);
    let (status, _) =
        app.call(Method::PUT, "/api/v1/products/SERUM-02", Some(&b.hq), Some(json!({"name": "Serum", "retail_price": "299.00", "prices": inverted}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let cheaper = prices(&b.tiers, ["80.00", "110.00", "140.00", "170.00", "200.00"]);
    let (status, p) =
        app.call(Method::PUT, "/api/v1/products/SERUM-02", Some(&b.hq), Some(json!({"name": "Serum v2", "retail_price": "289.00", "prices": cheaper}))).await;
    assert_eq!(status, StatusCode::OK, "{p}");
    assert_eq!((p["name"].as_str(), p["prices"][b.tiers[4].to_string()].as_str()), (Some("Serum v2"), Some("200.00")));
    let (status, _) = app.call(Method::PUT, "/api/v1/products/NOPE", Some(&b.hq), Some(json!({"name": "x", "retail_price": "1.00", "prices": {}}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn malformed_input_is_a_clear_4xx() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let url = format!("{}/api/v1/products", app.address);
    let resp = app.client.post(&url).bearer_auth(&b.hq).header("content-type", "application/json").body("{not json").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "invalid_body");
    assert_eq!(body["status"], 400);
    for bad in [
        json!({"sku": "X", "name": "X", "retail_price": "1.00", "prices": {}, "colour": "red"}), // unknown field
        json!({"sku": "X", "name": "X", "retail_price": [1], "prices": {}}),                     // wrong type
        json!({"sku": "X", "name": "X"}),                                                        // missing field
    ] {
        let (status, body) = app.post("/api/v1/products", &b.hq, bad).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_body")), "{body}");
    }
    let (status, body) = app.get("/api/v1/agents/not-a-number", &b.hq).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_path")));
    let (status, _) = app.get("/api/v1/agents/99999999999999999999999", &b.hq).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = app.get("/api/v1/products?limit=5000", &b.hq).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("validation")));
    let (status, body) = app.get("/api/v1/products?cursor=!!!", &b.hq).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_cursor")));
}

#[tokio::test]
async fn tiers_are_hq_managed_and_ranks_unique() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let (status, body) = app.post("/api/v1/tiers", &b.hq, json!({"rank": 2, "name": "dup"})).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("rank_taken")));
    let (status, _) = app.post("/api/v1/tiers", &b.hq, json!({"rank": 0, "name": "zero"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // swapping 联创 below 总代 would make the better tier pay less... rejected with price_order
    let (status, body) = app.call(Method::PUT, &format!("/api/v1/tiers/{}", b.tiers[0]), Some(&b.hq), Some(json!({"rank": 6, "name": "联创"}))).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("price_order")), "{body}");
    let (status, t) = app
        .call(Method::PUT, &format!("/api/v1/tiers/{}", b.tiers[0]), Some(&b.hq), Some(json!({"rank": 1, "name": "联合创始人", "min_first_order": "50000.00"})))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((t["name"].as_str(), t["min_first_order"].as_str()), (Some("联合创始人"), Some("50000.00")));
    app.agent(&b.hq, "Ann", "13900000001", b.tiers[0], None).await;
    let agent = app.agent_token(&b, "13900000001").await;
    assert_eq!(app.get("/api/v1/tiers", &agent).await.0, StatusCode::OK, "agents read tiers");
    assert_eq!(app.get("/api/v1/products", &agent).await.0, StatusCode::OK, "agents read products");
    assert_eq!(app.post("/api/v1/tiers", &agent, json!({"rank": 9, "name": "x"})).await.0, StatusCode::FORBIDDEN);
}
