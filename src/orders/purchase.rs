//! A purchase (进货): the buyer as of `placed_at` under the tree lock, the seller (HQ or
//! the nearest better upline), every line split by the engine, stock moved, one balanced
//! entry posted. Drafted against the group's reads, then planned in memory against the
//! locked stock (`place`).

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::place::{hold_until, Group, Planned};
use super::*;
use crate::commission::{LineInput, Plan, Sponsor, Upline};
use crate::inventory::Locked;

/// A purchase whose buyer, seller, chain and plan are known.
pub(super) struct PurchaseDraft<'r> {
    req: &'r PurchaseRequest,
    /// Whether HQ placed it (an agent is not told what its upline holds), and who.
    hq: bool,
    actor: String,
    placed_at: DateTime<Utc>,
    buyer: AgentRow,
    /// The upline as of placed_at from the parent up to (not including) the seller.
    chain: Vec<AgentRow>,
    sponsor: Option<Sponsor>,
    buyer_rank: u32,
    seller: Party,
    seller_holder: Option<Holder>,
    plan_at: usize,
}

pub(super) fn draft<'r>(
    conn: &mut PgConnection,
    g: &Group,
    who: &Principal,
    req: &'r PurchaseRequest,
    buyer_id: i64,
    placed_at: DateTime<Utc>,
) -> Result<PurchaseDraft<'r>, AppError> {
    let tree::store::Family { buyer, upline, sponsor } = tree::store::family_of(conn, g.brand_id, &g.known, buyer_id, placed_at)?
        .ok_or_else(|| AppError::validation(format!("agent {buyer_id} does not exist")))?;
    if placed_at < buyer.joined_at {
        return Err(AppError::unprocessable(
            "before_joining",
            format!("agent {buyer_id} joined at {}; an order cannot be placed before that", buyer.joined_at),
        ));
    }
    // a new agent waiting for activation buys its way in (首批进货)
    if buyer.status != "active" && buyer.status != "pending_activation" {
        return Err(AppError::conflict("agent_inactive", format!("agent {buyer_id} is {} and cannot buy", buyer.status)));
    }
    let skus: Vec<&str> = req.lines.iter().map(|l| l.sku.as_str()).collect();
    g.book.require(&skus)?;
    if let Some(sku) = g.book.off_sale(&skus) {
        return Err(AppError::conflict("off_sale", format!("product {sku} is off sale (下架); agents may sell what they hold but not buy more")));
    }
    let buyer_rank = g.book.rank(buyer.tier_id)?;
    let supply = req.supply.unwrap_or(g.settings.supply_mode);
    let seller_pos = match supply {
        SupplyMode::Hq => None,
        SupplyMode::Upline => upline.iter().position(|a| a.status == "active" && g.book.has_rank(a.tier_id).is_some_and(|r| r < buyer_rank)),
    };
    let seller = seller_pos.map_or(Party::Hq, |i| Party::Agent(upline[i].id));
    let mut chain = upline;
    chain.truncate(seller_pos.unwrap_or(chain.len()));
    let plan_at = g
        .plans
        .iter()
        .position(|(from, _)| *from <= placed_at)
        .ok_or_else(|| AppError::conflict("no_plan", format!("no compensation plan is in force at {placed_at}")))?;
    let sponsor = buyer.sponsor_id.map(|id| Sponsor { agent_id: id, active: sponsor.as_ref().is_some_and(|s| s.status == "active") });
    let seller_holder = match seller {
        Party::Agent(id) => Some(Holder::Agent(id)),
        Party::Hq if g.settings.hq_stock_tracking => Some(Holder::Hq),
        Party::Hq => None,
    };
    Ok(PurchaseDraft { req, hq: who.is_hq(), actor: who.actor(), placed_at, buyer, chain, sponsor, buyer_rank, seller, seller_holder, plan_at })
}

impl PurchaseDraft<'_> {
    /// The stock rows it moves: the buyer's, and the seller's when its stock is tracked.
    pub fn stock_keys(&self) -> Vec<(Holder, String)> {
        let buyer = Holder::Agent(self.buyer.id);
        self.req.lines.iter().flat_map(|l| [Some((buyer, l.sku.clone())), self.seller_holder.map(|h| (h, l.sku.clone()))]).flatten().collect()
    }
}

