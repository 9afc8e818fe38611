//! Purchase and retail orders and their refunds: one database transaction per business
//! event — order, lines, stock moves, journal entry and postings, all or nothing.

pub mod explain;
pub mod http;
pub mod store;

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
    #[serde(default)]
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
        Some(at) => Ok(at.with_timezone(&Utc).trunc_subsecs(6)),
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

pub fn place(conn: &mut PgConnection, who: &Principal, req: &OrderRequest) -> Result<OrderView, AppError> {
    match req {
        // PostgreSQL keeps microseconds: round now, so the response equals a later GET
        OrderRequest::Purchase(p) => place_purchase(conn, who, p, Utc::now().trunc_subsecs(6)),
        OrderRequest::Retail(r) => place_retail(conn, who, r, Utc::now().trunc_subsecs(6)),
    }
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
    if buyer.status != "active" {
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
            Some(h) => Some(stock.take(h, &l.sku, l.qty)?),
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

fn place_retail(conn: &mut PgConnection, who: &Principal, req: &RetailRequest, now: DateTime<Utc>) -> Result<OrderView, AppError> {
    let brand_id = who.brand_id;
    let seller_id = party(who, req.seller_id, "seller")?;
    let placed_at = placed_at(who, req.placed_at, now)?;
    check_lines(req.lines.iter().map(|l| (l.sku.as_str(), l.qty)))?;
    let tz = brands::settings(conn, brand_id)?.timezone;
    crate::settlement::ensure_open(conn, brand_id, placed_at, now, &tz)?;
    let seller = load_agent(conn, brand_id, seller_id)?;
    if seller.status == "exited" {
        return Err(AppError::conflict("agent_exited", format!("agent {seller_id} has exited")));
    }
    if let Some(c) = &req.customer {
        if c.name.trim().is_empty() || c.name.chars().count() > 100 {
            return Err(AppError::validation("customer name must be 1 to 100 characters"));
        }
    }
    let skus: Vec<&str> = req.lines.iter().map(|l| l.sku.as_str()).collect();
    prices(conn, brand_id, &skus)?;
    let catalog: HashMap<String, (Decimal, Option<Decimal>)> = products::table
        .filter(products::brand_id.eq(brand_id))
        .filter(products::sku.eq_any(&skus))
        .select((products::sku, products::retail_price, products::retail_floor))
        .load::<(String, Decimal, Option<Decimal>)>(conn)?
        .into_iter()
        .map(|(sku, retail, floor)| (sku, (retail, floor)))
        .collect();
    let floor_mode = brands::settings(conn, brand_id)?.price_floor_mode;
    let mut stock = inventory::lock(conn, brand_id, req.lines.iter().map(|l| (Holder::Agent(seller_id), l.sku.clone())))?;
    let mut lines = Vec::new();
    let mut costs = Vec::new();
    for (i, l) in req.lines.iter().enumerate() {
        let (retail, floor) = catalog.get(&l.sku).copied().unwrap_or_default();
        let unit_price = l.unit_price.unwrap_or(retail);
        crate::catalog::prices::check_amount(&format!("unit_price of {}", l.sku), unit_price)?;
        let below_floor = floor.is_some_and(|f| unit_price < f);
        if below_floor && floor_mode == brands::PriceFloorMode::Reject {
            return Err(AppError::unprocessable("below_price_floor", format!("{} may not be sold below {} (控价); asked {unit_price}", l.sku, floor.unwrap_or_default())));
        }
        let cost = stock.take(Holder::Agent(seller_id), &l.sku, l.qty)?;
        costs.push(cost);
        lines.push(LineRow { line_no: i as i32 + 1, sku: l.sku.clone(), qty: l.qty as i32, unit_price, amount: unit_price * Decimal::from(l.qty), seller_unit_cost: Some(cost), below_floor });
    }
    stock.save(conn, brand_id)?;
    let amount = lines.iter().map(|l| l.amount).sum();
    let customer = req.customer.as_ref();
    let actor = who.actor();
    let new = NewOrder {
        kind: "retail",
        buyer_id: None,
        seller_id: Some(seller_id),
        customer_name: customer.map(|c| c.name.trim()),
        customer_phone: customer.and_then(|c| c.phone.as_deref()),
        amount,
        placed_at,
        plan_version: None,
        created_by: &actor,
    };
    let order_id = store::insert_order(conn, brand_id, &new, None, &lines)?;
    let moves: Vec<Move> = lines
        .iter()
        .zip(&costs)
        .map(|(l, cost)| Move { kind: "retail", sku: &l.sku, from: Some(seller_id), to: None, qty: i64::from(l.qty), unit_cost: *cost, order_id: Some(order_id), refund_id: None, reason: None })
        .collect();
    inventory::record_moves(conn, brand_id, &moves)?;
    Ok(fresh_view(order_id, &new, &lines, &[]))
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
    pub lines: Vec<PurchaseLine>,
    /// When the refund happened; defaults to now. For backfills: not in the future, not
    /// before the order, not in a closed month.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub refunded_at: Option<DateTime<FixedOffset>>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RefundView {
    pub id: i64,
    pub order_id: i64,
    pub lines: Vec<RefundLineView>,
    /// Reversals of the order's splits (negative amounts).
    pub splits: Vec<SplitView>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RefundLineView {
    pub line_no: i32,
    pub sku: String,
    pub qty: i32,
    #[schema(value_type = String)]
    pub amount: Decimal,
}

fn to_split(row: &store::SplitRow) -> Result<Split, AppError> {
    let kind = match row.kind.as_deref() {
        Some("proceeds") => SplitKind::Proceeds,
        Some("differential") => SplitKind::Differential,
        Some("peer_bonus") => SplitKind::PeerBonus,
        Some("referral_bonus") => SplitKind::ReferralBonus,
        other => return Err(AppError::internal(format!("unexpected split kind {other:?}"))),
    };
    Ok(Split {
        line_no: row.line_no.unwrap_or(0) as u32,
        kind,
        party: row.agent_id.map_or(Party::Hq, Party::Agent),
        amount: row.amount,
        generation: row.generation.map(|g| g as u32),
    })
}

/// Refunds units of an order's lines: reverses every split (the last refund of a line
/// reverses exactly what remains) and moves the goods back to the seller.
pub fn refund(conn: &mut PgConnection, who: &Principal, order_id: i64, req: &RefundRequest) -> Result<RefundView, AppError> {
    who.require_hq()?;
    let brand_id = who.brand_id;
    check_lines(req.lines.iter().map(|l| (l.sku.as_str(), l.qty)))?;
    let order = store::find_for_update(conn, brand_id, order_id)?.ok_or_else(|| AppError::not_found(format!("order {order_id}")))?;
    let lines = store::lines(conn, brand_id, order_id)?;
    let refunded: HashMap<i32, i64> = store::refunded_qty(conn, brand_id, order_id)?.into_iter().collect();
    let settings = brands::settings(conn, brand_id)?;
    let now = Utc::now();
    let at = match req.refunded_at {
        None => now,
        Some(at) => {
            let at = at.with_timezone(&Utc).trunc_subsecs(6);
            if at > now {
                return Err(AppError::validation("refunded_at must not be in the future"));
            }
            if at < order.placed_at {
                return Err(AppError::validation(format!("refunded_at is before the order was placed ({})", order.placed_at)));
            }
            crate::settlement::ensure_open(conn, brand_id, at, now, &settings.timezone)?;
            at
        }
    };

    let mut chosen = Vec::new();
    for l in &req.lines {
        let line = lines.iter().find(|x| x.sku == l.sku).ok_or_else(|| AppError::validation(format!("order {order_id} has no line for {}", l.sku)))?;
        let before = refunded.get(&line.line_no).copied().unwrap_or(0);
        let remaining = i64::from(line.qty) - before;
        if l.qty > remaining {
            return Err(AppError::conflict("refund_exceeds_order", format!("line {} ({}) has {remaining} unrefunded units; cannot refund {}", line.line_no, line.sku, l.qty)));
        }
        chosen.push((line, before, l.qty));
    }

    // Goods go back: buyer → seller (a retail customer's goods simply return to the seller).
    let buyer = order.buyer_id.map(Holder::Agent);
    let seller = match order.seller_id {
        Some(id) => Some(Holder::Agent(id)),
        None if settings.hq_stock_tracking => Some(Holder::Hq),
        None => None,
    };
    let keys = chosen.iter().flat_map(|(line, _, _)| [buyer.map(|h| (h, line.sku.clone())), seller.map(|h| (h, line.sku.clone()))]).flatten();
    let mut stock = inventory::lock(conn, brand_id, keys)?;
    for (line, _, qty) in &chosen {
        if let Some(b) = buyer {
            stock.take(b, &line.sku, *qty).map_err(|e| AppError::conflict("insufficient_stock", format!("the buyer no longer holds the goods: {}", e.detail)))?;
        }
        if let Some(s) = seller {
            let cost = line.seller_unit_cost.unwrap_or(line.unit_price);
            stock.put(s, &line.sku, *qty, cost)?;
        }
    }
    stock.save(conn, brand_id)?;

    if let (Some(buyer_id), "purchase") = (order.buyer_id, order.kind.as_str()) {
        let units: i64 = chosen.iter().map(|c| c.2).sum();
        let amount: Decimal = chosen.iter().map(|(line, _, qty)| line.unit_price * Decimal::from(*qty)).sum();
        crate::reports::totals::add(conn, brand_id, &crate::period::month_of(order.placed_at, &settings.timezone)?, buyer_id, -units, -amount)?;
    }
    let actor = who.actor();
    let refund_lines: Vec<(i32, i32, Decimal)> = chosen.iter().map(|(line, _, qty)| (line.line_no, *qty as i32, line.unit_price * Decimal::from(*qty))).collect();
    let (refund_id, now) = store::insert_refund(conn, brand_id, order_id, &actor, at, &refund_lines)?;
    let moves: Vec<Move> = chosen
        .iter()
        .map(|(line, _, qty)| Move {
            kind: "refund",
            sku: &line.sku,
            from: order.buyer_id,
            to: order.seller_id,
            qty: *qty,
            unit_cost: line.seller_unit_cost.unwrap_or(line.unit_price),
            order_id: Some(order_id),
            refund_id: Some(refund_id),
            reason: None,
        })
        .collect();
    inventory::record_moves(conn, brand_id, &moves)?;

    let mut reversals = Vec::new();
    if order.kind == "purchase" {
        let rows = store::splits(conn, brand_id, order_id)?;
        let mut available: HashMap<(i32, Option<i64>, String), DateTime<Utc>> = HashMap::new();
        for r in rows.iter().filter(|r| r.refund_id.is_none()) {
            available.insert((r.line_no.unwrap_or(0), r.agent_id, r.kind.clone().unwrap_or_default()), r.available_at);
        }
        for (line, before, qty) in &chosen {
            let of_line = |refund: bool| -> Result<Vec<Split>, AppError> { rows.iter().filter(|r| r.line_no == Some(line.line_no) && r.refund_id.is_some() == refund).map(to_split).collect() };
            let (original, reversed) = (of_line(false)?, of_line(true)?);
            let input = commission::RefundInput { line_qty: line.qty as u32, refunded_qty: *before as u32, qty: *qty as u32, original: &original, reversed: &reversed };
            reversals.extend(commission::refund_line(&input).map_err(|e| AppError::validation(e.to_string()))?);
        }
        let paid_back: Decimal = refund_lines.iter().map(|l| l.2).sum();
        // A reversal is held exactly as long as the cut it reverses, so a refund inside the
        // hold window takes the cut back before anyone could withdraw it.
        let held = |s: &Split| available.get(&(s.line_no as i32, s.party.agent_id(), s.kind.as_str().to_owned())).copied().unwrap_or(now);
        let mut postings = vec![Posting { account: Account::Clearing, amount: paid_back, split_kind: None, order_id: Some(order_id), line_no: None, generation: None, available_at: now }];
        postings.extend(split_postings(&reversals, order_id, held, now));
        ledger::post(conn, brand_id, &Entry { kind: "refund", order_id: Some(order_id), refund_id: Some(refund_id), occurred_at: now, created_by: &actor, ..Default::default() }, &postings)?;
    }
    Ok(RefundView {
        id: refund_id,
        order_id,
        lines: chosen.iter().map(|(line, _, qty)| RefundLineView { line_no: line.line_no, sku: line.sku.clone(), qty: *qty as i32, amount: line.unit_price * Decimal::from(*qty) }).collect(),
        splits: reversals.iter().map(|s| split_view(s, Some(refund_id))).collect(),
    })
}

fn split_view(s: &Split, refund_id: Option<i64>) -> SplitView {
    SplitView { line_no: s.line_no as i32, kind: s.kind.as_str().into(), agent_id: s.party.agent_id(), amount: s.amount, generation: s.generation.map(|g| g as i32), refund_id }
}

/// The full order as stored: lines with refunded units, splits and reversals.
pub fn view(conn: &mut PgConnection, brand_id: i64, order_id: i64) -> Result<OrderView, AppError> {
    let o = store::find(conn, brand_id, order_id)?.ok_or_else(|| AppError::not_found(format!("order {order_id}")))?;
    render(conn, brand_id, o)
}

fn render(conn: &mut PgConnection, brand_id: i64, o: OrderRow) -> Result<OrderView, AppError> {
    let refunded: BTreeMap<i32, i64> = store::refunded_qty(conn, brand_id, o.id)?.into_iter().collect();
    let lines = store::lines(conn, brand_id, o.id)?
        .into_iter()
        .map(|l| LineView {
            refunded_qty: refunded.get(&l.line_no).copied().unwrap_or(0),
            line_no: l.line_no,
            sku: l.sku,
            qty: l.qty,
            unit_price: l.unit_price,
            amount: l.amount,
            below_floor: l.below_floor,
        })
        .collect();
    let mut splits: Vec<SplitView> = store::splits(conn, brand_id, o.id)?
        .into_iter()
        .map(|r| SplitView { line_no: r.line_no.unwrap_or(0), kind: r.kind.unwrap_or_default(), agent_id: r.agent_id, amount: r.amount, generation: r.generation, refund_id: r.refund_id })
        .collect();
    // originals first (by line, in engine order), then reversals by refund
    splits.sort_by_key(|s| (s.refund_id.is_some(), s.refund_id, s.line_no));
    Ok(OrderView {
        id: o.id,
        kind: o.kind,
        buyer_id: o.buyer_id,
        seller_id: o.seller_id,
        customer: o.customer_name.map(|name| Customer { name, phone: o.customer_phone }),
        amount: o.amount,
        placed_at: o.placed_at,
        plan_version: o.plan_version,
        lines,
        splits,
    })
}

/// An agent sees an order when its buyer or seller is in the agent's subtree, or when the
/// agent earned a cut from it.
fn may_see(conn: &mut PgConnection, who: &Principal, order: &OrderView) -> Result<bool, AppError> {
    let Some(me) = who.agent_id() else { return Ok(true) };
    if order.splits.iter().any(|s| s.agent_id == Some(me)) {
        return Ok(true);
    }
    for id in [order.buyer_id, order.seller_id].into_iter().flatten() {
        if tree::visible(conn, who, id).is_ok() {
            return Ok(true);
        }
    }
    Ok(false)
}

pub fn get(conn: &mut PgConnection, who: &Principal, order_id: i64) -> Result<OrderView, AppError> {
    let order = view(conn, who.brand_id, order_id)?;
    if !may_see(conn, who, &order)? {
        return Err(AppError::not_found(format!("order {order_id}")));
    }
    Ok(order)
}

#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub agent_id: Option<i64>,
    pub month: Option<String>,
    pub kind: Option<String>,
    pub sku: Option<String>,
    pub desc: bool,
}

/// Orders bought or sold by an agent (an agent: itself or one in its subtree; HQ: anyone,
/// or every order of the brand).
pub fn list(conn: &mut PgConnection, who: &Principal, q: &ListQuery, after: i64, limit: i64) -> Result<Vec<OrderView>, AppError> {
    let agent_id = match (who.agent_id(), q.agent_id) {
        (Some(me), None) => Some(me),
        (_, named) => named,
    };
    if let Some(id) = agent_id {
        tree::visible(conn, who, id)?;
    }
    if let Some(kind) = &q.kind {
        if kind != "purchase" && kind != "retail" {
            return Err(AppError::bad_request("invalid_query", "kind must be purchase or retail"));
        }
    }
    if q.sku.as_deref().is_some_and(|s| s.contains('\0') || s.chars().count() > 100) {
        return Err(AppError::bad_request("invalid_query", "sku must be at most 100 characters of text"));
    }
    let (from, to) = match &q.month {
        Some(m) => {
            let tz = brands::settings(conn, who.brand_id)?.timezone;
            let (a, b) = crate::period::month_bounds(m, &tz)?;
            (Some(a), Some(b))
        }
        None => (None, None),
    };
    let rows = store::list(conn, who.brand_id, &store::ListFilter { agent_id, kind: q.kind.clone(), from, to, sku: q.sku.clone(), desc: q.desc }, after, limit)?;
    rows.into_iter().map(|o| render(conn, who.brand_id, o)).collect()
}
