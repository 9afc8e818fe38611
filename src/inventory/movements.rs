//! Reading stock: HQ's own stock (when the brand tracks it) and the dated movements of goods
//! (purchases, retail, refunds, adjustments, buybacks), newest first.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::auth::Principal;
use crate::error::AppError;
use crate::schema::{hq_stock, stock_moves};

#[derive(Debug, Clone, Serialize, Queryable, Selectable)]
#[diesel(table_name = stock_moves)]
pub struct Movement {
    pub id: i64,
    pub kind: String,
    pub sku: String,
    pub from_agent: Option<i64>,
    pub to_agent: Option<i64>,
    pub qty: i64,
    pub unit_cost: Decimal,
    pub order_id: Option<i64>,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

/// HQ's stock per SKU (empty when the brand does not track it).
pub fn hq_stock(conn: &mut PgConnection, who: &Principal) -> Result<Vec<(String, i64)>, AppError> {
    who.require_hq()?;
    Ok(hq_stock::table.filter(hq_stock::brand_id.eq(who.brand_id)).order(hq_stock::sku).select((hq_stock::sku, hq_stock::qty)).load(conn)?)
}

/// Movements newest first, before id `before` (0: from the newest); one agent's (in or
/// out) when `agent_id` is given — an agent sees only its own subtree's.
pub fn movements(
    conn: &mut PgConnection,
    who: &Principal,
    agent_id: Option<i64>,
    sku: Option<&str>,
    before: i64,
    limit: i64,
) -> Result<Vec<Movement>, AppError> {
    match agent_id {
        Some(id) => {
            crate::tree::visible(conn, who, id)?;
        }
        None => who.require_hq()?,
    }
    let mut q = stock_moves::table.filter(stock_moves::brand_id.eq(who.brand_id)).into_boxed();
    if let Some(id) = agent_id {
        q = q.filter(stock_moves::from_agent.eq(id).or(stock_moves::to_agent.eq(id)));
    }
    if let Some(sku) = sku {
        q = q.filter(stock_moves::sku.eq(sku.to_owned()));
    }
    if before > 0 {
        q = q.filter(stock_moves::id.lt(before));
    }
    Ok(q.order(stock_moves::id.desc()).limit(limit).select(Movement::as_select()).load(conn)?)
}
