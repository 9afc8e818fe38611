//! Upgrades by rule: proposed at month close and approved by HQ (once under 32 clicks), the
//! agent applying from its phone (not qualified → 422 with its figures; 32 taps → one
//! proposal), `auto` applying at once and at close (team volume with the team rebate off),
//! every change a dated tier event with a new certificate, the past keeping its tier.

use chrono::Duration;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, Brand, TestApp};
use crate::settlement::month_start;

async fn settings(app: &TestApp, b: &Brand, patch: Value) {
    let (status, s) = app.call(Method::PATCH, "/api/v1/settings", Some(&b.hq), Some(patch)).await;
    assert_eq!(status, StatusCode::OK, "{s}");
}

async fn rule(app: &TestApp, b: &Brand, tier: i64, body: Value) -> (StatusCode, Value) {
    app.call(Method::PUT, &format!("/api/v1/upgrades/rules/{tier}"), Some(&b.hq), Some(body)).await
}

async fn buy(app: &TestApp, b: &Brand, buyer: i64, qty: i64, at: chrono::DateTime<chrono::Utc>) {
    let (status, order) = app
        .post("/api/v1/orders", &b.hq, json!({"kind": "purchase", "buyer_id": buyer, "lines": [{"sku": "MASK-01", "qty": qty}], "placed_at": at.to_rfc3339()}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
}

async fn close(app: &TestApp, b: &Brand, month: &str) -> Value {
    let (status, result) = app.post(&format!("/api/v1/periods/{month}/close"), &b.hq, json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{result}");
    result
}

async fn tier_of(app: &TestApp, b: &Brand, agent: i64) -> i64 {
    app.get(&format!("/api/v1/agents/{agent}"), &b.hq).await.1["tier_id"].as_i64().unwrap()
}

/// 32 concurrent POSTs; the statuses.
async fn burst(app: &TestApp, path: &str, token: &str, body: Value) -> Vec<(StatusCode, Value)> {
    let mut handles = Vec::new();
    for _ in 0..32 {
        let (url, t, body) = (format!("{}{path}", app.address), token.to_owned(), body.clone());
        handles.push(tokio::spawn(async move {
            let r = reqwest::Client::new().post(url).bearer_auth(t).json(&body).send().await.unwrap();
            (r.status(), r.json::<Value>().await.unwrap_or(Value::Null))
        }));
    }
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test]
async fn the_close_proposes_upgrades_and_hq_approves_each_once() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let (status, bad) = app.call(Method::PATCH, "/api/v1/settings", Some(&b.hq), Some(json!({"upgrade_mode": "sometimes"}))).await;
    assert_eq!((status, bad["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("validation")));
    settings(&app, &b, json!({"upgrade_mode": "approval"})).await;
    // refusals first: they write nothing
    assert_eq!(rule(&app, &b, b.tiers[4], json!({"months": 1, "own_purchases_min": "1", "combine": "all"})).await.1["code"], "entry_tier");
    assert_eq!(rule(&app, &b, b.tiers[3], json!({"months": 0, "own_purchases_min": "1", "combine": "all"})).await.1["code"], "validation");
    assert_eq!(rule(&app, &b, b.tiers[3], json!({"months": 1, "combine": "any"})).await.1["code"], "validation");
    assert_eq!(rule(&app, &b, b.tiers[3], json!({"months": 1, "own_purchases_min": "0", "combine": "any"})).await.1["code"], "validation");
    assert_eq!(app.get("/api/v1/upgrades/rules", &b.hq).await.1["rules"], json!([]));
    let (status, r) = rule(&app, &b, b.tiers[2], json!({"months": 1, "own_purchases_min": "10000", "combine": "all"})).await;
    assert_eq!((status, r["own_purchases_min"].as_str()), (StatusCode::OK, Some("10000.00")), "{r}");
    rule(&app, &b, b.tiers[3], json!({"months": 1, "own_purchases_min": "1000", "direct_recruits_min": 3, "combine": "any"})).await;
    rule(&app, &b, b.tiers[1], json!({"months": 3, "own_purchases_min": "50000", "direct_recruits_min": 2, "combine": "all"})).await;
    let (_, rules) = app.get("/api/v1/upgrades/rules", &b.hq).await;
    assert_eq!(
        (rules["mode"].as_str(), rules["rules"].as_array().map(Vec::len), rules["rules"][0]["tier_id"].as_i64()),
        (Some("approval"), Some(3), Some(b.tiers[1])),
        "best tier first"
    );

    let joined = month_start(3).1;
    let a = app.agent_joined(&b.hq, "王芳", "13800000001", b.tiers[4], None, joined).await;
    let small = app.agent_joined(&b.hq, "李雷", "13800000002", b.tiers[4], None, joined).await;
    let (month, start) = month_start(1);
    buy(&app, &b, a, 80, start + Duration::days(2)).await; // 80 × 139.30 = 11144.00
    buy(&app, &b, small, 5, start + Duration::days(2)).await; // 696.50
    let (_, cert_before) = app.get(&format!("/api/v1/agents/{a}/certificate"), &b.hq).await;
    assert!(cert_before["number"].is_string(), "{cert_before}");

    let result = close(&app, &b, &month).await;
    assert_eq!(result["upgrades"], json!({"proposed": 1, "applied": 0}), "{result}");
    let (_, queue) = app.get("/api/v1/upgrades?status=pending", &b.hq).await;
    let p = &queue[0];
    assert_eq!(
        (queue.as_array().map(Vec::len), p["agent_id"].as_i64(), p["from_tier_id"].as_i64(), p["to_tier_id"].as_i64()),
        (Some(1), Some(a), Some(b.tiers[4]), Some(b.tiers[2])),
        "straight to 省代: {queue}"
    );
    assert_eq!(
        (p["source"].as_str(), p["figures"]["own_purchases"].as_str(), p["figures"]["months"].clone()),
        (Some("close"), Some("11144.00"), json!([month]))
    );
    assert_eq!(tier_of(&app, &b, a).await, b.tiers[4], "approval mode: nothing changes before HQ decides");

    // the agent sees its way up and its waiting proposal
    let ta = app.agent_token(&b, "13800000001").await;
    let (_, mine) = app.get(&format!("/api/v1/agents/{a}/upgrade"), &ta).await;
    assert_eq!(mine["proposal"]["status"], "pending");
    let to_zongdai = mine["targets"].as_array().unwrap().iter().find(|t| t["tier_id"].as_i64() == Some(b.tiers[1])).unwrap().clone();
    assert_eq!(
        (to_zongdai["qualifies"].as_bool(), to_zongdai["checks"][1]["measure"].as_str(), to_zongdai["checks"][1]["have"].as_str()),
        (Some(false), Some("direct_recruits"), Some("0"))
    );
    assert_eq!(
        app.get(&format!("/api/v1/agents/{a}/upgrade"), &app.agent_token(&b, "13800000002").await).await.0,
        StatusCode::NOT_FOUND,
        "not another agent's"
    );

    // 32 concurrent approvals: one tier change
    let id = p["id"].as_i64().unwrap();
    let answers = burst(&app, &format!("/api/v1/upgrades/{id}/approve"), &b.hq, json!({})).await;
    assert_eq!(answers.iter().filter(|(s, _)| *s == StatusCode::OK).count(), 1);
    assert!(answers.iter().all(|(s, v)| *s == StatusCode::OK || (*s == StatusCode::CONFLICT && v["code"] == "already_decided")), "{answers:?}");
    assert_eq!(tier_of(&app, &b, a).await, b.tiers[2]);
    let (_, events) = app.get(&format!("/api/v1/agents/{a}/events"), &b.hq).await;
    assert_eq!(events["items"].as_array().unwrap().iter().filter(|e| e["kind"] == "tier_changed").count(), 1, "{events}");
    // the past keeps the tier of its time
    let then = (start + Duration::days(3)).to_rfc3339().replace('+', "%2B");
    assert_eq!(app.get(&format!("/api/v1/agents/{a}?as_of={then}"), &b.hq).await.1["tier_id"].as_i64(), Some(b.tiers[4]));
    // a new certificate for the new tier; the old one revoked
    let (_, cert) = app.get(&format!("/api/v1/agents/{a}/certificate"), &b.hq).await;
    assert_ne!(cert["number"], cert_before["number"]);
    let (_, old) = app.call(Method::GET, &format!("/api/v1/public/certificates/{}", cert_before["number"].as_str().unwrap()), None, None).await;
    assert_eq!(old["status"], "revoked", "{old}");
    let (_, audit) = app.get("/api/v1/audit?action=agent.upgrade", &b.hq).await;
    assert_eq!(audit["items"].as_array().map(Vec::len), Some(1), "{audit}");
    app.assert_verified().await;
}

#[tokio::test]
async fn an_agent_applies_from_its_phone_and_auto_applies_at_once() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let joined = month_start(3).1;
    let bb = app.agent_joined(&b.hq, "李雷", "13800000002", b.tiers[4], None, joined).await;
    let other = app.agent(&b.hq, "外人", "13800000009", b.tiers[4], None).await;
    let tb = app.agent_token(&b, "13800000002").await;
    let (month, start) = month_start(1);
    buy(&app, &b, bb, 5, start + Duration::days(2)).await; // 696.50
    close(&app, &b, &month).await;
    rule(&app, &b, b.tiers[3], json!({"months": 2, "own_purchases_min": "1000", "direct_recruits_min": 1, "combine": "any"})).await;
    let apply = |tier: i64| {
        let (app, tb) = (&app, tb.clone());
        async move { app.post(&format!("/api/v1/agents/{bb}/upgrade"), &tb, json!({"tier_id": tier})).await }
    };
    assert_eq!(apply(b.tiers[3]).await.1["code"], "upgrades_off", "the default: HQ re-tiers by hand");
    settings(&app, &b, json!({"upgrade_mode": "approval"})).await;

    let (status, no) = apply(b.tiers[3]).await;
    assert_eq!((status, no["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("not_qualified")), "{no}");
    assert_eq!((no["figures"]["own_purchases"].as_str(), no["figures"]["direct_recruits"].as_i64()), (Some("696.50"), Some(0)));
    assert!(no["detail"].as_str().unwrap().contains("696.50 of 1000.00"), "{no}");
    assert_eq!(apply(b.tiers[0]).await.1["code"], "no_rule");
    assert_eq!(apply(b.tiers[4]).await.1["code"], "not_better");
    assert_eq!(app.post(&format!("/api/v1/agents/{bb}/upgrade"), &b.hq, json!({"tier_id": b.tiers[3]})).await.0, StatusCode::FORBIDDEN);
    assert_eq!(app.post(&format!("/api/v1/agents/{other}/upgrade"), &tb, json!({"tier_id": b.tiers[3]})).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/api/v1/upgrades", &b.hq).await.1, json!([]), "refusals wrote nothing");

    // one active direct recruit is enough (`any`); 32 taps make one proposal
    app.agent(&tb, "新人", "13900000001", b.tiers[4], Some(bb)).await;
    let answers = burst(&app, &format!("/api/v1/agents/{bb}/upgrade"), &tb, json!({"tier_id": b.tiers[3]})).await;
    assert_eq!(answers.iter().filter(|(s, _)| *s == StatusCode::CREATED).count(), 1, "{answers:?}");
    assert!(answers.iter().all(|(s, v)| (*s == StatusCode::CREATED || *s == StatusCode::OK) && v["to_tier_id"].as_i64() == Some(b.tiers[3])));
    let ids: std::collections::BTreeSet<i64> = answers.iter().map(|(_, v)| v["id"].as_i64().unwrap()).collect();
    assert_eq!(ids.len(), 1, "every answer names the same proposal");
    // suspended: the proposal is void; resumed, it applies again and HQ refuses with a reason
    app.post(&format!("/api/v1/agents/{bb}/status"), &b.hq, json!({"status": "suspended"})).await;
    let (_, void) = app.get(&format!("/api/v1/upgrades?agent_id={bb}"), &b.hq).await;
    assert_eq!((void[0]["status"].as_str(), void[0]["reason"].as_str()), (Some("void"), Some("the agent was suspended")));
    app.post(&format!("/api/v1/agents/{bb}/status"), &b.hq, json!({"status": "active"})).await;
    let tb = app.agent_token(&b, "13800000002").await;
    let (status, p) = app.post(&format!("/api/v1/agents/{bb}/upgrade"), &tb, json!({"tier_id": b.tiers[3]})).await;
    assert_eq!(status, StatusCode::CREATED, "{p}");
    let id = p["id"].as_i64().unwrap();
    assert_eq!(app.post(&format!("/api/v1/upgrades/{id}/reject"), &b.hq, json!({})).await.1["code"], "reason_required");
    let (status, r) = app.post(&format!("/api/v1/upgrades/{id}/reject"), &b.hq, json!({"reason": "先把零售做起来"})).await;
    assert_eq!((status, r["status"].as_str()), (StatusCode::OK, Some("rejected")));
    let (_, mine) = app.get(&format!("/api/v1/agents/{bb}/upgrade"), &tb).await;
    assert_eq!(mine["proposal"]["reason"], "先把零售做起来", "the agent sees why");

    // auto: the tier changes with the request; asking again answers the same
    settings(&app, &b, json!({"upgrade_mode": "auto"})).await;
    let (status, p) = apply(b.tiers[3]).await;
    assert_eq!((status, p["status"].as_str(), p["decided_by"].as_str()), (StatusCode::CREATED, Some("applied"), Some("auto")), "{p}");
    assert_eq!(tier_of(&app, &b, bb).await, b.tiers[3]);
    let (status, again) = apply(b.tiers[3]).await;
    assert_eq!((status, again["id"].clone()), (StatusCode::OK, p["id"].clone()));
    app.assert_verified().await;
}

#[tokio::test]
async fn auto_mode_upgrades_at_close_on_team_volume_with_the_team_rebate_off() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    settings(&app, &b, json!({"upgrade_mode": "auto"})).await;
    rule(&app, &b, b.tiers[3], json!({"months": 2, "team_volume_min": "2000", "combine": "all"})).await;
    let joined = month_start(3).1;
    let a = app.agent_joined(&b.hq, "王芳", "13800000001", b.tiers[4], None, joined).await;
    let e = app.agent_joined(&b.hq, "赵敏", "13800000005", b.tiers[4], Some(a), joined).await;
    let (m2, s2) = month_start(2);
    let (m1, s1) = month_start(1);
    buy(&app, &b, e, 8, s2 + Duration::days(1)).await; // 1114.40 in the month before last
    buy(&app, &b, a, 7, s1 + Duration::days(1)).await; // 975.10 last month
    assert_eq!(close(&app, &b, &m2).await["upgrades"], json!({"proposed": 0, "applied": 0}), "1114.40 is not 2000 yet");
    let result = close(&app, &b, &m1).await;
    assert_eq!(result["upgrades"], json!({"proposed": 0, "applied": 1}), "{result}");
    assert_eq!(tier_of(&app, &b, a).await, b.tiers[3], "A's team: 1114.40 + 975.10 over two months");
    assert_eq!(tier_of(&app, &b, e).await, b.tiers[4]);
    let (_, st) = app.get(&format!("/api/v1/agents/{a}/statements/{m1}"), &b.hq).await;
    assert_eq!(st["team_volume"], "975.10", "team volume is kept with the rebate off: {st}");
    let (_, done) = app.get(&format!("/api/v1/upgrades?agent_id={a}"), &b.hq).await;
    assert_eq!(
        (done[0]["status"].as_str(), done[0]["figures"]["team_volume"].as_str(), done[0]["figures"]["months"].clone()),
        (Some("applied"), Some("2089.50"), json!([m2, m1]))
    );
    app.assert_verified().await;
}
