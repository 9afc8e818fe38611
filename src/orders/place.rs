//! Placing a group of orders — one `POST /orders`, or a chunk of a batch — in one
//! transaction, planned in memory and written once: the group's reads are one query each
//! (families, prices, plans, stock rows), every order is then priced, split and checked
//! against the stock in memory, in the request's order, and what the accepted orders write
//! goes in one statement per table. Each order keeps its own result: one refused (short of
//! stock, an unknown agent) leaves nothing behind and does not refuse the others.
//!
//! Lock order, the same for a single order and a batch (so they cannot deadlock): the
//! brand's tree lock (shared), the periods lock (shared, only for a back-dated order), the
//! stock rows (HQ's by SKU, then agents' by agent and SKU), the first-purchase claims (by
//! buyer), the monthly totals (by month and agent), and at commit the dashboard's figures.

use chrono::{DateTime, Duration, SubsecRound, Utc};
use diesel::prelude::*;

use super::prices::{price_book, PriceBook};
use super::purchase::{self, PurchaseDraft};
use super::retail::{self, RetailDraft};
use super::*;
use crate::commission::Plan;
use crate::settlement::store::ClosedPeriod;

/// What every order of the group reads, read once.
pub(super) struct Group {
    pub brand_id: i64,
    pub settings: brands::Settings,
    /// Live purchases are dated once the tree lock is held.
    pub live_at: DateTime<Utc>,
    pub known: tree::store::Known,
    pub book: PriceBook,
    pub catalog: HashMap<String, (Decimal, Option<Decimal>)>,
    pub plans: Vec<(DateTime<Utc>, Plan)>,
}

