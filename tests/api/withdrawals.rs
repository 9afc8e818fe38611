//! Money out, first half: the queue and history of withdrawals (`GET /withdrawals`), reasons
//! kept on rejection, and one decision per request under 32 concurrent clicks.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, Brand, TestApp};

/// A (best tier) over B (worst tier), hold days 0; B buys 10 masks so A earns 796.00.
async fn earner(app: &TestApp, b: &Brand, phone_a: &str, phone_b: &str) -> (i64, String) {
    let a = app.agent(&b.hq, &format!("甲{phone_a}"), phone_a, b.tiers[0], None).await;
    let buyer = app.agent(&b.hq, &format!("乙{phone_b}"), phone_b, b.tiers[4], Some(a)).await;
    let (status, o) = app.post("/api/v1/orders", &b.hq, json!({"kind": "purchase", "buyer_id": buyer, "lines": [{"sku": "MASK-01", "qty": 10}]})).await;
    assert_eq!(status, StatusCode::CREATED, "{o}");
    let token = app.agent_token(b, phone_a).await;
    app.set_payee(&token, a).await;
    (a, token)
}

fn ids(page: &Value) -> Vec<i64> {
    page["items"].as_array().unwrap().iter().map(|w| w["id"].as_i64().unwrap()).collect()
}

#[tokio::test]
async fn the_queue_lists_newest_first_agents_see_their_own_and_rejections_keep_their_reason() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    app.call(Method::PATCH, "/api/v1/settings", Some(&b.hq), Some(json!({"hold_days": 0}))).await;
    let (a1, t1) = earner(&app, &b, "13800000001", "13800000002").await;
    let (a2, t2) = earner(&app, &b, "13800000003", "13800000004").await;
    let mut made = Vec::new();
    for (a, t, amount) in [(a1, &t1, "100.00"), (a2, &t2, "200.00"), (a1, &t1, "50.00")] {
        let (status, w) = app.post(&format!("/api/v1/agents/{a}/withdrawals"), t, json!({"amount": amount})).await;
        assert_eq!(status, StatusCode::CREATED, "{w}");
        made.push(w["id"].as_i64().unwrap());
    }
    // HQ: the whole queue, newest first, with names; paged by cursor
    let (status, page) = app.get("/api/v1/withdrawals?status=requested", &b.hq).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&page), vec![made[2], made[1], made[0]]);
    assert_eq!(page["items"][1]["agent_name"], "甲13800000003");
    let (_, first) = app.get("/api/v1/withdrawals?limit=2", &b.hq).await;
    let (_, second) = app.get(&format!("/api/v1/withdrawals?limit=2&cursor={}", first["next_cursor"].as_str().unwrap()), &b.hq).await;
    assert_eq!([ids(&first), ids(&second)].concat(), vec![made[2], made[1], made[0]]);
    assert!(second["next_cursor"].is_null());
    // an agent: its own only, and another's is as if absent
    let (_, own) = app.get("/api/v1/withdrawals", &t1).await;
    assert_eq!(ids(&own), vec![made[2], made[0]]);
    assert_eq!(app.get(&format!("/api/v1/withdrawals?agent_id={a2}"), &t1).await.0, StatusCode::NOT_FOUND);
    let (status, body) = app.get("/api/v1/withdrawals?status=paid-ish", &b.hq).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("validation")));
    // a rejection needs a reason, which is kept; nothing changes without one
    for body in [json!({}), json!({"reason": "   "})] {
        let (status, err) = app.post(&format!("/api/v1/withdrawals/{}/reject", made[1]), &b.hq, body).await;
        assert_eq!((status, err["code"].as_str()), (StatusCode::BAD_REQUEST, Some("reason_required")));
    }
    let (_, still) = app.get(&format!("/api/v1/withdrawals?agent_id={a2}"), &b.hq).await;
    assert_eq!(still["items"][0]["status"], "requested");
    let (status, rejected) = app.post(&format!("/api/v1/withdrawals/{}/reject", made[1]), &b.hq, json!({"reason": "账户姓名不符 payee name mismatch"})).await;
    assert_eq!(
        (status, rejected["status"].as_str(), rejected["reason"].as_str()),
        (StatusCode::OK, Some("rejected"), Some("账户姓名不符 payee name mismatch"))
    );
    assert!(rejected["decided_by"].as_str().unwrap().starts_with("hq:"));
    let (_, mine) = app.get("/api/v1/withdrawals?status=rejected", &t2).await;
    assert_eq!(mine["items"][0]["reason"], "账户姓名不符 payee name mismatch", "the agent sees why");
    let (_, wallet) = app.get(&format!("/api/v1/agents/{a2}/wallet"), &t2).await;
    assert_eq!((wallet["available"].as_str(), wallet["pending_withdrawals"].as_str()), (Some("796.00"), Some("0.00")), "rejected money is available again");
    app.assert_verified().await;
}

#[tokio::test]
async fn thirty_two_concurrent_decisions_on_one_withdrawal_decide_it_once() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    app.call(Method::PATCH, "/api/v1/settings", Some(&b.hq), Some(json!({"hold_days": 0}))).await;
    let (a, t) = earner(&app, &b, "13800000001", "13800000002").await;
    for round in 0..3 {
        let (status, w) = app.post(&format!("/api/v1/agents/{a}/withdrawals"), &t, json!({"amount": "10.00"})).await;
        assert_eq!(status, StatusCode::CREATED, "{w}");
        let id = w["id"].as_i64().unwrap();
        let mut handles = Vec::new();
        for i in 0..32 {
            let (address, hq) = (app.address.clone(), b.hq.clone());
            handles.push(tokio::spawn(async move {
                let (path, body) = if i % 2 == 0 { ("approve", json!({})) } else { ("reject", json!({"reason": "duplicate"})) };
                reqwest::Client::new().post(format!("{address}/api/v1/withdrawals/{id}/{path}")).bearer_auth(hq).json(&body).send().await.unwrap().status()
            }));
        }
        let mut statuses = Vec::new();
        for h in handles {
            statuses.push(h.await.unwrap());
        }
        let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
        let conflicts = statuses.iter().filter(|s| **s == StatusCode::CONFLICT).count();
        assert_eq!((ok, conflicts), (1, 31), "round {round}: {statuses:?}");
    }
    // whatever was approved was paid once: balance = 796.00 − 10.00 × approvals
    let (_, approved) = app.get("/api/v1/withdrawals?status=approved", &b.hq).await;
    let paid = approved["items"].as_array().unwrap().len() as i64;
    let (_, wallet) = app.get(&format!("/api/v1/agents/{a}/wallet"), &t).await;
    assert_eq!(wallet["balance"].as_str().unwrap(), format!("{}.00", 796 - 10 * paid));
    app.assert_verified().await;
}
