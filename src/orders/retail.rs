//! A retail sale (零售): an agent sells from its own stock to a consumer, at or above the
//! product's floor when the brand enforces one; no cut is paid on it.

use super::*;

pub(super) fn place_retail(conn: &mut PgConnection, who: &Principal, req: &RetailRequest, now: DateTime<Utc>) -> Result<OrderView, AppError> {
    let brand_id = who.brand_id;
    let seller_id = party(who, req.seller_id, "seller")?;
    let placed_at = placed_at(who, req.placed_at, now)?;
    check_lines(req.lines.iter().map(|l| (l.sku.as_str(), l.qty)))?;
    let settings = brands::settings(conn, brand_id)?;
    crate::settlement::ensure_open(conn, brand_id, placed_at, now, &settings.timezone)?;
    let seller = load_agent(conn, brand_id, seller_id)?;
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
        Some(raw) => Some(crate::customers::phone::normalize(raw).ok_or_else(|| AppError::validation("customer phone must be 6 to 15 digits (spaces, '-', '+', '(' and ')' allowed)"))?),
        None => None,
    };
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
    let (floor_mode, ceiling_factor) = (settings.price_floor_mode, settings.retail_checks.ceiling_factor);
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
        // the ceiling: retail recorded far above the listed price is invented, not sold
        let ceiling = (retail * ceiling_factor).round_dp(2);
        if unit_price > ceiling {
            return Err(AppError::unprocessable("above_price_ceiling", format!("{} may not be recorded above {ceiling} (retail price {retail} × {ceiling_factor}); asked {unit_price}", l.sku)));
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
        customer_phone: phone.as_deref(),
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
