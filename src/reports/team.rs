//! A team's downline summary (GET /agents/{id}/downline/summary): the agents below an
//! agent by tier and by relative depth, and the month's own and team purchases.
//!
//! Small teams are counted live: one index-only range scan of the tree and one of the
//! monthly totals. Those scans grow with the team (~60 ms for 100,000 agents), so a big
//! team's figures are kept in `team_snapshots` with the pg_snapshot they were computed
//! in, and a read adds what was committed since: agents, purchase orders and refunds whose
//! writing transaction that pg_snapshot did not see (`created_xid`, migration 000005).
//! The answer is exact either way; the snapshot only decides how much must be read. A move
//! or tier change bumps the brand's tree version (a trigger), retiring older snapshots.
//! Nothing on the order path writes a shared row for this.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Integer, Numeric, Text, Timestamptz};
use rust_decimal::Decimal;
use serde::Serialize;

use super::{cents, month_range, totals, Volume};
use crate::auth::Principal;
use crate::error::AppError;
use crate::tree::store::subtree_upper_bound;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DownlineSummary {
    pub agent_id: i64,
    pub month: String,
    /// Agents below `agent_id` (not counting it).
    pub total: i64,
    /// Downline agents per tier id.
    pub by_tier: BTreeMap<String, i64>,
    /// Downline agents per depth relative to `agent_id` (children = 1).
    pub by_depth: BTreeMap<String, i64>,
    /// The agent's own purchases in the month, net of refunds.
    pub own_purchases: Volume,
    /// Purchases of the agent and its whole downline in the month, net of refunds.
    pub team_purchases: Volume,
}

/// When a team gets a snapshot and when it is refreshed.
#[derive(Debug, Clone)]
pub struct SnapshotPolicy {
    /// Teams of at least this many agents are served from a snapshot.
    pub min_team: i64,
    /// Refresh (in the background) once a read had to look at more rows written since the
    /// snapshot than this, or once the snapshot is older than `max_age`.
    pub refresh_after_rows: i64,
    pub max_age: chrono::Duration,
    /// (brand, agent, month) being refreshed now, so one refresh runs per team at a time.
    refreshing: Arc<Mutex<HashSet<(i64, i64, String)>>>,
}

impl Default for SnapshotPolicy {
    fn default() -> Self {
        Self::with_min_team(2_000)
    }
}

impl SnapshotPolicy {
    pub fn with_min_team(min_team: i64) -> Self {
        SnapshotPolicy { min_team, refresh_after_rows: 1_000, max_age: chrono::Duration::minutes(10), refreshing: Arc::default() }
    }
}

pub struct Outcome {
    pub summary: DownlineSummary,
    /// The snapshot served has aged past the policy: refresh it off the request path.
    pub refresh: bool,
}

/// The summary, exact as of now, and whether its snapshot wants refreshing.
pub fn summary(conn: &mut PgConnection, who: &Principal, agent_id: i64, month: &str, policy: &SnapshotPolicy) -> Result<Outcome, AppError> {
    crate::period::parse_month(month)?;
    // a closed month reads as it was closed
    let closed = conn.build_transaction().repeatable_read().read_only().run(|c| {
        if !crate::settlement::store::kept_tree(c, who.brand_id, month)? {
            return Ok(None);
        }
        crate::tree::visible(c, who, agent_id)?;
        super::closed::summary(c, who.brand_id, agent_id, month).map(Some)
    })?;
    if let Some(summary) = closed {
        return Ok(Outcome { summary, refresh: false });
    }
    let read = conn.build_transaction().repeatable_read().read_only().run(|c| read(c, who, agent_id, month, policy))?;
    match read {
        Read::Snapshot(outcome) => Ok(outcome),
        Read::Live(summary, fresh) => {
            if summary.total >= policy.min_team {
                store(conn, who.brand_id, agent_id, month, &fresh)?;
            }
            Ok(Outcome { summary, refresh: false })
        }
    }
}

/// Recomputes and stores a team's snapshot.
pub fn refresh(conn: &mut PgConnection, brand_id: i64, agent_id: i64, month: &str) -> Result<(), AppError> {
    let fresh = conn.build_transaction().repeatable_read().read_only().run(|c| {
        let root = crate::tree::store::find(c, brand_id, agent_id)?.ok_or_else(|| AppError::not_found(format!("agent {agent_id}")))?;
        live(c, brand_id, &root.path, month)
    })?;
    store(conn, brand_id, agent_id, month, &fresh)
}

/// The HTTP service: the summary now, and a background refresh when the policy asks.
pub async fn downline_summary(state: &crate::AppState, who: Principal, agent_id: i64, month: String) -> Result<DownlineSummary, AppError> {
    let policy = state.summaries.clone();
    let brand_id = who.brand_id;
    let (outcome, month) = crate::db::read(&state.pool, move |conn| summary(conn, &who, agent_id, &month, &policy).map(|o| (o, month))).await?;
    if outcome.refresh {
        spawn_refresh(state, (brand_id, agent_id, month));
    }
    Ok(outcome.summary)
}

