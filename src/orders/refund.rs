//! Refunds: units of an order's lines come back; every split of those units is reversed
//! (the last refund of a line reverses exactly what remains), the goods return to the seller.

use super::*;

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
            crate::period::check_range(at, "refunded_at")?;
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
            return Err(AppError::conflict(
                "refund_exceeds_order",
                format!("line {} ({}) has {remaining} unrefunded units; cannot refund {}", line.line_no, line.sku, l.qty),
            ));
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
            stock
                .take(b, &line.sku, *qty)
                .map_err(|e| AppError::conflict("insufficient_stock", format!("the buyer no longer holds the goods: {}", e.detail)))?;
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
    let refund_lines: Vec<(i32, i32, Decimal)> =
        chosen.iter().map(|(line, _, qty)| (line.line_no, *qty as i32, line.unit_price * Decimal::from(*qty))).collect();
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
            let of_line = |refund: bool| -> Result<Vec<Split>, AppError> {
                rows.iter().filter(|r| r.line_no == Some(line.line_no) && r.refund_id.is_some() == refund).map(to_split).collect()
            };
            let (original, reversed) = (of_line(false)?, of_line(true)?);
            let input =
                commission::RefundInput { line_qty: line.qty as u32, refunded_qty: *before as u32, qty: *qty as u32, original: &original, reversed: &reversed };
            reversals.extend(commission::refund_line(&input).map_err(|e| AppError::validation(e.to_string()))?);
        }
        let paid_back: Decimal = refund_lines.iter().map(|l| l.2).sum();
        // A reversal is held exactly as long as the cut it reverses, so a refund inside the
        // hold window takes the cut back before anyone could withdraw it.
        let held = |s: &Split| available.get(&(s.line_no as i32, s.party.agent_id(), s.kind.as_str().to_owned())).copied().unwrap_or(now);
        let mut postings = vec![Posting {
            account: Account::Clearing,
            amount: paid_back,
            split_kind: None,
            order_id: Some(order_id),
            line_no: None,
            generation: None,
            available_at: now,
        }];
        postings.extend(split_postings(&reversals, order_id, held, now));
        ledger::post(
            conn,
            brand_id,
            &Entry { kind: "refund", order_id: Some(order_id), refund_id: Some(refund_id), occurred_at: now, created_by: &actor, ..Default::default() },
            &postings,
        )?;
    }
    let view = RefundView {
        id: refund_id,
        order_id,
        lines: chosen
            .iter()
            .map(|(line, _, qty)| RefundLineView {
                line_no: line.line_no,
                sku: line.sku.clone(),
                qty: *qty as i32,
                amount: line.unit_price * Decimal::from(*qty),
            })
            .collect(),
        splits: reversals.iter().map(|s| split_view(s, Some(refund_id))).collect(),
    };
    crate::audit::record(
        conn,
        who,
        "order.refund",
        format!("order:{order_id}"),
        None,
        Some(serde_json::json!({ "refund_id": refund_id, "lines": view.lines.len() })),
    )?;
    Ok(view)
}
