//! The fault harness. A bounded order load — every order retried under its own
//! Idempotency-Key until it has an answer — while (1) the server, run as its own process, is
//! killed with SIGKILL and restarted, twice; and (2) PostgreSQL is stopped immediately (as a
//! crash would) under a server in embedded mode, which starts it again. Each asserts: every
//! order answered, none lost, none twice, none half-written (an order without its journal
//! entry), and `verify` clean. The figures are printed (`--nocapture`) and kept in
//! docs/reliability.md.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use agent_ledger::db::embedded::EmbeddedPostgres;
use diesel::prelude::*;
use serde_json::json;

use crate::helpers::{spawn_app, TestApp};

const ORDERS: usize = 200;
const CLIENTS: usize = 8;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn server(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_agent-ledger"))
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the agent-ledger binary")
}

async fn healthy(address: &str, within: Duration) {
    let until = Instant::now() + within;
    while Instant::now() < until {
        if reqwest::get(format!("{address}/health")).await.is_ok_and(|r| r.status().is_success()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{address} did not become healthy within {within:?}");
}

#[derive(Default)]
struct Figures {
    answered: AtomicUsize,
    retries: AtomicUsize,
    unavailable: AtomicUsize,
}

/// `ORDERS` purchases over `CLIENTS` connections, each retried under its key until 201.
/// Returns (key, order id) of each.
async fn load(address: String, token: String, buyers: Vec<i64>, figures: Arc<Figures>, tag: &'static str) -> Vec<(String, i64)> {
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let (address, token, buyers, figures) = (address.clone(), token.clone(), buyers.clone(), figures.clone());
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder().timeout(Duration::from_secs(15)).build().unwrap();
            let mut out = Vec::new();
            for i in (c..ORDERS).step_by(CLIENTS) {
                let key = format!("{tag}-{i}");
                let body = json!({"kind": "purchase", "buyer_id": buyers[i % buyers.len()], "lines": [{"sku": "MASK-01", "qty": 1 + (i % 3)}]});
                let mut attempts = 0;
                loop {
                    attempts += 1;
                    assert!(attempts < 2000, "order {key} never got an answer");
                    let sent = client.post(format!("{address}/api/v1/orders")).bearer_auth(&token).header("Idempotency-Key", &key).json(&body).send().await;
                    match sent {
                        Ok(r) if r.status().as_u16() == 201 => {
                            let order: serde_json::Value = r.json().await.unwrap();
                            out.push((key.clone(), order["id"].as_i64().unwrap()));
                            figures.answered.fetch_add(1, Ordering::SeqCst);
                            break;
                        }
                        Ok(r) if r.status().as_u16() == 503 => {
                            figures.unavailable.fetch_add(1, Ordering::SeqCst);
                        }
                        Ok(r) => panic!("order {key}: {} {}", r.status(), r.text().await.unwrap_or_default()),
                        // the server is down (killed) or the connection broke mid-request
                        Err(_) => {}
                    }
                    figures.retries.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
            out
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all
}

async fn wait_for(figures: &Figures, answered: usize) {
    while figures.answered.load(Ordering::SeqCst) < answered {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Nothing lost, nothing twice, nothing half-written, verify clean.
async fn assert_books(app: &TestApp, results: &[(String, i64)]) -> (i64, i64, i64) {
    assert_eq!(results.len(), ORDERS, "every order answered");
    let ids: std::collections::BTreeSet<i64> = results.iter().map(|r| r.1).collect();
    assert_eq!(ids.len(), ORDERS, "one order per key: no key answered with two orders");
    let pool = app.pool.clone();
    let (orders, keys, half) = tokio::task::spawn_blocking(move || {
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut conn = agent_ledger::db::checkout(&pool).unwrap();
        let count = |conn: &mut PgConnection, sql: &str| diesel::sql_query(sql).get_result::<N>(conn).unwrap().n;
        (
            count(&mut conn, "SELECT count(*) AS n FROM orders"),
            count(&mut conn, "SELECT count(*) AS n FROM idempotency_keys WHERE key LIKE 'f%'"),
            count(
                &mut conn,
                "SELECT count(*) AS n FROM orders o WHERE NOT EXISTS (SELECT 1 FROM journal_entries e WHERE e.brand_id = o.brand_id AND e.order_id = o.id)",
            ),
        )
    })
    .await
    .unwrap();
    assert_eq!(orders, ORDERS as i64, "orders in the books: none lost, none duplicated");
    assert_eq!(keys, ORDERS as i64, "one stored answer per key");
    assert_eq!(half, 0, "no order without its journal entry");
    app.assert_verified().await;
    (orders, keys, half)
}

#[tokio::test]
async fn orders_survive_the_server_killed_twice() {
    let app = spawn_app().await;
    let b = app.brand("acme").await;
    let mut buyers = Vec::new();
    for (i, tier) in [0usize, 2, 4].iter().enumerate() {
        buyers.push(app.agent(&b.hq, &format!("代理{i}"), &format!("1380000000{i}"), b.tiers[*tier], None).await);
    }
    let port = free_port();
    let address = format!("http://127.0.0.1:{port}");
    let bind = format!("127.0.0.1:{port}");
    let args = ["--database-url", app.url.as_str(), "serve", "--bind", bind.as_str(), "--workers", "2"];
    let mut child = server(&args);
    healthy(&address, Duration::from_secs(30)).await;
    let figures = Arc::new(Figures::default());
    let started = Instant::now();
    let load = tokio::spawn(load(address.clone(), b.hq.clone(), buyers, figures.clone(), "fk"));
    let mut kills = 0;
    for at in [ORDERS / 3, 2 * ORDERS / 3] {
        wait_for(&figures, at).await;
        child.kill().unwrap(); // SIGKILL: no shutdown, requests cut mid-flight
        child.wait().unwrap();
        kills += 1;
        tokio::time::sleep(Duration::from_millis(300)).await;
        child = server(&args);
    }
    let results = load.await.unwrap();
    let elapsed = started.elapsed();
    child.kill().unwrap();
    child.wait().unwrap();
    let (orders, keys, half) = assert_books(&app, &results).await;
    println!(
        "fault harness, server SIGKILL: {ORDERS} orders over {CLIENTS} clients, {kills} kills, {} retries, {} answered 503; in the books {orders} orders, {keys} keys, {half} half-written; 0 lost, 0 duplicated; verify clean; {:.1} s",
        figures.retries.load(Ordering::SeqCst),
        figures.unavailable.load(Ordering::SeqCst),
        elapsed.as_secs_f64()
    );
}

#[tokio::test]
async fn orders_survive_postgresql_stopped_immediately() {
    let dir = std::path::PathBuf::from(concat!(env!("CARGO_TARGET_TMPDIR"), "/faults-pg"));
    let _ = std::fs::remove_dir_all(&dir);
    let port = free_port();
    let address = format!("http://127.0.0.1:{port}");
    let bind = format!("127.0.0.1:{port}");
    let data = dir.to_string_lossy().into_owned();
    // embedded mode: the server runs its own PostgreSQL and watches it
    let mut child = server(&["--data-dir", &data, "serve", "--bind", &bind, "--workers", "2"]);
    healthy(&address, Duration::from_secs(120)).await;
    let pg = EmbeddedPostgres::new(&dir).unwrap();
    let url = pg.url("agent_ledger");
    let app = TestApp { address: address.clone(), pool: agent_ledger::db::pool(&url, 4).unwrap(), client: reqwest::Client::new(), url };
    let b = app.brand("acme").await;
    let mut buyers = Vec::new();
    for (i, tier) in [0usize, 2, 4].iter().enumerate() {
        buyers.push(app.agent(&b.hq, &format!("代理{i}"), &format!("1380000000{i}"), b.tiers[*tier], None).await);
    }
    let figures = Arc::new(Figures::default());
    let started = Instant::now();
    let load = tokio::spawn(load(address.clone(), b.hq.clone(), buyers, figures.clone(), "fp"));
    wait_for(&figures, ORDERS / 3).await;
    tokio::task::spawn_blocking(move || pg.crash()).await.unwrap().expect("pg_ctl stop -m immediate");
    let crashed_at = Instant::now();
    let results = load.await.unwrap();
    let elapsed = started.elapsed();
    let (orders, keys, half) = assert_books(&app, &results).await;
    println!(
        "fault harness, PostgreSQL stopped immediately: {ORDERS} orders over {CLIENTS} clients, 1 crash (restarted by the server's watchdog), {} retries, {} answered 503 (Retry-After); in the books {orders} orders, {keys} keys, {half} half-written; 0 lost, 0 duplicated; verify clean; {:.1} s ({:.1} s after the crash)",
        figures.retries.load(Ordering::SeqCst),
        figures.unavailable.load(Ordering::SeqCst),
        elapsed.as_secs_f64(),
        crashed_at.elapsed().as_secs_f64()
    );
    // a clean stop: SIGTERM lets the server stop its PostgreSQL
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let until = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if child.try_wait().unwrap().is_none() {
        child.kill().unwrap();
        let _ = EmbeddedPostgres::new(&dir).unwrap().crash();
    }
    let _ = std::fs::remove_dir_all(&dir);
}
