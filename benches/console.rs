//! Console page benchmark: the HQ console's pages over HTTP on the 1,011,110-agent tree with
//! ORDERS purchase orders (default 1,000,000) spread over this month and the last, beside
//! `pgbench -S` on the same server. Client-measured round trips on localhost: what a staff
//! member waits for, server time plus a loopback hop.
//!
//! Run: `cargo bench --bench console` (a few minutes, most of it loading; writes
//! target/bench-console.md).

mod common;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use agent_ledger::{db, startup, AppState};
use common::exec;
use diesel::prelude::*;

async fn sample(http: &reqwest::Client, url: &str, n: usize) -> (f64, f64, usize) {
    let mut samples = Vec::with_capacity(n);
    let mut bytes = 0;
    for i in 0..n + 2 {
        let t = Instant::now();
        let resp = http.get(url).send().await.unwrap();
        let status = resp.status();
        let body = resp.bytes().await.unwrap();
        assert!(status.is_success(), "{url}: {status} {}", String::from_utf8_lossy(&body));
        if i >= 2 {
            samples.push(t.elapsed()); // the first two warm the caches
        }
        bytes = body.len();
    }
    let (p50, p99) = common::percentiles(&mut samples);
    (p50, p99, bytes)
}

#[tokio::main]
async fn main() {
    let orders: i64 = std::env::var("ORDERS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let (pg, mut admin) = common::cluster();
    let t = Instant::now();
    let (mut conn, hash) = common::http_bench_brand(&pg, &mut admin, "bench_console", None);
    // Orders over the last 45 days (this month and the last, Shanghai), as in the settlement
    // bench: order, line, journal entry, 3 postings, the buyer's month total.
    exec(&mut conn, "SET session_replication_role = replica");
    exec(
        &mut conn,
        &format!(
            "CREATE TEMP TABLE gen AS
             SELECT p.g AS id, a.id AS buyer, a.parent_id AS parent, (1 + (random() * 19)::int) AS qty,
                    now() - random() * interval '45 days' AS at
               FROM (SELECT g, 1 + (random() * 1011109)::bigint AS pick FROM generate_series(1, {orders}) g) p
               JOIN agents a ON a.brand_id = 1 AND a.id = p.pick"
        ),
    );
    exec(
        &mut conn,
        "INSERT INTO orders (brand_id, id, kind, buyer_id, amount, placed_at, plan_version, created_by, buyer_tier_id, upline, upline_tiers, upline_active, sponsor_id, sponsor_active)
         SELECT 1, g.id, 'purchase', g.buyer, g.qty * 100, g.at, 1, 'bench', 1, '{}', '{}', '{}', g.parent, g.parent IS NOT NULL FROM gen g",
    );
    exec(&mut conn, "INSERT INTO order_lines (brand_id, order_id, line_no, sku, qty, unit_price, amount) SELECT 1, id, 1, 'BOX', qty, 100, qty * 100 FROM gen");
    exec(&mut conn, "INSERT INTO journal_entries (brand_id, id, kind, order_id, occurred_at, created_by) SELECT 1, id, 'purchase', id, at, 'bench' FROM gen");
    exec(
        &mut conn,
        "INSERT INTO postings (brand_id, entry_id, account, agent_id, amount, split_kind, order_id, line_no, occurred_at, available_at, entry_kind)
         SELECT 1, id, 'clearing', NULL::bigint, -qty * 100, NULL::text, id, NULL::int, at, at, 'purchase' FROM gen
         UNION ALL SELECT 1, id, 'revenue', NULL::bigint, qty * CASE WHEN parent IS NULL THEN 100 ELSE 90 END, 'proceeds', id, 1, at, at, 'purchase' FROM gen
         UNION ALL SELECT 1, id, 'wallet', parent, qty * 10, 'differential', id, 1, at, at, 'purchase' FROM gen WHERE parent IS NOT NULL",
    );
    exec(
        &mut conn,
        "INSERT INTO agent_month_purchases (brand_id, month, agent_id, path, units, amount)
         SELECT 1, to_char(g.at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM'), g.buyer, a.path, sum(g.qty), sum(g.qty * 100)
           FROM gen g JOIN agents a ON a.brand_id = 1 AND a.id = g.buyer GROUP BY 2, g.buyer, a.path",
    );
    exec(&mut conn, "INSERT INTO withdrawals (brand_id, agent_id, amount) SELECT 1, buyer, 10 FROM gen LIMIT 200");
    exec(&mut conn, "SET session_replication_role = origin");
    // the bulk load ran without triggers: count the dashboard's figures from the books
    exec(&mut conn, "SELECT month_figures_rebuild(1)");
    exec(&mut conn, &format!("SELECT setval('orders_id_seq', {orders})"));
    exec(&mut conn, &format!("SELECT setval('journal_entries_id_seq', {orders})"));
    exec(&mut conn, "VACUUM ANALYZE");
    println!("loaded 1,011,110 agents and {orders} orders in {:.0} s", t.elapsed().as_secs_f64());
    let top: i64 =
        diesel::sql_query("SELECT min(id) AS id FROM agents WHERE brand_id = 1 AND parent_id IS NULL").get_result::<common::Id>(&mut conn).unwrap().id;
    let leaf: i64 = diesel::sql_query("SELECT max(buyer) AS id FROM gen").get_result::<common::Id>(&mut conn).unwrap().id;
    // the top agent logs in to the portal with a real password
    exec(&mut conn, &format!("UPDATE agents SET password_hash = '{hash}' WHERE brand_id = 1 AND id = {top}"));
    let top_phone = format!("p{top}");
    drop(conn);

    let pool = db::pool(&pg.url("bench_console"), 8).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(startup::run(listener, AppState::new(pool.clone()), 2).unwrap());
    let http = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).timeout(Duration::from_secs(600)).build().unwrap();
    let resp = http.post(format!("{base}/console/login")).form(&[("brand", "bench"), ("login", "hq"), ("password", "bench-password")]).send().await.unwrap();
    assert_eq!(resp.status(), 303, "console login");

    let pages: Vec<(&str, String, usize, f64)> = vec![
        ("agent search: name fragment '12345' (htmx results)", "/console/agents/results?q=12345".into(), 200, 50.0),
        ("agent search: phone prefix 'p10000' (htmx results)", "/console/agents/results?q=p10000".into(), 200, 50.0),
        ("agent search page: name fragment '99' (~40,000 matches)", "/console/agents?q=99".into(), 100, 50.0),
        ("dashboard (12 months)", "/console/".into(), 30, 200.0),
        ("dashboard: 业绩排行 + findings (htmx, after the page)", "/console/ranking".into(), 30, 200.0),
        ("agent page: a top agent (101,110-agent team)", format!("/console/agents/{top}"), 30, 100.0),
        ("agent page: a leaf agent", format!("/console/agents/{leaf}"), 50, 100.0),
        ("tree: top level", "/console/tree".into(), 50, 100.0),
        ("tree: one level under a top agent (htmx)", format!("/console/tree/level?root={top}"), 50, 100.0),
        ("orders: newest 50", "/console/orders".into(), 50, 100.0),
        ("orders: one agent's", format!("/console/orders?agent_id={leaf}"), 50, 100.0),
        ("order page with its cuts", format!("/console/orders/{}", orders / 2), 50, 100.0),
        ("withdrawals queue (with wallets)", "/console/withdrawals".into(), 30, 100.0),
        ("settlement months", "/console/settlement".into(), 50, 100.0),
        ("products and price matrix", "/console/products".into(), 50, 100.0),
        ("plan", "/console/plan".into(), 50, 100.0),
        ("stock and movements", "/console/stock".into(), 50, 100.0),
        ("settings", "/console/settings".into(), 50, 100.0),
        ("reports: the open month's compliance report, computed", "/console/reports".into(), 3, 100.0),
    ];
    let mut rows = Vec::new();
    let agent = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).timeout(Duration::from_secs(600)).build().unwrap();
    let resp =
        agent.post(format!("{base}/m/login")).form(&[("brand", "bench"), ("phone", top_phone.as_str()), ("password", "bench-password")]).send().await.unwrap();
    assert_eq!(resp.status(), 303, "portal login");
    for (name, path, n, budget) in [
        ("portal home: the top agent of a 101,110-agent team", "/m/".to_owned(), 100, 50.0),
        ("portal team: its direct downline with team sizes", "/m/team".to_owned(), 50, 100.0),
        ("portal earnings of the month", "/m/earnings".to_owned(), 50, 100.0),
    ] {
        let (p50, p99, bytes) = sample(&agent, &format!("{base}{path}"), n).await;
        let verdict = if p99 <= budget { "within" } else { "OVER" };
        println!("{name}: p50 {p50:.1} ms, p99 {p99:.1} ms ({verdict} {budget:.0} ms; {bytes} bytes)");
        rows.push(format!("| {name} | `{path}` | {n} | {p50:.1} | {p99:.1} | {budget:.0} ({verdict}) |"));
    }
    for (name, path, n, budget) in &pages {
        let (p50, p99, bytes) = sample(&http, &format!("{base}{path}"), *n).await;
        let verdict = if p99 <= *budget { "within" } else { "OVER" };
        println!("{name}: p50 {p50:.1} ms, p99 {p99:.1} ms ({verdict} {budget:.0} ms; {bytes} bytes)");
        rows.push(format!("| {name} | `{path}` | {n} | {p50:.1} | {p99:.1} | {budget:.0} ({verdict}) |"));
    }
    drop(pool);

    let report = common::pgbench(&pg, &mut admin, &["-i", "-q", "-s", "10"], &["-S", "-c", "1", "-T", "10"]);
    let (latency, tps) = (common::pgbench_value(&report, "latency average"), common::pgbench_value(&report, "tps"));
    println!("baseline pgbench -S -c 1: latency {latency} ms, {tps:.0} tps");
    let md = format!(
        "# Console pages on 1,011,110 agents and {orders} orders\n\n| page | path | samples | p50 ms | p99 ms | budget ms |\n|---|---|---|---|---|---|\n{}\n\nbaseline, pgbench -S -c 1 -T 10 (scale 10), same server: latency {latency:.3} ms, {tps:.0} tps\n",
        rows.join("\n")
    );
    std::fs::write("target/bench-console.md", &md).unwrap();
    println!("{md}");
}
