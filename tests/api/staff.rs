//! Staff and their roles, checked in one place: every operation of the OpenAPI document is
//! called by every role and the refusals compared with what the roles mean. The audit log
//! records every HQ write and `verify` notices when a row is altered; a stranger guessing a
//! password slows only the stranger.

use std::net::{IpAddr, Ipv4Addr};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, Brand, TestApp, PASSWORD};

/// The owner adds a staff member with `role`; returns its token.
pub async fn staff_token(app: &TestApp, b: &Brand, login: &str, role: &str) -> String {
    let (status, s) = app.post("/api/v1/staff", &b.hq, json!({"login": login, "name": login, "role": role, "password": PASSWORD})).await;
    assert_eq!(status, StatusCode::CREATED, "{s}");
    let (status, body) = app.login(&b.code, login, PASSWORD).await;
    assert_eq!((status, body["staff_role"].as_str()), (StatusCode::OK, Some(role)), "{body}");
    body["token"].as_str().unwrap().to_owned()
}

/// What each role may do, from the roles' definitions (not from the server's table):
/// owner everything; operations agents, products, tiers, orders, stock; finance withdrawals,
/// payouts, adjustments, settlement, disputes; auditor reads everything and writes nothing.
fn allowed(role: &str, method: &str, path: &str) -> bool {
    let rest = path.trim_start_matches("/api/v1");
    let first = rest.split('/').nth(1).unwrap_or("");
    let last = rest.rsplit('/').next().unwrap_or("");
    // public: applying through an invite link, checking a certificate
    if role == "owner" || first == "auth" || first == "public" || (rest == "/applications" && method == "post") || !path.starts_with("/api/v1") {
        return true;
    }
    if first == "audit" {
        return role == "auditor";
    }
    if rest == "/payouts/export" {
        return role == "finance";
    }
    if method == "get" || rest == "/plan/validate" || rest == "/plan/what-if" {
        return true;
    }
    let money = matches!(first, "withdrawals" | "payouts" | "adjustments" | "periods" | "disputes") || (first == "agents" && last == "withdrawals");
    // upgrade rules decide pay like the plan does
    let owner_only = matches!(first, "staff" | "settings" | "plan") || (first == "agents" && last == "password") || rest.starts_with("/upgrades/rules");
    match role {
        "finance" => money,
        "operations" => !money && !owner_only,
        _ => false,
    }
}

#[tokio::test]
async fn every_operation_is_allowed_or_refused_for_each_role_as_the_roles_say() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let mut tokens = vec![("owner", b.hq.clone())];
    for role in ["operations", "finance", "auditor"] {
        tokens.push((role, staff_token(&app, &b, &format!("{role}-1"), role).await));
    }
    let (_, doc) = app.call(Method::GET, "/api/openapi.json", None, None).await;
    let mut checked = 0;
    let mut wrong = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            // ids that exist nowhere: the role check comes before any lookup
            let url = path
                .replace("{id}", "999999")
                .replace("{month}", "2020-01")
                .replace("{sku}", "NO-SUCH")
                .replace("{number}", "NO-SUCH")
                .replace("{code}", "NO-SUCH");
            for (role, token) in &tokens {
                if path.ends_with("/auth/logout") || path.ends_with("/auth/password") {
                    continue; // would end or change the session the matrix uses; covered in auth
                }
                let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                let body = (m != Method::GET).then(|| json!({}));
                let (status, resp) = app.call(m, &url, Some(token), body).await;
                assert!(!status.is_server_error(), "{method} {url} as {role}: {status} {resp}");
                let refused = status == StatusCode::FORBIDDEN && resp["code"] == "role_forbidden";
                if refused == allowed(role, method, path) {
                    wrong.push(format!("{method} {path} as {role}: {status} {resp}"));
                }
                checked += 1;
            }
        }
    }
    assert!(wrong.is_empty(), "{} of {checked} calls disagree with the roles:\n{}", wrong.len(), wrong.join("\n"));
    assert!(checked >= 4 * 70, "every operation, every role: {checked}");
}

