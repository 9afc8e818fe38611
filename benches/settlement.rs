//! Month close benchmark: 1,011,110 agents and 3,000,000 purchase orders in one month
//! (order, line, journal entry and 3 postings each), closed with team rebates and one
//! statement per agent; beside one bare SQL aggregation over the same orders.
//!
//! Run: `cargo bench --bench settlement` (several minutes, most of it loading; writes
//! target/bench-settlement.md). ORDERS overrides the order count; SUMMARY_ONLY=1 runs only
//! the downline-summary part and keeps the database (bench_settle) for inspection; KEEP_DB=1
//! keeps it after the whole run (the month closed); REPORT_ONLY=1 then times the compliance
//! report and a first export again on it.

mod common;

use std::cell::RefCell;
use std::time::Instant;

use agent_ledger::auth::Principal;
use agent_ledger::reports::team::{self, DownlineSummary, SnapshotPolicy};
use agent_ledger::settlement::{self, Progress};
use agent_ledger::{db, period};
use common::exec;
use diesel::connection::SimpleConnection;
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
    if std::env::var_os("REPORT_ONLY").is_some() {
        return report_only(&mut PgConnection::establish(&_pg.url("bench_settle")).unwrap());
    }
    common::fresh_database(&mut admin, "bench_settle");
    let mut conn = PgConnection::establish(&_pg.url("bench_settle")).unwrap();
    db::migrate(&mut conn).unwrap();

    let t = Instant::now();
    common::generate_tree(&mut conn);
    exec(&mut conn, "INSERT INTO hq_users (brand_id, id, login, password_hash, role) VALUES (1, 1, 'hq', 'x', 'owner')");
    exec(&mut conn, "INSERT INTO products (brand_id, sku, name, retail_price) VALUES (1, 'BOX', 'Box', 100)");
    exec(&mut conn, "INSERT INTO product_prices (brand_id, sku, tier_id, price) VALUES (1, 'BOX', 1, 100)");
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
    // each order keeps its split context as a live order does: the whole upline (HQ sells)
    exec(
        &mut conn,
        "INSERT INTO orders (brand_id, id, kind, buyer_id, amount, placed_at, plan_version, created_by,
                             buyer_tier_id, upline, upline_tiers, upline_active, sponsor_id, sponsor_active)
         SELECT 1, g.id, 'purchase', g.buyer, g.qty * 100, g.at, 2, 'bench', 1, u.ids,
                array_fill(1::bigint, ARRAY[cardinality(u.ids)]), array_fill(true, ARRAY[cardinality(u.ids)]), g.parent, g.parent IS NOT NULL
           FROM gen g JOIN agents a ON a.brand_id = 1 AND a.id = g.buyer
          CROSS JOIN LATERAL (SELECT coalesce(array_agg(x ORDER BY o DESC), '{}') AS ids
                                FROM unnest(a.path[1:cardinality(a.path) - 1]) WITH ORDINALITY AS t(x, o)) u",
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
         SELECT 1, '2026-10', g.buyer, a.path, sum(g.qty), sum(g.qty * 100) FROM gen g JOIN agents a ON a.brand_id = 1 AND a.id = g.buyer GROUP BY g.buyer, a.path",
    );
    exec(&mut conn, "SET session_replication_role = origin");
    exec(&mut conn, &format!("SELECT setval('orders_id_seq', {orders})"));
    exec(&mut conn, &format!("SELECT setval('journal_entries_id_seq', {orders})"));
    exec(&mut conn, "VACUUM ANALYZE");
    // the load's dirty pages written out now, not by a checkpoint running through the close
    exec(&mut conn, "CHECKPOINT");
    let load_s = t.elapsed().as_secs_f64();
    println!("loaded 1,011,110 agents and {orders} orders in {load_s:.0} s");

    // Baseline: the bare aggregation every close needs, over the same orders.
    let t = Instant::now();
    exec(&mut conn, "SELECT buyer_id, sum(amount) FROM orders WHERE brand_id = 1 AND kind = 'purchase' AND placed_at >= '2026-09-30 16:00Z' AND placed_at < '2026-10-31 16:00Z' GROUP BY buyer_id");
    let baseline_s = t.elapsed().as_secs_f64();
    println!("bare aggregation: {baseline_s:.2} s");

    let hq = Principal::hq(1, 1, agent_ledger::auth::StaffRole::Owner);
    if std::env::var_os("SUMMARY_ONLY").is_some() {
        let top: i64 =
            diesel::sql_query("SELECT min(id) AS id FROM agents WHERE brand_id = 1 AND parent_id IS NULL").get_result::<common::Id>(&mut conn).unwrap().id;
        println!("{}", summary_benchmark(&mut conn, &hq, top));
        return; // the database is kept for inspection
    }
    // Downline summary of a top agent (a 101,110-agent team) while the month is open.
    let top: i64 =
        diesel::sql_query("SELECT min(id) AS id FROM agents WHERE brand_id = 1 AND parent_id IS NULL").get_result::<common::Id>(&mut conn).unwrap().id;
    let mut summaries = summary_benchmark(&mut conn, &hq, top);

    let timer = Timer(RefCell::new((Instant::now(), Vec::new())));
    let t = Instant::now();
    let result = conn.transaction(|c| settlement::close(c, &hq, "2026-10", &timer)).unwrap();
    let close_s = t.elapsed().as_secs_f64();
    println!("close: {close_s:.1} s, {} statements, rebates {}", result.statements, result.team_rebate_total);
    let steps = timer.0.borrow().1.clone();
    let phases: Vec<String> = steps.iter().map(|(what, at)| format!("{what} from {at:.1} s")).collect();
    println!("phases: {}", phases.join(", "));
    // what the service runs in the background once the close has committed (`after_close`):
    // the statements vacuumed (growth figures are not kept in this run)
    let t = Instant::now();
    settlement::store::vacuum_statements(&mut conn).unwrap();
    let vacuum_s = t.elapsed().as_secs_f64();
    println!("after the close, in the background: vacuum of the statements {vacuum_s:.1} s");

    // The what-if replay of the closed month under another plan (peer bonus 3% / 1% on top:
    // every order pays two, the whole tree being one tier), beside the close.
    let proposed: agent_ledger::commission::Plan = serde_json::from_value(serde_json::json!({
        "effective_from": "2020-01-01T00:00:00Z", "differential": {"enabled": true}, "peer_bonus": {"enabled": true, "rates": ["0.03", "0.01"]},
        "team_rebate": {"enabled": true, "brackets": [{"min_volume": "10000", "rate": "0.02"}, {"min_volume": "50000", "rate": "0.05"}]}}))
    .unwrap();
    let req = agent_ledger::plans::whatif::WhatIfRequest { plan: proposed, months: vec!["2026-10".into()] };
    let t = Instant::now();
    let replay = conn.build_transaction().read_only().repeatable_read().run(|c| agent_ledger::plans::whatif::what_if(c, &hq, &req)).unwrap();
    let replay_s = t.elapsed().as_secs_f64();
    let m = &replay.months[0];
    println!("what-if replay: {replay_s:.1} s, {} lines, current {} proposed {}", m.lines, m.current.total, m.proposed.total);

    // The same team's summary once the month is closed: read from the tree kept at close.
    let mut samples = Vec::new();
    for _ in 0..21 {
        let t = Instant::now();
        let s = team::summary(&mut conn, &hq, top, "2026-10", &SnapshotPolicy::default()).unwrap().summary;
        samples.push(t.elapsed());
        assert_eq!(s.total, 101_110);
    }
    samples.remove(0);
    let (p50, p99) = common::percentiles(&mut samples);
    summaries += &format!("| the same once 2026-10 is closed (the tree kept at close; p50 / p99 ms, 20 runs) | {p50:.1} / {p99:.1} ms |\n");

    let t = Instant::now();
    let bytes = conn.transaction(|c| settlement::export::export(c, &hq, "2026-10", settlement::export::ExportFormat::Csv)).unwrap();
    let export_s = t.elapsed().as_secs_f64();
    let tz = "Asia/Shanghai";
    let (start, _) = period::month_bounds("2026-10", tz).unwrap();
    let md = format!(
        "Settlement benchmark: 1,011,110 agents, {orders} orders in 2026-10 (month starts {start})\n\n\
         | what | seconds |\n|---|---|\n\
         | close 2026-10 (volumes, team rebates, postings, {} statements) | {close_s:.1} |\n\
         | then, in the background once committed: VACUUM (ANALYZE) of the statements | {vacuum_s:.1} |\n\
         | first CSV export ({} MB) | {export_s:.1} |\n\
         | what-if replay of 2026-10 under another plan ({} lines, payouts {} → {}) | {replay_s:.1} |\n\
         {summaries}\
         | baseline: one bare SQL aggregation of the month's orders by buyer | {baseline_s:.2} |\n\n\
         close phases (time since start): {}\n\nteam rebates posted: {}; load took {load_s:.0} s\n",
        result.statements,
        bytes.len() / 1_048_576,
        m.lines,
        m.current.total,
        m.proposed.total,
        phases.join(", "),
        result.team_rebate_total
    );
    std::fs::write(concat!(env!("CARGO_TARGET_TMPDIR"), "/../bench-settlement.md"), &md).unwrap();
    println!("\n{md}");
    if std::env::var_os("KEEP_DB").is_none() {
        exec(&mut admin, "DROP DATABASE bench_settle WITH (FORCE)");
    }
}

