use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{spawn_app, PASSWORD};

#[tokio::test]
async fn downline_and_upline_on_a_depth_64_tree() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    // a chain c[0] (top) .. c[63], and a leaf beside every 8th link
    let mut chain: Vec<i64> = Vec::new();
    for depth in 0..64 {
        let tier = b.tiers[(depth / 13).min(4)];
        let id = app.agent(&b.hq, &format!("c{depth}"), &format!("1390000{depth:04}"), tier, chain.last().copied()).await;
        chain.push(id);
    }
    let mut leaves = Vec::new();
    for k in (0..64).step_by(8) {
        leaves.push((k, app.agent(&b.hq, &format!("leaf{k}"), &format!("1391000{k:04}"), b.tiers[4], Some(chain[k])).await));
    }

    let (_, deepest) = app.get(&format!("/api/v1/agents/{}", chain[63]), &b.hq).await;
    assert_eq!(deepest["depth"], 64);

    // the whole downline of the top, paged 10 at a time, relative depths
    let got = app.collect_ids(&format!("/api/v1/agents/{}/downline?limit=10", chain[0]), &b.hq).await;
    let mut expected: Vec<(i64, i64)> = chain[1..].iter().enumerate().map(|(i, id)| (*id, i as i64 + 1)).collect();
    expected.extend(leaves.iter().map(|(k, id)| (*id, *k as i64 + 1)));
    assert_eq!(got.iter().copied().collect::<BTreeSet<_>>(), expected.iter().copied().collect::<BTreeSet<_>>());
    assert_eq!(got.len(), expected.len(), "no agent twice across pages");

    // filters: relative depth and tier
    let shallow = app.collect_ids(&format!("/api/v1/agents/{}/downline?max_depth=3", chain[0]), &b.hq).await;
    assert_eq!(shallow.iter().map(|x| x.0).collect::<BTreeSet<_>>(), BTreeSet::from([chain[1], chain[2], chain[3], leaves[0].1]));
    let worst = app.collect_ids(&format!("/api/v1/agents/{}/downline?tier_id={}", chain[40], b.tiers[4]), &b.hq).await;
    let expected_worst: BTreeSet<i64> = chain[52..].iter().copied().chain(leaves.iter().filter(|(k, _)| *k >= 40).map(|x| x.1)).collect();
    assert_eq!(worst.iter().map(|x| x.0).collect::<BTreeSet<_>>(), expected_worst);

    // upline: nearest first, all 63 ancestors, for HQ and for the agent itself
    let up = app.collect_ids(&format!("/api/v1/agents/{}/upline", chain[63]), &b.hq).await;
    assert_eq!(up.iter().map(|x| x.0).collect::<Vec<_>>(), chain[..63].iter().rev().copied().collect::<Vec<_>>());
    let me = app.agent_token(&b, "13900000063").await;
    assert_eq!(app.collect_ids(&format!("/api/v1/agents/{}/upline", chain[63]), &me).await.len(), 63);

    // an agent in the middle sees its subtree and nothing above it
    let mid = app.agent_token(&b, "13900000030").await;
    assert_eq!(app.get(&format!("/api/v1/agents/{}", chain[63]), &mid).await.0, StatusCode::OK);
    assert_eq!(app.get(&format!("/api/v1/agents/{}", chain[29]), &mid).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&format!("/api/v1/agents/{}/upline", chain[40]), &mid).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.collect_ids(&format!("/api/v1/agents/{}/downline?limit=7", chain[30]), &mid).await.len(), 33 + 4);
    app.assert_verified().await;
}

/// max_depth pages skip whole subtrees below the limit, also from a cursor sitting at the
/// limit; the order is depth-first and no agent comes twice.
#[tokio::test]
async fn downline_pages_to_a_depth_skip_deeper_subtrees() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let root = app.agent(&b.hq, "root", "13900000000", b.tiers[0], None).await;
    let mut expected = Vec::new(); // (id, relative depth) in depth-first order, depth <= 2
    let mut n = 1;
    for i in 0..3 {
        let child = app.agent(&b.hq, &format!("c{i}"), &format!("1390000{n:04}"), b.tiers[1], Some(root)).await;
        n += 1;
        expected.push((child, 1));
        for j in 0..3 {
            let grandchild = app.agent(&b.hq, &format!("g{i}{j}"), &format!("1390000{n:04}"), b.tiers[2 + j % 2], Some(child)).await;
            n += 1;
            expected.push((grandchild, 2));
            for k in 0..2 {
                app.agent(&b.hq, &format!("x{i}{j}{k}"), &format!("1390000{n:04}"), b.tiers[4], Some(grandchild)).await;
                n += 1;
            }
        }
    }
    expected.sort_by_key(|&(id, _)| id); // children were created before their own children: ids follow depth-first order
    for limit in [1, 2, 5, 50] {
        let got = app.collect_ids(&format!("/api/v1/agents/{root}/downline?max_depth=2&limit={limit}"), &b.hq).await;
        assert_eq!(got, expected, "limit {limit}");
    }
    let one = app.collect_ids(&format!("/api/v1/agents/{root}/downline?max_depth=1&limit=2"), &b.hq).await;
    assert_eq!(one, expected.iter().copied().filter(|e| e.1 == 1).collect::<Vec<_>>());
    let tier3 = app.collect_ids(&format!("/api/v1/agents/{root}/downline?max_depth=2&tier_id={}&limit=2", b.tiers[3]), &b.hq).await;
    assert_eq!(tier3.len(), 3, "one g?1 per child");
}

