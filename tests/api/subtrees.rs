//! The authorization matrix for agents, generated from the OpenAPI document: every operation
//! called with no token, by an agent on its own subtree, and by the same agent on another
//! branch's agent and order. No token is 401 wherever a session is needed; nothing from
//! outside the caller's subtree is ever answered with success or named in an error, and
//! nothing is a 5xx.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::spawn_app;

#[tokio::test]
async fn an_agent_sees_nothing_outside_its_subtree_in_any_operation() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let a = app.agent(&b.hq, "王芳", "13800000001", b.tiers[0], None).await;
    let inside = app.agent(&b.hq, "李雷", "13800000002", b.tiers[2], Some(a)).await;
    let other = app.agent(&b.hq, "赵外甲", "13900009001", b.tiers[0], None).await;
    let outside = app.agent(&b.hq, "钱外乙", "13900009002", b.tiers[2], Some(other)).await;
    let order = |buyer: i64| {
        let (app, hq) = (&app, b.hq.clone());
        async move {
            let (status, o) = app.post("/api/v1/orders", &hq, json!({"kind": "purchase", "buyer_id": buyer, "lines": [{"sku": "MASK-01", "qty": 2}]})).await;
            assert_eq!(status, StatusCode::CREATED, "{o}");
            o["id"].as_i64().unwrap()
        }
    };
    let (inside_order, outside_order) = (order(inside).await, order(outside).await);
    let token = app.agent_token(&b, "13800000001").await;
    // what must never appear in an answer to this agent
    let secrets = ["赵外甲", "钱外乙", "13900009001", "13900009002"];

    let (_, doc) = app.call(Method::GET, "/api/openapi.json", None, None).await;
    let (mut calls, mut wrong) = (0, Vec::new());
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            if path.ends_with("/auth/logout") || path.ends_with("/auth/password") {
                continue; // they end or change the session used here; covered in auth
            }
            let public = op["security"].as_array().is_none_or(|s| s.is_empty());
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let body = (m != Method::GET && m != Method::DELETE).then(|| json!({}));
            let url = |agent: i64, order: i64| {
                let id = if path.starts_with("/api/v1/orders/") { order } else { agent };
                path.replace("{id}", &id.to_string())
                    .replace("{month}", "2026-01")
                    .replace("{sku}", "MASK-01")
                    .replace("{number}", "NOSUCHNUMBER")
                    .replace("{tier_id}", &b.tiers[1].to_string())
            };
            if !public {
                let (status, resp) = app.call(m.clone(), &url(inside, inside_order), None, body.clone()).await;
                if status != StatusCode::UNAUTHORIZED {
                    wrong.push(format!("{method} {path} without a token: {status} {resp}"));
                }
            }
            for (target, order, outside_call) in [(inside, inside_order, false), (outside, outside_order, true)] {
                let u = url(target, order);
                let (status, resp) = app.call(m.clone(), &u, Some(&token), body.clone()).await;
                calls += 1;
                let text = resp.to_string();
                if status.is_server_error() {
                    wrong.push(format!("{method} {u}: {status} {text}"));
                }
                if let Some(s) = secrets.iter().find(|s| text.contains(*s)) {
                    wrong.push(format!("{method} {u} names {s}: {status} {text}"));
                }
                // an id of another branch in the path is never a success
                let names_outside = outside_call && (path.contains("{id}") && (path.starts_with("/api/v1/agents/") || path.starts_with("/api/v1/orders/")));
                if names_outside && status.is_success() {
                    wrong.push(format!("{method} {u} on another branch answered {status} {text}"));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{} problems:\n{}", wrong.len(), wrong.join("\n"));
    assert!(calls >= 2 * 85, "every operation twice: {calls}");
    // and the lists: the agent's own subtree only
    for list in ["/api/v1/agents", "/api/v1/orders", "/api/v1/withdrawals", "/api/v1/applications", "/api/v1/upgrades"] {
        let (status, resp): (StatusCode, Value) = app.get(list, &token).await;
        assert!(status.is_success(), "{list}: {status} {resp}");
        assert!(!secrets.iter().any(|s| resp.to_string().contains(s)), "{list}: {resp}");
    }
    app.assert_verified().await;
}
