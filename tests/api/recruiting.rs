//! Recruiting: invite link → public application → approval (each mode) → the new agent under
//! its inviter; dead codes, expiry, duplicates; the 授权书 valid, then revoked; the public
//! check shows nothing that identifies or reaches the agent.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with, Brand, TestApp, PASSWORD};

async fn invite(app: &TestApp, token: &str, agent: i64) -> String {
    let (status, i) = app.get(&format!("/api/v1/agents/{agent}/invite"), token).await;
    assert_eq!(status, StatusCode::OK, "{i}");
    assert!(i["qr_svg"].as_str().unwrap().contains("<svg") && i["url"].as_str().unwrap().ends_with(i["code"].as_str().unwrap()));
    i["code"].as_str().unwrap().to_owned()
}

async fn apply(app: &TestApp, code: &str, phone: &str, tier: i64) -> (StatusCode, Value) {
    app.call(
        Method::POST,
        "/api/v1/applications",
        None,
        Some(json!({"code": code, "name": "新人", "phone": phone, "wechat": "wx_new", "tier_id": tier, "password": PASSWORD})),
    )
    .await
}

async fn mode(app: &TestApp, b: &Brand, m: &str) {
    let (status, s) = app.call(Method::PATCH, "/api/v1/settings", Some(&b.hq), Some(json!({"application_approval": m}))).await;
    assert_eq!(status, StatusCode::OK, "{s}");
}