/// Prices and splits every line, checks the seller's stock, and moves it — in memory.
pub(super) fn plan(g: &Group, stock: &mut Locked, d: &PurchaseDraft) -> Result<Planned, AppError> {
    let (plan, buyer_id) = (&g.plans[d.plan_at].1, d.buyer.id);
    // the referral bonus may hang on this being the buyer's first purchase, which is known
    // only when the group claims it: split both ways where that matters
    let eligible = |first| commission::referral_eligible(&plan.referral_bonus, d.buyer.sponsor_id.is_some(), first, d.placed_at, d.buyer.joined_at);
    let (eligible_later, eligible_first) = (eligible(false), eligible(true));
    let mut lines = Vec::with_capacity(d.req.lines.len());
    let (mut splits, mut if_first) = (Vec::new(), Vec::new());
    for (i, l) in d.req.lines.iter().enumerate() {
        let line_no = i as u32 + 1;
        let unit_price = g.book.price(&l.sku, d.buyer.tier_id)?;
        let chain: Vec<Upline> = d
            .chain
            .iter()
            .map(|a| Ok(Upline { agent_id: a.id, rank: g.book.rank(a.tier_id)?, active: a.status == "active", unit_price: g.book.price(&l.sku, a.tier_id)? }))
            .collect::<Result<_, AppError>>()?;
        let input = LineInput {
            line_no,
            qty: l.qty as u32,
            unit_price,
            buyer_rank: d.buyer_rank,
            chain: &chain,
            seller: d.seller,
            sponsor: d.sponsor.clone(),
            referral_eligible: eligible_later,
        };
        splits.extend(split(plan, &input)?);
        if eligible_first != eligible_later {
            if_first.extend(split(plan, &LineInput { referral_eligible: eligible_first, ..input })?);
        }
        lines.push(LineRow {
            line_no: line_no as i32,
            sku: l.sku.clone(),
            qty: l.qty as i32,
            unit_price,
            amount: unit_price * Decimal::from(l.qty),
            seller_unit_cost: None,
            below_floor: false,
        });
    }
    // every line's stock is checked before any is moved: a refused order moves nothing
    if let Some(h) = d.seller_holder {
        for l in &d.req.lines {
            stock.check_take(h, &l.sku, l.qty).map_err(|e| {
                // an agent is not told how much its upline holds: that is outside its subtree
                if d.hq || e.code != "insufficient_stock" {
                    e
                } else {
                    AppError::conflict(
                        "insufficient_stock",
                        format!("your supplier does not hold enough {} for this order: ask your upline to restock, or buy from HQ", l.sku),
                    )
                }
            })?;
        }
    }
    let seller_id = d.seller.agent_id();
    let mut moves = Vec::with_capacity(lines.len());
    for line in &mut lines {
        let qty = i64::from(line.qty);
        let seller_cost = match d.seller_holder {
            Some(h) => Some(stock.take(h, &line.sku, qty)?),
            None => None,
        };
        stock.put(Holder::Agent(buyer_id), &line.sku, qty, line.unit_price)?;
        moves.push(("purchase", line.sku.clone(), seller_id, Some(buyer_id), qty, seller_cost.unwrap_or(line.unit_price)));
        line.seller_unit_cost = if seller_id.is_some() { seller_cost } else { None };
    }
    let amount: Decimal = lines.iter().map(|l| l.amount).sum();
    let order = NewOrder {
        kind: "purchase",
        buyer_id: Some(buyer_id),
        seller_id,
        customer_name: None,
        customer_phone: None,
        amount,
        placed_at: d.placed_at,
        plan_version: Some(plan.version),
        created_by: d.actor.clone(),
    };
    let context = store::SplitContext {
        buyer_tier_id: d.buyer.tier_id,
        upline: d.chain.iter().map(|a| a.id).collect(),
        upline_tiers: d.chain.iter().map(|a| a.tier_id).collect(),
        upline_active: d.chain.iter().map(|a| a.status == "active").collect(),
        sponsor_id: d.buyer.sponsor_id,
        sponsor_active: d.sponsor.as_ref().map(|s| s.active),
        first_purchase: false,
    };
    Ok(Planned {
        order,
        context: Some(context),
        lines,
        moves,
        splits,
        if_first: (eligible_first != eligible_later).then_some(if_first),
        month: Some(crate::period::month_of(d.placed_at, &g.settings.timezone)?),
        hold_until: hold_until(g, d.placed_at),
    })
}

fn split(plan: &Plan, input: &LineInput) -> Result<Vec<Split>, AppError> {
    commission::split_line(plan, input).map_err(|e| AppError::validation(e.to_string()))
}
