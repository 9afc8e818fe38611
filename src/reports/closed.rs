//! A closed month's downline summary, as the month was closed: the tree kept at close
//! (`period_agents`) and the purchases of its members net of refunds made before the
//! close. Read live from those rows (a closed month never changes, so there is nothing to
//! snapshot); months closed before trees were kept are read like open ones.

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Integer, Numeric, Text, Timestamptz};
use rust_decimal::Decimal;

use super::team::{assemble, Count};
use super::{totals, Volume};
use crate::auth::Principal;
use crate::error::AppError;
use crate::settlement::store::ClosedPeriod;
use crate::tree::store::subtree_upper_bound;

#[derive(QueryableByName)]
struct Net {
    #[diesel(sql_type = BigInt)]
    units: i64,
    #[diesel(sql_type = Numeric)]
    amount: Decimal,
}

/// Purchases of the kept tree's agents whose path lies in [lower, upper).
fn purchases(conn: &mut PgConnection, brand_id: i64, period: &ClosedPeriod, lower: &[i64], upper: &[i64]) -> Result<totals::Totals, AppError> {
    let n: Net = diesel::sql_query(
        "WITH m AS (SELECT agent_id FROM period_agents WHERE brand_id = $1 AND month = $2 AND path >= $3 AND path < $4),
              o AS (SELECT o.id FROM orders o JOIN m ON m.agent_id = o.buyer_id
                     WHERE o.brand_id = $1 AND o.kind = 'purchase' AND o.placed_at >= $5 AND o.placed_at < $6),
              l AS (SELECT coalesce(sum(qty), 0) AS units, coalesce(sum(amount), 0) AS amount
                      FROM order_lines WHERE brand_id = $1 AND order_id IN (SELECT id FROM o)),
              r AS (SELECT coalesce(sum(rl.qty), 0) AS units, coalesce(sum(rl.amount), 0) AS amount
                      FROM refund_lines rl JOIN refunds rf ON rf.brand_id = rl.brand_id AND rf.id = rl.refund_id
                     WHERE rl.brand_id = $1 AND rl.order_id IN (SELECT id FROM o) AND rf.created_at < $7)
         SELECT (l.units - r.units)::bigint AS units, l.amount - r.amount AS amount FROM l, r",
    )
    .bind::<BigInt, _>(brand_id)
    .bind::<Text, _>(&period.month)
    .bind::<Array<BigInt>, _>(lower)
    .bind::<Array<BigInt>, _>(upper)
    .bind::<Timestamptz, _>(period.starts_at)
    .bind::<Timestamptz, _>(period.ends_at)
    .bind::<Timestamptz, _>(period.closed_at)
    .get_result(conn)?;
    Ok(totals::Totals { units: n.units, amount: n.amount })
}

/// The summary of `agent_id`'s team in a closed month; None when the month kept no tree.
/// The caller has checked the agent is visible to `who` (today's tree).
pub fn summary(conn: &mut PgConnection, who: &Principal, agent_id: i64, period: &ClosedPeriod) -> Result<Option<super::DownlineSummary>, AppError> {
    let brand_id = who.brand_id;
    let Some(path) = crate::settlement::store::path_at_close(conn, brand_id, &period.month, agent_id)? else {
        if crate::settlement::store::kept_tree(conn, brand_id, &period.month)? {
            // joined after the close: an empty team
            return Ok(Some(assemble(agent_id, &period.month, &[], Volume::default(), &totals::Totals::default())));
        }
        return Ok(None);
    };
    let upper = subtree_upper_bound(&path);
    let counts: Vec<Count> = diesel::sql_query(
        "SELECT tier_id, cardinality(path) - $4 AS depth, count(*) AS n FROM period_agents
          WHERE brand_id = $1 AND month = $5 AND path > $2 AND path < $3 GROUP BY 1, 2",
    )
    .bind::<BigInt, _>(brand_id)
    .bind::<Array<BigInt>, _>(&path)
    .bind::<Array<BigInt>, _>(&upper)
    .bind::<Integer, _>(path.len() as i32)
    .bind::<Text, _>(&period.month)
    .load(conn)?;
    let own_upper: Vec<i64> = path.iter().copied().chain([i64::MIN]).collect();
    let own = purchases(conn, brand_id, period, &path, &own_upper)?;
    let team = purchases(conn, brand_id, period, &path, &upper)?;
    Ok(Some(assemble(agent_id, &period.month, &counts, Volume { units: own.units, amount: super::cents(own.amount) }, &team)))
}