#[tokio::test]
async fn moves_carry_the_whole_subtree_and_refuse_cycles() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let mut chain: Vec<i64> = Vec::new();
    for depth in 0..20 {
        chain.push(app.agent(&b.hq, &format!("c{depth}"), &format!("1390000{depth:04}"), b.tiers[1], chain.last().copied()).await);
    }
    let other = app.agent(&b.hq, "other", "13911111111", b.tiers[0], None).await;

    for target in [chain[15], chain[10], chain[19]] {
        let (status, body) = app.post(&format!("/api/v1/agents/{}/move", chain[10]), &b.hq, json!({"parent_id": target})).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("cycle")), "{body}");
    }
    let (status, _) = app.post(&format!("/api/v1/agents/{}/move", chain[10]), &b.hq, json!({"parent_id": 987654})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // c10..c19 go under `other`
    let (status, moved) = app.post(&format!("/api/v1/agents/{}/move", chain[10]), &b.hq, json!({"parent_id": other, "reason": "团队调整 team change"})).await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!((moved["parent_id"].as_i64(), moved["depth"].as_i64()), (Some(other), Some(2)));
    let (_, deepest) = app.get(&format!("/api/v1/agents/{}", chain[19]), &b.hq).await;
    assert_eq!(deepest["depth"], 11);
    let up = app.collect_ids(&format!("/api/v1/agents/{}/upline", chain[19]), &b.hq).await;
    let expected: Vec<i64> = chain[10..19].iter().rev().copied().chain([other]).collect();
    assert_eq!(up.iter().map(|x| x.0).collect::<Vec<_>>(), expected);
    assert_eq!(app.collect_ids(&format!("/api/v1/agents/{}/downline", chain[0]), &b.hq).await.len(), 9);
    assert_eq!(app.collect_ids(&format!("/api/v1/agents/{}/downline", other), &b.hq).await.len(), 10);
    // sponsor is kept through a move
    assert_eq!(app.get(&format!("/api/v1/agents/{}", chain[10]), &b.hq).await.1["sponsor_id"], chain[9]);

    // to the top level, then back
    let (status, top) = app.post(&format!("/api/v1/agents/{}/move", chain[10]), &b.hq, json!({"parent_id": null})).await;
    assert_eq!((status, top["depth"].as_i64(), top["parent_id"].is_null()), (StatusCode::OK, Some(1), true));
    let (status, _) = app.post(&format!("/api/v1/agents/{}/move", chain[10]), &b.hq, json!({"parent_id": chain[9]})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.get(&format!("/api/v1/agents/{}", chain[19]), &b.hq).await.1["depth"], 20);

    let (_, events) = app.get(&format!("/api/v1/agents/{}/events", chain[10]), &b.hq).await;
    let kinds: Vec<(&str, Option<&str>)> = events["items"].as_array().unwrap().iter().map(|e| (e["kind"].as_str().unwrap(), e["new_value"].as_str())).collect();
    let (other_s, nine) = (other.to_string(), chain[9].to_string());
    assert_eq!(kinds, vec![("joined", Some(nine.as_str())), ("moved", Some(other_s.as_str())), ("moved", None), ("moved", Some(nine.as_str()))]);
    assert_eq!(events["items"][1]["reason"], "团队调整 team change", "the move's reason is kept");
    assert!(events["items"][2]["reason"].is_null());

    // agents cannot move anyone
    let agent = app.agent_token(&b, "13900000000").await;
    assert_eq!(app.post(&format!("/api/v1/agents/{}/move", chain[5]), &agent, json!({"parent_id": null})).await.0, StatusCode::FORBIDDEN);
    app.assert_verified().await;
}

