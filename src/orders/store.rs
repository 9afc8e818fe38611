//! Every SQL statement that reads or writes orders, lines and refunds.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use rust_decimal::Decimal;

use crate::error::AppError;
use crate::schema::{journal_entries, order_lines, orders, postings, refund_lines, refunds};

mod write;
pub use write::{catalog, claim_first_purchases, insert_orders};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = orders)]
pub struct OrderRow {
    pub id: i64,
    pub kind: String,
    pub buyer_id: Option<i64>,
    pub seller_id: Option<i64>,
    pub customer_name: Option<String>,
    pub customer_phone: Option<String>,
    pub amount: Decimal,
    pub placed_at: DateTime<Utc>,
    pub plan_version: Option<i32>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = order_lines)]
pub struct LineRow {
    pub line_no: i32,
    pub sku: String,
    pub qty: i32,
    pub unit_price: Decimal,
    pub amount: Decimal,
    pub seller_unit_cost: Option<Decimal>,
    /// A retail line sold below the product's retail floor (brands that flag, not refuse).
    pub below_floor: bool,
}

/// A posting that is part of an order's split (or its reversal).
#[derive(Debug, Clone, Queryable)]
pub struct SplitRow {
    pub line_no: Option<i32>,
    pub kind: Option<String>,
    pub agent_id: Option<i64>,
    pub amount: Decimal,
    pub generation: Option<i32>,
    pub available_at: DateTime<Utc>,
    pub refund_id: Option<i64>,
}

pub struct NewOrder {
    pub kind: &'static str,
    pub buyer_id: Option<i64>,
    pub seller_id: Option<i64>,
    pub customer_name: Option<String>,
    pub customer_phone: Option<String>,
    pub amount: Decimal,
    pub placed_at: DateTime<Utc>,
    pub plan_version: Option<i32>,
    pub created_by: String,
}

/// What a purchase was split with, as of its placed_at (kept on the order).
pub struct SplitContext {
    pub buyer_tier_id: i64,
    /// The chain from the parent up to (not including) the seller.
    pub upline: Vec<i64>,
    pub upline_tiers: Vec<i64>,
    pub upline_active: Vec<bool>,
    pub sponsor_id: Option<i64>,
    /// Whether the sponsor was active at placed_at.
    pub sponsor_active: Option<bool>,
    pub first_purchase: bool,
}

pub fn find(conn: &mut PgConnection, brand_id: i64, id: i64) -> Result<Option<OrderRow>, AppError> {
    Ok(orders::table.find((brand_id, id)).select(OrderRow::as_select()).first(conn).optional()?)
}

/// Locks the order, so refunds of one order are serialised.
pub fn find_for_update(conn: &mut PgConnection, brand_id: i64, id: i64) -> Result<Option<OrderRow>, AppError> {
    Ok(orders::table.find((brand_id, id)).select(OrderRow::as_select()).for_update().first(conn).optional()?)
}

pub fn lines(conn: &mut PgConnection, brand_id: i64, order_id: i64) -> Result<Vec<LineRow>, AppError> {
    Ok(order_lines::table
        .filter(order_lines::brand_id.eq(brand_id))
        .filter(order_lines::order_id.eq(order_id))
        .order(order_lines::line_no)
        .select(LineRow::as_select())
        .load(conn)?)
}

/// Units refunded so far per line.
pub fn refunded_qty(conn: &mut PgConnection, brand_id: i64, order_id: i64) -> Result<Vec<(i32, i64)>, AppError> {
    Ok(refund_lines::table
        .filter(refund_lines::brand_id.eq(brand_id))
        .filter(refund_lines::order_id.eq(order_id))
        .group_by(refund_lines::line_no)
        .select((refund_lines::line_no, diesel::dsl::sum(refund_lines::qty)))
        .load::<(i32, Option<i64>)>(conn)?
        .into_iter()
        .map(|(l, q)| (l, q.unwrap_or(0)))
        .collect())
}

