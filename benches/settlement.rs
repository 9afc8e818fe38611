//! Month close benchmark: 1,011,110 agents and 3,000,000 purchase orders in one month
//! (order, line, journal entry and 3 postings each), closed with team rebates and one
//! statement per agent; beside one bare SQL aggregation over the same orders.
//!
//! Run: `cargo bench --bench settlement` (several minutes, most of it loading; writes
//! target/bench-settlement.md). ORDERS overrides the order count.

mod common;

use std::cell::RefCell;
use std::time::Instant;

use agent_ledger::auth::{Principal, Role};
use agent_ledger::settlement::{self, Progress};
use agent_ledger::{db, period};
use common::exec;
use diesel::prelude::*;

struct Timer(RefCell<(Instant, Vec<(String, f64)>)>);

impl Progress for Timer {
    fn step(&self, what: &str) {
        let mut t = self.0.borrow_mut();
        let elapsed = t.0.elapsed().as_secs_f64();
        t.1.push((what.to_owned(), elapsed));
    }
}

fn main() {
    let orders: i64 = std::env::var("ORDERS").ok().and_then(|v| v.parse().ok()).unwrap_or(3_000_000);
    let (_pg, mut admin) = common::cluster();
    common::fresh_database(&mut admin, "bench_settle");
    let mut conn = PgConnection::establish(&_pg.url("bench_settle")).unwrap();
    db::migrate(&mut conn).unwrap();

    let t = Instant::now();
    common::generate_tree(&mut conn);
    exec(&mut conn, "INSERT INTO hq_users (brand_id, id, login, password_hash) VALUES (1, 1, 'hq', 'x')");
    exec(&mut conn, "INSERT INTO products (brand_id, sku, name, retail_price) VALUES (1, 'BOX', 'Box', 100)");
    agent_ledger::plans::insert_default(&mut conn, 1).unwrap();
    exec(
        &mut conn,
        r#"INSERT INTO plan_versions (brand_id, version, effective_from, body, created_by) VALUES (1, 2, '2020-01-01Z',
           '{"version": 2, "effective_from": "2020-01-01T00:00:00+00:00", "differential": {"enabled": true},
             "team_rebate": {"enabled": true, "brackets": [{"min_volume": "10000", "rate": "0.02"}, {"min_volume": "50000", "rate": "0.04"}, {"min_volume": "100000", "rate": "0.06"}]}}', 'bench')"#,
    );
    // Orders of October 2026 (Shanghai), by random buyers; each pays 100.00 a unit, its parent
    // earns 10% as a differential. Bulk load with triggers off (synthetic, known balanced).
    exec(&mut conn, "SET session_replication_role = replica");
    exec(
        &mut conn,
        &format!(
            "CREATE TEMP TABLE gen AS
             SELECT p.g AS id, a.id AS buyer, a.parent_id AS parent, (1 + (random() * 19)::int) AS qty,
                    timestamptz '2026-09-30 16:00:00Z' + random() * interval '30 days' AS at
               FROM (SELECT g, 1 + (random() * 1011109)::bigint AS pick FROM generate_series(1, {orders}) g) p
               JOIN agents a ON a.brand_id = 1 AND a.id = p.pick"
        ),
    );
    exec(&mut conn, "INSERT INTO orders (brand_id, id, kind, buyer_id, amount, placed_at, plan_version, created_by) SELECT 1, id, 'purchase', buyer, qty * 100, at, 2, 'bench' FROM gen");
    exec(&mut conn, "INSERT INTO order_lines (brand_id, order_id, line_no, sku, qty, unit_price, amount) SELECT 1, id, 1, 'BOX', qty, 100, qty * 100 FROM gen");
    exec(&mut conn, "INSERT INTO journal_entries (brand_id, id, kind, order_id, occurred_at, created_by) SELECT 1, id, 'purchase', id, at, 'bench' FROM gen");
    exec(
        &mut conn,
        "INSERT INTO postings (brand_id, entry_id, account, agent_id, amount, split_kind, order_id, line_no, occurred_at, available_at)
         SELECT 1, id, 'clearing', NULL::bigint, -qty * 100, NULL::text, id, NULL::int, at, at FROM gen
         UNION ALL SELECT 1, id, 'revenue', NULL::bigint, qty * CASE WHEN parent IS NULL THEN 100 ELSE 90 END, 'proceeds', id, 1, at, at FROM gen
         UNION ALL SELECT 1, id, 'wallet', parent, qty * 10, 'differential', id, 1, at, at FROM gen WHERE parent IS NOT NULL",
    );
    exec(
        &mut conn,
        "INSERT INTO agent_month_purchases (brand_id, month, agent_id, path, units, amount)
         SELECT 1, '2026-10', g.buyer, a.path, sum(g.qty), sum(g.qty * 100) FROM gen g JOIN agents a ON a.brand_id = 1 AND a.id = g.buyer GROUP BY g.buyer, a.path",
    );
    exec(&mut conn, "SET session_replication_role = origin");
    exec(&mut conn, &format!("SELECT setval('orders_id_seq', {orders})"));
    exec(&mut conn, &format!("SELECT setval('journal_entries_id_seq', {orders})"));
    exec(&mut conn, "VACUUM ANALYZE");
    let load_s = t.elapsed().as_secs_f64();
    println!("loaded 1,011,110 agents and {orders} orders in {load_s:.0} s");

    // Baseline: the bare aggregation every close needs, over the same orders.
    let t = Instant::now();
    exec(&mut conn, "SELECT buyer_id, sum(amount) FROM orders WHERE brand_id = 1 AND kind = 'purchase' AND placed_at >= '2026-09-30 16:00Z' AND placed_at < '2026-10-31 16:00Z' GROUP BY buyer_id");
    let baseline_s = t.elapsed().as_secs_f64();
    println!("bare aggregation: {baseline_s:.2} s");

    let hq = Principal { brand_id: 1, role: Role::Hq { user_id: 1 } };
    let timer = Timer(RefCell::new((Instant::now(), Vec::new())));
    let t = Instant::now();
    let result = conn.transaction(|c| settlement::close(c, &hq, "2026-10", &timer)).unwrap();
    let close_s = t.elapsed().as_secs_f64();
    println!("close: {close_s:.1} s, {} statements, rebates {}", result.statements, result.team_rebate_total);
    let steps = timer.0.borrow().1.clone();
    let phases: Vec<String> = steps.iter().map(|(what, at)| format!("{what} from {at:.1} s")).collect();
    println!("phases: {}", phases.join(", "));

    // Downline summary of a top agent (a 101,110-agent team) for the closed month.
    let top: i64 = diesel::sql_query("SELECT min(id) AS id FROM agents WHERE brand_id = 1 AND parent_id IS NULL").get_result::<common::Id>(&mut conn).unwrap().id;
    let mut samples = Vec::new();
    for _ in 0..21 {
        let t = Instant::now();
        let s = conn.transaction(|c| agent_ledger::reports::downline_summary(c, &hq, top, "2026-10")).unwrap();
        samples.push(t.elapsed());
        assert_eq!(s.total, 101_110);
    }
    samples.remove(0); // warm-up
    let (summary_p50, summary_p99) = common::percentiles(&mut samples);
    println!("downline summary of a 101,110-agent team: p50 {summary_p50:.0} ms, p99 {summary_p99:.0} ms");

    let t = Instant::now();
    let bytes = conn.transaction(|c| settlement::export::export(c, &hq, "2026-10", settlement::export::ExportFormat::Csv)).unwrap();
    let export_s = t.elapsed().as_secs_f64();
    let tz = "Asia/Shanghai";
    let (start, _) = period::month_bounds("2026-10", tz).unwrap();
    let md = format!(
        "Settlement benchmark: 1,011,110 agents, {orders} orders in 2026-10 (month starts {start})\n\n\
         | what | seconds |\n|---|---|\n\
         | close 2026-10 (volumes, team rebates, postings, {} statements) | {close_s:.1} |\n\
         | first CSV export ({} MB) | {export_s:.1} |\n\
         | downline summary of a 101,110-agent team (p50 / p99, 20 runs) | {:.3} / {:.3} |\n\
         | baseline: one bare SQL aggregation of the month's orders by buyer | {baseline_s:.2} |\n\n\
         close phases (time since start): {}\n\nteam rebates posted: {}; load took {load_s:.0} s\n",
        result.statements,
        bytes.len() / 1_048_576,
        summary_p50 / 1000.0,
        summary_p99 / 1000.0,
        phases.join(", "),
        result.team_rebate_total
    );
    std::fs::write(concat!(env!("CARGO_TARGET_TMPDIR"), "/../bench-settlement.md"), &md).unwrap();
    println!("\n{md}");
    exec(&mut admin, "DROP DATABASE bench_settle WITH (FORCE)");
}
