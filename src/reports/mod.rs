//! Reports that tell distribution from inventory loading (domain §1, §11): the sales split
//! of a month for the brand, an agent or a team, and a team's downline summary (`team`).

pub mod closed;
pub mod compliance;
pub mod dashboard;
pub mod http;
pub mod team;
pub mod totals;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Nullable, Numeric, Text, Timestamptz};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::auth::Principal;
use crate::error::AppError;
use crate::tree::store::subtree_upper_bound;

pub use team::DownlineSummary;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Orders the agent bought or sold itself.
    #[serde(rename = "self")]
    Own,
    /// Orders bought or sold by the agent or anyone in its subtree.
    Team,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Volume {
    pub units: i64,
    #[schema(value_type = String)]
    pub amount: Decimal,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SalesSplit {
    pub month: String,
    /// brand, self or team
    pub scope: String,
    pub agent_id: Option<i64>,
    /// Purchase orders bought by the scope's agents.
    pub purchases: Volume,
    /// Purchase orders sold to downline agents (for the brand: every purchase, HQ included).
    pub internal_sales: Volume,
    /// Retail orders sold to consumers.
    pub retail_sales: Volume,
    /// retail amount ÷ (retail amount + purchases amount), the one retail share of
    /// docs/compliance.md; null when both are 0.
    #[schema(value_type = Option<String>)]
    pub retail_share: Option<Decimal>,
}

pub(crate) fn month_range(conn: &mut PgConnection, brand_id: i64, month: &str) -> Result<(DateTime<Utc>, DateTime<Utc>), AppError> {
    let tz = crate::brands::settings(conn, brand_id)?.timezone;
    crate::period::month_bounds(month, &tz)
}

/// The retail share, defined once for every report, finding and the us_ftc hold
/// (docs/compliance.md): retail sales ÷ (retail sales + purchases) of the same agents —
/// an agent, a team (the agent and its subtree) or the brand. None when both are zero.
/// Not retail ÷ (retail + internal sales): under 云仓 supply HQ sells every purchase, no
/// agent sells internally, and that ratio is ~1 for any team that sells a little.
pub fn retail_share_exact(retail: Decimal, purchases: Decimal) -> Option<Decimal> {
    let total = retail + purchases;
    (!total.is_zero()).then(|| retail / total)
}

/// [`retail_share_exact`] as shown and compared with the brand minimum: 4 places.
pub fn retail_share(retail: Decimal, purchases: Decimal) -> Option<Decimal> {
    retail_share_exact(retail, purchases).map(|share| {
        let mut share = share.round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero);
        share.rescale(4);
        share
    })
}

/// a ÷ b to 4 places (always shown with 4), None when b is zero: every ratio of the reports.
pub fn ratio(a: Decimal, b: Decimal) -> Option<Decimal> {
    (!b.is_zero()).then(|| {
        let mut r = (a / b).round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero);
        r.rescale(4);
        r
    })
}

fn cents(mut d: Decimal) -> Decimal {
    d.rescale(2);
    d
}

/// Net of refunds, for a month. Brand scope: every seller including HQ.
pub fn sales_split(conn: &mut PgConnection, who: &Principal, month: &str, agent_id: Option<i64>, scope: Scope) -> Result<SalesSplit, AppError> {
    let agent_id = match (who.agent_id(), agent_id) {
        (Some(me), None) => Some(me),
        (_, named) => named,
    };
    let (start, end) = month_range(conn, who.brand_id, month)?;
    let (mode, root) = match agent_id {
        None => ("brand", None),
        Some(id) => {
            let row = crate::tree::visible(conn, who, id)?;
            (if scope == Scope::Team { "team" } else { "self" }, Some(row))
        }
    };
    // A closed month reads as it was closed: its statements, which keep the tree at close.
    if crate::settlement::store::kept_tree(conn, who.brand_id, month)? {
        return closed_split(conn, who.brand_id, month, mode, agent_id);
    }
    let path = root.as_ref().map(|r| r.path.clone()).unwrap_or_default();
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        purchases_units: i64,
        #[diesel(sql_type = Numeric)]
        purchases_amount: Decimal,
        #[diesel(sql_type = BigInt)]
        internal_units: i64,
        #[diesel(sql_type = Numeric)]
        internal_amount: Decimal,
        #[diesel(sql_type = BigInt)]
        retail_units: i64,
        #[diesel(sql_type = Numeric)]
        retail_amount: Decimal,
    }
    let r: Row = diesel::sql_query(
        "WITH net AS (SELECT kind, buyer_id, seller_id, units, amount FROM order_lines_net WHERE brand_id = $1 AND placed_at >= $2 AND placed_at < $3
                         AND ($4 <> 'self' OR buyer_id = $5 OR seller_id = $5)),
         scoped AS (
             SELECT n.kind, n.units, n.amount,
                    CASE $4 WHEN 'brand' THEN true WHEN 'self' THEN n.buyer_id = $5 ELSE b.path >= $6 AND b.path < $7 END AS bought_in,
                    CASE $4 WHEN 'brand' THEN true WHEN 'self' THEN n.seller_id = $5 ELSE s.path >= $6 AND s.path < $7 END AS sold_in
               FROM net n
               LEFT JOIN agents b ON b.brand_id = $1 AND b.id = n.buyer_id
               LEFT JOIN agents s ON s.brand_id = $1 AND s.id = n.seller_id)
         SELECT coalesce(sum(units) FILTER (WHERE kind = 'purchase' AND bought_in), 0)::bigint AS purchases_units,
                coalesce(sum(amount) FILTER (WHERE kind = 'purchase' AND bought_in), 0) AS purchases_amount,
                coalesce(sum(units) FILTER (WHERE kind = 'purchase' AND sold_in), 0)::bigint AS internal_units,
                coalesce(sum(amount) FILTER (WHERE kind = 'purchase' AND sold_in), 0) AS internal_amount,
                coalesce(sum(units) FILTER (WHERE kind = 'retail' AND sold_in), 0)::bigint AS retail_units,
                coalesce(sum(amount) FILTER (WHERE kind = 'retail' AND sold_in), 0) AS retail_amount
           FROM scoped",
    )
    .bind::<BigInt, _>(who.brand_id)
    .bind::<Timestamptz, _>(start)
    .bind::<Timestamptz, _>(end)
    .bind::<Text, _>(mode)
    .bind::<Nullable<BigInt>, _>(agent_id)
    .bind::<Array<BigInt>, _>(&path)
    .bind::<Array<BigInt>, _>(subtree_upper_bound(&path))
    .get_result(conn)?;
    Ok(SalesSplit {
        month: month.to_owned(),
        scope: mode.into(),
        agent_id,
        purchases: Volume { units: r.purchases_units, amount: cents(r.purchases_amount) },
        internal_sales: Volume { units: r.internal_units, amount: cents(r.internal_amount) },
        retail_sales: Volume { units: r.retail_units, amount: cents(r.retail_amount) },
        retail_share: retail_share(r.retail_amount, r.purchases_amount),
    })
}