/// The order's split postings and their reversals, in posting order.
pub fn splits(conn: &mut PgConnection, brand_id: i64, order_id: i64) -> Result<Vec<SplitRow>, AppError> {
    Ok(postings::table
        .inner_join(journal_entries::table.on(journal_entries::brand_id.eq(postings::brand_id).and(journal_entries::id.eq(postings::entry_id))))
        .filter(postings::brand_id.eq(brand_id))
        .filter(postings::order_id.eq(order_id))
        .filter(postings::split_kind.is_not_null())
        .order(postings::id)
        .select((
            postings::line_no,
            postings::split_kind,
            postings::agent_id,
            postings::amount,
            postings::generation,
            postings::available_at,
            journal_entries::refund_id,
        ))
        .load(conn)?)
}

/// `lines`, `refunded_qty` and `splits` of many orders at once (a page of a list): three
/// queries for the page, not three per order. Keyed by order id, each in the order the
/// single-order functions give.
pub fn details_of(conn: &mut PgConnection, brand_id: i64, order_ids: &[i64]) -> Result<OrderDetails, AppError> {
    let mut out = OrderDetails::default();
    if order_ids.is_empty() {
        return Ok(out);
    }
    let lines: Vec<(i64, LineRow)> = order_lines::table
        .filter(order_lines::brand_id.eq(brand_id))
        .filter(order_lines::order_id.eq_any(order_ids))
        .order((order_lines::order_id, order_lines::line_no))
        .select((order_lines::order_id, LineRow::as_select()))
        .load(conn)?;
    for (id, l) in lines {
        out.lines.entry(id).or_default().push(l);
    }
    let refunded: Vec<(i64, i32, Option<i64>)> = refund_lines::table
        .filter(refund_lines::brand_id.eq(brand_id))
        .filter(refund_lines::order_id.eq_any(order_ids))
        .group_by((refund_lines::order_id, refund_lines::line_no))
        .select((refund_lines::order_id, refund_lines::line_no, diesel::dsl::sum(refund_lines::qty)))
        .load(conn)?;
    for (id, line, qty) in refunded {
        out.refunded.entry(id).or_default().push((line, qty.unwrap_or(0)));
    }
    let splits: Vec<(Option<i64>, SplitRow)> = postings::table
        .inner_join(journal_entries::table.on(journal_entries::brand_id.eq(postings::brand_id).and(journal_entries::id.eq(postings::entry_id))))
        .filter(postings::brand_id.eq(brand_id))
        .filter(postings::order_id.eq_any(order_ids))
        .filter(postings::split_kind.is_not_null())
        .order(postings::id)
        .select((
            postings::order_id,
            (
                postings::line_no,
                postings::split_kind,
                postings::agent_id,
                postings::amount,
                postings::generation,
                postings::available_at,
                journal_entries::refund_id,
            ),
        ))
        .load(conn)?;
    for (id, split) in splits {
        out.splits.entry(id.unwrap_or_default()).or_default().push(split);
    }
    Ok(out)
}

#[derive(Debug, Default)]
pub struct OrderDetails {
    pub lines: std::collections::HashMap<i64, Vec<LineRow>>,
    pub refunded: std::collections::HashMap<i64, Vec<(i32, i64)>>,
    pub splits: std::collections::HashMap<i64, Vec<SplitRow>>,
}

/// Records a refund dated `at` (HQ backfills; otherwise now).
pub fn insert_refund(
    conn: &mut PgConnection,
    brand_id: i64,
    order_id: i64,
    created_by: &str,
    at: DateTime<Utc>,
    lines: &[(i32, i32, Decimal)],
) -> Result<(i64, DateTime<Utc>), AppError> {
    let (id, at): (i64, DateTime<Utc>) = diesel::insert_into(refunds::table)
        .values((refunds::brand_id.eq(brand_id), refunds::order_id.eq(order_id), refunds::created_by.eq(created_by), refunds::created_at.eq(at)))
        .returning((refunds::id, refunds::created_at))
        .get_result(conn)?;
    let rows: Vec<_> = lines
        .iter()
        .map(|(line_no, qty, amount)| {
            (
                refund_lines::brand_id.eq(brand_id),
                refund_lines::refund_id.eq(id),
                refund_lines::order_id.eq(order_id),
                refund_lines::line_no.eq(*line_no),
                refund_lines::qty.eq(*qty),
                refund_lines::amount.eq(*amount),
            )
        })
        .collect();
    diesel::insert_into(refund_lines::table).values(rows).execute(conn)?;
    Ok((id, at))
}

pub struct ListFilter {
    pub agent_id: Option<i64>,
    pub kind: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Orders with a line of this SKU.
    pub sku: Option<String>,
    /// Newest first (the cursor is then the smallest id seen).
    pub desc: bool,
}

