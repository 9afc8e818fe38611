//! Customers and growth benchmark (issue 17): the 1,011,110-agent tree with RETAIL retail
//! orders (default 4,000,000) to 2,000,000 customer phones — each customer buys from one
//! agent, as customers do — and PURCHASES purchase orders (default 1,000,000), spread over
//! this month, the last and the one before. Measures, over HTTP on localhost beside
//! `pgbench -S` on the same server:
//! - an agent's customer list and its 复购提醒 (the agent with the most customers, and a
//!   typical one);
//! - the growth figures of a month: the brand's for a closed month (kept at close), the
//!   brand's for the open month (computed live), a 101,110-agent team's and one agent's;
//! - what computing the brand's figures at close costs.
//!
//! Run: `cargo bench --bench growth` (writes target/bench-growth.md).

mod common;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use agent_ledger::{db, startup, AppState};
use common::exec;
use diesel::prelude::*;

async fn sample(http: &reqwest::Client, token: &str, url: &str, n: usize) -> (f64, f64, usize) {
    let mut samples = Vec::with_capacity(n);
    let mut bytes = 0;
    for i in 0..n + 2 {
        let t = Instant::now();
        let resp = http.get(url).bearer_auth(token).send().await.unwrap();
        let status = resp.status();
        let body = resp.bytes().await.unwrap();
        assert!(status.is_success(), "{url}: {status} {}", String::from_utf8_lossy(&body));
        if i >= 2 {
            samples.push(t.elapsed());
        }
        bytes = body.len();
    }
    let (p50, p99) = common::percentiles(&mut samples);
    (p50, p99, bytes)
}

