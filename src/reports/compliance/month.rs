//! The month's rows the compliance report is computed from: one per agent, in the depth-first
//! order of the tree (the kept tree of a closed month, today's otherwise), lean — no names,
//! no paths — so a million agents load in a fraction of the time. A team's figures are
//! prefix sums over that order (a team is a range of places); names are read afterwards for
//! the few rows the report lists.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Integer, Nullable, Numeric, Text, Timestamptz};
use rust_decimal::Decimal;

use crate::error::AppError;

#[derive(QueryableByName)]
pub struct AgentMonth {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    parent_id: Option<i64>,
    /// Place in the tree's depth-first order, and the last place of the agent's team.
    #[diesel(sql_type = BigInt)]
    pub pos: i64,
    #[diesel(sql_type = BigInt)]
    pub end: i64,
    /// Level in the tree (1 = directly under HQ).
    #[diesel(sql_type = Integer)]
    pub level: i32,
    #[diesel(sql_type = Bool)]
    pub active: bool,
    #[diesel(sql_type = Bool)]
    pub exited: bool,
    #[diesel(sql_type = Numeric)]
    pub internal_amount: Decimal,
    #[diesel(sql_type = Numeric)]
    pub retail_amount: Decimal,
    #[diesel(sql_type = BigInt)]
    pub retail_units: i64,
    #[diesel(sql_type = Numeric)]
    pub purchased_amount: Decimal,
    #[diesel(sql_type = BigInt)]
    pub purchased_units: i64,
    #[diesel(sql_type = BigInt)]
    pub stock_units: i64,
    #[diesel(sql_type = Numeric)]
    pub stock_value: Decimal,
    #[diesel(sql_type = Numeric)]
    pub earned: Decimal,
}

