//! Each agent's own purchases per month, net of refunds, kept in tree order
//! (`agent_month_purchases`), so that a team's month total is one index-only range scan.
//!
//! Only the buyer's own orders and refunds touch its row, after they have locked the
//! buyer's stock rows: the row is never shared by many orders and keeps the global lock
//! order (stock rows first). Tree moves rewrite the paths here with the agents' paths; a
//! writer holds the brand's tree lock in shared mode (writers never block each other) and
//! reads the path at write time, so it cannot slip a stale path past a concurrent move,
//! which takes that lock exclusively before anything else.

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Numeric, Text};
use rust_decimal::Decimal;

use crate::error::AppError;

/// Adds `units` and `amount` (negative for a refund) to the agent's month.
pub fn add(conn: &mut PgConnection, brand_id: i64, month: &str, agent_id: i64, units: i64, amount: Decimal) -> Result<(), AppError> {
    add_many(conn, brand_id, &[(month.to_owned(), agent_id, units, amount)])
}

/// Adds to many agents' months in one statement (a batch of orders), in (month, agent) order
/// so that two batches lock these rows in the same order; entries for the same month and
/// agent are summed first.
pub fn add_many(conn: &mut PgConnection, brand_id: i64, adds: &[(String, i64, i64, Decimal)]) -> Result<(), AppError> {
    let mut sums: std::collections::BTreeMap<(&str, i64), (i64, Decimal)> = std::collections::BTreeMap::new();
    for (month, agent, units, amount) in adds {
        let s = sums.entry((month.as_str(), *agent)).or_default();
        s.0 += units;
        s.1 += amount;
    }
    if sums.is_empty() {
        return Ok(());
    }
    crate::tree::store::lock_tree(conn, brand_id, false)?;
    let months: Vec<&str> = sums.keys().map(|k| k.0).collect();
    let agents: Vec<i64> = sums.keys().map(|k| k.1).collect();
    let units: Vec<i64> = sums.values().map(|v| v.0).collect();
    let amounts: Vec<Decimal> = sums.values().map(|v| v.1).collect();
    crate::db::prepared(
        "INSERT INTO agent_month_purchases (brand_id, month, agent_id, path, units, amount)
         SELECT $1, v.month, v.agent_id, a.path, v.units, v.amount
           FROM unnest($2::text[], $3::bigint[], $4::bigint[], $5::numeric[]) WITH ORDINALITY AS v(month, agent_id, units, amount, n)
           JOIN agents a ON a.brand_id = $1 AND a.id = v.agent_id
          ORDER BY v.n
         ON CONFLICT (brand_id, month, agent_id)
         DO UPDATE SET units = agent_month_purchases.units + EXCLUDED.units, amount = agent_month_purchases.amount + EXCLUDED.amount,
                       path = EXCLUDED.path",
    )
    .bind::<BigInt, _>(brand_id)
    .bind::<Array<Text>, _>(&months)
    .bind::<Array<BigInt>, _>(&agents)
    .bind::<Array<BigInt>, _>(&units)
    .bind::<Array<Numeric>, _>(&amounts)
    .execute(conn)?;
    Ok(())
}

#[derive(QueryableByName, Default)]
pub struct Totals {
    #[diesel(sql_type = BigInt)]
    pub units: i64,
    #[diesel(sql_type = Numeric)]
    pub amount: Decimal,
}

/// The month's purchases of the agents whose path lies in [lower, upper).
pub fn range(conn: &mut PgConnection, brand_id: i64, month: &str, lower: &[i64], upper: &[i64]) -> Result<Totals, AppError> {
    Ok(crate::db::prepared(
        "SELECT coalesce(sum(units), 0)::bigint AS units, coalesce(sum(amount), 0) AS amount
           FROM agent_month_purchases WHERE brand_id = $1 AND month = $2 AND path >= $3 AND path < $4",
    )
    .bind::<BigInt, _>(brand_id)
    .bind::<Text, _>(month)
    .bind::<Array<BigInt>, _>(lower)
    .bind::<Array<BigInt>, _>(upper)
    .get_result(conn)?)
}

#[derive(QueryableByName, Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct TeamTotal {
    /// The team's leader: an agent on level 1 or 2.
    #[diesel(sql_type = BigInt)]
    pub agent_id: i64,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub level: i32,
    #[diesel(sql_type = BigInt)]
    pub units: i64,
    #[diesel(sql_type = Numeric)]
    #[schema(value_type = String)]
    pub amount: Decimal,
}

/// 业绩排行: the teams led from levels 1 and 2 with the most purchases in the month, in one
/// scan of the month's rows.
pub fn top_teams(conn: &mut PgConnection, brand_id: i64, month: &str, limit: i64) -> Result<Vec<TeamTotal>, AppError> {
    Ok(crate::db::prepared(
        "SELECT key[cardinality(key)] AS agent_id, cardinality(key)::int AS level, sum(units)::bigint AS units, sum(amount) AS amount
           FROM (SELECT path[1:1] AS key, units, amount FROM agent_month_purchases WHERE brand_id = $1 AND month = $2
                 UNION ALL
                 SELECT path[1:2], units, amount FROM agent_month_purchases WHERE brand_id = $1 AND month = $2 AND cardinality(path) >= 2) t
          GROUP BY key ORDER BY sum(amount) DESC, key LIMIT $3",
    )
    .bind::<BigInt, _>(brand_id)
    .bind::<Text, _>(month)
    .bind::<BigInt, _>(limit)
    .load(conn)?)
}

/// Each given agent's own purchases in `month` (net of refunds); absent: none.
pub fn own_month(conn: &mut PgConnection, brand_id: i64, month: &str, ids: &[i64]) -> Result<std::collections::HashMap<i64, Decimal>, AppError> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        agent_id: i64,
        #[diesel(sql_type = Numeric)]
        amount: Decimal,
    }
    let rows: Vec<Row> = crate::db::prepared("SELECT agent_id, amount FROM agent_month_purchases WHERE brand_id = $1 AND month = $2 AND agent_id = ANY($3)")
        .bind::<BigInt, _>(brand_id)
        .bind::<Text, _>(month)
        .bind::<Array<BigInt>, _>(ids)
        .get_results(conn)?;
    Ok(rows.into_iter().map(|r| (r.agent_id, r.amount)).collect())
}

/// Recounts a brand's monthly totals from its orders (after a change of time zone moves the
/// months' bounds): each agent's purchases by the order's month in the brand's zone, net of
/// refunds, at its path today.
pub fn rebuild(conn: &mut PgConnection, brand_id: i64) -> Result<(), AppError> {
    crate::tree::store::lock_tree(conn, brand_id, false)?;
    diesel::sql_query("DELETE FROM agent_month_purchases WHERE brand_id = $1").bind::<BigInt, _>(brand_id).execute(conn)?;
    diesel::sql_query(
        "INSERT INTO agent_month_purchases (brand_id, month, agent_id, path, units, amount)
         SELECT n.brand_id, brand_month(n.brand_id, n.placed_at), n.buyer_id, a.path, sum(n.units), sum(n.amount)
           FROM order_lines_net n JOIN agents a ON a.brand_id = n.brand_id AND a.id = n.buyer_id
          WHERE n.brand_id = $1 AND n.kind = 'purchase'
          GROUP BY 1, 2, 3, 4",
    )
    .bind::<BigInt, _>(brand_id)
    .execute(conn)?;
    Ok(())
}
