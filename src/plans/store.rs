//! The reads of the what-if replay: a closed month's purchase lines with what each was
//! split with, the payouts the ledger holds for them, and the month's tree and volumes.
//! Nothing here writes.

use chrono::{DateTime, Utc};
use diesel::pg::PgRowByRowLoadingMode;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Integer, Nullable, Numeric, Text, Timestamptz};
use rust_decimal::Decimal;

use crate::error::AppError;

/// One purchase line of the month, with its order's split context and its refunds.
#[derive(Debug, QueryableByName)]
pub struct LineRow {
    #[diesel(sql_type = BigInt)]
    pub order_id: i64,
    #[diesel(sql_type = Integer)]
    pub line_no: i32,
    #[diesel(sql_type = Integer)]
    pub qty: i32,
    #[diesel(sql_type = Numeric)]
    pub unit_price: Decimal,
    #[diesel(sql_type = Text)]
    pub sku: String,
    #[diesel(sql_type = Timestamptz)]
    pub placed_at: DateTime<Utc>,
    #[diesel(sql_type = BigInt)]
    pub buyer_id: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub seller_id: Option<i64>,
    /// None on orders written before the split context was kept (then rebuilt as of placed_at).
    #[diesel(sql_type = Nullable<BigInt>)]
    pub buyer_tier_id: Option<i64>,
    #[diesel(sql_type = Nullable<Array<BigInt>>)]
    pub upline: Option<Vec<i64>>,
    #[diesel(sql_type = Nullable<Array<BigInt>>)]
    pub upline_tiers: Option<Vec<i64>>,
    #[diesel(sql_type = Nullable<Array<Bool>>)]
    pub upline_active: Option<Vec<bool>>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub sponsor_id: Option<i64>,
    #[diesel(sql_type = Nullable<Bool>)]
    pub sponsor_active: Option<bool>,
    #[diesel(sql_type = Bool)]
    pub first_purchase: bool,
    #[diesel(sql_type = Timestamptz)]
    pub joined_at: DateTime<Utc>,
    /// Units of each refund made before `refunds_before`, in order.
    #[diesel(sql_type = Array<Integer>)]
    pub refunds: Vec<i32>,
}

/// Streams every purchase line placed in [start, end) to `each`, row by row (a month of
/// millions of lines is never held in memory).
pub fn each_line(
    conn: &mut PgConnection,
    brand_id: i64,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    refunds_before: DateTime<Utc>,
    mut each: impl FnMut(LineRow) -> Result<(), AppError>,
) -> Result<(), AppError> {
    let rows = diesel::sql_query(
        "WITH rf AS (
             SELECT rl.order_id, rl.line_no, array_agg(rl.qty ORDER BY rl.refund_id) AS qtys
               FROM orders o
               JOIN refund_lines rl ON rl.brand_id = o.brand_id AND rl.order_id = o.id
               JOIN refunds r ON r.brand_id = rl.brand_id AND r.id = rl.refund_id
              WHERE o.brand_id = $1 AND o.kind = 'purchase' AND o.placed_at >= $2 AND o.placed_at < $3 AND r.created_at <= $4
              GROUP BY 1, 2)
         SELECT o.id AS order_id, l.line_no, l.qty, l.unit_price, l.sku, o.placed_at, o.buyer_id, o.seller_id,
                o.buyer_tier_id, o.upline, o.upline_tiers, o.upline_active, o.sponsor_id, o.sponsor_active, o.first_purchase,
                a.joined_at, coalesce(rf.qtys, '{}') AS refunds
           FROM orders o
           JOIN order_lines l ON l.brand_id = o.brand_id AND l.order_id = o.id
           JOIN agents a ON a.brand_id = o.brand_id AND a.id = o.buyer_id
           LEFT JOIN rf ON rf.order_id = l.order_id AND rf.line_no = l.line_no
          WHERE o.brand_id = $1 AND o.kind = 'purchase' AND o.placed_at >= $2 AND o.placed_at < $3",
    )
    .bind::<BigInt, _>(brand_id)
    .bind::<Timestamptz, _>(start)
    .bind::<Timestamptz, _>(end)
    .bind::<Timestamptz, _>(refunds_before)
    .load_iter::<LineRow, PgRowByRowLoadingMode>(conn)?;
    for row in rows {
        each(row?)?;
    }
    Ok(())
}

#[derive(Debug, QueryableByName)]
pub struct Paid {
    #[diesel(sql_type = BigInt)]
    pub agent_id: i64,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Numeric)]
    pub amount: Decimal,
}