/// An open month from the books and today's tree (its places computed here).
pub fn load(conn: &mut PgConnection, brand_id: i64, start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Vec<AgentMonth>, AppError> {
    let mut rows: Vec<AgentMonth> = diesel::sql_query(
        "WITH net AS (SELECT kind, buyer_id, seller_id, units, amount FROM order_lines_net WHERE brand_id = $1 AND placed_at >= $2 AND placed_at < $3),
         sold AS (
             SELECT seller_id AS id, sum(amount) FILTER (WHERE kind = 'purchase') AS internal_amount,
                    sum(amount) FILTER (WHERE kind = 'retail') AS retail_amount, sum(units) FILTER (WHERE kind = 'retail') AS retail_units
               FROM net WHERE seller_id IS NOT NULL GROUP BY 1),
         bought AS (SELECT buyer_id AS id, sum(amount) AS amount, sum(units) AS units FROM net WHERE kind = 'purchase' GROUP BY 1),
         held AS (SELECT agent_id AS id, sum(qty) AS units, sum(qty * avg_cost) AS value FROM stock WHERE brand_id = $1 AND qty > 0 GROUP BY 1),
         earned AS (
             SELECT agent_id AS id, sum(amount) AS amount FROM postings
              WHERE brand_id = $1 AND account = 'wallet' AND occurred_at >= $2 AND occurred_at < $3 AND split_kind IS DISTINCT FROM 'withdrawal' AND split_kind IS DISTINCT FROM 'withdrawal_fee' AND split_kind IS DISTINCT FROM 'withholding_tax'
              GROUP BY 1)
         SELECT a.id, a.parent_id, 0::bigint AS pos, 0::bigint AS end, cardinality(a.path) AS level,
                a.status = 'active' AS active, a.status = 'exited' AS exited,
                coalesce(sold.internal_amount, 0) AS internal_amount, coalesce(sold.retail_amount, 0) AS retail_amount,
                coalesce(sold.retail_units, 0)::bigint AS retail_units,
                coalesce(bought.amount, 0) AS purchased_amount, coalesce(bought.units, 0)::bigint AS purchased_units,
                coalesce(held.units, 0)::bigint AS stock_units, round(coalesce(held.value, 0), 2) AS stock_value,
                coalesce(earned.amount, 0) AS earned
           FROM agents a
           LEFT JOIN sold ON sold.id = a.id LEFT JOIN bought ON bought.id = a.id
           LEFT JOIN held ON held.id = a.id LEFT JOIN earned ON earned.id = a.id
          WHERE a.brand_id = $1",
    )
    .bind::<BigInt, _>(brand_id)
    .bind::<Timestamptz, _>(start)
    .bind::<Timestamptz, _>(end)
    .load(conn)?;
    in_tree_order(&mut rows);
    Ok(rows)
}

/// Gives rows read with their parents their places in that tree, and sorts them by place.
fn in_tree_order(rows: &mut [AgentMonth]) {
    let places: HashMap<i64, crate::tree::Place> =
        crate::tree::places(&rows.iter().map(|r| (r.id, r.parent_id)).collect::<Vec<_>>()).into_iter().map(|p| (p.agent_id, p)).collect();
    for r in rows.iter_mut() {
        let p = places[&r.id];
        (r.pos, r.end) = (p.pos, p.end);
    }
    rows.sort_unstable_by_key(|r| r.pos);
}

/// A closed month from its statements (purchases and sales net of the refunds made before
/// the close, earnings of the month, the tree at close) and stock on hand now — which, at
/// close, is stock at close.
pub fn load_kept(conn: &mut PgConnection, brand_id: i64, month: &str) -> Result<Vec<AgentMonth>, AppError> {
    Ok(diesel::sql_query(
        "WITH held AS (SELECT agent_id AS id, sum(qty) AS units, sum(qty * avg_cost) AS value FROM stock WHERE brand_id = $1 AND qty > 0 GROUP BY 1)
         SELECT s.agent_id AS id, NULL::bigint AS parent_id, s.tree_pos AS pos, s.team_end AS end, cardinality(s.path) AS level,
                s.status = 'active' AS active, s.status = 'exited' AS exited,
                s.internal_sales_amount AS internal_amount, s.retail_sales_amount AS retail_amount, s.retail_sales_units AS retail_units,
                s.purchases_amount AS purchased_amount, s.purchases_units AS purchased_units,
                coalesce(held.units, 0)::bigint AS stock_units, round(coalesce(held.value, 0), 2) AS stock_value,
                s.closing_balance - s.opening_balance - s.withdrawals AS earned
           FROM statements s
           LEFT JOIN held ON held.id = s.agent_id
          WHERE s.brand_id = $1 AND s.month = $2 AND s.tree_pos IS NOT NULL
          ORDER BY s.tree_pos",
    )
    .bind::<BigInt, _>(brand_id)
    .bind::<Text, _>(month)
    .load(conn)?)
}

/// Every agent's team figures (purchased, internal, retail; the agent included), in the
/// rows' order: prefix sums over the depth-first order, a team being the places [pos, end].
pub fn teams(rows: &[AgentMonth]) -> Vec<(Decimal, Decimal, Decimal)> {
    let mut prefix = Vec::with_capacity(rows.len() + 1);
    let mut acc = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
    prefix.push(acc);
    for r in rows {
        acc = (acc.0 + r.purchased_amount, acc.1 + r.internal_amount, acc.2 + r.retail_amount);
        prefix.push(acc);
    }
    rows.iter()
        .map(|r| {
            // rows are sorted by place; a team is the rows whose place lies in [pos, end]
            let from = rows.partition_point(|x| x.pos < r.pos);
            let to = rows.partition_point(|x| x.pos <= r.end);
            (prefix[to].0 - prefix[from].0, prefix[to].1 - prefix[from].1, prefix[to].2 - prefix[from].2)
        })
        .collect()
}

/// The names of the given agents (the rows a report lists).
pub fn names(conn: &mut PgConnection, brand_id: i64, ids: &[i64]) -> Result<HashMap<i64, String>, AppError> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        id: i64,
        #[diesel(sql_type = Text)]
        name: String,
    }
    let rows: Vec<Row> = diesel::sql_query("SELECT id, name FROM agents WHERE brand_id = $1 AND id = ANY($2)")
        .bind::<BigInt, _>(brand_id)
        .bind::<Array<BigInt>, _>(ids)
        .load(conn)?;
    Ok(rows.into_iter().map(|r| (r.id, r.name)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, parent_id: Option<i64>, purchased: i64, retail: i64) -> AgentMonth {
        AgentMonth {
            id,
            parent_id,
            pos: 0,
            end: 0,
            level: 0,
            active: true,
            exited: false,
            internal_amount: Decimal::ZERO,
            retail_amount: Decimal::from(retail),
            retail_units: 0,
            purchased_amount: Decimal::from(purchased),
            purchased_units: 0,
            stock_units: 0,
            stock_value: Decimal::ZERO,
            earned: Decimal::ZERO,
        }
    }

    #[test]
    fn a_teams_figures_are_its_members_summed_over_its_range_of_places() {
        // 1 ─ 2 ─ 4        5
        //   └ 3
        let mut rows = vec![row(4, Some(2), 40, 4), row(1, None, 10, 1), row(3, Some(1), 30, 3), row(5, None, 50, 5), row(2, Some(1), 20, 2)];
        in_tree_order(&mut rows);
        let got: HashMap<i64, (Decimal, Decimal)> = rows.iter().zip(teams(&rows)).map(|(r, t)| (r.id, (t.0, t.2))).collect();
        let d = |a: i64, b: i64| (Decimal::from(a), Decimal::from(b));
        assert_eq!(got[&1], d(100, 10));
        assert_eq!(got[&2], d(60, 6));
        assert_eq!(got[&3], d(30, 3));
        assert_eq!(got[&4], d(40, 4));
        assert_eq!(got[&5], d(50, 5));
    }
}
