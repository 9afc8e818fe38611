//! Purchase and retail orders and their refunds: one database transaction per business
//! event — order, lines, stock moves, journal entry and postings, all or nothing.

pub mod batch;
pub mod explain;
pub mod group;
pub mod http;
pub mod import;
mod place;
mod prices;
mod purchase;
mod read;
mod refund;
mod retail;
pub mod store;

pub use read::{formulas_for, get, list, view, ListQuery};
pub use refund::{refund, RefundLineView, RefundRequest, RefundView};

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, FixedOffset, SubsecRound, Utc};
use diesel::prelude::*;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::auth::Principal;
use crate::brands::{self, SupplyMode};
use crate::commission::{self, Party, Split, SplitKind};
use crate::error::AppError;
use crate::inventory::{self, Holder, Move};
use crate::ledger::{self, Account, Entry, Posting};
use crate::tree::{self, AgentRow};
use store::{LineRow, NewOrder, OrderRow};

pub const MAX_LINES: usize = 100;
pub const MAX_QTY: i64 = 1_000_000;

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OrderRequest {
    Purchase(PurchaseRequest),
    Retail(RetailRequest),
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PurchaseRequest {
    /// The buying agent; an agent buys for itself (may be omitted).
    #[serde(default)]
    pub buyer_id: Option<i64>,
    /// Defaults to the brand's `supply_mode`.
    #[serde(default)]
    pub supply: Option<SupplyMode>,
    pub lines: Vec<PurchaseLine>,
    /// Defaults to now; only HQ may set it (backfilling history).
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub placed_at: Option<DateTime<FixedOffset>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PurchaseLine {
    pub sku: String,
    pub qty: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetailRequest {
    /// The selling agent; an agent records its own sales (may be omitted).
    #[serde(default)]
    pub seller_id: Option<i64>,
    #[serde(default)]
    pub customer: Option<Customer>,
    pub lines: Vec<RetailLine>,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub placed_at: Option<DateTime<FixedOffset>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Customer {
    pub name: String,
    #[serde(default)]
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetailLine {
    pub sku: String,
    pub qty: i64,
    /// What the seller charged per unit; defaults to the retail price.
    #[serde(default, deserialize_with = "crate::amount::money_opt")]
    #[schema(value_type = Option<String>)]
    pub unit_price: Option<Decimal>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrderView {
    pub id: i64,
    pub kind: String,
    pub buyer_id: Option<i64>,
    /// null: HQ.
    pub seller_id: Option<i64>,
    pub customer: Option<Customer>,
    #[schema(value_type = String)]
    pub amount: Decimal,
    pub placed_at: DateTime<Utc>,
    pub plan_version: Option<i32>,
    pub lines: Vec<LineView>,
    /// The split of every purchase line, then refund reversals (negative, with refund_id).
    pub splits: Vec<SplitView>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LineView {
    pub line_no: i32,
    pub sku: String,
    pub qty: i32,
    #[schema(value_type = String)]
    pub unit_price: Decimal,
    #[schema(value_type = String)]
    pub amount: Decimal,
    pub refunded_qty: i64,
    /// Sold below the product's retail floor (控价), when the brand flags instead of refusing.
    pub below_floor: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SplitView {
    pub line_no: i32,
    /// proceeds, differential, peer_bonus, referral_bonus
    pub kind: String,
    /// null: HQ.
    pub agent_id: Option<i64>,
    #[schema(value_type = String)]
    pub amount: Decimal,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generation: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refund_id: Option<i64>,
}

fn placed_at(who: &Principal, requested: Option<DateTime<FixedOffset>>, now: DateTime<Utc>) -> Result<DateTime<Utc>, AppError> {
    match requested {
        None => Ok(now),
        Some(_) if !who.is_hq() => Err(AppError::forbidden("only HQ may set placed_at")),
        // not even a little: a change dated between now and a future placed_at could not be seen
        Some(at) if at.with_timezone(&Utc) > now => Err(AppError::validation("placed_at must not be in the future")),
        Some(at) => {
            crate::period::check_range(at.with_timezone(&Utc), "placed_at")?;
            Ok(at.with_timezone(&Utc).trunc_subsecs(6))
        }
    }
}

fn check_lines<'a>(skus: impl Iterator<Item = (&'a str, i64)>) -> Result<(), AppError> {
    let mut seen = HashSet::new();
    let mut n = 0;
    for (sku, qty) in skus {
        n += 1;
        if !(1..=MAX_QTY).contains(&qty) {
            return Err(AppError::validation(format!("qty of {sku} must be between 1 and {MAX_QTY}")));
        }
        if !seen.insert(sku) {
            return Err(AppError::validation(format!("{sku} appears twice; put all its units on one line")));
        }
    }
    if n == 0 || n > MAX_LINES {
        return Err(AppError::validation(format!("an order has 1 to {MAX_LINES} lines")));
    }
    Ok(())
}

/// The acting agent for an order: itself for an agent, the named one for HQ.
fn party(who: &Principal, named: Option<i64>, role: &str) -> Result<i64, AppError> {
    match who.agent_id() {
        Some(me) if named.is_some_and(|n| n != me) => Err(AppError::forbidden(format!("an agent can only be the {role} of its own orders"))),
        Some(me) => Ok(me),
        None => named.ok_or_else(|| AppError::validation(format!("{role}_id is required"))),
    }
}

/// The buyer of a purchase request (the caller when it is an agent), for what follows it.
pub fn purchase_buyer(who: &Principal, req: &OrderRequest) -> Option<i64> {
    match req {
        OrderRequest::Purchase(p) => p.buyer_id.or(who.agent_id()),
        OrderRequest::Retail(_) => None,
    }
}

pub fn place(conn: &mut PgConnection, who: &Principal, req: &OrderRequest) -> Result<OrderView, AppError> {
    let order = place_unaudited(conn, who, req)?;
    // HQ placing an order (a backfill, an order taken by phone) is in the audit log
    crate::audit::record(
        conn,
        who,
        "order.create",
        format!("order:{}", order.id),
        None,
        Some(serde_json::json!({ "kind": order.kind, "amount": order.amount, "placed_at": order.placed_at })),
    )?;
    Ok(order)
}

/// An order placed, not yet in the audit log: `place` logs each, a batch logs itself once.
fn place_unaudited(conn: &mut PgConnection, who: &Principal, req: &OrderRequest) -> Result<OrderView, AppError> {
    place::place_many(conn, &[(who, req)])?.pop().ok_or_else(|| AppError::internal("no result for the order"))?
}

/// The view of an order just written, built from what was written (no re-read); equal to
/// what `view` returns for it later.
fn fresh_view(id: i64, o: &NewOrder, lines: &[LineRow], splits: &[Split]) -> OrderView {
    OrderView {
        id,
        kind: o.kind.to_owned(),
        buyer_id: o.buyer_id,
        seller_id: o.seller_id,
        customer: o.customer_name.as_ref().map(|name| Customer { name: name.clone(), phone: o.customer_phone.clone() }),
        amount: o.amount,
        placed_at: o.placed_at,
        plan_version: o.plan_version,
        lines: lines
            .iter()
            .map(|l| LineView {
                line_no: l.line_no,
                sku: l.sku.clone(),
                qty: l.qty,
                unit_price: l.unit_price,
                amount: l.amount,
                refunded_qty: 0,
                below_floor: l.below_floor,
            })
            .collect(),
        splits: splits.iter().map(|s| split_view(s, None)).collect(),
    }
}

/// Postings for splits (or reversals): proceeds to HQ revenue or the seller's wallet, cuts
/// to wallets, and HQ's bonus expense as the other side of every bonus.
fn split_postings(splits: &[Split], order_id: i64, available_at: impl Fn(&Split) -> DateTime<Utc>, now: DateTime<Utc>) -> Vec<Posting> {
    let mut out = Vec::with_capacity(splits.len() + 1);
    let mut bonus = Decimal::ZERO;
    for s in splits {
        let account = match s.party {
            Party::Hq => Account::Revenue,
            Party::Agent(id) => Account::Wallet(id),
        };
        if !s.kind.is_paid_by_buyer() {
            bonus += s.amount;
        }
        out.push(Posting {
            account,
            amount: s.amount,
            split_kind: Some(s.kind.as_str()),
            order_id: Some(order_id),
            line_no: Some(s.line_no as i32),
            generation: s.generation.map(|g| g as i32),
            available_at: if s.party == Party::Hq { now } else { available_at(s) },
        });
    }
    if !bonus.is_zero() {
        out.push(Posting {
            account: Account::BonusExpense,
            amount: -bonus,
            split_kind: None,
            order_id: Some(order_id),
            line_no: None,
            generation: None,
            available_at: now,
        });
    }
    out
}

fn split_view(s: &Split, refund_id: Option<i64>) -> SplitView {
    SplitView {
        line_no: s.line_no as i32,
        kind: s.kind.as_str().into(),
        agent_id: s.party.agent_id(),
        amount: s.amount,
        generation: s.generation.map(|g| g as i32),
        refund_id,
    }
}