#[tokio::test]
async fn the_owner_manages_staff_and_resets_passwords_and_the_last_owner_stays() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let ops = staff_token(&app, &b, "xiaoli", "operations").await;
    let (status, body) = app.post("/api/v1/staff", &b.hq, json!({"login": "xiaoli", "role": "finance", "password": PASSWORD})).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("login_taken")));
    assert_eq!(
        app.post("/api/v1/staff", &b.hq, json!({"login": "13800000001", "role": "finance", "password": PASSWORD})).await.0,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a phone-like login would shadow an agent"
    );
    assert_eq!(app.post("/api/v1/staff", &ops, json!({"login": "sneaky", "role": "owner", "password": PASSWORD})).await.1["code"], "role_forbidden");
    let (_, staff) = app.get("/api/v1/staff", &b.hq).await;
    let owner_id = staff.as_array().unwrap().iter().find(|s| s["login"] == "hq").unwrap()["id"].as_i64().unwrap();
    let ops_id = staff.as_array().unwrap().iter().find(|s| s["login"] == "xiaoli").unwrap()["id"].as_i64().unwrap();
    // the brand's only owner cannot be demoted or disabled
    let (status, body) = app.call(Method::PATCH, &format!("/api/v1/staff/{owner_id}"), Some(&b.hq), Some(json!({"role": "auditor"}))).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("last_owner")));
    // disabling a staff member ends its sessions and its logins
    let (status, s) = app.call(Method::PATCH, &format!("/api/v1/staff/{ops_id}"), Some(&b.hq), Some(json!({"active": false}))).await;
    assert_eq!((status, s["active"].as_bool()), (StatusCode::OK, Some(false)));
    assert_eq!(app.get("/api/v1/agents", &ops).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(app.login(&b.code, "xiaoli", PASSWORD).await.0, StatusCode::UNAUTHORIZED);
    // the owner resets an agent's password: the old one and its sessions stop working
    let a = app.agent(&b.hq, "甲", "13800000001", b.tiers[0], None).await;
    let ta = app.agent_token(&b, "13800000001").await;
    assert_eq!(app.post(&format!("/api/v1/agents/{a}/password"), &b.hq, json!({"password": "short"})).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = app.call(Method::POST, &format!("/api/v1/agents/{a}/password"), Some(&b.hq), Some(json!({"password": "a-new-pass-2"}))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(app.get(&format!("/api/v1/agents/{a}"), &ta).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(app.login(&b.code, "13800000001", PASSWORD).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(app.login(&b.code, "13800000001", "a-new-pass-2").await.0, StatusCode::OK);
    app.assert_verified().await;
}

#[tokio::test]
async fn every_hq_write_is_in_the_audit_log_and_verify_notices_an_altered_row() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let auditor = staff_token(&app, &b, "shenji", "auditor").await;
    let ops = staff_token(&app, &b, "yunying", "operations").await;
    let (status, _) = app.call(Method::PATCH, "/api/v1/settings", Some(&b.hq), Some(json!({"hold_days": 3}))).await;
    assert_eq!(status, StatusCode::OK);
    let a = app.agent(&ops, "甲", "13800000001", b.tiers[0], None).await;
    let c = app.agent(&ops, "乙", "13800000002", b.tiers[4], None).await;
    let (status, _) = app.post(&format!("/api/v1/agents/{c}/move"), &ops, json!({"parent_id": a, "reason": "推荐人更正 sponsor corrected"})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, p) = app.get("/api/v1/products/MASK-01", &b.hq).await;
    assert_eq!(status, StatusCode::OK);
    let mut update = p.clone();
    update.as_object_mut().unwrap().retain(|k, _| matches!(k.as_str(), "name" | "retail_price" | "prices" | "retail_floor"));
    update["retail_price"] = json!("209.00");
    assert_eq!(app.call(Method::PUT, "/api/v1/products/MASK-01", Some(&ops), Some(update)).await.0, StatusCode::OK);
    // the auditor reads the log (operations may not); newest first
    assert_eq!(app.get("/api/v1/audit", &ops).await.1["code"], "role_forbidden");
    let (status, log) = app.get("/api/v1/audit", &auditor).await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let rows = log["items"].as_array().unwrap();
    let actions: Vec<&str> = rows.iter().map(|r| r["action"].as_str().unwrap()).collect();
    assert_eq!(&actions[..4], ["product.update", "agent.move", "agent.create", "agent.create"], "{actions:?}");
    assert!(actions.contains(&"settings.update") && actions.contains(&"staff.create"), "{actions:?}");
    let product = &rows[0];
    assert_eq!((product["actor"].as_str(), product["role"].as_str()), (Some("yunying"), Some("operations")));
    assert_eq!((product["before"]["retail_price"].as_str(), product["after"]["retail_price"].as_str()), (Some("199.00"), Some("209.00")));
    assert_eq!(product["request_id"].as_str().map(str::len), Some(16));
    let settings = rows.iter().find(|r| r["action"] == "settings.update").unwrap();
    assert_eq!((settings["before"]["hold_days"].as_i64(), settings["after"]["hold_days"].as_i64(), settings["actor"].as_str()), (Some(7), Some(3), Some("hq")));
    let moved = &rows[1];
    assert_eq!((moved["before"]["parent_id"].clone(), moved["after"]["parent_id"].as_i64()), (Value::Null, Some(a)));
    // filters, and the export
    let (_, mine) = app.get("/api/v1/audit?actor=yunying&action=agent.", &auditor).await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 3);
    let csv = app.client.get(format!("{}/api/v1/audit/export?actor=yunying", app.address)).bearer_auth(&auditor).send().await.unwrap().text().await.unwrap();
    assert_eq!(csv.lines().count(), 5, "header and 4 rows: {csv}");
    // the database refuses to change a row; changed behind the trigger's back, verify names it
    let pool = app.pool.clone();
    let refused = tokio::task::spawn_blocking(move || {
        use diesel::prelude::*;
        let conn = &mut pool.get().unwrap();
        let refused = diesel::sql_query("UPDATE audit_log SET target = 'agent:1'").execute(conn).is_err();
        diesel::sql_query("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only").execute(conn).unwrap();
        diesel::sql_query("UPDATE audit_log SET after = '{\"retail_price\": \"199.00\"}' WHERE action = 'product.update'").execute(conn).unwrap();
        diesel::sql_query("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only").execute(conn).unwrap();
        refused
    })
    .await
    .unwrap();
    assert!(refused, "UPDATE of the audit log must be refused");
    let pool = app.pool.clone();
    let failures = tokio::task::spawn_blocking(move || agent_ledger::verify::run(&mut pool.get().unwrap()).unwrap()).await.unwrap();
    let found: Vec<String> = failures.iter().filter(|(name, _)| name.starts_with("audit log")).flat_map(|(_, rows)| rows.clone()).collect();
    assert!(found.len() == 1 && found[0].contains("was changed"), "{failures:?}");
}

#[tokio::test]
async fn a_stranger_guessing_a_password_does_not_lock_the_owner_out() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let stranger = reqwest::Client::builder().local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2))).build().unwrap();
    let attempt = |password: &'static str| {
        let (client, url, code) = (stranger.clone(), format!("{}/api/v1/auth/login", app.address), b.code.clone());
        async move { client.post(url).json(&json!({"brand": code, "login": "hq", "password": password})).send().await.unwrap().status() }
    };
    for _ in 0..5 {
        assert_eq!(attempt("guess-123").await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(attempt("guess-123").await, StatusCode::TOO_MANY_REQUESTS, "the stranger is slowed");
    assert_eq!(attempt(PASSWORD).await, StatusCode::TOO_MANY_REQUESTS, "even with the right password, from there");
    let (status, body) = app.login(&b.code, "hq", PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "the owner, elsewhere, logs in: {body}");
}
