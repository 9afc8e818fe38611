//! A retail sale (零售): an agent sells from its own stock to a consumer, at or above the
//! product's floor when the brand enforces one; no cut is paid on it. Drafted against the
//! group's reads, then planned in memory against the locked stock (`place`).

use chrono::{DateTime, Utc};

use super::place::{hold_until, Group, Planned};
use super::*;
use crate::inventory::Locked;

pub(super) struct RetailDraft<'r> {
    req: &'r RetailRequest,
    actor: String,
    seller_id: i64,
    placed_at: DateTime<Utc>,
    phone: Option<String>,
}

pub(super) fn draft<'r>(g: &Group, who: &Principal, req: &'r RetailRequest, seller_id: i64, placed_at: DateTime<Utc>) -> Result<RetailDraft<'r>, AppError> {
    let seller = g.known.agent(seller_id).ok_or_else(|| AppError::validation(format!("agent {seller_id} does not exist")))?;
    if seller.status == "exited" {
        return Err(AppError::conflict("agent_exited", format!("agent {seller_id} has exited")));
    }
    if let Some(c) = &req.customer {
        if c.name.trim().is_empty() || c.name.chars().count() > 100 {
            return Err(AppError::validation("customer name must be 1 to 100 characters"));
        }
    }
    // one customer is one key: the phone's digits (docs/compliance.md, 客户)
    let phone = match req.customer.as_ref().and_then(|c| c.phone.as_deref()).map(str::trim).filter(|p| !p.is_empty()) {
        Some(raw) => Some(
            crate::customers::phone::normalize(raw)
                .ok_or_else(|| AppError::validation("customer phone must be 6 to 15 digits (spaces, '-', '+', '(' and ')' allowed)"))?,
        ),
        None => None,
    };
    let skus: Vec<&str> = req.lines.iter().map(|l| l.sku.as_str()).collect();
    g.book.require(&skus)?;
    Ok(RetailDraft { req, actor: who.actor(), seller_id, placed_at, phone })
}

impl RetailDraft<'_> {
    pub fn stock_keys(&self) -> Vec<(Holder, String)> {
        self.req.lines.iter().map(|l| (Holder::Agent(self.seller_id), l.sku.clone())).collect()
    }
}

/// Prices every line against the floor and the ceiling, checks the seller's stock and takes
/// it — in memory.
pub(super) fn plan(g: &Group, stock: &mut Locked, d: &RetailDraft) -> Result<Planned, AppError> {
    let (floor_mode, ceiling_factor) = (g.settings.price_floor_mode, g.settings.retail_checks.ceiling_factor);
    let seller = Holder::Agent(d.seller_id);
    let mut lines = Vec::with_capacity(d.req.lines.len());
    for (i, l) in d.req.lines.iter().enumerate() {
        let (retail, floor) = g.catalog.get(&l.sku).copied().unwrap_or_default();
        let unit_price = l.unit_price.unwrap_or(retail);
        crate::catalog::prices::check_amount(&format!("unit_price of {}", l.sku), unit_price)?;
        let below_floor = floor.is_some_and(|f| unit_price < f);
        if below_floor && floor_mode == brands::PriceFloorMode::Reject {
            return Err(AppError::unprocessable(
                "below_price_floor",
                format!("{} may not be sold below {} (控价); asked {unit_price}", l.sku, floor.unwrap_or_default()),
            ));
        }
        // the ceiling: retail recorded far above the listed price is invented, not sold
        let ceiling = (retail * ceiling_factor).round_dp(2);
        if unit_price > ceiling {
            return Err(AppError::unprocessable(
                "above_price_ceiling",
                format!("{} may not be recorded above {ceiling} (retail price {retail} × {ceiling_factor}); asked {unit_price}", l.sku),
            ));
        }
        stock.check_take(seller, &l.sku, l.qty)?;
        lines.push(LineRow {
            line_no: i as i32 + 1,
            sku: l.sku.clone(),
            qty: l.qty as i32,
            unit_price,
            amount: unit_price * Decimal::from(l.qty),
            seller_unit_cost: None,
            below_floor,
        });
    }
    let mut moves = Vec::with_capacity(lines.len());
    for line in &mut lines {
        let cost = stock.take(seller, &line.sku, i64::from(line.qty))?;
        line.seller_unit_cost = Some(cost);
        moves.push(("retail", line.sku.clone(), Some(d.seller_id), None, i64::from(line.qty), cost));
    }
    let customer = d.req.customer.as_ref();
    let order = NewOrder {
        kind: "retail",
        buyer_id: None,
        seller_id: Some(d.seller_id),
        customer_name: customer.map(|c| c.name.trim().to_owned()),
        customer_phone: d.phone.clone(),
        amount: lines.iter().map(|l| l.amount).sum(),
        placed_at: d.placed_at,
        plan_version: None,
        created_by: d.actor.clone(),
    };
    Ok(Planned { order, context: None, lines, moves, splits: Vec::new(), if_first: None, month: None, hold_until: hold_until(g, d.placed_at) })
}