#[tokio::test]
async fn an_agent_recruits_through_its_link_and_approves_without_hq() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let a = app.agent(&b.hq, "王芳", "13800000001", b.tiers[1], None).await;
    let _other = app.agent(&b.hq, "外人", "13800000009", b.tiers[1], None).await;
    let ta = app.agent_token(&b, "13800000001").await;
    let to = app.agent_token(&b, "13800000009").await;
    assert_eq!(app.get(&format!("/api/v1/agents/{a}/invite"), &to).await.0, StatusCode::NOT_FOUND, "not another agent's link");
    let code = invite(&app, &ta, a).await;
    assert_eq!(invite(&app, &ta, a).await, code, "one live code");
    // refusals write nothing
    assert_eq!(apply(&app, "nosuchcode", "13900000001", b.tiers[4]).await.0, StatusCode::NOT_FOUND);
    assert_eq!(apply(&app, &code, "13900000001", b.tiers[0]).await.1["code"], "tier_above_inviter");
    assert_eq!(apply(&app, &code, "13800000009", b.tiers[4]).await.1["code"], "phone_taken");
    let (status, bad) = app
        .call(
            Method::POST,
            "/api/v1/applications",
            None,
            Some(json!({"code": code, "name": "x\u{0}y", "phone": "13900000001", "tier_id": b.tiers[4], "password": PASSWORD})),
        )
        .await;
    assert_eq!((status, bad["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("validation")));
    let (status, created) = apply(&app, &code, "13900000001", b.tiers[4]).await;
    assert_eq!((status, created["status"].as_str(), created["stage"].as_str()), (StatusCode::CREATED, Some("pending"), Some("inviter")), "{created}");
    assert_eq!(created["token"].as_str().map(str::len), Some(32));
    assert_eq!(apply(&app, &code, "13900000001", b.tiers[4]).await.1["code"], "already_applied", "one open application per phone");
    let id = created["id"].as_i64().unwrap();
    // only the inviter sees and decides it (HQ sees everything)
    assert_eq!(app.get("/api/v1/applications", &to).await.1, json!([]));
    assert_eq!(app.post(&format!("/api/v1/applications/{id}/approve"), &to, json!({})).await.0, StatusCode::NOT_FOUND);
    let (_, mine) = app.get("/api/v1/applications?status=pending", &ta).await;
    assert_eq!(mine[0]["id"].as_i64(), Some(id));
    // 32 concurrent approvals by the inviter: one agent
    let mut handles = Vec::new();
    for _ in 0..32 {
        let (address, t) = (app.address.clone(), ta.clone());
        handles.push(tokio::spawn(async move {
            reqwest::Client::new().post(format!("{address}/api/v1/applications/{id}/approve")).bearer_auth(t).json(&json!({})).send().await.unwrap().status()
        }));
    }
    let mut ok = 0;
    for h in handles {
        let s = h.await.unwrap();
        assert!(s == StatusCode::OK || s == StatusCode::CONFLICT, "{s}");
        ok += usize::from(s == StatusCode::OK);
    }
    assert_eq!(ok, 1);
    let (_, done) = app.get(&format!("/api/v1/applications?status=approved"), &b.hq).await;
    let new_id = done[0]["agent_id"].as_i64().unwrap();
    let (_, agent) = app.get(&format!("/api/v1/agents/{new_id}"), &ta).await;
    assert_eq!((agent["parent_id"].as_i64(), agent["sponsor_id"].as_i64(), agent["tier_id"].as_i64()), (Some(a), Some(a), Some(b.tiers[4])), "{agent}");
    assert_eq!(app.login(&b.code, "13900000001", PASSWORD).await.0, StatusCode::OK, "the password given on the form");
    app.assert_verified().await;
}

#[tokio::test]
async fn hq_decides_alone_or_after_the_inviter_as_the_brand_set() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let a = app.agent(&b.hq, "王芳", "13800000001", b.tiers[1], None).await;
    let ta = app.agent_token(&b, "13800000001").await;
    let code = invite(&app, &ta, a).await;
    // HQ decides
    mode(&app, &b, "hq").await;
    let (_, c1) = apply(&app, &code, "13900000001", b.tiers[4]).await;
    assert_eq!(c1["stage"], "hq");
    assert_eq!(app.post(&format!("/api/v1/applications/{}/approve", c1["id"]), &ta, json!({})).await.1["code"], "waiting_for_hq");
    let (status, r) = app.post(&format!("/api/v1/applications/{}/approve", c1["id"]), &b.hq, json!({})).await;
    assert_eq!((status, r["status"].as_str()), (StatusCode::OK, Some("approved")), "{r}");
    let (_, agent) = app.get(&format!("/api/v1/agents/{}", r["agent_id"]), &b.hq).await;
    assert_eq!((agent["parent_id"].as_i64(), agent["sponsor_id"].as_i64()), (Some(a), Some(a)), "HQ creates it under the inviter");
    // the inviter, then HQ
    mode(&app, &b, "inviter_then_hq").await;
    let (_, c2) = apply(&app, &code, "13900000002", b.tiers[4]).await;
    let id = c2["id"].as_i64().unwrap();
    assert_eq!(app.post(&format!("/api/v1/applications/{id}/approve"), &b.hq, json!({})).await.1["code"], "waiting_for_inviter");
    let (_, r) = app.post(&format!("/api/v1/applications/{id}/approve"), &ta, json!({})).await;
    assert_eq!((r["status"].as_str(), r["stage"].as_str()), (Some("pending"), Some("hq")));
    assert_eq!(app.post(&format!("/api/v1/applications/{id}/reject"), &ta, json!({"reason": "x"})).await.1["code"], "waiting_for_hq");
    let (_, r) = app.post(&format!("/api/v1/applications/{id}/reject"), &b.hq, json!({"reason": "请先完成实名认证 verify your name first"})).await;
    assert_eq!((r["status"].as_str(), r["reason"].as_str()), (Some("rejected"), Some("请先完成实名认证 verify your name first")));
    assert_eq!(app.post(&format!("/api/v1/applications/{id}/approve"), &b.hq, json!({})).await.1["code"], "already_decided");
    app.assert_verified().await;
}

#[tokio::test]
async fn codes_die_with_renewal_suspension_and_exit_and_pending_applications_expire() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let other = app.brand("other").await;
    let a = app.agent(&b.hq, "王芳", "13800000001", b.tiers[1], None).await;
    let ta = app.agent_token(&b, "13800000001").await;
    let code = invite(&app, &ta, a).await;
    assert_eq!(apply(&app, &code, "13900000001", other.tiers[4]).await.1["code"], "unknown_tier", "another brand's tier");
    let (_, c) = apply(&app, &code, "13900000001", b.tiers[4]).await;
    // past its date: refused, and the phone may apply again
    let pool = app.pool.clone();
    tokio::task::spawn_blocking(move || {
        use diesel::prelude::*;
        diesel::sql_query("UPDATE applications SET expires_at = now() - interval '1 minute'").execute(&mut pool.get().unwrap()).unwrap();
    })
    .await
    .unwrap();
    let (status, e) = app.post(&format!("/api/v1/applications/{}/approve", c["id"]), &ta, json!({})).await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::CONFLICT, Some("expired")));
    assert_eq!(apply(&app, &code, "13900000001", b.tiers[4]).await.0, StatusCode::CREATED);
    // a renewed code replaces the old one
    let (_, renewed) = app.post(&format!("/api/v1/agents/{a}/invite/renew"), &ta, json!({})).await;
    let fresh = renewed["code"].as_str().unwrap().to_owned();
    assert_ne!(fresh, code);
    assert_eq!(apply(&app, &code, "13900000002", b.tiers[4]).await.0, StatusCode::NOT_FOUND);
    // a suspended agent's code is dead, and it cannot get one
    app.post(&format!("/api/v1/agents/{a}/status"), &b.hq, json!({"status": "suspended"})).await;
    assert_eq!(apply(&app, &fresh, "13900000002", b.tiers[4]).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&format!("/api/v1/agents/{a}/invite"), &b.hq).await.1["code"], "not_active");
    app.assert_verified().await;
}

