//! Reading orders: one order as its buyer, seller and HQ see it, and the filtered lists.

use super::*;

/// The full order as stored: lines with refunded units, splits and reversals.
pub fn view(conn: &mut PgConnection, brand_id: i64, order_id: i64) -> Result<OrderView, AppError> {
    let o = store::find(conn, brand_id, order_id)?.ok_or_else(|| AppError::not_found(format!("order {order_id}")))?;
    render(conn, brand_id, o)
}

fn render(conn: &mut PgConnection, brand_id: i64, o: OrderRow) -> Result<OrderView, AppError> {
    let (refunded, lines, splits) = (store::refunded_qty(conn, brand_id, o.id)?, store::lines(conn, brand_id, o.id)?, store::splits(conn, brand_id, o.id)?);
    Ok(assemble(o, refunded, lines, splits))
}

/// An order's view from its rows (no query).
fn assemble(o: OrderRow, refunded: Vec<(i32, i64)>, lines: Vec<store::LineRow>, splits: Vec<store::SplitRow>) -> OrderView {
    let refunded: BTreeMap<i32, i64> = refunded.into_iter().collect();
    let lines = lines
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
    let mut splits: Vec<SplitView> = splits
        .into_iter()
        .map(|r| SplitView {
            line_no: r.line_no.unwrap_or(0),
            kind: r.kind.unwrap_or_default(),
            agent_id: r.agent_id,
            amount: r.amount,
            generation: r.generation,
            refund_id: r.refund_id,
        })
        .collect();
    // originals first (by line, in engine order), then reversals by refund
    splits.sort_by_key(|s| (s.refund_id.is_some(), s.refund_id, s.line_no));
    OrderView {
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
    }
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
    Ok(masked(who, order))
}

/// The customer's phone as the caller may see it (masked outside the seller and the HQ
/// roles allowed to call customers).
fn masked(who: &Principal, mut order: OrderView) -> OrderView {
    if let Some(c) = order.customer.as_mut() {
        c.phone = c.phone.take().map(|p| crate::customers::shown_phone(who, order.seller_id, &p));
    }
    order
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
    let rows =
        store::list(conn, who.brand_id, &store::ListFilter { agent_id, kind: q.kind.clone(), from, to, sku: q.sku.clone(), desc: q.desc }, after, limit)?;
    // the page's lines, refunds and splits in three queries, not three per order
    let ids: Vec<i64> = rows.iter().map(|o| o.id).collect();
    let mut d = store::details_of(conn, who.brand_id, &ids)?;
    Ok(rows
        .into_iter()
        .map(|o| {
            let id = o.id;
            let view =
                assemble(o, d.refunded.remove(&id).unwrap_or_default(), d.lines.remove(&id).unwrap_or_default(), d.splits.remove(&id).unwrap_or_default());
            masked(who, view)
        })
        .collect())
}

/// The arithmetic of one agent's cuts in the given orders, keyed by (order, line, kind,
/// generation): what the agent sees beside each cut to check it (`explain`).
pub fn formulas_for(
    conn: &mut PgConnection,
    who: &Principal,
    agent_id: i64,
    order_ids: &[i64],
) -> Result<HashMap<(i64, i32, String, Option<i32>), String>, AppError> {
    let mut out = HashMap::new();
    for &id in order_ids {
        let order = get(conn, who, id)?;
        let plan = match order.plan_version {
            Some(_) => Some(crate::plans::in_force_at(conn, who.brand_id, order.placed_at)?),
            None => None,
        };
        for cut in super::explain::explain(&order, plan.as_ref()) {
            if cut.agent_id == Some(agent_id) && cut.refund_id.is_none() && !cut.formula.is_empty() {
                out.insert((id, cut.line_no, cut.kind.clone(), cut.generation), format!("{} = {}", cut.amount, cut.formula));
            }
        }
    }
    Ok(out)
}
