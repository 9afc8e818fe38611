//! Every SQL statement of the agent tree.
//!
//! A subtree is one contiguous range of the (brand_id, path) btree: the descendants of an
//! agent whose path is P = A || {id} are exactly the rows with P < path < A || {id + 1}
//! (arrays compare element by element, and a prefix sorts first). Paging walks that range
//! in path order, which is depth-first order.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Int4, Nullable, Text};
use serde::Serialize;

use crate::error::AppError;
use crate::schema::{agent_events, agents};

mod as_of;
pub use as_of::{families, family_as_of, family_of, Family, Known};

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = agents)]
pub struct AgentRow {
    pub id: i64,
    pub name: String,
    pub phone: String,
    pub tier_id: i64,
    pub parent_id: Option<i64>,
    pub sponsor_id: Option<i64>,
    pub path: Vec<i64>,
    pub status: String,
    pub joined_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, name, phone, tier_id, parent_id, sponsor_id, path, status, joined_at";

/// Upper bound of a subtree range: the path of the agent's next sibling id.
pub fn subtree_upper_bound(path: &[i64]) -> Vec<i64> {
    let mut upper = path.to_vec();
    if let Some(last) = upper.last_mut() {
        *last += 1;
    }
    upper
}

pub fn find(conn: &mut PgConnection, brand_id: i64, id: i64) -> Result<Option<AgentRow>, AppError> {
    Ok(agents::table.find((brand_id, id)).select(AgentRow::as_select()).first(conn).optional()?)
}

pub fn find_for_update(conn: &mut PgConnection, brand_id: i64, id: i64) -> Result<Option<AgentRow>, AppError> {
    Ok(agents::table.find((brand_id, id)).select(AgentRow::as_select()).for_update().first(conn).optional()?)
}

pub fn phone_taken(conn: &mut PgConnection, brand_id: i64, phone: &str) -> Result<bool, AppError> {
    Ok(diesel::select(diesel::dsl::exists(agents::table.filter(agents::brand_id.eq(brand_id)).filter(agents::phone.eq(phone)))).get_result(conn)?)
}

pub struct NewAgent<'a> {
    pub name: &'a str,
    pub phone: &'a str,
    pub tier_id: i64,
    pub parent: Option<&'a AgentRow>,
    pub sponsor_id: Option<i64>,
    pub password_hash: &'a str,
    pub joined_at: DateTime<Utc>,
    /// `active`, or `pending_activation` when the tier has a first-order threshold.
    pub status: &'a str,
}

pub fn insert(conn: &mut PgConnection, brand_id: i64, new: &NewAgent) -> Result<AgentRow, AppError> {
    let parent_path: Vec<i64> = new.parent.map(|p| p.path.clone()).unwrap_or_default();
    Ok(diesel::sql_query(format!(
        "WITH next AS (SELECT nextval('agents_id_seq') AS id)
         INSERT INTO agents (brand_id, id, name, phone, tier_id, parent_id, sponsor_id, path, password_hash, joined_at, status)
         SELECT $1, next.id, $2, $3, $4, $5, $6, $7 || next.id, $8, $9, $10 FROM next
         RETURNING {COLUMNS}"
    ))
    .bind::<BigInt, _>(brand_id)
    .bind::<Text, _>(new.name)
    .bind::<Text, _>(new.phone)
    .bind::<BigInt, _>(new.tier_id)
    .bind::<Nullable<BigInt>, _>(new.parent.map(|p| p.id))
    .bind::<Nullable<BigInt>, _>(new.sponsor_id)
    .bind::<Array<BigInt>, _>(parent_path)
    .bind::<Text, _>(new.password_hash)
    .bind::<diesel::sql_types::Timestamptz, _>(new.joined_at)
    .bind::<Text, _>(new.status)
    .get_result(conn)?)
}

pub fn children(conn: &mut PgConnection, brand_id: i64, parent_id: i64, after: Option<i64>, limit: i64) -> Result<Vec<AgentRow>, AppError> {
    Ok(agents::table
        .filter(agents::brand_id.eq(brand_id))
        .filter(agents::parent_id.eq(parent_id))
        .filter(agents::id.gt(after.unwrap_or(0)))
        .order(agents::id)
        .limit(limit)
        .select(AgentRow::as_select())
        .load(conn)?)
}

