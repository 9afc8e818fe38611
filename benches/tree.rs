//! Tree benchmark: a 1,000,000-agent brand on the embedded PostgreSQL; downline queries on a
//! ~100,000-agent subtree (btree range, as served, against the GIN `@>` alternative), upline,
//! and moving that subtree; pgbench select-only on the same server as the baseline.
//!
//! Run: `cargo bench --bench tree` (about 3 minutes; writes target/bench-tree.md).

use std::time::{Duration, Instant};

mod common;

use agent_ledger::db;
use agent_ledger::tree::store::{self, SubtreeFilter};
use common::{exec, percentiles, Id};
use diesel::prelude::*;

const BRAND: i64 = 1;

fn one_id(conn: &mut PgConnection, sql: &str) -> i64 {
    diesel::sql_query(sql).get_result::<Id>(conn).unwrap().id
}

/// Runs `f` `n` times; returns (median, p99) in milliseconds.
fn time<T>(n: usize, mut f: impl FnMut() -> T) -> (f64, f64) {
    f(); // warm the cache
    let mut samples: Vec<Duration> = (0..n)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed()
        })
        .collect();
    percentiles(&mut samples)
}

fn main() {
    let (mut pg, mut admin) = common::cluster();
    common::fresh_database(&mut admin, "bench_tree");
    let mut conn = PgConnection::establish(&pg.url("bench_tree")).unwrap();
    db::migrate(&mut conn).unwrap();

    // 10 top agents; 10 children each for four levels, then 9: 1,011,110 agents.
    let t = Instant::now();
    common::generate_tree(&mut conn);
    let load_s = t.elapsed().as_secs_f64();
    let total = one_id(&mut conn, "SELECT count(*) AS id FROM agents");
    let root = one_id(&mut conn, "SELECT min(id) AS id FROM agents WHERE parent_id IS NULL");
    let other_root = one_id(&mut conn, "SELECT max(id) AS id FROM agents WHERE parent_id IS NULL");
    let root_path = vec![root];
    let subtree = store::subtree_size(&mut conn, BRAND, &root_path).unwrap();
    let deepest = one_id(&mut conn, &format!("SELECT max(id) AS id FROM agents WHERE path[1] = {root} AND cardinality(path) = 6"));
    let deepest_path = store::find(&mut conn, BRAND, deepest).unwrap().unwrap().path;
    let middle = store::subtree_page(&mut conn, BRAND, &root_path, &SubtreeFilter { max_abs_depth: None, tier_id: None }, None, subtree / 2)
        .unwrap()
        .pop()
        .unwrap()
        .path;

    let mut rows = Vec::new();
    let mut row = |name: &str, (p50, p99): (f64, f64)| {
        println!("{name:<62} p50 {p50:>9.3} ms   p99 {p99:>9.3} ms");
        rows.push(format!("| {name} | {p50:.3} | {p99:.3} |"));
    };
    let all = SubtreeFilter { max_abs_depth: None, tier_id: None };
    row("downline, first page of 50 (btree range)", time(200, || store::subtree_page(&mut conn, BRAND, &root_path, &all, None, 50).unwrap()));
    row(
        "downline, page of 50 at the middle of the range (cursor)",
        time(200, || store::subtree_page(&mut conn, BRAND, &root_path, &all, Some(&middle), 50).unwrap()),
    );
    let two = SubtreeFilter { max_abs_depth: Some(3), tier_id: None };
    row(
        "downline, first page of 50, max_depth = 2 (range scan + depth filter)",
        time(50, || store::subtree_page(&mut conn, BRAND, &root_path, &two, None, 50).unwrap()),
    );
    row(
        "downline, first page of 50, max_depth = 2 (skip scan, served)",
        time(200, || store::subtree_page_to_depth(&mut conn, BRAND, &root_path, 3, None, 50).unwrap()),
    );
    let limit_cursor = store::subtree_page_to_depth(&mut conn, BRAND, &root_path, 3, None, 55).unwrap().pop().unwrap().path;
    row(
        "downline, page of 50, max_depth = 2, from a cursor at the limit",
        time(200, || store::subtree_page_to_depth(&mut conn, BRAND, &root_path, 3, Some(&limit_cursor), 50).unwrap()),
    );
    row("downline, count of the whole subtree (btree range)", time(20, || store::subtree_size(&mut conn, BRAND, &root_path).unwrap()));
    row(
        "downline, every agent of the subtree (btree range)",
        time(10, || store::subtree_page(&mut conn, BRAND, &root_path, &all, None, 1_000_000).unwrap().len()),
    );
    row("upline of a depth-6 agent (ancestor array, by ids)", time(200, || store::by_ids(&mut conn, BRAND, &deepest_path[..5]).unwrap()));
    // Agent search (GET /agents?q=): a name fragment (trigram GIN) or a phone prefix (pattern btree).
    let search = |q: &'static str, within: Option<Vec<i64>>| {
        move |conn: &mut PgConnection| {
            let f = store::Search { q: Some(q), tier_id: None, status: None, parent_id: None, top: false, within: within.as_deref() };
            store::search(conn, BRAND, &f, 0, 51).unwrap()
        }
    };
    let s = search("12345", None);
    row("search: name fragment '12345', first page (11 matches)", time(200, || s(&mut conn)));
    let s = search("p10000", None);
    row("search: phone prefix 'p10000', first page (11 matches)", time(200, || s(&mut conn)));
    let s = search("99", None);
    row("search: name fragment '99', first page of 50 (~40,000 matches)", time(50, || s(&mut conn)));
    let s = search("12345", Some(root_path.clone()));
    row("search inside a 101,110-agent team: '12345'", time(200, || s(&mut conn)));

    // The alternative: a GIN index on the path with `@>`.
    let t = Instant::now();
    exec(&mut conn, "CREATE INDEX agents_path_gin ON agents USING gin (path)");
    let gin_build_s = t.elapsed().as_secs_f64();
    exec(&mut conn, "ANALYZE agents");
    // Without this the planner answers the paged query from the btree in path order and
    // filters by @>, which is the btree strategy again; force the GIN bitmap to compare.
    exec(&mut conn, "SET enable_indexscan = off");
    exec(&mut conn, "SET enable_indexonlyscan = off");
    let gin_page = format!("SELECT id FROM agents WHERE brand_id = 1 AND path @> ARRAY[{root}::bigint] AND id <> {root} ORDER BY path LIMIT 50");
    row("GIN @>: first page of 50 in path order", time(50, || diesel::sql_query(&gin_page).load::<Id>(&mut conn).unwrap()));
    let gin_count = format!("SELECT count(*) AS id FROM agents WHERE brand_id = 1 AND path @> ARRAY[{root}::bigint]");
    row("GIN @>: count of the whole subtree", time(20, || one_id(&mut conn, &gin_count)));
    exec(&mut conn, "RESET enable_indexscan");
    exec(&mut conn, "RESET enable_indexonlyscan");
    let sizes: Vec<Id> =
        diesel::sql_query("SELECT pg_relation_size('agents_subtree') AS id UNION ALL SELECT pg_relation_size('agents_path_gin')").load(&mut conn).unwrap();
    exec(&mut conn, "DROP INDEX agents_path_gin");

    // Move the ~100k subtree under another top agent and back: one UPDATE each.
    let mut moves = Vec::new();
    for parent in [Some(other_root), None] {
        let agent = store::find(&mut conn, BRAND, root).unwrap().unwrap();
        let new_parent = parent.map(|p| store::find(&mut conn, BRAND, p).unwrap().unwrap());
        let t = Instant::now();
        let n = conn.transaction(|c| store::move_subtree(c, BRAND, root, &agent.path, new_parent.as_ref())).unwrap();
        moves.push((n, t.elapsed().as_secs_f64() * 1000.0));
        println!("move of {n} agents: {:.0} ms", moves.last().unwrap().1);
    }
    let moved_ok: i64 = one_id(&mut conn, &format!("SELECT count(*) AS id FROM agents WHERE path[1] = {root}"));
    assert_eq!(moved_ok, subtree + 1, "the subtree came back whole");

    // Baseline on the same server: pgbench select-only, 1 client.
    let report = common::pgbench(&pg, &mut admin, &["-i", "-q", "-s", "10"], &["-S", "-c", "1", "-T", "10"]);
    let (latency, tps) = (common::pgbench_value(&report, "latency average"), common::pgbench_value(&report, "tps"));
    println!("pgbench -S -c 1: latency {latency} ms, {tps:.0} tps");

    let md = format!(
        "Tree benchmark ({total} agents, subtree of {subtree}; load {load_s:.1} s)\n\n| query | p50 ms | p99 ms |\n|---|---|---|\n{}\n\n\
         btree (brand_id, path) index: {} MB; GIN (path): {} MB, built in {gin_build_s:.1} s\n\n\
         move of {} agents: {:.0} ms; move back: {:.0} ms\n\nbaseline, pgbench -S -c 1 -T 10 (scale 10), same server: latency {latency:.3} ms, {tps:.0} tps\n",
        rows.join("\n"),
        sizes[0].id / 1_048_576,
        sizes[1].id / 1_048_576,
        moves[0].0,
        moves[0].1,
        moves[1].1
    );
    std::fs::write(concat!(env!("CARGO_TARGET_TMPDIR"), "/../bench-tree.md"), &md).unwrap();
    println!("\n{md}");
    exec(&mut admin, "DROP DATABASE bench_tree WITH (FORCE)");
    pg.stop();
}
