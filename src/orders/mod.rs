//! Purchase and retail orders and their refunds: one database transaction per business
//! event — order, lines, stock moves, journal entry and postings, all or nothing.

pub mod explain;
pub mod http;
mod read;
mod refund;
mod retail;
pub mod store;

pub use read::{formulas_for, get, list, view, ListQuery};
pub use refund::{refund, RefundLineView, RefundRequest, RefundView};
use retail::place_retail;

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Duration, FixedOffset, SubsecRound, Utc};
use diesel::prelude::*;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::auth::Principal;
use crate::brands::{self, SupplyMode};
use crate::commission::{self, LineInput, Party, Split, SplitKind, Sponsor, Upline};
use crate::error::AppError;
use crate::inventory::{self, Holder, Move};
use crate::ledger::{self, Account, Entry, Posting};
use crate::schema::products;
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

fn load_agent(conn: &mut PgConnection, brand_id: i64, id: i64) -> Result<AgentRow, AppError> {
    tree::store::find(conn, brand_id, id)?.ok_or_else(|| AppError::validation(format!("agent {id} does not exist")))
}

/// The brand's tiers (id → rank) and the tier prices of the given SKUs, in one query;
/// fails on a SKU the brand does not sell.
struct PriceBook {
    ranks: HashMap<i64, u32>,
    prices: HashMap<(String, i64), Decimal>,
    /// A SKU taken off sale (下架): agents may still sell what they hold, not buy more.
    off_sale: Option<String>,
}

fn price_book(conn: &mut PgConnection, brand_id: i64, skus: &[&str]) -> Result<PriceBook, AppError> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        tier_id: i64,
        #[diesel(sql_type = diesel::sql_types::Integer)]
        rank: i32,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        sku: Option<String>,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Numeric>)]
        price: Option<Decimal>,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Bool>)]
        on_sale: Option<bool>,
    }
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT t.id AS tier_id, t.rank, pp.sku, pp.price, p.on_sale
           FROM tiers t LEFT JOIN product_prices pp ON pp.brand_id = t.brand_id AND pp.tier_id = t.id AND pp.sku = ANY($2)
                LEFT JOIN products p ON p.brand_id = pp.brand_id AND p.sku = pp.sku
          WHERE t.brand_id = $1",
    )
    .bind::<diesel::sql_types::BigInt, _>(brand_id)
    .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(skus)
    .load(conn)?;
    let mut book = PriceBook { ranks: HashMap::new(), prices: HashMap::new(), off_sale: None };
    let mut off_sale = None;
    for r in rows {
        if r.on_sale == Some(false) {
            off_sale = r.sku.clone();
        }
        book.ranks.insert(r.tier_id, r.rank as u32);
        if let (Some(sku), Some(price)) = (r.sku, r.price) {
            book.prices.insert((sku, r.tier_id), price);
        }
    }
    if let Some(missing) = skus.iter().find(|s| !book.prices.keys().any(|(k, _)| k == *s)) {
        return Err(AppError::validation(format!("product {missing} does not exist")));
    }
    book.off_sale = off_sale;
    Ok(book)
}

/// (sku, tier_id) → price for the given SKUs; fails on an unknown SKU.
fn prices(conn: &mut PgConnection, brand_id: i64, skus: &[&str]) -> Result<HashMap<(String, i64), Decimal>, AppError> {
    Ok(price_book(conn, brand_id, skus)?.prices)
}

/// The buyer of a purchase request (the caller when it is an agent), for what follows it.
pub fn purchase_buyer(who: &Principal, req: &OrderRequest) -> Option<i64> {
    match req {
        OrderRequest::Purchase(p) => p.buyer_id.or(who.agent_id()),
        OrderRequest::Retail(_) => None,
    }
}

pub fn place(conn: &mut PgConnection, who: &Principal, req: &OrderRequest) -> Result<OrderView, AppError> {
    let order = match req {
        // PostgreSQL keeps microseconds: round now, so the response equals a later GET
        OrderRequest::Purchase(p) => place_purchase(conn, who, p, Utc::now().trunc_subsecs(6)),
        OrderRequest::Retail(r) => place_retail(conn, who, r, Utc::now().trunc_subsecs(6)),
    }?;
    // HQ placing an order (a backfill, an order taken by phone) is in the audit log
    crate::audit::record(conn, who, "order.create", format!("order:{}", order.id), None, Some(serde_json::json!({ "kind": order.kind, "amount": order.amount, "placed_at": order.placed_at })))?;
    Ok(order)
}

