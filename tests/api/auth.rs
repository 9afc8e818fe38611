use reqwest::{Method, StatusCode};
use serde_json::json;

use agent_ledger::auth::limit::LoginLimiter;

use crate::helpers::{spawn_app, spawn_app_with, PASSWORD};

#[tokio::test]
async fn hq_and_agents_log_in_and_get_their_role() {
    let app = spawn_app().await;
    let brand = app.brand("acme").await;
    let a = app.agent(&brand.hq, "Ann", "13900000001", brand.tiers[0], None).await;
    let (status, body) = app.login("acme", "13900000001", PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["role"], "agent");
    assert_eq!(body["agent_id"], a);
    let (status, body) = app.login("acme", "hq", PASSWORD).await;
    assert_eq!((status, body["role"].as_str(), body["agent_id"].is_null()), (StatusCode::OK, Some("hq"), true));
}

#[tokio::test]
async fn wrong_credentials_are_401_and_repeated_failures_429() {
    let app = spawn_app().await;
    app.brand("acme").await;
    let (status, body) = app.login("acme", "hq", "wrong-password").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "unauthorized");
    let (status, _) = app.login("no-such-brand", "hq", PASSWORD).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    for _ in 0..4 {
        assert_eq!(app.login("acme", "hq", "wrong-password").await.0, StatusCode::UNAUTHORIZED);
    }
    // five failures: even the right password is now slowed down
    let (status, body) = app.login("acme", "hq", PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["code"], "too_many_attempts");
    // another login of the same brand is not affected
    let (status, _) = app.login("acme", "13900000009", PASSWORD).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn requests_without_a_valid_token_are_401() {
    let app = spawn_app().await;
    let (status, body) = app.call(Method::GET, "/api/v1/tiers", None, None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthorized")));
    let (status, _) = app.get("/api/v1/tiers", "1.deadbeef").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app.get("/api/v1/tiers", "garbage").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn logins_from_one_address_are_rate_limited_across_accounts() {
    let app = spawn_app_with(|s| s.login_limit = LoginLimiter::per_minute(5)).await;
    app.brand("acme").await; // one login (HQ's)
    for phone in 1..=4 {
        let (status, _) = app.login("acme", &format!("1390000000{phone}"), "guess").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {phone}: a different account each time");
    }
    let (status, body) = app.login("acme", "hq", PASSWORD).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")), "{body}");
    assert!(body["detail"].as_str().unwrap().contains("this address"), "{body}");
}

#[tokio::test]
async fn logout_ends_only_that_session() {
    let app = spawn_app().await;
    let brand = app.brand("acme").await;
    app.agent(&brand.hq, "Ann", "13900000001", brand.tiers[0], None).await;
    let phone = app.agent_token(&brand, "13900000001").await;
    let laptop = app.agent_token(&brand, "13900000001").await;
    assert_eq!(app.call(Method::POST, "/api/v1/auth/logout", Some(&phone), None).await.0, StatusCode::NO_CONTENT);
    let (status, body) = app.get("/api/v1/tiers", &phone).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthorized")), "the token is dead");
    assert_eq!(app.call(Method::POST, "/api/v1/auth/logout", Some(&phone), None).await.0, StatusCode::UNAUTHORIZED, "twice");
    assert_eq!(app.get("/api/v1/tiers", &laptop).await.0, StatusCode::OK, "the agent's other session lives on");
    assert_eq!(app.get("/api/v1/tiers", &brand.hq).await.0, StatusCode::OK);
}

#[tokio::test]
async fn brands_are_isolated() {
    let app = spawn_app().await;
    let acme = app.brand("acme").await;
    let other = app.brand("other").await;
    let a = app.agent(&acme.hq, "Ann", "13900000001", acme.tiers[0], None).await;
    // the same phone may exist in another brand
    let b = app.agent(&other.hq, "Bob", "13900000001", other.tiers[0], None).await;
    assert_eq!(app.get(&format!("/api/v1/agents/{a}"), &other.hq).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&format!("/api/v1/agents/{b}/downline"), &acme.hq).await.0, StatusCode::NOT_FOUND);
    let (status, _) = app.post(&format!("/api/v1/agents/{a}/move"), &other.hq, json!({"parent_id": b})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // a parent from another brand does not exist here
    let (status, body) = app
        .post("/api/v1/agents", &other.hq, json!({"name": "X", "phone": "13900000002", "tier_id": other.tiers[1], "parent_id": a, "password": PASSWORD}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    // tiers of another brand are not usable either
    let (status, _) = app
        .post("/api/v1/agents", &other.hq, json!({"name": "X", "phone": "13900000003", "tier_id": acme.tiers[1], "parent_id": b, "password": PASSWORD}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, tiers) = app.get("/api/v1/tiers", &acme.hq).await;
    let ids: Vec<i64> = tiers["items"].as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, acme.tiers);
    // the agent logs in to its own brand only
    assert_eq!(app.login("other", "13900000001", PASSWORD).await.1["agent_id"], b);
}

#[tokio::test]
async fn settings_are_hq_only_and_validated() {
    let app = spawn_app().await;
    let brand = app.brand("acme").await;
    let (status, s) = app.get("/api/v1/settings", &brand.hq).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        s,
        json!({"supply_mode": "hq", "timezone": "Asia/Shanghai", "hq_stock_tracking": false, "buyback_ratio": "0.9", "hold_days": 7, "jurisdiction": "none", "price_floor_mode": "reject", "min_retail_share": "0.5",
               "withdrawal": {"min": "1.00", "max": "50000.00", "fee_rate": "0", "fee_min": "0.00", "tax_rate": "0"},
               "application_approval": "inviter", "application_days": 7, "upgrade_mode": "off",
               "retail_checks": {"ceiling_factor": "2.00", "max_units_per_customer": 30, "max_sellers_per_customer": 3, "late_days": 2}})
    );
    let (status, s) =
        app.call(Method::PATCH, "/api/v1/settings", Some(&brand.hq), Some(json!({"supply_mode": "upline", "hold_days": 10, "jurisdiction": "us_ftc"}))).await;
    assert_eq!(status, StatusCode::OK, "{s}");
    assert_eq!((s["supply_mode"].as_str(), s["hold_days"].as_i64(), s["jurisdiction"].as_str()), (Some("upline"), Some(10), Some("us_ftc")));
    let (status, body) = app.call(Method::PATCH, "/api/v1/settings", Some(&brand.hq), Some(json!({"timezone": "Mars/Olympus"}))).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("validation")));
    let (status, body) = app.call(Method::PATCH, "/api/v1/settings", Some(&brand.hq), Some(json!({"jurisdiction": "eu"}))).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_body")));
    let (status, _) = app.call(Method::PATCH, "/api/v1/settings", Some(&brand.hq), Some(json!({"buyback_ratio": "1.5"}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // nothing of the rejected patches was written
    assert_eq!(app.get("/api/v1/settings", &brand.hq).await.1["timezone"], "Asia/Shanghai");
    app.agent(&brand.hq, "Ann", "13900000001", brand.tiers[0], None).await;
    let agent = app.agent_token(&brand, "13900000001").await;
    assert_eq!(app.get("/api/v1/settings", &agent).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_password_change_needs_the_old_one_and_ends_the_other_sessions() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    app.agent(&b.hq, "A", "13800000001", b.tiers[0], None).await;
    let here = app.agent_token(&b, "13800000001").await;
    let elsewhere = app.agent_token(&b, "13800000001").await;
    let change = |old: &str, new: &str| json!({"old": old, "new": new});
    let (status, body) = app.post("/api/v1/auth/password", &here, change("not-it", "a-new-secret-1")).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("wrong_password")));
    let (status, _) = app.post("/api/v1/auth/password", &here, change(PASSWORD, "short")).await;
    assert!(status.is_client_error());
    let (status, _) = app.post("/api/v1/auth/password", &here, change(PASSWORD, "a-new-secret-1")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(app.get("/api/v1/agents", &here).await.0, StatusCode::OK, "this session stays");
    assert_eq!(app.get("/api/v1/agents", &elsewhere).await.0, StatusCode::UNAUTHORIZED, "the other session ended");
    assert_eq!(app.login("acme", "13800000001", PASSWORD).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(app.login("acme", "13800000001", "a-new-secret-1").await.0, StatusCode::OK);
}

/// A NUL character (which PostgreSQL text cannot hold) is the client's mistake: a 422 that
/// says so, never a 500 with the database's words — not even on the login, before any token.
#[tokio::test]
async fn a_nul_character_is_a_4xx_that_writes_nothing() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    for body in [json!({"brand": "ac\u{0}me", "login": "hq", "password": "x"}), json!({"brand": "acme", "login": "h\u{0}q", "password": "x"})] {
        let (status, e) = app.call(Method::POST, "/api/v1/auth/login", None, Some(body)).await;
        assert_eq!((status, e["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("validation")), "{e}");
        assert!(!e["detail"].as_str().unwrap().contains("database"), "{e}");
    }
    let (status, e) = app.post("/api/v1/agents", &b.hq, json!({"name": "a\u{0}b", "phone": "13812345678", "tier_id": b.tiers[0], "password": PASSWORD})).await;
    assert_eq!((status, e["detail"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("`name` must not contain control characters (such as NUL, \\u0000)")));
    assert_eq!(app.get("/api/v1/agents", &b.hq).await.1["items"], json!([]), "nothing written");
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let big = "x".repeat(2 << 20);
    let resp = app.client.post(format!("{}/api/v1/agents", app.address)).bearer_auth(&b.hq).json(&json!({"name": big})).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let e: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(e["code"], "too_large");
}
