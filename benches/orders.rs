//! Order throughput over HTTP: many concurrent clients place purchase orders into a depth-10
//! pyramid where every order credits the same top agents (differentials and peer bonuses),
//! beside pgbench TPC-B with the same client count on the same PostgreSQL.
//!
//! Run: `cargo bench --bench orders` (about a minute; writes target/bench-orders.md).
//! CLIENTS and SECONDS override the defaults (16 clients, 20 s); BATCH=N posts N orders per
//! `POST /orders/batch`; BUYERS=N spreads the orders over N buyers per client (default 4);
//! AS=agents has each client log in as an agent buying for itself (default: HQ places all);
//! IMPORT=N first imports a CSV of N orders with `agent-ledger import`'s own function, twice.

mod common;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use agent_ledger::{db, startup, AppState};
use serde_json::{json, Value};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

async fn call(client: &reqwest::Client, url: String, token: Option<&str>, body: Value) -> Value {
    let mut req = client.post(url).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let body: Value = resp.json().await.unwrap();
    assert!(status.is_success(), "{status}: {body}");
    body
}

#[tokio::main]
async fn main() {
    let clients = env_or("CLIENTS", 16);
    let batch = env_or("BATCH", 1);
    // BUYERS=N: N distinct buyers per client (an import touches many agents; default 4)
    let per_client = env_or("BUYERS", 4);
    let seconds = env_or("SECONDS", 20) as u64;
    let (pg, mut admin) = common::cluster();
    common::fresh_database(&mut admin, "bench_orders");
    let pool = db::pool(&pg.url("bench_orders"), clients as u32 + 4).unwrap();
    db::migrate(&mut pool.get().unwrap()).unwrap();
    agent_ledger::brands::create_brand(&mut pool.get().unwrap(), "bench", "Bench", "hq", "bench-password").unwrap();
    // FIGURES=off: without the dashboard's figure triggers, to measure what they cost
    let figures = std::env::var("FIGURES").unwrap_or_default();
    for (table, trigger) in [
        ("orders", "month_figures_order"),
        ("refund_lines", "month_figures_refund"),
        ("journal_entries", "month_figures_entry"),
        ("agents", "month_figures_agent"),
    ] {
        if figures == "off" || figures == format!("no-{table}") {
            common::exec(&mut pool.get().unwrap(), &format!("ALTER TABLE {table} DISABLE TRIGGER {trigger}"));
        }
    }

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/api/v1", listener.local_addr().unwrap());
    tokio::spawn(startup::run(listener, AppState::new(pool.clone()), 2).unwrap());
    let http = reqwest::Client::new();
    let hq = call(&http, format!("{base}/auth/login"), None, json!({"brand": "bench", "login": "hq", "password": "bench-password"})).await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut tiers = Vec::new();
    for rank in 1..=5 {
        tiers.push(call(&http, format!("{base}/tiers"), Some(&hq), json!({"rank": rank, "name": format!("T{rank}")})).await["id"].as_i64().unwrap());
    }
    let prices: serde_json::Map<String, Value> =
        tiers.iter().zip(["59.70", "79.60", "99.50", "119.40", "139.30"]).map(|(t, p)| (t.to_string(), json!(p))).collect();
    call(&http, format!("{base}/products"), Some(&hq), json!({"sku": "MASK-01", "name": "Mask", "retail_price": "199.00", "prices": prices})).await;
    let plan = json!({"effective_from": "2020-01-01T00:00:00Z", "differential": {"enabled": true}, "peer_bonus": {"enabled": true, "rates": ["0.03", "0.01"]}});
    let resp = http.put(format!("{base}/plan")).bearer_auth(&hq).json(&plan).send().await.unwrap();
    assert!(resp.status().is_success());

    // Nine ancestors, best tiers on top; four buyers per client at depth 10 under them.
    let mut parent: Option<i64> = None;
    for (i, rank) in [1, 2, 2, 3, 3, 4, 4, 5, 5].iter().enumerate() {
        let body =
            json!({"name": format!("up{i}"), "phone": format!("1370000{i:04}"), "tier_id": tiers[rank - 1], "parent_id": parent, "password": "bench-password"});
        parent = Some(call(&http, format!("{base}/agents"), Some(&hq), body).await["id"].as_i64().unwrap());
    }
    let mut buyers = Vec::new();
    for i in 0..clients * per_client {
        let body = json!({"name": format!("buyer{i}"), "phone": format!("139{i:08}"), "tier_id": tiers[4], "parent_id": parent, "password": "bench-password"});
        buyers.push(call(&http, format!("{base}/agents"), Some(&hq), body).await["id"].as_i64().unwrap());
    }

    // Warm-up: the books are not empty in a brand that takes orders, and PostgreSQL plans
    // (the foreign-key checks' too) with statistics of tables that are: 2,000 orders, then
    // ANALYZE, as autovacuum would do a minute into a real brand's life.
    for w in 0..2 {
        let orders: Vec<Value> = (0..1000)
            .map(|k| json!({"idempotency_key": format!("warm-{w}-{k}"), "kind": "purchase", "buyer_id": buyers[k % buyers.len()], "lines": [{"sku": "MASK-01", "qty": 1}]}))
            .collect();
        let resp = http.post(format!("{base}/orders/batch")).bearer_auth(&hq).json(&json!({"orders": orders})).send().await.unwrap();
        assert_eq!(resp.status(), 200);
    }
    common::exec(&mut pool.get().unwrap(), "ANALYZE");
    // IMPORT=N: `agent-ledger import` of a file of N purchases (the command's own function,
    // CSV parsing included), then the same file again; with CLIENTS=1 the pgbench beside it is -c 1
    let import_n = env_or("IMPORT", 0);
    let mut import_line = String::new();
    if import_n > 0 {
        let at = chrono::Utc::now().to_rfc3339();
        let mut csv = String::from("key,kind,placed_at,agent_phone,supply,customer_name,customer_phone,sku,qty,unit_price\n");
        for k in 0..import_n {
            csv.push_str(&format!("IMP-{k},purchase,{at},139{:08},hq,,,MASK-01,{},\n", k % buyers.len(), 1 + k % 7));
        }
        let path = std::path::PathBuf::from(concat!(env!("CARGO_TARGET_TMPDIR"), "/bench-import.csv"));
        std::fs::write(&path, csv).unwrap();
        let pool = pool.clone();
        let (first, again) = tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().unwrap();
            let t = Instant::now();
            let (summary, clean) = agent_ledger::orders::import::run(&mut conn, "bench", &path, 1000).unwrap();
            assert!(clean, "{summary}");
            let first = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let (summary, _) = agent_ledger::orders::import::run(&mut conn, "bench", &path, 1000).unwrap();
            assert!(summary.contains("placed 0"), "a rerun places nothing: {summary}");
            (first, t.elapsed().as_secs_f64())
        })
        .await
        .unwrap();
        import_line = format!(
            "agent-ledger import of {import_n} orders: {first:.2} s, {:.0} orders/s; the same file again: {again:.2} s, placed 0",
            import_n as f64 / first
        );
        println!("{import_line}");
    }
    // AS=agents: each client is an agent buying for itself on its phone (no audit row; the
    // default is HQ placing every order, each audited)
    let as_agents = std::env::var("AS").is_ok_and(|v| v == "agents");
    let mut tokens = Vec::new();
    for c in 0..clients {
        tokens.push(if as_agents {
            let phone = format!("139{:08}", c * per_client);
            call(&http, format!("{base}/auth/login"), None, json!({"brand": "bench", "login": phone, "password": "bench-password"})).await["token"]
                .as_str()
                .unwrap()
                .to_owned()
        } else {
            hq.clone()
        });
    }
    println!("driving {clients} clients for {seconds} s ...");
    let (cpu_before, own_before) = (common::postgres_cpu_seconds(), common::own_cpu_seconds().0);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (http, base, hq, token) = (http.clone(), base.clone(), hq.clone(), tokens[c].clone());
        let mine = if as_agents { vec![buyers[c * per_client]] } else { buyers[c * per_client..(c + 1) * per_client].to_vec() };
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut n = 0usize;
            let mut placed = 0usize;
            while Instant::now() < deadline {
                let t = Instant::now();
                if batch > 1 {
                    // BATCH=N: N orders per POST /orders/batch, each under its own key
                    let orders: Vec<Value> = (0..batch)
                        .map(|k| json!({"idempotency_key": format!("c{c}-{n}-{k}"), "kind": "purchase", "buyer_id": mine[(n * batch + k) % mine.len()], "lines": [{"sku": "MASK-01", "qty": 1 + (n + k) % 7}]}))
                        .collect();
                    let resp = http.post(format!("{base}/orders/batch")).bearer_auth(&hq).json(&json!({"orders": orders})).send().await.unwrap();
                    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap_or_default());
                    let results: Vec<Value> = resp.json().await.unwrap();
                    assert!(results.iter().all(|r| r["status"] == 201), "{results:?}");
                    placed += batch;
                } else {
                    let order = json!({"kind": "purchase", "buyer_id": mine[n % mine.len()], "lines": [{"sku": "MASK-01", "qty": 1 + n % 7}]});
                    let resp = http.post(format!("{base}/orders")).bearer_auth(&token).header("Idempotency-Key", format!("c{c}-{n}")).json(&order).send().await.unwrap();
                    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap_or_default());
                    resp.bytes().await.unwrap();
                    placed += 1;
                }
                latencies.push(t.elapsed());
                n += 1;
            }
            (latencies, placed)
        }));
    }
    let mut latencies = Vec::new();
    let mut orders = 0usize;
    for t in tasks {
        let (l, placed) = t.await.unwrap();
        latencies.extend(l);
        orders += placed;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let db_cpu = common::postgres_cpu_seconds() - cpu_before;
    let own_cpu = common::own_cpu_seconds().0 - own_before;
    let rate = orders as f64 / elapsed;
    let (p50, p99) = common::percentiles(&mut latencies);
    println!("{orders} orders in {elapsed:.1} s: {rate:.0} orders/s, p50 {p50:.1} ms, p99 {p99:.1} ms per request ({batch} order(s) each)");

    let mut conn = pool.get().unwrap();
    let mut failures = agent_ledger::verify::run(&mut conn).unwrap();
    if !figures.is_empty() && figures != "on" {
        failures.retain(|(name, _)| !name.starts_with("dashboard:")); // not kept in this run
    }
    assert!(failures.is_empty(), "verify after the run: {failures:?}");
    drop(conn);
    drop(pool);

    let c = clients.to_string();
    let t = seconds.to_string();
    let (report, pgbench_cpu, pgbench_client_cpu) = common::pgbench_with_cpu(&pg, &mut admin, &["-i", "-q", "-s", &c], &["-c", &c, "-j", "2", "-T", &t]);
    let (tps, latency) = (common::pgbench_value(&report, "tps"), common::pgbench_value(&report, "latency average"));
    let transactions = common::pgbench_value(&report, "number of transactions actually processed");
    let (cpu_per_order, cpu_per_txn) = (db_cpu * 1000.0 / orders as f64, pgbench_cpu * 1000.0 / transactions);
    // the rest of the machine's CPU: the service and its load generator (this process), and
    // pgbench's own client
    let (service_per_order, client_per_txn) = (own_cpu * 1000.0 / orders as f64, pgbench_client_cpu * 1000.0 / transactions);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    println!("pgbench TPC-B -c {clients}: {tps:.0} tps, latency average {latency:.1} ms");
    let md = format!(
        "Order benchmark: {clients} clients, {seconds} s, depth-10 pyramid, every order credits the same 9 ancestors\n\n\
         | what | throughput | p50 ms | p99 ms |\n|---|---|---|---|\n\
         | POST /orders over HTTP (purchase, 9 postings, idempotency key) | {rate:.0} orders/s | {p50:.1} | {p99:.1} |\n\
         | pgbench TPC-B, -c {clients} -j 2, scale {clients}, same server | {tps:.0} tps | {latency:.1} (avg) | |\n\n\
         ratio orders/s ÷ pgbench tps = {:.2}; verify clean after {orders} orders (and 2,000 of warm-up, analysed before the run)\n\n\
         PostgreSQL CPU per order: {cpu_per_order:.2} ms; per TPC-B transaction: {cpu_per_txn:.2} ms \
         (an order costs the database {:.1} TPC-B transactions; CPU of every postgres process)\n\n\
         The service and its load generator (this process): {service_per_order:.2} ms of CPU per order; pgbench's client: \
         {client_per_txn:.2} ms per transaction. Whole machine per order {:.2} ms against {:.2} ms per TPC-B transaction; \
         at 0.7 × the TPC-B rate an order may cost at most {cores} cores ÷ {:.0}/s = {:.2} ms of CPU.\n\n{import_line}\n",
        rate / tps,
        cpu_per_order / cpu_per_txn,
        cpu_per_order + service_per_order,
        cpu_per_txn + client_per_txn,
        0.7 * tps,
        cores * 1000.0 / (0.7 * tps)
    );
    std::fs::write(concat!(env!("CARGO_TARGET_TMPDIR"), "/../bench-orders.md"), &md).unwrap();
    println!("\n{md}");
    common::exec(&mut admin, "DROP DATABASE bench_orders WITH (FORCE)");
}