pub struct SubtreeFilter {
    /// Deepest absolute depth (cardinality of path) to include.
    pub max_abs_depth: Option<i32>,
    pub tier_id: Option<i64>,
}

/// One page of the strict subtree below `root_path`, in path (depth-first) order.
pub fn subtree_page(
    conn: &mut PgConnection,
    brand_id: i64,
    root_path: &[i64],
    filter: &SubtreeFilter,
    after: Option<&[i64]>,
    limit: i64,
) -> Result<Vec<AgentRow>, AppError> {
    let lower = after.map_or_else(|| root_path.to_vec(), <[i64]>::to_vec);
    Ok(diesel::sql_query(format!(
        "SELECT {COLUMNS} FROM agents
         WHERE brand_id = $1 AND path > $2 AND path < $3
           AND ($4::int IS NULL OR cardinality(path) <= $4)
           AND ($5::bigint IS NULL OR tier_id = $5)
         ORDER BY path LIMIT $6"
    ))
    .bind::<BigInt, _>(brand_id)
    .bind::<Array<BigInt>, _>(lower)
    .bind::<Array<BigInt>, _>(subtree_upper_bound(root_path))
    .bind::<Nullable<Int4>, _>(filter.max_abs_depth)
    .bind::<Nullable<BigInt>, _>(filter.tier_id)
    .bind::<BigInt, _>(limit)
    .load(conn)?)
}

/// One page of the subtree below `root_path` down to `max_abs_depth` (no tier filter), in
/// path order, as a skip scan: each step is one index probe for the next path, and from
/// an agent at the depth limit the probe jumps past its whole subtree. A page costs
/// `limit` probes however big the subtree below the limit is (a range scan with a depth
/// filter would walk every deeper entry: ~50 ms for 100,000 agents at max_depth 2).
pub fn subtree_page_to_depth(
    conn: &mut PgConnection,
    brand_id: i64,
    root_path: &[i64],
    max_abs_depth: i32,
    after: Option<&[i64]>,
    limit: i64,
) -> Result<Vec<AgentRow>, AppError> {
    let start = after.map_or_else(|| root_path.to_vec(), <[i64]>::to_vec);
    Ok(diesel::sql_query(format!(
        "WITH RECURSIVE walk (path, n) AS (
             SELECT $2::bigint[], 0
           UNION ALL
             SELECT next.path, w.n + 1
               FROM walk w
               CROSS JOIN LATERAL (
                   SELECT a.path FROM agents a
                    WHERE a.brand_id = $1 AND a.path > w.path AND a.path < $3
                      AND a.path >= CASE WHEN cardinality(w.path) >= $4
                                         THEN w.path[1:cardinality(w.path) - 1] || (w.path[cardinality(w.path)] + 1)
                                         ELSE w.path END
                    ORDER BY a.path LIMIT 1) next
              WHERE w.n < $5)
         SELECT {COLUMNS} FROM agents
          WHERE brand_id = $1 AND path IN (SELECT path FROM walk WHERE n > 0)
          ORDER BY path"
    ))
    .bind::<BigInt, _>(brand_id)
    .bind::<Array<BigInt>, _>(start)
    .bind::<Array<BigInt>, _>(subtree_upper_bound(root_path))
    .bind::<Int4, _>(max_abs_depth)
    .bind::<BigInt, _>(limit)
    .load(conn)?)
}

/// Size of the strict subtree below `root_path` (an index-only range count).
pub fn subtree_size(conn: &mut PgConnection, brand_id: i64, root_path: &[i64]) -> Result<i64, AppError> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let c: Count = diesel::sql_query("SELECT count(*) AS n FROM agents WHERE brand_id = $1 AND path > $2 AND path < $3")
        .bind::<BigInt, _>(brand_id)
        .bind::<Array<BigInt>, _>(root_path)
        .bind::<Array<BigInt>, _>(subtree_upper_bound(root_path))
        .get_result(conn)?;
    Ok(c.n)
}

/// What an agent search matches; every part is optional.
#[derive(Default)]
pub struct Search<'a> {
    /// A fragment of the name (case-insensitive) or a prefix of the phone.
    pub q: Option<&'a str>,
    pub tier_id: Option<i64>,
    pub status: Option<&'a str>,
    pub parent_id: Option<i64>,
    /// Only agents directly under HQ.
    pub top: bool,
    /// Only this agent and its subtree (an agent searching its own team).
    pub within: Option<&'a [i64]>,
}

