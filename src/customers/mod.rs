//! 客户 Customers: the consumers an agent sold to at retail, known by phone; each with its
//! first and last purchase, orders, total and products, and the 复购提醒 — who is due to
//! buy again (docs/compliance.md, "Customers and repurchase").
//!
//! An agent sees only its own customers: not its downline's, and an upline asking for a
//! downline's list gets the same 404 as for an agent outside its subtree. HQ sees every
//! agent's, the phone masked unless the staff role may call customers.

pub mod http;
pub mod phone;
pub mod store;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use diesel::prelude::*;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::auth::{Principal, StaffRole};
use crate::error::AppError;
use crate::pagination::{bad_cursor, Page, PageQuery};

/// Days ahead a 复购提醒 looks: who to call this week.
pub const DUE_WITHIN_DAYS: i64 = 7;

/// The HQ roles that see customers' phones in full: the owner and operations, who run the
/// customer care. Finance and auditors see them masked.
pub fn may_see_phones(who: &Principal, seller_id: Option<i64>) -> bool {
    match who.staff_role() {
        Some(role) => matches!(role, StaffRole::Owner | StaffRole::Operations),
        None => who.agent_id().is_some() && who.agent_id() == seller_id,
    }
}

/// A phone as `who` may see it.
pub fn shown_phone(who: &Principal, seller_id: Option<i64>, phone: &str) -> String {
    if may_see_phones(who, seller_id) {
        phone.to_owned()
    } else {
        phone::mask(phone)
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CustomerView {
    /// The name on the customer's latest order.
    pub name: String,
    /// The phone's digits, masked (`138****8000`) unless the caller may see it.
    pub phone: String,
    pub first_purchase_at: DateTime<Utc>,
    pub last_purchase_at: DateTime<Utc>,
    /// Retail orders of this customer with this agent.
    pub orders: i64,
    /// What the customer paid, net of refunds.
    #[schema(value_type = String)]
    pub total: Decimal,
    /// Every product it bought, with the last purchase of each and when it is due again.
    pub products: Vec<ProductBought>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProductBought {
    pub sku: String,
    pub name: String,
    pub last_bought_at: DateTime<Utc>,
    /// Units of the last purchase, net of refunds.
    pub last_qty: i64,
    /// last purchase day + the product's 复购周期 × units; null when the product has none.
    pub due_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CustomerPage {
    pub agent_id: i64,
    /// With `due=true`: the day the list looks up to (today + 7 days, in the brand's zone).
    pub due_by: Option<NaiveDate>,
    pub items: Vec<CustomerView>,
    pub next_cursor: Option<String>,
}

/// When a customer is due to buy a product again: the day of its last purchase (in the
/// brand's zone) + the product's cycle × the units it took. A plain function.
pub fn due_on(last_day: NaiveDate, cycle_days: Option<i32>, units: i64) -> Option<NaiveDate> {
    let days = i64::from(cycle_days?) * units;
    (units > 0).then(|| last_day + Duration::days(days))
}

/// An agent's customers, latest purchase first; with `due`, only those with a product due
/// by today + 7 days, the most overdue first.
pub fn list(conn: &mut PgConnection, who: &Principal, agent_id: i64, due: bool, page: &PageQuery, now: DateTime<Utc>) -> Result<CustomerPage, AppError> {
    let limit = page.limit()?;
    // the agent itself, or HQ; anyone else (an upline included) is told nothing exists
    if who.agent_id().is_some_and(|me| me != agent_id) {
        return Err(AppError::not_found(format!("agent {agent_id}")));
    }
    crate::tree::visible(conn, who, agent_id)?;
    let tz: chrono_tz::Tz = crate::brands::settings(conn, who.brand_id)?.timezone.parse().unwrap_or(chrono_tz::Asia::Shanghai);
    let day = |at: DateTime<Utc>| at.with_timezone(&tz).date_naive();
    let today = day(now);
    let due_by = today + Duration::days(DUE_WITHIN_DAYS);
    let cursor = page.cursor()?;

    let rows = if due {
        // every customer of the agent, then the due ones in Rust: an agent's customers are one index range
        store::customers_of(conn, who.brand_id, agent_id, None, i64::MAX)?
    } else {
        let after = cursor.as_deref().map(decode_last).transpose()?;
        store::customers_of(conn, who.brand_id, agent_id, after, limit + 1)?
    };
    let phones: Vec<&str> = rows.iter().map(|r| r.phone.as_str()).collect();
    let mut bought: BTreeMap<String, Vec<ProductBought>> = BTreeMap::new();
    for p in store::last_purchases(conn, who.brand_id, agent_id, &phones)? {
        bought.entry(p.phone.clone()).or_default().push(ProductBought {
            due_on: due_on(day(p.placed_at), p.repurchase_days, p.qty),
            sku: p.sku,
            name: p.name,
            last_bought_at: p.placed_at,
            last_qty: p.qty,
        });
    }
    // (next due day, the customer's last order id: a unique key that tells no phone, the view)
    let mut items: Vec<(Option<NaiveDate>, i64, CustomerView)> = rows
        .into_iter()
        .map(|r| {
            let products = bought.remove(&r.phone).unwrap_or_default();
            let next_due = products.iter().filter_map(|p| p.due_on).min();
            let view = CustomerView {
                name: r.name,
                phone: shown_phone(who, Some(agent_id), &r.phone),
                first_purchase_at: r.first_at,
                last_purchase_at: r.last_at,
                orders: r.orders,
                total: cents(r.total),
                products,
            };
            (next_due, r.last_id, view)
        })
        .collect();
    let page = if due {
        items.retain(|(d, _, _)| d.is_some_and(|d| d <= due_by));
        items.sort_by_key(|(d, id, _)| (*d, *id));
        let after = cursor.as_deref().map(decode_due).transpose()?;
        let rows: Vec<_> = items.into_iter().filter(|(d, id, _)| after.is_none_or(|a| (d.unwrap_or(a.0), *id) > a)).take(limit as usize + 1).collect();
        Page::from_rows(rows, limit, |(d, id, _)| format!("{}|{id}", d.map(|d| d.to_string()).unwrap_or_default())).map(|(_, _, v)| v)
    } else {
        Page::from_rows(items, limit, |(_, id, v)| format!("{}|{id}", v.last_purchase_at.timestamp_micros())).map(|(_, _, v)| v)
    };
    Ok(CustomerPage { agent_id, due_by: due.then_some(due_by), items: page.items, next_cursor: page.next_cursor })
}

fn cents(mut d: Decimal) -> Decimal {
    d.rescale(2);
    d
}

fn decode_last(cursor: &str) -> Result<(DateTime<Utc>, i64), AppError> {
    let (micros, id) = cursor.split_once('|').ok_or_else(bad_cursor)?;
    let at = micros.parse::<i64>().ok().and_then(DateTime::from_timestamp_micros).ok_or_else(bad_cursor)?;
    Ok((at, id.parse().map_err(|_| bad_cursor())?))
}

fn decode_due(cursor: &str) -> Result<(NaiveDate, i64), AppError> {
    let (day, id) = cursor.split_once('|').ok_or_else(bad_cursor)?;
    Ok((day.parse().map_err(|_| bad_cursor())?, id.parse().map_err(|_| bad_cursor())?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_is_the_cycle_times_the_units() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 3).unwrap();
        assert_eq!(due_on(d, Some(30), 1), NaiveDate::from_ymd_opt(2026, 12, 3));
        assert_eq!(due_on(d, Some(30), 2), NaiveDate::from_ymd_opt(2027, 1, 2));
        assert_eq!(due_on(d, None, 2), None);
        assert_eq!(due_on(d, Some(30), 0), None, "all refunded: nothing to use up");
    }
}