/// A closed month's split from its statements (net of the refunds made before the close,
/// the team as it stood at close). For the brand, internal sales are every purchase.
fn closed_split(conn: &mut PgConnection, brand_id: i64, month: &str, mode: &str, agent_id: Option<i64>) -> Result<SalesSplit, AppError> {
    let place = match agent_id {
        Some(id) => crate::settlement::store::place_at_close(conn, brand_id, month, id)?,
        None => None,
    };
    let sums = match (mode, &place) {
        ("brand", _) => crate::settlement::store::kept_sums(conn, brand_id, month, None)?,
        (_, None) => crate::settlement::store::KeptSums::default(), // joined after the close
        ("self", Some(p)) => crate::settlement::store::kept_sums(conn, brand_id, month, Some((p.pos, p.pos)))?,
        (_, Some(p)) => crate::settlement::store::kept_sums(conn, brand_id, month, Some((p.pos, p.end)))?,
    };
    let (internal_units, internal_amount) =
        if mode == "brand" { (sums.purchases_units, sums.purchases_amount) } else { (sums.internal_units, sums.internal_amount) };
    Ok(SalesSplit {
        month: month.to_owned(),
        scope: mode.into(),
        agent_id,
        purchases: Volume { units: sums.purchases_units, amount: cents(sums.purchases_amount) },
        internal_sales: Volume { units: internal_units, amount: cents(internal_amount) },
        retail_sales: Volume { units: sums.retail_units, amount: cents(sums.retail_amount) },
        retail_share: retail_share(sums.retail_amount, sums.purchases_amount),
    })
}

/// A team in the 业绩排行.
#[derive(Debug, Clone, Serialize)]
pub struct RankedTeam {
    pub agent_id: i64,
    pub name: String,
    pub level: i32,
    pub units: i64,
    pub amount: Decimal,
}

/// 业绩排行: the teams (led from levels 1 and 2) with the most purchases in `month` (HQ).
pub fn top_teams(conn: &mut PgConnection, who: &Principal, month: &str, n: i64) -> Result<Vec<RankedTeam>, AppError> {
    who.require_hq()?;
    crate::period::parse_month(month)?;
    let rows = totals::top_teams(conn, who.brand_id, month, n)?;
    let names = crate::tree::names(conn, who, &rows.iter().map(|r| r.agent_id).collect::<Vec<_>>())?;
    Ok(rows
        .into_iter()
        .map(|r| RankedTeam {
            name: names.get(&r.agent_id).cloned().unwrap_or_default(),
            agent_id: r.agent_id,
            level: r.level,
            units: r.units,
            amount: r.amount,
        })
        .collect())
}

/// The own purchases in `month` of agents the caller may see (others are left out).
pub fn own_purchases(conn: &mut PgConnection, who: &Principal, month: &str, ids: &[i64]) -> Result<std::collections::HashMap<i64, Decimal>, AppError> {
    crate::period::parse_month(month)?;
    let visible: Vec<i64> = crate::tree::names(conn, who, ids)?.into_keys().collect();
    totals::own_month(conn, who.brand_id, month, &visible)
}