fn place_purchase(conn: &mut PgConnection, who: &Principal, req: &PurchaseRequest, now: DateTime<Utc>) -> Result<OrderView, AppError> {
    let brand_id = who.brand_id;
    let buyer_id = party(who, req.buyer_id, "buyer")?;
    let requested = placed_at(who, req.placed_at, now)?;
    check_lines(req.lines.iter().map(|l| (l.sku.as_str(), l.qty)))?;
    let settings = brands::settings(conn, brand_id)?;
    crate::settlement::ensure_open(conn, brand_id, requested, now, &settings.timezone)?;
    // Under the tree lock (shared) every change of tree, tier, status or plan dated at or
    // before placed_at is committed, and none can commit before this order does: what is
    // read below is the brand as of placed_at. A live order is dated once it holds it.
    tree::store::lock_tree(conn, brand_id, false)?;
    let placed_at = if req.placed_at.is_some() { requested } else { Utc::now().trunc_subsecs(6) };
    let tree::store::Family { buyer, upline, sponsor } =
        tree::store::family_as_of(conn, brand_id, buyer_id, placed_at)?.ok_or_else(|| AppError::validation(format!("agent {buyer_id} does not exist")))?;
    if placed_at < buyer.joined_at {
        return Err(AppError::unprocessable("before_joining", format!("agent {buyer_id} joined at {}; an order cannot be placed before that", buyer.joined_at)));
    }
    // a new agent waiting for activation buys its way in (首批进货)
    if buyer.status != "active" && buyer.status != "pending_activation" {
        return Err(AppError::conflict("agent_inactive", format!("agent {buyer_id} is {} and cannot buy", buyer.status)));
    }
    let skus: Vec<&str> = req.lines.iter().map(|l| l.sku.as_str()).collect();
    let PriceBook { ranks, prices, off_sale } = price_book(conn, brand_id, &skus)?;
    if let Some(sku) = off_sale {
        return Err(AppError::conflict("off_sale", format!("product {sku} is off sale (下架); agents may sell what they hold but not buy more")));
    }
    let rank_of = |tier_id: i64| ranks.get(&tier_id).copied().ok_or_else(|| AppError::internal(format!("tier {tier_id} has no rank")));
    let buyer_rank = rank_of(buyer.tier_id)?;

    // The upline as of placed_at, parent first.
    let ancestors: Vec<&AgentRow> = upline.iter().collect();
    let supply = req.supply.unwrap_or(settings.supply_mode);
    let seller_pos = match supply {
        SupplyMode::Hq => None,
        SupplyMode::Upline => ancestors.iter().position(|a| a.status == "active" && ranks.get(&a.tier_id).is_some_and(|r| *r < buyer_rank)),
    };
    let seller = seller_pos.map_or(Party::Hq, |i| Party::Agent(ancestors[i].id));
    let chain_rows = &ancestors[..seller_pos.unwrap_or(ancestors.len())];

    let price = |sku: &str, tier_id: i64| prices.get(&(sku.to_owned(), tier_id)).copied().ok_or_else(|| AppError::validation(format!("{sku} has no price for tier {tier_id}")));

    let plan = crate::plans::in_force_at(conn, brand_id, placed_at)?;
    // Claimed by the first purchase to commit, exactly once per buyer (first_purchases).
    let first_purchase = store::claim_first_purchase(conn, brand_id, buyer_id)?;
    let referral_eligible = commission::referral_eligible(&plan.referral_bonus, buyer.sponsor_id.is_some(), first_purchase, placed_at, buyer.joined_at);
    let sponsor = buyer.sponsor_id.map(|id| Sponsor { agent_id: id, active: sponsor.as_ref().is_some_and(|s| s.status == "active") });

    // Lock the stock rows this order touches, in the global order, then check and move.
    let seller_holder = match seller {
        Party::Agent(id) => Some(Holder::Agent(id)),
        Party::Hq if settings.hq_stock_tracking => Some(Holder::Hq),
        Party::Hq => None,
    };
    let keys = req.lines.iter().flat_map(|l| [Some((Holder::Agent(buyer_id), l.sku.clone())), seller_holder.map(|h| (h, l.sku.clone()))]).flatten();
    let mut stock = inventory::lock(conn, brand_id, keys)?;

    let mut lines = Vec::with_capacity(req.lines.len());
    let mut splits: Vec<Split> = Vec::new();
    let mut moves = Vec::new();
    for (i, l) in req.lines.iter().enumerate() {
        let line_no = i as u32 + 1;
        let unit_price = price(&l.sku, buyer.tier_id)?;
        let chain: Vec<Upline> = chain_rows
            .iter()
            .map(|a| Ok(Upline { agent_id: a.id, rank: rank_of(a.tier_id)?, active: a.status == "active", unit_price: price(&l.sku, a.tier_id)? }))
            .collect::<Result<_, AppError>>()?;
        let input = LineInput { line_no, qty: l.qty as u32, unit_price, buyer_rank, chain: &chain, seller, sponsor: sponsor.clone(), referral_eligible };
        splits.extend(commission::split_line(&plan, &input).map_err(|e| AppError::validation(e.to_string()))?);
        let seller_cost = match seller_holder {
            // an agent is not told how much its upline holds: that is outside its subtree
            Some(h) => Some(stock.take(h, &l.sku, l.qty).map_err(|e| {
                if who.is_hq() || e.code != "insufficient_stock" {
                    e
                } else {
                    AppError::conflict("insufficient_stock", format!("your supplier does not hold enough {} for this order: ask your upline to restock, or buy from HQ", l.sku))
                }
            })?),
            None => None,
        };
        stock.put(Holder::Agent(buyer_id), &l.sku, l.qty, unit_price)?;
        moves.push((l.sku.clone(), l.qty, seller_cost.unwrap_or(unit_price)));
        let seller_unit_cost = if matches!(seller, Party::Agent(_)) { seller_cost } else { None };
        lines.push(LineRow {
            line_no: line_no as i32,
            sku: l.sku.clone(),
            qty: l.qty as i32,
            unit_price,
            amount: unit_price * Decimal::from(l.qty),
            seller_unit_cost,
            below_floor: false,
        });
    }
    stock.save(conn, brand_id)?;

    let amount: Decimal = lines.iter().map(|l| l.amount).sum();
    let units: i64 = lines.iter().map(|l| i64::from(l.qty)).sum();
    crate::reports::totals::add(conn, brand_id, &crate::period::month_of(placed_at, &settings.timezone)?, buyer_id, units, amount)?;
    let actor = who.actor();
    let seller_id = seller.agent_id();
    let new = NewOrder { kind: "purchase", buyer_id: Some(buyer_id), seller_id, customer_name: None, customer_phone: None, amount, placed_at, plan_version: Some(plan.version), created_by: &actor };
    let context = store::SplitContext {
        buyer_tier_id: buyer.tier_id,
        upline: chain_rows.iter().map(|a| a.id).collect(),
        upline_tiers: chain_rows.iter().map(|a| a.tier_id).collect(),
        upline_active: chain_rows.iter().map(|a| a.status == "active").collect(),
        sponsor_id: buyer.sponsor_id,
        sponsor_active: sponsor.as_ref().map(|s| s.active),
        first_purchase,
    };
    let order_id = store::insert_order(conn, brand_id, &new, Some(&context), &lines)?;
    let stock_moves: Vec<Move> = moves
        .iter()
        .map(|(sku, qty, cost)| Move { kind: "purchase", sku, from: seller_id, to: Some(buyer_id), qty: *qty, unit_cost: *cost, order_id: Some(order_id), refund_id: None, reason: None })
        .collect();
    inventory::record_moves(conn, brand_id, &stock_moves)?;

    let hold_until = placed_at + Duration::days(i64::from(settings.hold_days));
    let mut postings = vec![Posting { account: Account::Clearing, amount: -amount, split_kind: None, order_id: Some(order_id), line_no: None, generation: None, available_at: placed_at }];
    postings.extend(split_postings(&splits, order_id, |_| hold_until, placed_at));
    ledger::post(conn, brand_id, &Entry { kind: "purchase", order_id: Some(order_id), occurred_at: placed_at, created_by: &actor, ..Default::default() }, &postings)?;
    Ok(fresh_view(order_id, &new, &lines, &splits))
}