/// The team sizes (downline counts) of several agents, exact: big teams from their
/// snapshots plus what changed since, small ones counted live — the tree view's numbers.
pub async fn team_sizes(state: &crate::AppState, who: Principal, ids: Vec<i64>, month: String) -> Result<Vec<i64>, AppError> {
    let policy = state.summaries.clone();
    let brand_id = who.brand_id;
    let m = month.clone();
    let outcomes =
        crate::db::read(&state.pool, move |conn| ids.iter().map(|id| summary(conn, &who, *id, &m, &policy).map(|o| (*id, o))).collect::<Result<Vec<_>, _>>())
            .await?;
    let mut sizes = Vec::with_capacity(outcomes.len());
    for (id, outcome) in outcomes {
        if outcome.refresh {
            spawn_refresh(state, (brand_id, id, month.clone()));
        }
        sizes.push(outcome.summary.total);
    }
    Ok(sizes)
}

fn spawn_refresh(state: &crate::AppState, key: (i64, i64, String)) {
    let refreshing = state.summaries.refreshing.clone();
    if !refreshing.lock().unwrap_or_else(|e| e.into_inner()).insert(key.clone()) {
        return;
    }
    let pool = state.pool.clone();
    actix_web::rt::spawn(async move {
        let (brand_id, agent_id, month) = key.clone();
        if let Err(e) = crate::db::read(&pool, move |conn| refresh(conn, brand_id, agent_id, &month)).await {
            log::warn!("team snapshot refresh of agent {agent_id}: {}", e.detail);
        }
        refreshing.lock().unwrap_or_else(|e| e.into_inner()).remove(&key);
    });
}

enum Read {
    Snapshot(Outcome),
    Live(DownlineSummary, Fresh),
}

/// Everything in one repeatable-read transaction, so the tree, the snapshot and the rows
/// written since are all seen as of one instant.
fn read(conn: &mut PgConnection, who: &Principal, agent_id: i64, month: &str, policy: &SnapshotPolicy) -> Result<Read, AppError> {
    let root = crate::tree::visible(conn, who, agent_id)?;
    let own_upper: Vec<i64> = root.path.iter().copied().chain([i64::MIN]).collect(); // just the agent: a prefix sorts first
    let own = totals::range(conn, who.brand_id, month, &root.path, &own_upper)?;
    let own = Volume { units: own.units, amount: cents(own.amount) };
    let snapshot = load_snapshot(conn, who.brand_id, agent_id, month)?;
    let Some(snapshot) = snapshot else {
        let fresh = live(conn, who.brand_id, &root.path, month)?;
        return Ok(Read::Live(assemble(agent_id, month, &fresh.counts, own, &fresh.team), fresh));
    };
    let upper = subtree_upper_bound(&root.path);
    let mut counts = snapshot.counts();
    let team_key = TeamKey { brand_id: who.brand_id, xmax: &snapshot.xmax, xip: &snapshot.xip };
    counts.extend(agents_since(conn, &team_key, &root.path, &upper)?);
    let (start, end) = month_range(conn, who.brand_id, month)?;
    let since = purchases_since(conn, &team_key, (start, end), &root.path, &upper)?;
    let team = totals::Totals { units: snapshot.team_units + since.units, amount: snapshot.team_amount + since.amount };
    let refresh = since.seen > policy.refresh_after_rows || Utc::now() - snapshot.taken_at > policy.max_age;
    Ok(Read::Snapshot(Outcome { summary: assemble(agent_id, month, &counts, own, &team), refresh }))
}

pub(super) fn assemble(agent_id: i64, month: &str, counts: &[Count], own: Volume, team: &totals::Totals) -> DownlineSummary {
    let mut by_tier = BTreeMap::new();
    let mut by_depth = BTreeMap::new();
    for c in counts {
        *by_tier.entry(c.tier_id.to_string()).or_insert(0) += c.n;
        *by_depth.entry(c.depth.to_string()).or_insert(0) += c.n;
    }
    DownlineSummary {
        agent_id,
        month: month.to_owned(),
        total: counts.iter().map(|c| c.n).sum(),
        by_tier,
        by_depth,
        own_purchases: own,
        team_purchases: Volume { units: team.units, amount: cents(team.amount) },
    }
}

#[derive(QueryableByName, Debug, Clone)]
pub(super) struct Count {
    #[diesel(sql_type = BigInt)]
    pub tier_id: i64,
    #[diesel(sql_type = Integer)]
    pub depth: i32,
    #[diesel(sql_type = BigInt)]
    pub n: i64,
}