/// `s` with LIKE's wildcards and escape character taken literally.
fn like_literal(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// One page of the agents matching `f`, by id after `after`.
pub fn search(conn: &mut PgConnection, brand_id: i64, f: &Search, after: i64, limit: i64) -> Result<Vec<AgentRow>, AppError> {
    let q = f.q.map(like_literal);
    let (lower, upper) = f.within.map_or((None, None), |p| (Some(p.to_vec()), Some(subtree_upper_bound(p))));
    Ok(diesel::sql_query(format!(
        "SELECT {COLUMNS} FROM agents
          WHERE brand_id = $1
            AND ($2::text IS NULL OR name ILIKE '%' || $2 || '%' OR phone LIKE $2 || '%')
            AND ($3::bigint IS NULL OR tier_id = $3)
            AND ($4::text IS NULL OR status = $4)
            AND ($5::bigint IS NULL OR parent_id = $5)
            AND (NOT $6 OR parent_id IS NULL)
            AND ($7::bigint[] IS NULL OR (path >= $7 AND path < $8))
            AND id > $9
          ORDER BY id LIMIT $10"
    ))
    .bind::<BigInt, _>(brand_id)
    .bind::<Nullable<Text>, _>(q)
    .bind::<Nullable<BigInt>, _>(f.tier_id)
    .bind::<Nullable<Text>, _>(f.status)
    .bind::<Nullable<BigInt>, _>(f.parent_id)
    .bind::<diesel::sql_types::Bool, _>(f.top)
    .bind::<Nullable<Array<BigInt>>, _>(lower)
    .bind::<Nullable<Array<BigInt>>, _>(upper)
    .bind::<BigInt, _>(after)
    .bind::<BigInt, _>(limit)
    .load(conn)?)
}

/// The given agents (an upline chain), in no particular order.
/// Agent ids by login phone, for the phones that exist.
pub fn ids_by_phone(conn: &mut PgConnection, brand_id: i64, phones: &[&str]) -> Result<Vec<(String, i64)>, AppError> {
    Ok(agents::table.filter(agents::brand_id.eq(brand_id)).filter(agents::phone.eq_any(phones)).select((agents::phone, agents::id)).load(conn)?)
}

pub fn by_ids(conn: &mut PgConnection, brand_id: i64, ids: &[i64]) -> Result<Vec<AgentRow>, AppError> {
    Ok(agents::table.filter(agents::brand_id.eq(brand_id)).filter(agents::id.eq_any(ids)).select(AgentRow::as_select()).load(conn)?)
}

/// Re-roots the subtree at `path` under `new_parent` in one statement: every path in the
/// range swaps its old prefix for the new parent's path. The monthly purchase totals
/// (reports) carry the same paths and follow in a second statement.
pub fn move_subtree(conn: &mut PgConnection, brand_id: i64, id: i64, path: &[i64], new_parent: Option<&AgentRow>) -> Result<usize, AppError> {
    let new_prefix: Vec<i64> = new_parent.map(|p| p.path.clone()).unwrap_or_default();
    diesel::sql_query("UPDATE agent_month_purchases SET path = $2 || path[$3:] WHERE brand_id = $1 AND path >= $4 AND path < $5")
        .bind::<BigInt, _>(brand_id)
        .bind::<Array<BigInt>, _>(&new_prefix)
        .bind::<Int4, _>(path.len() as i32)
        .bind::<Array<BigInt>, _>(path)
        .bind::<Array<BigInt>, _>(subtree_upper_bound(path))
        .execute(conn)?;
    Ok(diesel::sql_query(
        "UPDATE agents
            SET path = $4 || path[$5:],
                parent_id = CASE WHEN id = $2 THEN $6 ELSE parent_id END
          WHERE brand_id = $1 AND path >= $3 AND path < $7",
    )
    .bind::<BigInt, _>(brand_id)
    .bind::<BigInt, _>(id)
    .bind::<Array<BigInt>, _>(path)
    .bind::<Array<BigInt>, _>(new_prefix)
    .bind::<Int4, _>(path.len() as i32)
    .bind::<Nullable<BigInt>, _>(new_parent.map(|p| p.id))
    .bind::<Array<BigInt>, _>(subtree_upper_bound(path))
    .execute(conn)?)
}

pub fn set_tier(conn: &mut PgConnection, brand_id: i64, id: i64, tier_id: i64) -> Result<(), AppError> {
    diesel::update(agents::table.find((brand_id, id))).set(agents::tier_id.eq(tier_id)).execute(conn)?;
    Ok(())
}

pub fn set_status(conn: &mut PgConnection, brand_id: i64, id: i64, status: &str) -> Result<(), AppError> {
    diesel::update(agents::table.find((brand_id, id))).set(agents::status.eq(status)).execute(conn)?;
    Ok(())
}

/// The brand's tree lock. Whatever an order is split with — the tree, the tiers, the
/// statuses and the plan version — changes only under it exclusively (moves, exits, tier
/// and status changes, plan publishes), and those changes are dated after they hold it.
/// Purchases and inserts take it shared: writers of orders never block each other, an
/// insert never reads a parent path that a move is rewriting, and an order reads a tree
/// and a plan in which every change dated at or before its placed_at is committed.
pub fn lock_tree(conn: &mut PgConnection, brand_id: i64, exclusive: bool) -> Result<(), AppError> {
    let sql = if exclusive { "SELECT pg_advisory_xact_lock(7001, $1::int)" } else { "SELECT pg_advisory_xact_lock_shared(7001, $1::int)" };
    crate::db::prepared(sql).bind::<BigInt, _>(brand_id).execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, Serialize, Queryable, Selectable, utoipa::ToSchema)]
