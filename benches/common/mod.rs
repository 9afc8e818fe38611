//! What the database benchmarks share: the embedded PostgreSQL, a fresh database, and
//! pgbench on the same server as the baseline.

#![allow(dead_code)]

use std::process::Command;
use std::time::Duration;

use agent_ledger::db::embedded::{Durability, EmbeddedPostgres};
use diesel::prelude::*;

#[derive(QueryableByName)]
pub struct Id {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub id: i64,
}

pub fn exec(conn: &mut PgConnection, sql: &str) {
    diesel::sql_query(sql).execute(conn).unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// The benchmark cluster (full durability, like production) and an admin connection.
pub fn cluster() -> (EmbeddedPostgres, PgConnection) {
    let mut pg = EmbeddedPostgres::new(concat!(env!("CARGO_TARGET_TMPDIR"), "/bench-pg").as_ref()).unwrap();
    pg.ensure_running(Durability::Full).unwrap();
    let admin = PgConnection::establish(&pg.url("postgres")).unwrap();
    (pg, admin)
}

/// Drops and recreates `name`.
pub fn fresh_database(admin: &mut PgConnection, name: &str) {
    exec(admin, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    exec(admin, &format!("CREATE DATABASE {name}"));
}

/// CPU seconds used so far by every `postgres` process on the machine, including backends
/// that have exited (the postmaster's reaped children). Deltas of this are what the
/// database spent on a phase, whatever share of the cores the load generator took.
pub fn postgres_cpu_seconds() -> f64 {
    let mut total = 0.0;
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        if let Some((head, [utime, stime, cutime, cstime])) = stat_times(&stat) {
            if head.ends_with("(postgres") {
                total += utime + stime + cutime + cstime;
            }
        }
    }
    total
}

/// CPU seconds used so far by this process (the benchmark: the service it runs in-process and
/// its load generator), and by the children it has waited for (pgbench).
pub fn own_cpu_seconds() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    stat_times(&stat).map_or((0.0, 0.0), |(_, [utime, stime, cutime, cstime])| (utime + stime, cutime + cstime))
}

/// A /proc stat line's "pid (comm" and its utime, stime, cutime, cstime in seconds.
fn stat_times(stat: &str) -> Option<(&str, [f64; 4])> {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    let ticks = *TICKS.get_or_init(|| {
        Command::new("getconf").arg("CLK_TCK").output().ok().and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok()).unwrap_or(100.0)
    });
    let (head, rest) = stat.rsplit_once(") ")?;
    // after "pid (comm) ": state is field 3, so utime..cstime (14..17) are rest[11..15]
    let fields: Vec<f64> = rest.split_whitespace().skip(11).take(4).map(|v| v.parse::<f64>().unwrap_or(0.0) / ticks).collect();
    Some((head, fields.try_into().ok()?))
}

/// Runs pgbench against a fresh database on the same server; returns its report.
pub fn pgbench(pg: &EmbeddedPostgres, admin: &mut PgConnection, init: &[&str], run: &[&str]) -> String {
    pgbench_with_cpu(pg, admin, init, run).0
}