#[tokio::test]
async fn a_certificate_is_valid_then_revoked_and_the_public_check_reveals_nothing_more() {
    let app = spawn_app_with(|s| s.public_limit = agent_ledger::auth::limit::LoginLimiter::per_minute(6)).await;
    let b = app.brand("acme").await;
    let a = app.agent(&b.hq, "王芳", "13800000001", b.tiers[1], None).await;
    let ta = app.agent_token(&b, "13800000001").await;
    let (status, cert) = app.get(&format!("/api/v1/agents/{a}/certificate"), &ta).await;
    assert_eq!((status, cert["status"].as_str(), cert["name"].as_str()), (StatusCode::OK, Some("valid"), Some("王芳")), "{cert}");
    let number = cert["number"].as_str().unwrap().to_owned();
    let check = |n: String| {
        let app = &app;
        async move { app.call(Method::GET, &format!("/api/v1/public/certificates/{n}"), None, None).await }
    };
    let (status, public) = check(number.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (public["name_masked"].as_str(), public["status"].as_str(), public["brand"].as_str()),
        (Some("王*"), Some("valid"), Some("Test brand")),
        "{public}"
    );
    let text = public.to_string();
    assert!(!text.contains("13800000001") && !text.contains("王芳") && !text.contains(&format!("\"{a}\"")), "{text}");
    // a tier change revokes it and issues another; exit revokes that one
    app.post(&format!("/api/v1/agents/{a}/tier"), &b.hq, json!({"tier_id": b.tiers[0]})).await;
    assert_eq!(check(number.clone()).await.1["status"], "revoked");
    let (_, second) = app.get(&format!("/api/v1/agents/{a}/certificate"), &b.hq).await;
    assert_ne!(second["number"], cert["number"]);
    assert_eq!(app.post(&format!("/api/v1/agents/{a}/exit"), &b.hq, json!({})).await.0, StatusCode::OK);
    assert_eq!(check(second["number"].as_str().unwrap().to_owned()).await.1["status"], "revoked");
    assert_eq!(check("ABCDEFGHJKMN".into()).await.0, StatusCode::NOT_FOUND);
    // 6 a minute per address (4 used above): the 7th is refused
    for _ in 0..2 {
        assert_eq!(check(number.clone()).await.0, StatusCode::OK);
    }
    assert_eq!(check(number.clone()).await.0, StatusCode::TOO_MANY_REQUESTS);
    app.assert_verified().await;
}

