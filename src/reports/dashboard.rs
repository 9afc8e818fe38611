//! The HQ dashboard (GET /reports/dashboard?months=): one row per month — purchases,
//! retail, the retail share, new and active agents, payouts and the payout ratio — and the
//! withdrawals waiting for a decision. A closed month's purchases, retail and payouts are
//! those of its kept compliance report, so they never change after the close; an open
//! month's are the figures the database keeps as orders, refunds, cuts and agents are
//! written (`month_figures`, migration 000009), so the page costs the same at any size.

use std::collections::BTreeMap;

use chrono::Utc;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Numeric, Text};
use rust_decimal::Decimal;
use serde::Serialize;

use super::{cents, retail_share};
use crate::auth::Principal;
use crate::error::AppError;

pub const MAX_MONTHS: u32 = 36;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Dashboard {
    /// Oldest first, the current month last.
    pub months: Vec<MonthRow>,
    pub pending_withdrawals: Pending,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MonthRow {
    pub month: String,
    /// open or closed
    pub status: String,
    /// Purchase orders placed in the month, net of refunds.
    #[schema(value_type = String)]
    pub purchases: Decimal,
    /// Retail sales, net of refunds.
    #[schema(value_type = String)]
    pub retail: Decimal,
    /// retail ÷ (retail + purchases); null when both are zero.
    #[schema(value_type = Option<String>)]
    pub retail_share: Option<Decimal>,
    /// Agents who joined in the month.
    pub new_agents: i64,
    /// Agents who bought or sold at retail in the month.
    pub active_agents: i64,
    /// Differentials, peer and referral bonuses and team rebates credited in the month, net of reversals.
    #[schema(value_type = String)]
    pub payouts: Decimal,
    /// payouts ÷ purchases; null when nothing was purchased.
    #[schema(value_type = Option<String>)]
    pub payout_ratio: Option<Decimal>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Pending {
    pub count: i64,
    #[schema(value_type = String)]
    pub amount: Decimal,
}

#[derive(QueryableByName)]
struct Figures {
    #[diesel(sql_type = Text)]
    month: String,
    #[diesel(sql_type = Numeric)]
    purchases: Decimal,
    #[diesel(sql_type = Numeric)]
    retail: Decimal,
    #[diesel(sql_type = BigInt)]
    active: i64,
    #[diesel(sql_type = BigInt)]
    new_agents: i64,
    #[diesel(sql_type = Numeric)]
    payouts: Decimal,
}

#[derive(QueryableByName)]
struct PendingRow {
    #[diesel(sql_type = BigInt)]
    count: i64,
    #[diesel(sql_type = Numeric)]
    amount: Decimal,
}

pub fn dashboard(conn: &mut PgConnection, who: &Principal, months: u32) -> Result<Dashboard, AppError> {
    who.require_hq()?;
    if !(1..=MAX_MONTHS).contains(&months) {
        return Err(AppError::bad_request("invalid_query", format!("months must be between 1 and {MAX_MONTHS}")));
    }
    let tz = crate::brands::settings(conn, who.brand_id)?.timezone;
    let current = crate::period::month_of(Utc::now(), &tz)?;
    let last = crate::period::parse_month(&current)?;
    let first = last.checked_sub_months(chrono::Months::new(months - 1)).ok_or_else(|| AppError::validation("months out of range"))?;
    let names: Vec<String> = (0..months).filter_map(|i| first.checked_add_months(chrono::Months::new(i))).map(|d| d.format("%Y-%m").to_string()).collect();
    // the figures kept per month by the database's triggers (migration 000009): at most 64
    // shard rows a month, whatever the size of the brand
    let rows: Vec<Figures> = diesel::sql_query(
        "SELECT month, sum(purchases) AS purchases, sum(retail) AS retail, sum(active)::bigint AS active,
                sum(new_agents)::bigint AS new_agents, sum(payouts) AS payouts
           FROM month_figures WHERE brand_id = $1 AND month >= $2 AND month <= $3 GROUP BY month",
    )
    .bind::<BigInt, _>(who.brand_id)
    .bind::<Text, _>(&names[0])
    .bind::<Text, _>(&current)
    .load(conn)?;
    let by_month: BTreeMap<String, Figures> = rows.into_iter().map(|r| (r.month.clone(), r)).collect();
    let mut out = Vec::with_capacity(names.len());
    for month in names {
        let f = by_month.get(&month);
        let (mut purchases, mut retail, mut payouts) = f.map_or((Decimal::ZERO, Decimal::ZERO, Decimal::ZERO), |f| (f.purchases, f.retail, f.payouts));
        let closed = crate::settlement::store::closed_period(conn, who.brand_id, &month)?.is_some();
        if closed {
            if let Some(body) = crate::settlement::store::kept_report(conn, who.brand_id, &month, "compliance")? {
                let kept: super::compliance::ComplianceReport =
                    serde_json::from_value(body).map_err(|e| AppError::internal(format!("kept report of {month}: {e}")))?;
                (purchases, retail, payouts) = (kept.split.purchases.amount, kept.split.retail_sales.amount, kept.payout.cuts);
            }
        }
        out.push(MonthRow {
            status: if closed { "closed" } else { "open" }.into(),
            purchases: cents(purchases),
            retail: cents(retail),
            retail_share: retail_share(retail, purchases),
            new_agents: f.map_or(0, |f| f.new_agents),
            active_agents: f.map_or(0, |f| f.active),
            payouts: cents(payouts),
            payout_ratio: super::ratio(payouts, purchases),
            month,
        });
    }
    let pending: PendingRow =
        diesel::sql_query("SELECT count(*) AS count, coalesce(sum(amount), 0) AS amount FROM withdrawals WHERE brand_id = $1 AND status = 'requested'")
            .bind::<BigInt, _>(who.brand_id)
            .get_result(conn)?;
    Ok(Dashboard { months: out, pending_withdrawals: Pending { count: pending.count, amount: cents(pending.amount) } })
}
