//! A purchase (进货): the buyer as of `placed_at` under the tree lock, the seller (HQ or
//! the nearest better upline), every line split by the engine, stock moved, one balanced
//! entry posted — one transaction.

use chrono::{DateTime, Duration, SubsecRound, Utc};
use diesel::prelude::*;

use super::prices::{price_book, PriceBook};
use super::*;
use crate::commission::{LineInput, Sponsor, Upline};

pub(super) fn place_purchase(conn: &mut PgConnection, who: &Principal, req: &PurchaseRequest, now: DateTime<Utc>) -> Result<OrderView, AppError> {
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
