//! Retail that looks invented (docs/compliance.md, "Retail that can be believed"): the
//! month's rows of the SQL function `retail_findings` — the one definition the us_ftc hold
//! also reads — grouped by reason and listed biggest first, phones masked.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Numeric, Text, Timestamptz};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// How many orders the report lists.
pub const LISTED: usize = 50;

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RetailFindings {
    /// Retail orders of the month with at least one finding.
    pub orders: i64,
    /// Their amount, net of refunds.
    #[schema(value_type = String)]
    pub amount: Decimal,
    /// true when the brand is under `us_ftc`: this retail is left out of the hold's share.
    pub excluded_from_us_ftc_share: bool,
    pub by_reason: Vec<ReasonTotal>,
    /// The biggest orders with a finding, each with all its reasons.
    pub listed: Vec<FindingRow>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReasonTotal {
    /// no_contact, many_sellers, over_quantity or month_end
    pub reason: String,
    pub orders: i64,
    #[schema(value_type = String)]
    pub amount: Decimal,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FindingRow {
    pub order_id: i64,
    pub seller_id: i64,
    pub seller_name: String,
    /// Masked (`138****8000`); null: no contact recorded.
    pub customer_phone: Option<String>,
    pub placed_at: DateTime<Utc>,
    #[schema(value_type = String)]
    pub amount: Decimal,
    pub reasons: Vec<String>,
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = BigInt)]
    order_id: i64,
    #[diesel(sql_type = BigInt)]
    seller_id: i64,
    #[diesel(sql_type = Text)]
    seller_name: String,
    #[diesel(sql_type = Nullable<Text>)]
    customer_phone: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    placed_at: DateTime<Utc>,
    #[diesel(sql_type = Numeric)]
    amount: Decimal,
    #[diesel(sql_type = Text)]
    reason: String,
}

pub fn findings(conn: &mut PgConnection, brand_id: i64, start: DateTime<Utc>, end: DateTime<Utc>, us_ftc: bool) -> Result<RetailFindings, AppError> {
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT f.order_id, f.seller_id, a.name AS seller_name, f.customer_phone, f.placed_at, f.amount, f.reason
           FROM retail_findings($1, $2, $3) f JOIN agents a ON a.brand_id = $1 AND a.id = f.seller_id
          ORDER BY f.order_id, f.reason",
    )
    .bind::<BigInt, _>(brand_id)
    .bind::<Timestamptz, _>(start)
    .bind::<Timestamptz, _>(end)
    .load(conn)?;
    let mut by_reason: BTreeMap<String, (i64, Decimal)> = BTreeMap::new();
    let mut orders: BTreeMap<i64, FindingRow> = BTreeMap::new();
    for r in rows {
        let t = by_reason.entry(r.reason.clone()).or_default();
        t.0 += 1;
        t.1 += r.amount;
        orders
            .entry(r.order_id)
            .or_insert_with(|| FindingRow {
                order_id: r.order_id,
                seller_id: r.seller_id,
                seller_name: r.seller_name,
                customer_phone: r.customer_phone.as_deref().map(crate::customers::phone::mask),
                placed_at: r.placed_at,
                amount: cents(r.amount),
                reasons: Vec::new(),
            })
            .reasons
            .push(r.reason);
    }
    let amount = cents(orders.values().map(|o| o.amount).sum());
    let mut listed: Vec<FindingRow> = orders.into_values().collect();
    let count = listed.len() as i64;
    listed.sort_by(|a, b| b.amount.cmp(&a.amount).then(a.order_id.cmp(&b.order_id)));
    listed.truncate(LISTED);
    let seen: BTreeSet<&str> = ["no_contact", "many_sellers", "over_quantity", "month_end"].into();
    Ok(RetailFindings {
        orders: count,
        amount,
        excluded_from_us_ftc_share: us_ftc,
        by_reason: seen
            .into_iter()
            .map(|reason| {
                let (orders, amount) = by_reason.get(reason).copied().unwrap_or_default();
                ReasonTotal { reason: reason.to_owned(), orders, amount: cents(amount) }
            })
            .collect(),
        listed,
    })
}

fn cents(mut d: Decimal) -> Decimal {
    d.rescale(2);
    d
}