/// A team's figures as of `snap` (a pg_snapshot in its text form).
struct Fresh {
    counts: Vec<Count>,
    team: totals::Totals,
    snap: String,
    tree_version: i64,
}

#[derive(QueryableByName)]
struct SnapAndVersion {
    #[diesel(sql_type = Text)]
    snap: String,
    #[diesel(sql_type = BigInt)]
    tree_version: i64,
}

/// Counts by tier and depth from one index-only range scan of the tree, team purchases
/// from one of the monthly totals, and the pg_snapshot both were read in.
fn live(conn: &mut PgConnection, brand_id: i64, path: &[i64], month: &str) -> Result<Fresh, AppError> {
    let upper = subtree_upper_bound(path);
    let counts: Vec<Count> = diesel::sql_query(
        "SELECT tier_id, cardinality(path) - $4 AS depth, count(*) AS n FROM agents
          WHERE brand_id = $1 AND path > $2 AND path < $3 GROUP BY 1, 2",
    )
    .bind::<BigInt, _>(brand_id)
    .bind::<Array<BigInt>, _>(path)
    .bind::<Array<BigInt>, _>(&upper)
    .bind::<Integer, _>(path.len() as i32)
    .load(conn)?;
    let team = totals::range(conn, brand_id, month, path, &upper)?;
    let SnapAndVersion { snap, tree_version } =
        diesel::sql_query("SELECT pg_current_snapshot()::text AS snap, coalesce((SELECT version FROM tree_versions WHERE brand_id = $1), 0) AS tree_version")
            .bind::<BigInt, _>(brand_id)
            .get_result(conn)?;
    Ok(Fresh { counts, team, snap, tree_version })
}

/// Upserts the snapshot unless a newer one (a later pg_snapshot xmax) is already stored.
fn store(conn: &mut PgConnection, brand_id: i64, agent_id: i64, month: &str, fresh: &Fresh) -> Result<(), AppError> {
    let tier_ids: Vec<i64> = fresh.counts.iter().map(|c| c.tier_id).collect();
    let depths: Vec<i32> = fresh.counts.iter().map(|c| c.depth).collect();
    let counts: Vec<i64> = fresh.counts.iter().map(|c| c.n).collect();
    diesel::sql_query(
        "INSERT INTO team_snapshots (brand_id, agent_id, month, snap, tree_version, taken_at, tier_ids, depths, counts, team_units, team_amount)
         VALUES ($1, $2, $3, $4::pg_snapshot, $5, now(), $6, $7, $8, $9, $10)
         ON CONFLICT (brand_id, agent_id, month) DO UPDATE
            SET snap = EXCLUDED.snap, tree_version = EXCLUDED.tree_version, taken_at = EXCLUDED.taken_at, tier_ids = EXCLUDED.tier_ids,
                depths = EXCLUDED.depths, counts = EXCLUDED.counts, team_units = EXCLUDED.team_units, team_amount = EXCLUDED.team_amount
          WHERE pg_snapshot_xmax(team_snapshots.snap) <= pg_snapshot_xmax(EXCLUDED.snap)",
    )
    .bind::<BigInt, _>(brand_id)
    .bind::<BigInt, _>(agent_id)
    .bind::<Text, _>(month)
    .bind::<Text, _>(&fresh.snap)
    .bind::<BigInt, _>(fresh.tree_version)
    .bind::<Array<BigInt>, _>(tier_ids)
    .bind::<Array<Integer>, _>(depths)
    .bind::<Array<BigInt>, _>(counts)
    .bind::<BigInt, _>(fresh.team.units)
    .bind::<Numeric, _>(fresh.team.amount)
    .execute(conn)?;
    Ok(())
}

#[derive(QueryableByName)]
struct Snapshot {
    #[diesel(sql_type = Array<BigInt>)]
    tier_ids: Vec<i64>,
    #[diesel(sql_type = Array<Integer>)]
    depths: Vec<i32>,
    #[diesel(sql_type = Array<BigInt>)]
    counts: Vec<i64>,
    #[diesel(sql_type = BigInt)]
    team_units: i64,
    #[diesel(sql_type = Numeric)]
    team_amount: Decimal,
    #[diesel(sql_type = Timestamptz)]
    taken_at: DateTime<Utc>,
    /// The transactions the snapshot did not see: every id from `xmax` on, and those in
    /// flight when it was taken (`xip`). Bound as values, so the "since" queries are two
    /// index probes — however old the snapshot's xmin (a long month close) may be.
    #[diesel(sql_type = Text)]
    xmax: String,
    #[diesel(sql_type = Array<Text>)]
    xip: Vec<String>,
}

impl Snapshot {
    fn counts(&self) -> Vec<Count> {
        (self.tier_ids.iter().zip(&self.depths).zip(&self.counts)).map(|((&tier_id, &depth), &n)| Count { tier_id, depth, n }).collect()
    }
}