/// On a database kept by KEEP_DB=1 (October closed): the compliance report and a fresh
/// first export of the month again, each timed (the stored export is set aside first).
fn report_only(conn: &mut PgConnection) {
    let hq = Principal::hq(1, 1, agent_ledger::auth::StaffRole::Owner);
    for _ in 0..2 {
        let t = Instant::now();
        let r = conn.transaction(|c| agent_ledger::reports::compliance::compute(c, &hq, "2026-10")).unwrap();
        println!("compliance report: {:.2} s ({} agents, {} teams below)", t.elapsed().as_secs_f64(), r.network.agents, r.teams_below.len());
        conn.batch_execute("BEGIN; SET LOCAL session_replication_role = replica; DELETE FROM period_exports WHERE month = '2026-10'; COMMIT").unwrap();
        let t = Instant::now();
        let bytes = conn.transaction(|c| settlement::export::export(c, &hq, "2026-10", settlement::export::ExportFormat::Csv)).unwrap();
        println!("first CSV export: {:.2} s ({} bytes)", t.elapsed().as_secs_f64(), bytes.len());
    }
}

/// Latency of the downline summary of a 101,110-agent team in the open month: counted live, then from a
/// snapshot with 0, 1,000 (the refresh threshold) and 10,000 purchase orders committed since (random buyers over
/// the whole brand, so ~10% in the team); each snapshot answer is checked against a live
/// recount. Returns table rows (milliseconds, in a column of seconds like the rest).
fn summary_benchmark(conn: &mut PgConnection, hq: &Principal, top: i64) -> String {
    let month = "2026-10";
    let run = |conn: &mut PgConnection, policy: &SnapshotPolicy, n: usize| -> (f64, f64, DownlineSummary) {
        let mut samples = Vec::new();
        let mut last = None;
        for _ in 0..=n {
            let t = Instant::now();
            let out = team::summary(conn, hq, top, month, policy).unwrap();
            samples.push(t.elapsed());
            last = Some(out.summary);
        }
        samples.remove(0); // warm-up (for the snapshot policy: the read that takes the snapshot)
        let (p50, p99) = common::percentiles(&mut samples);
        (p50, p99, last.unwrap())
    };
    let live_policy = SnapshotPolicy::with_min_team(i64::MAX);
    let snapshot_policy = SnapshotPolicy::default();
    let live_recount = |conn: &mut PgConnection| {
        exec(conn, "CREATE TEMP TABLE kept AS SELECT * FROM team_snapshots");
        exec(conn, "DELETE FROM team_snapshots");
        let s = team::summary(conn, hq, top, month, &live_policy).unwrap().summary;
        exec(conn, "INSERT INTO team_snapshots SELECT * FROM kept");
        exec(conn, "DROP TABLE kept");
        s
    };
    let mut rows = String::new();
    let (p50, p99, live) = run(conn, &live_policy, 20);
    assert_eq!(live.total, 101_110);
    println!("downline summary, live: p50 {p50:.1} ms, p99 {p99:.1} ms");
    rows += &format!("| downline summary of a 101,110-agent team, counted live (p50 / p99 ms, 20 runs) | {p50:.1} / {p99:.1} ms |\n");
    let t = Instant::now();
    team::refresh(conn, 1, top, month).unwrap();
    let refresh_ms = t.elapsed().as_secs_f64() * 1000.0;
    rows += &format!("| the same, taking its snapshot (one refresh) | {refresh_ms:.1} ms |\n");
    let mut next_id: i64 = diesel::sql_query("SELECT max(id) AS id FROM orders").get_result::<common::Id>(conn).unwrap().id;
    for since in [0, 1_000, 10_000] {
        if since > 0 {
            add_orders(conn, next_id, since);
            next_id += since as i64;
        }
        let (p50, p99, s) = run(conn, &snapshot_policy, 200);
        assert_eq!(s, live_recount(conn), "snapshot + rows since = a live recount");
        println!("downline summary, snapshot + {since} orders since: p50 {p50:.2} ms, p99 {p99:.2} ms");
        rows += &format!(
            "| the same from its snapshot, {since} purchase orders committed since (p50 / p99 ms, 200 runs; = live recount) | {p50:.2} / {p99:.2} ms |\n"
        );
    }
    rows
}

