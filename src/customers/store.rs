//! The SQL of customers: an agent's retail orders grouped by phone (index
//! `orders_seller_customer`), and the last purchase of each product per customer.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Integer, Nullable, Numeric, Text, Timestamptz};
use rust_decimal::Decimal;

use crate::error::AppError;

#[derive(QueryableByName)]
pub struct CustomerRow {
    #[diesel(sql_type = Text)]
    pub phone: String,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Timestamptz)]
    pub first_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub last_at: DateTime<Utc>,
    #[diesel(sql_type = BigInt)]
    pub last_id: i64,
    #[diesel(sql_type = BigInt)]
    pub orders: i64,
    #[diesel(sql_type = Numeric)]
    pub total: Decimal,
}

/// An agent's customers, latest purchase first (then the latest order id), after `after`.
pub fn customers_of(
    conn: &mut PgConnection,
    brand_id: i64,
    seller_id: i64,
    after: Option<(DateTime<Utc>, i64)>,
    limit: i64,
) -> Result<Vec<CustomerRow>, AppError> {
    Ok(diesel::sql_query(
        "SELECT o.customer_phone AS phone,
                coalesce((array_agg(o.customer_name ORDER BY o.placed_at DESC, o.id DESC))[1], '') AS name,
                min(o.placed_at) AS first_at, max(o.placed_at) AS last_at, max(o.id) AS last_id, count(*) AS orders,
                sum(o.amount) - coalesce(sum(r.amount), 0) AS total
           FROM orders o
           LEFT JOIN LATERAL (SELECT sum(x.amount) AS amount FROM refund_lines x WHERE x.brand_id = o.brand_id AND x.order_id = o.id) r ON true
          WHERE o.brand_id = $1 AND o.seller_id = $2 AND o.kind = 'retail' AND o.customer_phone IS NOT NULL
          GROUP BY o.customer_phone
         HAVING $3::timestamptz IS NULL OR (max(o.placed_at), max(o.id)) < ($3, $4)
          ORDER BY last_at DESC, last_id DESC
          LIMIT $5",
    )
    .bind::<BigInt, _>(brand_id)
    .bind::<BigInt, _>(seller_id)
    .bind::<Nullable<Timestamptz>, _>(after.map(|a| a.0))
    .bind::<BigInt, _>(after.map_or(0, |a| a.1))
    .bind::<BigInt, _>(limit.min(i64::from(i32::MAX)))
    .load(conn)?)
}

#[derive(QueryableByName)]
pub struct LastPurchase {
    #[diesel(sql_type = Text)]
    pub phone: String,
    #[diesel(sql_type = Text)]
    pub sku: String,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Nullable<Integer>)]
    pub repurchase_days: Option<i32>,
    #[diesel(sql_type = Timestamptz)]
    pub placed_at: DateTime<Utc>,
    #[diesel(sql_type = BigInt)]
    pub qty: i64,
}

/// Per customer (of `phones`) and product: the last retail purchase from this agent and
/// its units net of refunds.
pub fn last_purchases(conn: &mut PgConnection, brand_id: i64, seller_id: i64, phones: &[&str]) -> Result<Vec<LastPurchase>, AppError> {
    if phones.is_empty() {
        return Ok(Vec::new());
    }
    Ok(diesel::sql_query(
        "SELECT DISTINCT ON (o.customer_phone, l.sku) o.customer_phone AS phone, l.sku, p.name, p.repurchase_days, o.placed_at,
                (l.qty - coalesce((SELECT sum(x.qty) FROM refund_lines x WHERE x.brand_id = l.brand_id AND x.order_id = l.order_id AND x.line_no = l.line_no), 0))::bigint AS qty
           FROM orders o
           JOIN order_lines l ON l.brand_id = o.brand_id AND l.order_id = o.id
           JOIN products p ON p.brand_id = l.brand_id AND p.sku = l.sku
          WHERE o.brand_id = $1 AND o.seller_id = $2 AND o.kind = 'retail' AND o.customer_phone = ANY($3)
          ORDER BY o.customer_phone, l.sku, o.placed_at DESC, o.id DESC",
    )
    .bind::<BigInt, _>(brand_id)
    .bind::<BigInt, _>(seller_id)
    .bind::<Array<Text>, _>(phones)
    .load(conn)?)
}