#[tokio::test]
async fn agents_see_and_grow_only_their_own_subtree() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let a = app.agent(&b.hq, "A", "13900000001", b.tiers[0], None).await;
    let bb = app.agent(&b.hq, "B", "13900000002", b.tiers[1], Some(a)).await;
    let c = app.agent(&b.hq, "C", "13900000003", b.tiers[2], Some(bb)).await;
    let d = app.agent(&b.hq, "D", "13900000004", b.tiers[1], Some(a)).await;
    let tb = app.agent_token(&b, "13900000002").await;

    assert_eq!(app.get(&format!("/api/v1/agents/{bb}"), &tb).await.0, StatusCode::OK);
    assert_eq!(app.get(&format!("/api/v1/agents/{c}"), &tb).await.0, StatusCode::OK);
    for hidden in [a, d, 999999] {
        let (status, body) = app.get(&format!("/api/v1/agents/{hidden}"), &tb).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
        assert_eq!(app.get(&format!("/api/v1/agents/{hidden}/children"), &tb).await.0, StatusCode::NOT_FOUND);
        assert_eq!(app.get(&format!("/api/v1/agents/{hidden}/downline"), &tb).await.0, StatusCode::NOT_FOUND);
        assert_eq!(app.get(&format!("/api/v1/agents/{hidden}/events"), &tb).await.0, StatusCode::NOT_FOUND);
    }
    assert_eq!(app.collect_ids(&format!("/api/v1/agents/{bb}/downline"), &tb).await, vec![(c, 1)]);

    // B recruits under itself; the recruit's sponsor is B
    let (status, e) = app.post("/api/v1/agents", &tb, json!({"name": "E", "phone": "13900000005", "tier_id": b.tiers[3], "password": PASSWORD})).await;
    assert_eq!(status, StatusCode::CREATED, "{e}");
    assert_eq!((e["parent_id"].as_i64(), e["sponsor_id"].as_i64(), e["depth"].as_i64()), (Some(bb), Some(bb), Some(3)));
    // HQ-created: sponsor is the parent
    assert_eq!(app.get(&format!("/api/v1/agents/{c}"), &b.hq).await.1["sponsor_id"], bb);
    // not under someone else, not into a better tier, not a taken phone
    let (status, _) =
        app.post("/api/v1/agents", &tb, json!({"name": "F", "phone": "13900000006", "tier_id": b.tiers[3], "parent_id": c, "password": PASSWORD})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = app.post("/api/v1/agents", &tb, json!({"name": "F", "phone": "13900000006", "tier_id": b.tiers[0], "password": PASSWORD})).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("tier_above_recruiter")));
    let (status, body) = app.post("/api/v1/agents", &tb, json!({"name": "F", "phone": "13900000001", "tier_id": b.tiers[3], "password": PASSWORD})).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("phone_taken")));
    let (status, _) = app.post("/api/v1/agents", &tb, json!({"name": "F", "phone": "13900000006", "tier_id": b.tiers[3], "password": "short"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // tier and status are HQ's
    assert_eq!(app.post(&format!("/api/v1/agents/{c}/tier"), &tb, json!({"tier_id": b.tiers[1]})).await.0, StatusCode::FORBIDDEN);
    assert_eq!(app.post(&format!("/api/v1/agents/{c}/status"), &tb, json!({"status": "suspended"})).await.0, StatusCode::FORBIDDEN);
    app.assert_verified().await;
}

#[tokio::test]
async fn tier_and_status_changes_are_dated_events() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let a = app.agent(&b.hq, "A", "13900000001", b.tiers[3], None).await;
    let (status, agent) = app.post(&format!("/api/v1/agents/{a}/tier"), &b.hq, json!({"tier_id": b.tiers[2]})).await;
    assert_eq!((status, agent["tier_id"].as_i64()), (StatusCode::OK, Some(b.tiers[2])));
    let (status, _) = app.post(&format!("/api/v1/agents/{a}/tier"), &b.hq, json!({"tier_id": 424242})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, agent) = app.post(&format!("/api/v1/agents/{a}/status"), &b.hq, json!({"status": "suspended"})).await;
    assert_eq!((status, agent["status"].as_str()), (StatusCode::OK, Some("suspended")));
    let (status, body) = app.post(&format!("/api/v1/agents/{a}/status"), &b.hq, json!({"status": "exited"})).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_body")), "exit has its own endpoint");
    app.post(&format!("/api/v1/agents/{a}/status"), &b.hq, json!({"status": "active"})).await;
    let (_, events) = app.get(&format!("/api/v1/agents/{a}/events"), &b.hq).await;
    let got: Vec<(String, String, String)> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .skip(1)
        .map(|e| (e["kind"].as_str().unwrap().into(), e["old_value"].as_str().unwrap().into(), e["new_value"].as_str().unwrap().into()))
        .collect();
    let s = |x: &str| x.to_string();
    assert_eq!(
        got,
        vec![
            (s("tier_changed"), b.tiers[3].to_string(), b.tiers[2].to_string()),
            (s("status_changed"), s("active"), s("suspended")),
            (s("status_changed"), s("suspended"), s("active")),
        ]
    );
    assert!(events["items"][1]["at"].as_str().unwrap().starts_with("20"), "dated");
}

#[tokio::test]
async fn agent_creation_is_idempotent_even_under_concurrent_retries() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let top = app.agent(&b.hq, "Top", "13900000001", b.tiers[0], None).await;
    let body = json!({"name": "New", "phone": "13900000002", "tier_id": b.tiers[1], "parent_id": top, "password": PASSWORD});
    let mut handles = Vec::new();
    for _ in 0..20 {
        let (app_address, token, body) = (app.address.clone(), b.hq.clone(), body.clone());
        handles.push(tokio::spawn(async move {
            let resp = reqwest::Client::new()
                .post(format!("{app_address}/api/v1/agents"))
                .bearer_auth(token)
                .header("Idempotency-Key", "new-agent-1")
                .json(&body)
                .send()
                .await
                .unwrap();
            (resp.status(), resp.text().await.unwrap())
        }));
    }
    let mut responses = BTreeSet::new();
    for h in handles {
        let (status, text) = h.await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{text}");
        responses.insert(text);
    }
    assert_eq!(responses.len(), 1, "every retry got the first response");
    assert_eq!(app.collect_ids(&format!("/api/v1/agents/{top}/children"), &b.hq).await.len(), 1);

    let mut changed = body.clone();
    changed["name"] = json!("Other");
    let (status, problem) = app.call_with(Method::POST, "/api/v1/agents", Some(&b.hq), Some(changed), Some("new-agent-1")).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::CONFLICT, Some("idempotency_conflict")));
    // without the key the retry is a new request, and the phone is taken
    let (status, problem) = app.post("/api/v1/agents", &b.hq, body).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::CONFLICT, Some("phone_taken")));
    app.assert_verified().await;
}