/// `n` purchase orders of October by random buyers, committed (orders, lines, monthly totals).
fn add_orders(conn: &mut PgConnection, first_id: i64, n: usize) {
    exec(
        conn,
        &format!(
            "CREATE TEMP TABLE more AS
             SELECT {first_id} + g AS id, 1 + (random() * 1011109)::bigint AS buyer, (1 + (random() * 19)::int) AS qty,
                    timestamptz '2026-09-30 16:00:00Z' + random() * interval '30 days' AS at
               FROM generate_series(1, {n}) g"
        ),
    );
    exec(conn, "INSERT INTO orders (brand_id, id, kind, buyer_id, amount, placed_at, plan_version, created_by) SELECT 1, id, 'purchase', buyer, qty * 100, at, 2, 'bench' FROM more");
    exec(conn, "INSERT INTO order_lines (brand_id, order_id, line_no, sku, qty, unit_price, amount) SELECT 1, id, 1, 'BOX', qty, 100, qty * 100 FROM more");
    exec(
        conn,
        "INSERT INTO agent_month_purchases (brand_id, month, agent_id, path, units, amount)
         SELECT 1, '2026-10', m.buyer, a.path, sum(m.qty), sum(m.qty * 100) FROM more m JOIN agents a ON a.brand_id = 1 AND a.id = m.buyer GROUP BY m.buyer, a.path
         ON CONFLICT (brand_id, month, agent_id) DO UPDATE
            SET units = agent_month_purchases.units + EXCLUDED.units, amount = agent_month_purchases.amount + EXCLUDED.amount",
    );
    exec(conn, "DROP TABLE more");
    exec(conn, &format!("SELECT setval('orders_id_seq', {})", first_id + n as i64));
}