/// The view of an order just written, built from what was written (no re-read); equal to
/// what `view` returns for it later.
fn fresh_view(id: i64, o: &NewOrder, lines: &[LineRow], splits: &[Split]) -> OrderView {
    OrderView {
        id,
        kind: o.kind.to_owned(),
        buyer_id: o.buyer_id,
        seller_id: o.seller_id,
        customer: o.customer_name.map(|name| Customer { name: name.to_owned(), phone: o.customer_phone.map(str::to_owned) }),
        amount: o.amount,
        placed_at: o.placed_at,
        plan_version: o.plan_version,
        lines: lines
            .iter()
            .map(|l| LineView { line_no: l.line_no, sku: l.sku.clone(), qty: l.qty, unit_price: l.unit_price, amount: l.amount, refunded_qty: 0, below_floor: l.below_floor })
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
        out.push(Posting { account: Account::BonusExpense, amount: -bonus, split_kind: None, order_id: Some(order_id), line_no: None, generation: None, available_at: now });
    }
    out
}

fn split_view(s: &Split, refund_id: Option<i64>) -> SplitView {
    SplitView { line_no: s.line_no as i32, kind: s.kind.as_str().into(), agent_id: s.party.agent_id(), amount: s.amount, generation: s.generation.map(|g| g as i32), refund_id }
}