/// The stored snapshot, if it was taken under the brand's current tree version.
fn load_snapshot(conn: &mut PgConnection, brand_id: i64, agent_id: i64, month: &str) -> Result<Option<Snapshot>, AppError> {
    Ok(diesel::sql_query(
        "SELECT tier_ids, depths, counts, team_units, team_amount, taken_at, pg_snapshot_xmax(snap)::text AS xmax,
                ARRAY(SELECT pg_snapshot_xip(snap)::text) AS xip
           FROM team_snapshots
          WHERE brand_id = $1 AND agent_id = $2 AND month = $3
            AND tree_version = coalesce((SELECT version FROM tree_versions WHERE brand_id = $1), 0)",
    )
    .bind::<BigInt, _>(brand_id)
    .bind::<BigInt, _>(agent_id)
    .bind::<Text, _>(month)
    .get_result(conn)
    .optional()?)
}

/// The transactions a snapshot did not see (see `Snapshot::xmax`).
struct TeamKey<'a> {
    brand_id: i64,
    xmax: &'a str,
    xip: &'a [String],
}

/// Agents that joined the team after the snapshot (their transaction not in it).
fn agents_since(conn: &mut PgConnection, key: &TeamKey, path: &[i64], upper: &[i64]) -> Result<Vec<Count>, AppError> {
    Ok(diesel::sql_query(
        "SELECT tier_id, cardinality(path) - $4 AS depth, count(*) AS n FROM agents
          WHERE brand_id = $1 AND (created_xid >= $5::xid8 OR created_xid = ANY ($6::text[]::xid8[])) AND path > $2 AND path < $3
          GROUP BY 1, 2",
    )
    .bind::<BigInt, _>(key.brand_id)
    .bind::<Array<BigInt>, _>(path)
    .bind::<Array<BigInt>, _>(upper)
    .bind::<Integer, _>(path.len() as i32)
    .bind::<Text, _>(key.xmax)
    .bind::<Array<Text>, _>(key.xip)
    .load(conn)?)
}

#[derive(QueryableByName)]
struct Since {
    /// Rows written since the snapshot that the read had to look at, team or not.
    #[diesel(sql_type = BigInt)]
    seen: i64,
    #[diesel(sql_type = BigInt)]
    units: i64,
    #[diesel(sql_type = Numeric)]
    amount: Decimal,
}

/// The team's purchases of the month committed after the snapshot: purchase orders placed
/// in the month, less refunds of such orders, exactly as `totals::add` books them.
fn purchases_since(
    conn: &mut PgConnection,
    key: &TeamKey,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    path: &[i64],
    upper: &[i64],
) -> Result<Since, AppError> {
    Ok(diesel::sql_query(
        "WITH new_orders AS (
             SELECT id, buyer_id, placed_at FROM orders
              WHERE brand_id = $1 AND kind = 'purchase' AND (created_xid >= $6::xid8 OR created_xid = ANY ($7::text[]::xid8[]))),
         new_refunds AS (
             SELECT id, order_id FROM refunds WHERE brand_id = $1 AND (created_xid >= $6::xid8 OR created_xid = ANY ($7::text[]::xid8[]))),
         team AS (
             SELECT l.qty::bigint AS units, l.amount
               FROM new_orders o
               JOIN agents a ON a.brand_id = $1 AND a.id = o.buyer_id
               JOIN order_lines l ON l.brand_id = $1 AND l.order_id = o.id
              WHERE o.placed_at >= $2 AND o.placed_at < $3 AND a.path >= $4 AND a.path < $5
             UNION ALL
             SELECT -rl.qty::bigint, -rl.amount
               FROM new_refunds r
               JOIN orders o ON o.brand_id = $1 AND o.id = r.order_id AND o.kind = 'purchase'
               JOIN agents a ON a.brand_id = $1 AND a.id = o.buyer_id
               JOIN refund_lines rl ON rl.brand_id = $1 AND rl.refund_id = r.id
              WHERE o.placed_at >= $2 AND o.placed_at < $3 AND a.path >= $4 AND a.path < $5)
         SELECT (SELECT count(*) FROM new_orders) + (SELECT count(*) FROM new_refunds) AS seen,
                coalesce(sum(units), 0)::bigint AS units, coalesce(sum(amount), 0) AS amount
           FROM team",
    )
    .bind::<BigInt, _>(key.brand_id)
    .bind::<Timestamptz, _>(start)
    .bind::<Timestamptz, _>(end)
    .bind::<Array<BigInt>, _>(path)
    .bind::<Array<BigInt>, _>(upper)
    .bind::<Text, _>(key.xmax)
    .bind::<Array<Text>, _>(key.xip)
    .get_result(conn)?)
}
