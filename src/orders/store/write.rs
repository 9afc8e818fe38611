//! The writes of a group of orders: one statement per table however many orders.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Int4, Nullable, Numeric, Text};
use rust_decimal::Decimal;

use super::{LineRow, NewOrder, SplitContext};
use crate::error::AppError;
use crate::schema::{orders, products};

/// Inserts orders with their lines — one INSERT for the orders, one for all their lines —
/// and returns their ids, ascending in the given order.
pub fn insert_orders(conn: &mut PgConnection, brand_id: i64, new: &[(&NewOrder, Option<&SplitContext>, &[LineRow])]) -> Result<Vec<i64>, AppError> {
    if new.is_empty() {
        return Ok(Vec::new());
    }
    let ids = crate::db::next_ids(conn, "orders", new.len())?;
    let rows: Vec<_> = new
        .iter()
        .zip(&ids)
        .map(|((o, context, _), id)| {
            (
                orders::brand_id.eq(brand_id),
                orders::id.eq(*id),
                orders::kind.eq(o.kind),
                orders::buyer_id.eq(o.buyer_id),
                orders::seller_id.eq(o.seller_id),
                orders::customer_name.eq(o.customer_name.as_deref()),
                orders::customer_phone.eq(o.customer_phone.as_deref()),
                orders::amount.eq(o.amount),
                orders::placed_at.eq(o.placed_at),
                orders::plan_version.eq(o.plan_version),
                orders::created_by.eq(o.created_by.as_str()),
                (
                    orders::buyer_tier_id.eq(context.map(|c| c.buyer_tier_id)),
                    orders::upline.eq(context.map(|c| &c.upline)),
                    orders::upline_tiers.eq(context.map(|c| &c.upline_tiers)),
                    orders::upline_active.eq(context.map(|c| &c.upline_active)),
                    orders::sponsor_id.eq(context.and_then(|c| c.sponsor_id)),
                    orders::sponsor_active.eq(context.and_then(|c| c.sponsor_active)),
                    orders::first_purchase.eq(context.is_some_and(|c| c.first_purchase)),
                ),
            )
        })
        .collect();
    diesel::insert_into(orders::table).values(rows).execute(conn)?;
    let mut l = LineColumns::default();
    for ((_, _, lines), id) in new.iter().zip(&ids) {
        for line in lines.iter() {
            l.order_id.push(*id);
            l.line_no.push(line.line_no);
            l.sku.push(line.sku.as_str());
            l.qty.push(line.qty);
            l.unit_price.push(line.unit_price);
            l.amount.push(line.amount);
            l.seller_unit_cost.push(line.seller_unit_cost);
            l.below_floor.push(line.below_floor);
        }
    }
    crate::db::prepared(
        "INSERT INTO order_lines (brand_id, order_id, line_no, sku, qty, unit_price, amount, seller_unit_cost, below_floor)
         SELECT $1, l.* FROM unnest($2::bigint[], $3::int4[], $4::text[], $5::int4[], $6::numeric[], $7::numeric[], $8::numeric[], $9::bool[])
                AS l(order_id, line_no, sku, qty, unit_price, amount, seller_unit_cost, below_floor)",
    )
    .bind::<BigInt, _>(brand_id)
    .bind::<Array<BigInt>, _>(&l.order_id)
    .bind::<Array<Int4>, _>(&l.line_no)
    .bind::<Array<Text>, _>(&l.sku)
    .bind::<Array<Int4>, _>(&l.qty)
    .bind::<Array<Numeric>, _>(&l.unit_price)
    .bind::<Array<Numeric>, _>(&l.amount)
    .bind::<Array<Nullable<Numeric>>, _>(&l.seller_unit_cost)
    .bind::<Array<Bool>, _>(&l.below_floor)
    .execute(conn)?;
    Ok(ids)
}

#[derive(Default)]
struct LineColumns<'a> {
    order_id: Vec<i64>,
    line_no: Vec<i32>,
    sku: Vec<&'a str>,
    qty: Vec<i32>,
    unit_price: Vec<Decimal>,
    amount: Vec<Decimal>,
    seller_unit_cost: Vec<Option<Decimal>>,
    below_floor: Vec<bool>,
}

/// Claims the first purchase of each buyer: the buyers returned are the ones whose first
/// purchase this transaction holds — exactly one purchase per buyer however many run at
/// once (a concurrent claimer waits for this transaction and then finds the row; if this
/// one rolls back, the next claimer gets it). Claimed in buyer order, so two batches wait
/// for each other in one direction only.
pub fn claim_first_purchases(conn: &mut PgConnection, brand_id: i64, buyers: &[i64]) -> Result<HashSet<i64>, AppError> {
    #[derive(QueryableByName)]
    struct Buyer {
        #[diesel(sql_type = BigInt)]
        buyer_id: i64,
    }
    if buyers.is_empty() {
        return Ok(HashSet::new());
    }
    let claimed: Vec<Buyer> = crate::db::prepared(
        "INSERT INTO first_purchases (brand_id, buyer_id)
         SELECT DISTINCT $1::bigint, b FROM unnest($2::bigint[]) AS b ORDER BY 2
         ON CONFLICT DO NOTHING RETURNING buyer_id",
    )
    .bind::<BigInt, _>(brand_id)
    .bind::<Array<BigInt>, _>(buyers)
    .load(conn)?;
    Ok(claimed.into_iter().map(|b| b.buyer_id).collect())
}

/// Retail price and floor of each of `skus` the brand lists.
pub fn catalog(conn: &mut PgConnection, brand_id: i64, skus: &[&str]) -> Result<HashMap<String, (Decimal, Option<Decimal>)>, AppError> {
    Ok(products::table
        .filter(products::brand_id.eq(brand_id))
        .filter(products::sku.eq_any(skus))
        .select((products::sku, products::retail_price, products::retail_floor))
        .load::<(String, Decimal, Option<Decimal>)>(conn)?
        .into_iter()
        .map(|(sku, retail, floor)| (sku, (retail, floor)))
        .collect())
}