/// What the ledger paid for the month: the cuts of its purchase orders (their splits and
/// the reversals of refunds made before the close) and its team rebates.
pub fn paid(
    conn: &mut PgConnection,
    brand_id: i64,
    month: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    closed_at: DateTime<Utc>,
) -> Result<Vec<Paid>, AppError> {
    Ok(diesel::sql_query(
        "SELECT p.agent_id, p.split_kind AS kind, sum(p.amount) AS amount
           FROM orders o
           JOIN postings p ON p.brand_id = o.brand_id AND p.order_id = o.id
           JOIN journal_entries e ON e.brand_id = p.brand_id AND e.id = p.entry_id
          WHERE o.brand_id = $1 AND o.kind = 'purchase' AND o.placed_at >= $2 AND o.placed_at < $3
            AND p.account = 'wallet' AND p.split_kind IN ('differential', 'peer_bonus', 'referral_bonus')
            AND e.kind IN ('purchase', 'refund') AND e.posted_at <= $4
          GROUP BY 1, 2
         UNION ALL
         SELECT p.agent_id, 'team_rebate', sum(p.amount)
           FROM periods pe JOIN postings p ON p.brand_id = pe.brand_id AND p.entry_id = pe.rebate_entry_id
          WHERE pe.brand_id = $1 AND pe.month = $5 AND p.account = 'wallet'
          GROUP BY 1",
    )
    .bind::<BigInt, _>(brand_id)
    .bind::<Timestamptz, _>(start)
    .bind::<Timestamptz, _>(end)
    .bind::<Timestamptz, _>(closed_at)
    .bind::<Text, _>(month)
    .load(conn)?)
}

#[derive(Debug, QueryableByName)]
pub struct MonthAgent {
    #[diesel(sql_type = BigInt)]
    pub agent_id: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub parent_id: Option<i64>,
    #[diesel(sql_type = BigInt)]
    pub tier_id: i64,
    #[diesel(sql_type = Bool)]
    pub active: bool,
    /// Own purchases placed in the month, net of refunds made before the close.
    #[diesel(sql_type = Numeric)]
    pub volume: Decimal,
}

/// Every agent of the tree kept with the month's statements, with its own net purchases
/// of the month as the statement has them (net of refunds made before the close). For a
/// month closed before statements kept the tree: today's tree, and the same volumes.
pub fn month_tree(
    conn: &mut PgConnection,
    brand_id: i64,
    month: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    closed_at: DateTime<Utc>,
) -> Result<Vec<MonthAgent>, AppError> {
    if crate::settlement::store::kept_tree(conn, brand_id, month)? {
        return Ok(diesel::sql_query(
            "SELECT agent_id, path[cardinality(path) - 1] AS parent_id, tier_id, status = 'active' AS active, purchases_amount AS volume
               FROM statements WHERE brand_id = $1 AND month = $2 AND path IS NOT NULL",
        )
        .bind::<BigInt, _>(brand_id)
        .bind::<Text, _>(month)
        .load(conn)?);
    }
    Ok(diesel::sql_query(
        "WITH refunded AS (
             SELECT rl.order_id, sum(rl.amount) AS amount
               FROM orders o
               JOIN refund_lines rl ON rl.brand_id = o.brand_id AND rl.order_id = o.id
               JOIN refunds r ON r.brand_id = rl.brand_id AND r.id = rl.refund_id
              WHERE o.brand_id = $1 AND o.kind = 'purchase' AND o.placed_at >= $2 AND o.placed_at < $3 AND r.created_at <= $4
              GROUP BY 1),
         own AS (
             SELECT o.buyer_id, sum(o.amount - coalesce(f.amount, 0)) AS volume
               FROM orders o LEFT JOIN refunded f ON f.order_id = o.id
              WHERE o.brand_id = $1 AND o.kind = 'purchase' AND o.placed_at >= $2 AND o.placed_at < $3
              GROUP BY 1)
         SELECT a.id AS agent_id, a.parent_id, a.tier_id, a.status = 'active' AS active, coalesce(own.volume, 0) AS volume
           FROM agents a LEFT JOIN own ON own.buyer_id = a.id
          WHERE a.brand_id = $1",
    )
    .bind::<BigInt, _>(brand_id)
    .bind::<Timestamptz, _>(start)
    .bind::<Timestamptz, _>(end)
    .bind::<Timestamptz, _>(closed_at)
    .load(conn)?)
}

/// Every (sku, tier_id) → price of the brand.
pub fn price_list(conn: &mut PgConnection, brand_id: i64) -> Result<Vec<(String, i64, Decimal)>, AppError> {
    use crate::schema::product_prices as pp;
    Ok(pp::table.filter(pp::brand_id.eq(brand_id)).select((pp::sku, pp::tier_id, pp::price)).load(conn)?)
}

/// Names of the given agents.
pub fn names(conn: &mut PgConnection, brand_id: i64, ids: &[i64]) -> Result<Vec<(i64, String)>, AppError> {
    use crate::schema::agents;
    Ok(agents::table.filter(agents::brand_id.eq(brand_id)).filter(agents::id.eq_any(ids)).select((agents::id, agents::name)).load(conn)?)
}