#[tokio::main]
async fn main() {
    let env = |k: &str, d: i64| std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d);
    let (retail, purchases) = (env("RETAIL", 4_000_000), env("PURCHASES", 1_000_000));
    let (pg, mut admin) = common::cluster();
    let t = Instant::now();
    let (mut conn, _) = common::http_bench_brand(&pg, &mut admin, "bench_growth", Some(30));
    exec(&mut conn, "SET session_replication_role = replica");
    // the month before last starts ≤ 62 days back: orders over the last 75 days cover three
    // months; customers stick to their agent (the seller is a hash of the customer's phone)
    exec(
        &mut conn,
        &format!(
            "CREATE TEMP TABLE gen AS
             SELECT g AS id, 1 + abs(hashtext('13' || lpad(c::text, 9, '0'))) % 1011110 AS seller, '13' || lpad(c::text, 9, '0') AS phone,
                    1 + (random() * 2)::int AS qty, now() - random() * interval '75 days' AS at
               FROM (SELECT g, 1 + (random() * 1999999)::bigint AS c FROM generate_series(1, {retail}) g) x"
        ),
    );
    exec(
        &mut conn,
        "INSERT INTO orders (brand_id, id, kind, seller_id, customer_name, customer_phone, amount, placed_at, created_by)
         SELECT 1, id, 'retail', seller, '顾客', phone, qty * 100, at, 'bench' FROM gen",
    );
    exec(&mut conn, "INSERT INTO order_lines (brand_id, order_id, line_no, sku, qty, unit_price, amount) SELECT 1, id, 1, 'BOX', qty, 100, qty * 100 FROM gen");
    exec(
        &mut conn,
        &format!(
            "INSERT INTO orders (brand_id, id, kind, buyer_id, amount, placed_at, plan_version, created_by, buyer_tier_id, upline, upline_tiers, upline_active, sponsor_id, sponsor_active)
             SELECT 1, {retail} + g, 'purchase', 1 + (random() * 1011109)::bigint, 1000, now() - random() * interval '75 days', 1, 'bench', 1, '{{}}', '{{}}', '{{}}', NULL, false
               FROM generate_series(1, {purchases}) g"
        ),
    );
    exec(&mut conn, &format!("INSERT INTO order_lines (brand_id, order_id, line_no, sku, qty, unit_price, amount) SELECT 1, id, 1, 'BOX', 10, 100, 1000 FROM orders WHERE brand_id = 1 AND id > {retail}"));
    // one big seller: 5,000 regular customers, two orders each
    exec(
        &mut conn,
        &format!(
            "INSERT INTO orders (brand_id, id, kind, seller_id, customer_name, customer_phone, amount, placed_at, created_by)
             SELECT 1, {retail} + {purchases} + g, 'retail', 7, '顾客', '15' || lpad((g % 5000)::text, 9, '0'), 100, now() - random() * interval '75 days', 'bench'
               FROM generate_series(1, 10000) g"
        ),
    );
    exec(&mut conn, &format!("INSERT INTO order_lines (brand_id, order_id, line_no, sku, qty, unit_price, amount) SELECT 1, id, 1, 'BOX', 1, 100, 100 FROM orders WHERE brand_id = 1 AND id > {retail} + {purchases}"));
    exec(&mut conn, "INSERT INTO stock (brand_id, agent_id, sku, qty, avg_cost) SELECT 1, id, 'BOX', 5, 100 FROM agents WHERE brand_id = 1 AND id % 3 = 0");
    exec(&mut conn, "SET session_replication_role = origin");
    exec(&mut conn, &format!("SELECT setval('orders_id_seq', {})", retail + purchases + 10_000));
    exec(&mut conn, "VACUUM ANALYZE");
    #[derive(QueryableByName)]
    struct Counts {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        customers: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        busiest: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        typical: i64,
    }
    let c: Counts = diesel::sql_query(
        "WITH per AS (SELECT seller_id, count(DISTINCT customer_phone) AS n FROM orders WHERE brand_id = 1 AND kind = 'retail' AND seller_id <> 7 GROUP BY 1)
         SELECT (SELECT count(DISTINCT customer_phone) FROM orders WHERE brand_id = 1 AND kind = 'retail') AS customers,
                (SELECT seller_id FROM per ORDER BY n DESC, seller_id LIMIT 1) AS busiest,
                (SELECT seller_id FROM per WHERE n = (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY n) FROM per) ORDER BY seller_id LIMIT 1) AS typical",
    )
    .get_result(&mut conn)
    .unwrap();
    println!("loaded 1,011,110 agents, {retail} retail orders to {} customers and {purchases} purchases in {:.0} s", c.customers, t.elapsed().as_secs_f64());
    let top: i64 =
        diesel::sql_query("SELECT min(id) AS id FROM agents WHERE brand_id = 1 AND parent_id IS NULL").get_result::<common::Id>(&mut conn).unwrap().id;

    // last month closed: the brand's figures are computed and kept as at close
    let tz = "Asia/Shanghai";
    let now = chrono::Utc::now();
    let this_month = agent_ledger::period::month_of(now, tz).unwrap();
    let (start, _) = agent_ledger::period::month_bounds(&this_month, tz).unwrap();
    let last = agent_ledger::period::month_of(start - chrono::Duration::microseconds(1), tz).unwrap();
    let (ls, le) = agent_ledger::period::month_bounds(&last, tz).unwrap();
    exec(
        &mut conn,
        &format!(
            "INSERT INTO periods (brand_id, month, starts_at, ends_at, closed_by) VALUES (1, '{last}', '{}', '{}', 'bench')",
            ls.to_rfc3339(),
            le.to_rfc3339()
        ),
    );
    let t = Instant::now();
    agent_ledger::growth::keep(&mut conn, 1, &last).unwrap();
    let keep_ms = t.elapsed().as_secs_f64() * 1000.0;
    println!("the brand's figures of {last} computed and kept at close: {keep_ms:.0} ms");
    drop(conn);

    let pool = db::pool(&pg.url("bench_growth"), 8).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(startup::run(listener, AppState::new(pool.clone()), 2).unwrap());
    let http = reqwest::Client::builder().timeout(Duration::from_secs(600)).build().unwrap();
    let login: serde_json::Value = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"brand": "bench", "login": "hq", "password": "bench-password"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap().to_owned();

    let cases: Vec<(String, String, usize, f64)> = vec![
        ("customers of the busiest random agent, first page of 50".to_owned(), format!("/api/v1/agents/{}/customers", c.busiest), 100, 100.0),
        ("复购提醒 of the busiest random agent".to_owned(), format!("/api/v1/agents/{}/customers?due=true", c.busiest), 100, 100.0),
        ("customers of an agent with 5,000 customers, first page of 50".into(), "/api/v1/agents/7/customers".into(), 50, 100.0),
        ("复购提醒 of an agent with 5,000 customers".into(), "/api/v1/agents/7/customers?due=true".into(), 50, 100.0),
        ("customers of a typical agent (median)".into(), format!("/api/v1/agents/{}/customers", c.typical), 100, 100.0),
        ("复购提醒 of a typical agent".into(), format!("/api/v1/agents/{}/customers?due=true", c.typical), 100, 100.0),
        (format!("growth, brand, closed month {last} (kept at close)"), format!("/api/v1/reports/growth?month={last}"), 100, 100.0),
        ("growth, one agent (self), open month".into(), format!("/api/v1/reports/growth?month={this_month}&agent_id={}&scope=self", c.typical), 100, 100.0),
        (
            format!("growth, a 101,110-agent team, closed month {last} (today's tree)"),
            format!("/api/v1/reports/growth?month={last}&agent_id={top}&scope=team"),
            5,
            100.0,
        ),
        (format!("growth, brand, open month {this_month} (live)"), format!("/api/v1/reports/growth?month={this_month}"), 5, 100.0),
    ];
    let mut rows = Vec::new();
    for (name, path, n, budget) in &cases {
        let (p50, p99, bytes) = sample(&http, &token, &format!("{base}{path}"), *n).await;
        let verdict = if p99 <= *budget { "within" } else { "OVER" };
        println!("{name}: p50 {p50:.1} ms, p99 {p99:.1} ms ({verdict} {budget:.0} ms; {bytes} bytes)");
        rows.push(format!("| {name} | {n} | {p50:.1} | {p99:.1} | {budget:.0} ({verdict}) |"));
    }
    drop(pool);
    let report = common::pgbench(&pg, &mut admin, &["-i", "-q", "-s", "10"], &["-S", "-c", "1", "-T", "10"]);
    let (latency, tps) = (common::pgbench_value(&report, "latency average"), common::pgbench_value(&report, "tps"));
    println!("baseline pgbench -S -c 1: latency {latency} ms, {tps:.0} tps");
    let md = format!(
        "# Customers and growth on 1,011,110 agents, {retail} retail orders to {} customers, {purchases} purchases\n\n| request | samples | p50 ms | p99 ms | budget ms |\n|---|---|---|---|---|\n{}\n\nthe brand's figures computed and kept at close: {keep_ms:.0} ms\n\nbaseline, pgbench -S -c 1 -T 10 (scale 10), same server: latency {latency:.3} ms, {tps:.0} tps\n",
        c.customers,
        rows.join("\n")
    );
    std::fs::write("target/bench-growth.md", &md).unwrap();
    println!("{md}");
}
