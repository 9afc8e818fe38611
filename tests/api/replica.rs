//! Reports and lists read from a real PostgreSQL streaming standby (`--replica-url`), built
//! by the test: a primary, `pg_basebackup -R` of it, the standby started and following.
//! With the standby's replay paused, an order placed on the primary shows in the buyer's
//! wallet (primary) at once but not in the sales report (standby) — until replay resumes.

use std::time::{Duration, Instant};

use agent_ledger::db::embedded::{Durability, EmbeddedPostgres};
use agent_ledger::{db, startup, AppState};
use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::TestApp;

fn sql(url: &str, statement: &str) {
    let mut conn = PgConnection::establish(url).unwrap();
    diesel::sql_query(statement).execute(&mut conn).unwrap();
}

async fn purchases(app: &TestApp, token: &str, month: &str) -> String {
    let (status, split) = app.get(&format!("/api/v1/reports/sales-split?month={month}"), token).await;
    assert_eq!(status, StatusCode::OK, "{split}");
    split["purchases"]["amount"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn reports_read_from_a_streaming_standby_and_the_wallet_from_the_primary() {
    let base = std::path::PathBuf::from(concat!(env!("CARGO_TARGET_TMPDIR"), "/replica-test"));
    let _ = std::fs::remove_dir_all(&base);
    let (primary, standby) = tokio::task::spawn_blocking({
        let base = base.clone();
        move || {
            let mut primary = EmbeddedPostgres::new(&base.join("primary")).unwrap();
            primary.ensure_running(Durability::Ephemeral).unwrap();
            sql(&primary.url("postgres"), "CREATE DATABASE ledger");
            db::migrate(&mut PgConnection::establish(&primary.url("ledger")).unwrap()).unwrap();
            let mut standby = EmbeddedPostgres::new(&base.join("standby")).unwrap();
            standby.clone_from(&primary).expect("pg_basebackup");
            standby.ensure_running(Durability::Ephemeral).expect("the standby starts");
            (primary, standby)
        }
    })
    .await
    .unwrap();
    let pool = db::pool(&primary.url("ledger"), 6).unwrap();
    let replica = db::pool(&standby.url("ledger"), 4).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let mut state = AppState::new(pool.clone());
    state.replica = Some(replica);
    tokio::spawn(startup::run(listener, state, 2).unwrap());
    let app = TestApp { address, pool, client: reqwest::Client::new(), url: primary.url("ledger") };

    let b = app.brand("acme").await;
    let a = app.agent(&b.hq, "王芳", "13800000001", b.tiers[2], None).await;
    let buy = |qty: i64| {
        let (app, hq) = (&app, b.hq.clone());
        async move {
            let (status, o) = app.post("/api/v1/orders", &hq, json!({"kind": "purchase", "buyer_id": a, "lines": [{"sku": "MASK-01", "qty": qty}]})).await;
            assert_eq!(status, StatusCode::CREATED, "{o}");
            o
        }
    };
    let first = buy(10).await; // 10 × 99.50
    let month = first["placed_at"].as_str().unwrap()[..7].to_owned();
    let until = Instant::now() + Duration::from_secs(30);
    while purchases(&app, &b.hq, &month).await != "995.00" {
        assert!(Instant::now() < until, "the standby never caught up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // replay paused: the standby stands still while the primary moves on
    sql(&standby.url("postgres"), "SELECT pg_wal_replay_pause()");
    buy(1).await;
    let (_, wallet_before): (StatusCode, Value) = app.get(&format!("/api/v1/agents/{a}/wallet"), &b.hq).await;
    assert!(wallet_before.is_object(), "the wallet reads the primary: {wallet_before}");
    let (_, orders) = app.get(&format!("/api/v1/orders/{}", first["id"].as_i64().unwrap() + 1), &b.hq).await;
    assert_eq!(orders["amount"], "99.50", "one order reads the primary at once: {orders}");
    assert_eq!(purchases(&app, &b.hq, &month).await, "995.00", "the report reads the paused standby");
    sql(&standby.url("postgres"), "SELECT pg_wal_replay_resume()");
    let until = Instant::now() + Duration::from_secs(30);
    while purchases(&app, &b.hq, &month).await != "1094.50" {
        assert!(Instant::now() < until, "the standby never caught up after resuming");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::task::spawn_blocking(move || {
        let (mut primary, mut standby) = (primary, standby);
        standby.stop();
        primary.stop();
    })
    .await
    .unwrap();
    let _ = std::fs::remove_dir_all(&base);
}