#[diesel(table_name = agent_events)]
pub struct AgentEvent {
    pub id: i64,
    pub agent_id: i64,
    /// joined, moved, tier_changed, status_changed
    pub kind: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub actor: String,
    pub at: DateTime<Utc>,
    /// Why, when HQ said (moves).
    pub reason: Option<String>,
}

pub fn record_event(
    conn: &mut PgConnection,
    brand_id: i64,
    agent_id: i64,
    kind: &str,
    old: Option<String>,
    new: Option<String>,
    actor: &str,
    at: DateTime<Utc>,
) -> Result<(), AppError> {
    diesel::insert_into(agent_events::table)
        .values((
            agent_events::brand_id.eq(brand_id),
            agent_events::agent_id.eq(agent_id),
            agent_events::kind.eq(kind),
            agent_events::old_value.eq(old),
            agent_events::new_value.eq(new),
            agent_events::actor.eq(actor),
            agent_events::at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// A move with the reason HQ gave.
pub fn record_move(
    conn: &mut PgConnection,
    brand_id: i64,
    agent_id: i64,
    old: Option<i64>,
    new: Option<i64>,
    actor: &str,
    at: DateTime<Utc>,
    reason: Option<&str>,
) -> Result<(), AppError> {
    diesel::insert_into(agent_events::table)
        .values((
            agent_events::brand_id.eq(brand_id),
            agent_events::agent_id.eq(agent_id),
            agent_events::kind.eq("moved"),
            agent_events::old_value.eq(old.map(|p| p.to_string())),
            agent_events::new_value.eq(new.map(|p| p.to_string())),
            agent_events::actor.eq(actor),
            agent_events::at.eq(at),
            agent_events::reason.eq(reason),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn events(conn: &mut PgConnection, brand_id: i64, agent_id: i64) -> Result<Vec<AgentEvent>, AppError> {
    Ok(agent_events::table
        .filter(agent_events::brand_id.eq(brand_id))
        .filter(agent_events::agent_id.eq(agent_id))
        .order(agent_events::id)
        .select(AgentEvent::as_select())
        .load(conn)?)
}

/// A status change with the reason for it (an activation: the threshold reached, or waived).
pub fn record_status_with_reason(
    conn: &mut PgConnection,
    brand_id: i64,
    agent_id: i64,
    old: &str,
    new: &str,
    actor: &str,
    at: DateTime<Utc>,
    reason: &str,
) -> Result<(), AppError> {
    diesel::insert_into(agent_events::table)
        .values((
            agent_events::brand_id.eq(brand_id),
            agent_events::agent_id.eq(agent_id),
            agent_events::kind.eq("status_changed"),
            agent_events::old_value.eq(old),
            agent_events::new_value.eq(new),
            agent_events::actor.eq(actor),
            agent_events::at.eq(at),
            agent_events::reason.eq(reason),
        ))
        .execute(conn)?;
    Ok(())
}