/// An order as planned: its rows, ready to write.
pub(super) struct Planned {
    pub order: NewOrder,
    pub context: Option<store::SplitContext>,
    pub lines: Vec<LineRow>,
    pub moves: Vec<(&'static str, String, Option<i64>, Option<i64>, i64, Decimal)>,
    pub splits: Vec<Split>,
    /// The splits should this be the buyer's first purchase, when they differ (a referral
    /// bonus paid on the first purchase only).
    pub if_first: Option<Vec<Split>>,
    /// The buyer's month, for its monthly totals (purchases).
    pub month: Option<String>,
    pub hold_until: DateTime<Utc>,
}

enum Draft<'r> {
    Purchase(PurchaseDraft<'r>),
    Retail(RetailDraft<'r>),
}

/// Places `reqs` — each with its caller, all of one brand — in one transaction (the
/// caller's); one result per order, in order. An error of the whole (the database failing)
/// is the outer `Err`.
pub(super) fn place_many(conn: &mut PgConnection, reqs: &[(&Principal, &OrderRequest)]) -> Result<Vec<Result<OrderView, AppError>>, AppError> {
    // PostgreSQL keeps microseconds: round now, so the response equals a later GET
    let now = Utc::now().trunc_subsecs(6);
    let Some(brand_id) = reqs.first().map(|(who, _)| who.brand_id) else { return Ok(Vec::new()) };
    if reqs.iter().any(|(who, _)| who.brand_id != brand_id) {
        return Err(AppError::internal("a group of orders spans brands"));
    }
    // what each order says of itself: who, when, which lines
    let intents: Vec<Result<(i64, DateTime<Utc>), AppError>> = reqs.iter().map(|(who, r)| intent(who, r, now)).collect();
    let settings = brands::settings(conn, brand_id)?;
    let tz = settings.timezone.clone();
    let this_month = crate::period::month_of(now, &tz)?;
    let mut last_closed: Option<Option<ClosedPeriod>> = None;
    let mut opened = Vec::with_capacity(intents.len());
    for i in intents {
        opened.push(match i {
            Ok((party, at)) if crate::period::month_of(at, &tz)? != this_month => {
                if last_closed.is_none() {
                    last_closed = Some(crate::settlement::last_closed_locked(conn, brand_id)?);
                }
                crate::settlement::refuse_closed(at, last_closed.as_ref().and_then(Option::as_ref)).map(|()| (party, at))
            }
            other => other,
        });
    }
    let purchases = reqs.iter().zip(&opened).any(|((_, r), o)| o.is_ok() && matches!(r, OrderRequest::Purchase(_)));
    // Under the tree lock (shared) every change of tree, tier, status or plan dated at or
    // before placed_at is committed, and none can commit before these orders do: what is
    // read below is the brand as of placed_at. A live purchase is dated once it holds it.
    if purchases {
        tree::store::lock_tree(conn, brand_id, false)?;
    }
    let live_at = Utc::now().trunc_subsecs(6);
    let ok: Vec<(&OrderRequest, i64)> = reqs.iter().zip(&opened).filter_map(|((_, r), o)| o.as_ref().ok().map(|(p, _)| (*r, *p))).collect();
    let parties: Vec<i64> = ok.iter().map(|(_, p)| *p).collect();
    let mut skus: Vec<&str> = ok.iter().flat_map(|(r, _)| skus_of(r)).collect();
    skus.sort_unstable();
    skus.dedup();
    let retail_skus: Vec<&str> = ok.iter().filter(|(r, _)| matches!(r, OrderRequest::Retail(_))).flat_map(|(r, _)| skus_of(r)).collect();
    let g = Group {
        brand_id,
        live_at,
        known: tree::store::families(conn, brand_id, &parties)?,
        book: if skus.is_empty() { PriceBook::default() } else { price_book(conn, brand_id, &skus)? },
        catalog: if retail_skus.is_empty() { HashMap::new() } else { store::catalog(conn, brand_id, &retail_skus)? },
        plans: if purchases { crate::plans::timeline(conn, brand_id)? } else { Vec::new() },
        settings,
    };

    // each order against the group's reads (a back-dated family is rebuilt from its events)
    let mut drafts = Vec::with_capacity(reqs.len());
    for ((who, r), o) in reqs.iter().zip(opened) {
        drafts.push(o.and_then(|(party, at)| match r {
            OrderRequest::Purchase(p) => purchase::draft(conn, &g, who, p, party, if p.placed_at.is_some() { at } else { g.live_at }).map(Draft::Purchase),
            OrderRequest::Retail(s) => retail::draft(&g, who, s, party, at).map(Draft::Retail),
        }));
    }
    // every stock row of the group, locked at once in the global order
    let keys: Vec<(inventory::Holder, String)> = drafts
        .iter()
        .flatten()
        .flat_map(|d| match d {
            Draft::Purchase(p) => p.stock_keys(),
            Draft::Retail(r) => r.stock_keys(),
        })
        .collect();
    let mut stock = inventory::lock(conn, brand_id, keys)?;
    // in the request's order: an order sees the stock the orders before it left
    let mut planned: Vec<Result<Planned, AppError>> = drafts
        .into_iter()
        .map(|d| {
            d.and_then(|d| match d {
                Draft::Purchase(p) => purchase::plan(&g, &mut stock, &p),
                Draft::Retail(r) => retail::plan(&g, &mut stock, &r),
            })
        })
        .collect();
    first_purchases(conn, brand_id, &mut planned)?;
    write(conn, &g, &stock, planned)
}

/// The acting agent and the date of one order, from the request alone.
fn intent(who: &Principal, req: &OrderRequest, now: DateTime<Utc>) -> Result<(i64, DateTime<Utc>), AppError> {
    match req {
        OrderRequest::Purchase(p) => {
            let buyer = party(who, p.buyer_id, "buyer")?;
            let at = placed_at(who, p.placed_at, now)?;
            check_lines(p.lines.iter().map(|l| (l.sku.as_str(), l.qty)))?;
            Ok((buyer, at))
        }
        OrderRequest::Retail(r) => {
            let seller = party(who, r.seller_id, "seller")?;
            let at = placed_at(who, r.placed_at, now)?;
            check_lines(r.lines.iter().map(|l| (l.sku.as_str(), l.qty)))?;
            Ok((seller, at))
        }
    }
}

fn skus_of(req: &OrderRequest) -> Vec<&str> {
    match req {
        OrderRequest::Purchase(p) => p.lines.iter().map(|l| l.sku.as_str()).collect(),
        OrderRequest::Retail(r) => r.lines.iter().map(|l| l.sku.as_str()).collect(),
    }
}

/// Claims the first purchase of every buyer in the group (one statement); the buyer's first
/// accepted order in the group is its first purchase when the claim is this transaction's.
fn first_purchases(conn: &mut PgConnection, brand_id: i64, planned: &mut [Result<Planned, AppError>]) -> Result<(), AppError> {
    let buyers: Vec<i64> = planned.iter().flatten().filter(|p| p.context.is_some()).filter_map(|p| p.order.buyer_id).collect();
    let mut claimed = store::claim_first_purchases(conn, brand_id, &buyers)?;
    for p in planned.iter_mut().flatten() {
        let Some(buyer) = p.order.buyer_id else { continue };
        if let Some(context) = p.context.as_mut() {
            if claimed.remove(&buyer) {
                context.first_purchase = true;
                if let Some(splits) = p.if_first.take() {
                    p.splits = splits;
                }
            }
        }
    }
    Ok(())
}

/// Writes the accepted orders — one statement per table — and builds their views.
fn write(
    conn: &mut PgConnection,
    g: &Group,
    stock: &inventory::Locked,
    planned: Vec<Result<Planned, AppError>>,
) -> Result<Vec<Result<OrderView, AppError>>, AppError> {
    let brand_id = g.brand_id;
    stock.save(conn, brand_id)?;
    let accepted: Vec<&Planned> = planned.iter().flatten().collect();
    let totals: Vec<(String, i64, i64, Decimal)> =
        accepted.iter().filter_map(|p| Some((p.month.clone()?, p.order.buyer_id?, p.lines.iter().map(|l| i64::from(l.qty)).sum(), p.order.amount))).collect();
    crate::reports::totals::add_many(conn, brand_id, &totals)?;
    let rows: Vec<_> = accepted.iter().map(|p| (&p.order, p.context.as_ref(), p.lines.as_slice())).collect();
    let ids = store::insert_orders(conn, brand_id, &rows)?;
    let moves: Vec<Move> = accepted
        .iter()
        .zip(&ids)
        .flat_map(|(p, id)| {
            p.moves.iter().map(|(kind, sku, from, to, qty, cost)| Move {
                kind,
                sku,
                from: *from,
                to: *to,
                qty: *qty,
                unit_cost: *cost,
                order_id: Some(*id),
                refund_id: None,
                reason: None,
            })
        })
        .collect();
    inventory::record_moves(conn, brand_id, &moves)?;
    let mut entries: Vec<(Entry, Vec<Posting>)> = Vec::new();
    for (p, id) in accepted.iter().zip(&ids).filter(|(p, _)| p.order.kind == "purchase") {
        let at = p.order.placed_at;
        let mut postings = vec![Posting {
            account: Account::Clearing,
            amount: -p.order.amount,
            split_kind: None,
            order_id: Some(*id),
            line_no: None,
            generation: None,
            available_at: at,
        }];
        postings.extend(split_postings(&p.splits, *id, |_| p.hold_until, at));
        entries.push((Entry { kind: "purchase", order_id: Some(*id), occurred_at: at, created_by: &p.order.created_by, ..Default::default() }, postings));
    }
    let entries: Vec<(&Entry, &[Posting])> = entries.iter().map(|(e, p)| (e, p.as_slice())).collect();
    ledger::post_many(conn, brand_id, &entries)?;
    let mut ids = ids.into_iter();
    let mut out = Vec::with_capacity(planned.len());
    for p in planned {
        out.push(match p {
            Ok(p) => Ok(fresh_view(ids.next().ok_or_else(|| AppError::internal("an order without an id"))?, &p.order, &p.lines, &p.splits)),
            Err(e) => Err(e),
        });
    }
    Ok(out)
}

/// The hold of an order's cuts: `hold_days` after it was placed.
pub(super) fn hold_until(g: &Group, placed_at: DateTime<Utc>) -> DateTime<Utc> {
    placed_at + Duration::days(i64::from(g.settings.hold_days))
}
