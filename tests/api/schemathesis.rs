//! Schemathesis over the whole OpenAPI document, against a real server with a brand in it:
//! every operation, the coverage, fuzzing and stateful phases, every check — with
//! `schemathesis.toml` saying which statuses a schema-valid request may get (409 and 422: a
//! rule the schema cannot state). It must find nothing: no 5xx, no answer outside the
//! documented statuses, content types, headers and schemas, no route answering a method it
//! does not document, no schema-valid request refused as malformed (400), no request the
//! schema rules out accepted. A fixed seed keeps CI reproducible; the
//! longer random runs are in docs/reliability.md.

use std::process::Command;

use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn schemathesis_finds_no_server_error_and_no_schema_violation() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    // something to find: agents, an order, an invite
    let top = app.agent(&b.hq, "王芳", "13800000001", b.tiers[0], None).await;
    let mid = app.agent(&b.hq, "李雷", "13800000002", b.tiers[2], Some(top)).await;
    let (status, order) = app.post("/api/v1/orders", &b.hq, json!({"kind": "purchase", "buyer_id": mid, "lines": [{"sku": "MASK-01", "qty": 3}]})).await;
    assert!(status.is_success(), "{order}");
    let out = tokio::task::spawn_blocking({
        let (address, token) = (app.address.clone(), b.hq.clone());
        move || {
            Command::new("schemathesis")
                .args(["--config-file", concat!(env!("CARGO_MANIFEST_DIR"), "/schemathesis.toml")])
                .args(["run", &format!("{address}/api/openapi.json"), "--header", &format!("Authorization: Bearer {token}")])
                .args(["--phases", "coverage,fuzzing,stateful", "--max-examples", "15", "--seed", "20261127"])
                // logging out ends the session the rest of the run uses
                .args(["--exclude-path", "/api/v1/auth/logout"])
                .env("NO_COLOR", "1")
                .output()
        }
    })
    .await
    .unwrap()
    .expect("schemathesis must be installed for the test suite (pip install schemathesis; .ci/run does it)");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let summary: String = text.lines().skip_while(|l| !l.contains("SUMMARY")).collect::<Vec<_>>().join("\n");
    println!("{summary}");
    assert!(out.status.success(), "schemathesis found problems:\n{text}");
    let (_, doc) = app.call(reqwest::Method::GET, "/api/openapi.json", None, None).await;
    let operations: usize = doc["paths"].as_object().unwrap().values().map(|p| p.as_object().unwrap().len()).sum();
    assert!(summary.contains(&format!("Tested: {}", operations - 1)) && summary.contains("passed"), "every operation but logout was tried:\n{summary}");
}