/// `pgbench`, the PostgreSQL CPU seconds its run phase (not the init) took, and the CPU
/// seconds of pgbench itself (the baseline's load generator) in that phase.
pub fn pgbench_with_cpu(pg: &EmbeddedPostgres, admin: &mut PgConnection, init: &[&str], run: &[&str]) -> (String, f64, f64) {
    fresh_database(admin, "bench_pgbench");
    let socket = pg.socket_dir().to_string_lossy().to_string();
    let call = |args: &[&str]| {
        let out =
            Command::new(pg.bin_dir().join("pgbench")).args(["-h", &socket, "-p", "5432", "-U", "postgres"]).args(args).arg("bench_pgbench").output().unwrap();
        assert!(out.status.success(), "pgbench: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    call(init);
    let (before, client_before) = (postgres_cpu_seconds(), own_cpu_seconds().1);
    let report = call(run);
    let client = own_cpu_seconds().1 - client_before;
    std::thread::sleep(Duration::from_millis(300)); // let the postmaster reap the backends
    let cpu = postgres_cpu_seconds() - before;
    exec(admin, "DROP DATABASE bench_pgbench WITH (FORCE)");
    (report, cpu, client)
}

/// A `key = value` or `key: value` line of a pgbench report, e.g. "tps" or "latency average".
pub fn pgbench_value(report: &str, key: &str) -> f64 {
    report
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l[key.len()..].trim_start_matches([' ', '=', ':']).split([' ', '/']).next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN)
}

/// (median, p99) of latency samples, in milliseconds.
pub fn percentiles(samples: &mut [Duration]) -> (f64, f64) {
    samples.sort();
    let n = samples.len().max(1);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    (ms(samples[n / 2]), ms(samples[(n * 99 / 100).min(n - 1)]))
}

/// The tree of [`generate_tree`] in a fresh migrated database `name`, an HQ owner `hq` with
/// password `bench-password`, product BOX at 100.00 (`repurchase_days` as given) and the
/// default plan: what the HTTP benches start from. Returns the connection and the hash.
pub fn http_bench_brand(pg: &EmbeddedPostgres, admin: &mut PgConnection, name: &str, repurchase_days: Option<i32>) -> (PgConnection, String) {
    fresh_database(admin, name);
    let mut conn = PgConnection::establish(&pg.url(name)).unwrap();
    agent_ledger::db::migrate(&mut conn).unwrap();
    generate_tree(&mut conn);
    let hash = agent_ledger::auth::hash_password("bench-password").unwrap();
    exec(&mut conn, &format!("INSERT INTO hq_users (brand_id, id, login, password_hash, role) VALUES (1, 1, 'hq', '{hash}', 'owner')"));
    let days = repurchase_days.map_or("NULL".to_owned(), |d| d.to_string());
    exec(&mut conn, &format!("INSERT INTO products (brand_id, sku, name, retail_price, repurchase_days) VALUES (1, 'BOX', 'Box', 100, {days})"));
    exec(&mut conn, "INSERT INTO product_prices (brand_id, sku, tier_id, price) VALUES (1, 'BOX', 1, 100)");
    agent_ledger::plans::insert_default(&mut conn, 1).unwrap();
    (conn, hash)
}

/// A brand (id 1) with one tier and a tree of 1,011,110 agents: 10 top agents, fan-out 10 for
/// four levels, then 9. Ids are assigned in random order, as after years of recruiting.
pub fn generate_tree(conn: &mut PgConnection) {
    // a bulk load: without the per-row triggers (the dashboard's figures are rebuilt after)
    exec(conn, "SET session_replication_role = replica");
    exec(conn, "INSERT INTO brands (id, code, name) VALUES (1, 'bench', 'Bench')");
    exec(conn, "INSERT INTO tiers (brand_id, id, rank, name) VALUES (1, 1, 1, 'T1')");
    exec(
        conn,
        "INSERT INTO agents (brand_id, id, name, phone, tier_id, path, password_hash)
         SELECT 1, n.id, 'a' || n.id, 'p' || n.id, 1, ARRAY[n.id], 'x'
           FROM (SELECT nextval('agents_id_seq') AS id FROM generate_series(1, 10)) n",
    );
    for (level, fanout) in [(1, 10), (2, 10), (3, 10), (4, 10), (5, 9)] {
        exec(
            conn,
            &format!(
                "INSERT INTO agents (brand_id, id, name, phone, tier_id, parent_id, sponsor_id, path, password_hash)
                 SELECT 1, n.id, 'a' || n.id, 'p' || n.id, 1, n.pid, n.pid, n.ppath || n.id, 'x'
                   FROM (SELECT p.id AS pid, p.path AS ppath, nextval('agents_id_seq') AS id
                           FROM agents p CROSS JOIN generate_series(1, {fanout})
                          WHERE p.brand_id = 1 AND cardinality(p.path) = {level}
                          ORDER BY random()) n"
            ),
        );
    }
    exec(conn, "SET session_replication_role = origin");
    exec(conn, "SELECT month_figures_rebuild(1)");
    exec(conn, "VACUUM ANALYZE agents");
}