#[tokio::test]
async fn a_first_purchase_threshold_keeps_a_new_agent_waiting_until_it_is_reached_or_waived() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    // 市代 needs a first order of 1000.00 (at 119.40 a unit: 9 units)
    let (status, t) = app
        .call(Method::PUT, &format!("/api/v1/tiers/{}", b.tiers[3]), Some(&b.hq), Some(json!({"rank": 4, "name": "市代", "min_first_order": "1000.00"})))
        .await;
    assert_eq!(status, StatusCode::OK, "{t}");
    let top = app.agent(&b.hq, "王芳", "13800000001", b.tiers[0], None).await;
    let p = app.agent(&b.hq, "李雷", "13800000002", b.tiers[3], Some(top)).await;
    let tp = app.agent_token(&b, "13800000002").await;
    assert_eq!(app.get(&format!("/api/v1/agents/{p}"), &b.hq).await.1["status"], "pending_activation");
    // it recruits nobody and has no link, no certificate yet
    assert_eq!(app.get(&format!("/api/v1/agents/{p}/invite"), &tp).await.1["code"], "not_active");
    let (status, e) =
        app.post("/api/v1/agents", &tp, json!({"name": "x", "phone": "13800000003", "tier_id": b.tiers[4], "parent_id": p, "password": PASSWORD})).await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::CONFLICT, Some("not_active")));
    assert_eq!(app.get(&format!("/api/v1/agents/{p}/certificate"), &tp).await.0, StatusCode::NOT_FOUND);
    // a downline HQ placed under it buys: the waiting agent earns nothing, the next active upline does
    let c = app.agent(&b.hq, "张三", "13800000004", b.tiers[4], Some(p)).await;
    app.post("/api/v1/orders", &b.hq, json!({"kind": "purchase", "buyer_id": c, "lines": [{"sku": "MASK-01", "qty": 1}]})).await;
    assert_eq!(app.get(&format!("/api/v1/agents/{p}/wallet"), &b.hq).await.1["balance"], "0.00");
    assert_eq!(app.get(&format!("/api/v1/agents/{top}/wallet"), &b.hq).await.1["balance"], "79.60", "139.30 − 59.70 to 王芳");
    // 5 units (597.00) are not enough; 4 more (1074.60 in all) are
    let buy = |qty: i64| json!({"kind": "purchase", "lines": [{"sku": "MASK-01", "qty": qty}]});
    let (status, o) = app.post("/api/v1/orders", &tp, buy(5)).await;
    assert_eq!(status, StatusCode::CREATED, "{o}");
    assert_eq!(app.get(&format!("/api/v1/agents/{p}"), &b.hq).await.1["status"], "pending_activation");
    assert_eq!(
        app.post(&format!("/api/v1/agents/{p}/status"), &b.hq, json!({"status": "active"})).await.1["code"],
        "pending_activation",
        "not by the back door"
    );
    assert_eq!(
        app.post(&format!("/api/v1/agents/{p}/status"), &b.hq, json!({"status": "suspended"})).await.1["code"],
        "pending_activation",
        "nor by suspending and resuming"
    );
    assert_eq!(app.post("/api/v1/orders", &tp, buy(4)).await.0, StatusCode::CREATED);
    assert_eq!(app.get(&format!("/api/v1/agents/{p}"), &b.hq).await.1["status"], "active");
    assert_eq!(app.get(&format!("/api/v1/agents/{p}/certificate"), &tp).await.1["status"], "valid");
    let (_, events) = app.get(&format!("/api/v1/agents/{p}/events"), &b.hq).await;
    assert!(events.to_string().contains("1074.60"), "the event says why: {events}");
    // HQ waives another one's threshold, on record
    let q = app.agent(&b.hq, "赵四", "13800000005", b.tiers[3], Some(top)).await;
    assert_eq!(app.post(&format!("/api/v1/agents/{q}/activate"), &b.hq, json!({"reason": " "})).await.1["code"], "reason_required");
    let (status, a) = app.post(&format!("/api/v1/agents/{q}/activate"), &b.hq, json!({"reason": "老代理转入 moved over from another brand"})).await;
    assert_eq!((status, a["status"].as_str()), (StatusCode::OK, Some("active")), "{a}");
    assert_eq!(app.post(&format!("/api/v1/agents/{q}/activate"), &b.hq, json!({"reason": "again"})).await.1["code"], "not_pending");
    let (_, log) = app.get("/api/v1/audit?action=agent.activate", &b.hq).await;
    assert_eq!(log["items"].as_array().unwrap().len(), 1);
    app.assert_verified().await;
}