#[tokio::test]
async fn agents_are_found_by_name_fragment_phone_prefix_and_filters_within_what_the_caller_sees() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let a = app.agent(&b.hq, "王芳", "13800000001", b.tiers[0], None).await;
    let bb = app.agent(&b.hq, "李雷", "13800000002", b.tiers[1], Some(a)).await;
    let c = app.agent(&b.hq, "王小明", "13900000003", b.tiers[2], Some(bb)).await;
    let d = app.agent(&b.hq, "张_伟", "13700000004", b.tiers[0], None).await;
    app.post(&format!("/api/v1/agents/{d}/status"), &b.hq, json!({"status": "suspended"})).await;
    let ids = |path: String, token: String| {
        let app = &app;
        async move { app.collect_ids(&path, &token).await.into_iter().map(|(id, _)| id).collect::<Vec<_>>() }
    };
    let hq = || b.hq.clone();
    assert_eq!(ids("/api/v1/agents?q=%E7%8E%8B".into(), hq()).await, vec![a, c], "王: a name fragment");
    assert_eq!(ids("/api/v1/agents?q=1380".into(), hq()).await, vec![a, bb], "a phone prefix");
    assert_eq!(ids("/api/v1/agents?q=0001".into(), hq()).await, Vec::<i64>::new(), "phones match by prefix only");
    assert_eq!(ids("/api/v1/agents?q=%25".into(), hq()).await, Vec::<i64>::new(), "% is a character, not a wildcard");
    assert_eq!(ids("/api/v1/agents?q=_".into(), hq()).await, vec![d], "_ too");
    assert_eq!(ids("/api/v1/agents?top=true".into(), hq()).await, vec![a, d]);
    assert_eq!(ids(format!("/api/v1/agents?parent_id={a}"), hq()).await, vec![bb]);
    assert_eq!(ids("/api/v1/agents?status=suspended".into(), hq()).await, vec![d]);
    assert_eq!(ids(format!("/api/v1/agents?tier_id={}", b.tiers[0]), hq()).await, vec![a, d]);
    assert_eq!(ids("/api/v1/agents?limit=1".into(), hq()).await, vec![a, bb, c, d], "pages follow the cursor");
    // an agent: itself and its subtree, nothing else, whatever it asks
    let tb = app.agent_token(&b, "13800000002").await;
    assert_eq!(ids("/api/v1/agents".into(), tb.clone()).await, vec![bb, c]);
    assert_eq!(ids("/api/v1/agents?q=%E7%8E%8B".into(), tb.clone()).await, vec![c], "王芳 is its upline: not found");
    assert_eq!(ids("/api/v1/agents?top=true".into(), tb.clone()).await, Vec::<i64>::new());
    let (status, body) = app.get("/api/v1/agents?q=a%00b", &b.hq).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_query")), "a NUL byte is refused, not a 500");
    let (status, body) = app.get("/api/v1/agents?status=gone", &b.hq).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_query")));
}