/// Orders by id, after `after` (before it when `desc`), matching the filter.
pub fn list(conn: &mut PgConnection, brand_id: i64, f: &ListFilter, after: i64, limit: i64) -> Result<Vec<OrderRow>, AppError> {
    let mut q = orders::table.filter(orders::brand_id.eq(brand_id)).into_boxed();
    q = match (f.desc, after) {
        (false, _) => q.filter(orders::id.gt(after)),
        (true, 0) => q,
        (true, _) => q.filter(orders::id.lt(after)),
    };
    if let Some(sku) = &f.sku {
        let with_sku = order_lines::table.filter(order_lines::brand_id.eq(brand_id)).filter(order_lines::sku.eq(sku.clone())).select(order_lines::order_id);
        q = q.filter(orders::id.eq_any(with_sku));
    }
    if let Some(agent) = f.agent_id {
        q = q.filter(orders::buyer_id.eq(agent).or(orders::seller_id.eq(agent)));
    }
    if let Some(kind) = &f.kind {
        q = q.filter(orders::kind.eq(kind.clone()));
    }
    if let Some(from) = f.from {
        q = q.filter(orders::placed_at.ge(from));
    }
    if let Some(to) = f.to {
        q = q.filter(orders::placed_at.lt(to));
    }
    q = if f.desc { q.order(orders::id.desc()) } else { q.order(orders::id) };
    Ok(q.limit(limit).select(OrderRow::as_select()).load(conn)?)
}

#[derive(QueryableByName)]
pub struct TierPrice {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub tier_id: i64,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub rank: i32,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub sku: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Numeric>)]
    pub price: Option<Decimal>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Bool>)]
    pub on_sale: Option<bool>,
}

/// Every tier of the brand with its price of each of `skus` (a tier without one still comes,
/// with no SKU), in one query.
pub fn tier_prices(conn: &mut PgConnection, brand_id: i64, skus: &[&str]) -> Result<Vec<TierPrice>, AppError> {
    Ok(crate::db::prepared(
        "SELECT t.id AS tier_id, t.rank, pp.sku, pp.price, p.on_sale
           FROM tiers t LEFT JOIN product_prices pp ON pp.brand_id = t.brand_id AND pp.tier_id = t.id AND pp.sku = ANY($2)
                LEFT JOIN products p ON p.brand_id = pp.brand_id AND p.sku = pp.sku
          WHERE t.brand_id = $1",
    )
    .bind::<diesel::sql_types::BigInt, _>(brand_id)
    .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(skus)
    .load(conn)?)
}

/// Locks, in (month, shard) order, the dashboard's figure rows that the given orders add to
/// at commit (made at zero where missing). A batch of orders reaches many of the 64 shards;
/// taken in one fixed order here, two batches cannot deadlock on them at commit (a single
/// order touches one shard and needs none of this).
pub fn lock_figure_shards(conn: &mut PgConnection, brand_id: i64, order_ids: &[i64]) -> Result<(), AppError> {
    const SHARDS: &str =
        "SELECT DISTINCT brand_month(o.brand_id, o.placed_at) AS month, (o.id % 64)::smallint AS shard FROM orders o WHERE o.brand_id = $1 AND o.id = ANY($2)";
    crate::db::prepared(format!(
        "INSERT INTO month_figures (brand_id, month, shard, purchases, retail, payouts, new_agents, active)
         SELECT $1, s.month, s.shard, 0, 0, 0, 0, 0 FROM ({SHARDS}) s ORDER BY s.month, s.shard ON CONFLICT DO NOTHING"
    ))
    .bind::<diesel::sql_types::BigInt, _>(brand_id)
    .bind::<diesel::sql_types::Array<diesel::sql_types::BigInt>, _>(order_ids)
    .execute(conn)?;
    crate::db::prepared(format!(
        "SELECT 1 FROM month_figures f WHERE f.brand_id = $1 AND (f.month, f.shard) IN ({SHARDS}) ORDER BY f.month, f.shard FOR UPDATE"
    ))
    .bind::<diesel::sql_types::BigInt, _>(brand_id)
    .bind::<diesel::sql_types::Array<diesel::sql_types::BigInt>, _>(order_ids)
    .execute(conn)?;
    Ok(())
}
