//! An agent leaves (domain §11): stock it bought within 12 months is bought back at the
//! brand's `buyback_ratio` of its cost (posted in the ledger, goods to HQ), its downline
//! moves up to its parent, and it is marked exited — one transaction. A repeated exit
//! returns the first result and changes nothing.

pub mod http;

use chrono::{DateTime, Months, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Numeric, Text, Timestamptz};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::auth::Principal;
use crate::commission::money::round_cents;
use crate::error::AppError;
use crate::inventory::{self, Holder, Move};
use crate::ledger::{self, Account, Entry, Posting};
use crate::schema::agent_exits;
use crate::tree::store;

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BuybackLine {
    pub sku: String,
    /// Units bought back (at most what the agent bought in the last 12 months).
    pub qty: i64,
    /// Units kept by the agent (bought earlier than 12 months ago).
    pub kept: i64,
    #[schema(value_type = String)]
    pub unit_cost: Decimal,
    #[schema(value_type = String)]
    pub amount: Decimal,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ExitResult {
    pub agent_id: i64,
    pub status: String,
    #[schema(value_type = String)]
    pub buyback_ratio: Decimal,
    pub buyback: Vec<BuybackLine>,
    #[schema(value_type = String)]
    pub buyback_total: Decimal,
    /// The former direct children, now under `new_parent_id` (null: directly under HQ).
    pub moved_children: Vec<i64>,
    pub new_parent_id: Option<i64>,
    pub journal_entry_id: Option<i64>,
    pub exited_at: DateTime<Utc>,
}

#[derive(QueryableByName)]
struct Holding {
    #[diesel(sql_type = Text)]
    sku: String,
    #[diesel(sql_type = BigInt)]
    qty: i64,
    #[diesel(sql_type = Numeric)]
    avg_cost: Decimal,
    #[diesel(sql_type = BigInt)]
    bought_recently: i64,
}

pub fn exit(conn: &mut PgConnection, who: &Principal, agent_id: i64) -> Result<ExitResult, AppError> {
    who.require_hq()?;
    let brand_id = who.brand_id;
    store::lock_tree(conn, brand_id, true)?;
    let earlier: Option<String> = agent_exits::table.find((brand_id, agent_id)).select(agent_exits::response).first(conn).optional()?;
    if let Some(body) = earlier {
        return serde_json::from_str(&body).map_err(|e| AppError::internal(format!("stored exit does not parse: {e}")));
    }
    let agent = store::find_for_update(conn, brand_id, agent_id)?.ok_or_else(|| AppError::not_found(format!("agent {agent_id}")))?;
    if agent.status == "exited" {
        return Err(AppError::conflict("agent_exited", format!("agent {agent_id} has already exited")));
    }
    let settings = crate::brands::settings(conn, brand_id)?;
    let now = Utc::now();
    let since = now.checked_sub_months(Months::new(12)).unwrap_or(now);

    // What it holds, and how much of that it bought in the last 12 months (the most
    // recently bought units are the ones still on hand).
    let holdings: Vec<Holding> = diesel::sql_query(
        "SELECT s.sku, s.qty, s.avg_cost,
                coalesce((SELECT sum(m.qty) FROM stock_moves m
                           WHERE m.brand_id = s.brand_id AND m.to_agent = s.agent_id AND m.sku = s.sku
                             AND m.kind = 'purchase' AND m.at >= $3), 0)::bigint AS bought_recently
           FROM stock s WHERE s.brand_id = $1 AND s.agent_id = $2 AND s.qty > 0 ORDER BY s.sku",
    )
    .bind::<BigInt, _>(brand_id)
    .bind::<BigInt, _>(agent_id)
    .bind::<Timestamptz, _>(since)
    .load(conn)?;
    let hq = settings.hq_stock_tracking.then_some(Holder::Hq);
    let keys = holdings.iter().flat_map(|h| [Some((Holder::Agent(agent_id), h.sku.clone())), hq.map(|x| (x, h.sku.clone()))]).flatten();
    let mut stock = inventory::lock(conn, brand_id, keys)?;
    let mut lines = Vec::new();
    for h in &holdings {
        let qty = h.qty.min(h.bought_recently);
        let amount = round_cents(h.avg_cost * Decimal::from(qty) * settings.buyback_ratio);
        if qty > 0 {
            stock.take(Holder::Agent(agent_id), &h.sku, qty)?;
            if let Some(hq) = hq {
                stock.put(hq, &h.sku, qty, h.avg_cost)?;
            }
        }
        lines.push(BuybackLine { sku: h.sku.clone(), qty, kept: h.qty - qty, unit_cost: h.avg_cost, amount });
    }
    stock.save(conn, brand_id)?;
    let total: Decimal = lines.iter().map(|l| l.amount).sum();
    let actor = who.actor();
    let mut entry_id = None;
    if !total.is_zero() {
        let posting =
            |account, amount| Posting { account, amount, split_kind: Some("buyback"), order_id: None, line_no: None, generation: None, available_at: now };
        entry_id = Some(ledger::post(
            conn,
            brand_id,
            &Entry { kind: "buyback", occurred_at: now, memo: Some("exit buyback"), created_by: &actor, ..Default::default() },
            &[posting(Account::Wallet(agent_id), total), posting(Account::Buyback, -total)],
        )?);
    }
    let moves: Vec<Move> = lines
        .iter()
        .filter(|l| l.qty > 0)
        .map(|l| Move {
            kind: "buyback",
            sku: &l.sku,
            from: Some(agent_id),
            to: None,
            qty: l.qty,
            unit_cost: l.unit_cost,
            order_id: None,
            refund_id: None,
            reason: Some("exit buyback"),
        })
        .collect();
    if !moves.is_empty() {
        inventory::record_moves(conn, brand_id, &moves)?;
    }

    // The downline moves up to the exiting agent's parent, each subtree in one statement.
    let parent = match agent.parent_id {
        Some(pid) => store::find(conn, brand_id, pid)?,
        None => None,
    };
    let children = store::children(conn, brand_id, agent_id, None, i64::MAX)?;
    for child in &children {
        store::move_subtree(conn, brand_id, child.id, &child.path, parent.as_ref())?;
        store::record_event(conn, brand_id, child.id, "moved", Some(agent_id.to_string()), agent.parent_id.map(|p| p.to_string()), &actor, now)?;
    }
    store::set_status(conn, brand_id, agent_id, "exited")?;
    store::record_event(conn, brand_id, agent_id, "status_changed", Some(agent.status.clone()), Some("exited".into()), &actor, now)?;
    crate::recruiting::upgrades::void_pending(conn, brand_id, agent_id, &actor, "the agent exited")?;

    let mut buyback_total = total;
    buyback_total.rescale(2);
    let result = ExitResult {
        agent_id,
        status: "exited".into(),
        buyback_ratio: settings.buyback_ratio,
        buyback: lines,
        buyback_total,
        moved_children: children.iter().map(|c| c.id).collect(),
        new_parent_id: agent.parent_id,
        journal_entry_id: entry_id,
        exited_at: now,
    };
    let body = serde_json::to_string(&result).map_err(|e| AppError::internal(e.to_string()))?;
    diesel::insert_into(agent_exits::table)
        .values((
            agent_exits::brand_id.eq(brand_id),
            agent_exits::agent_id.eq(agent_id),
            agent_exits::journal_entry_id.eq(entry_id),
            agent_exits::response.eq(body),
            agent_exits::exited_at.eq(now),
            agent_exits::exited_by.eq(&actor),
        ))
        .execute(conn)?;
    crate::recruiting::certificates::sync(conn, brand_id, agent_id)?;
    crate::recruiting::invites::revoke_all(conn, brand_id, agent_id)?;
    crate::audit::change(conn, who, "agent.exit", format!("agent:{agent_id}"), None::<&()>, Some(&result))?;
    Ok(result)
}

/// What an exit would do — the buyback, who moves up — with nothing written.
pub fn preview(conn: &mut PgConnection, who: &Principal, agent_id: i64) -> Result<ExitResult, AppError> {
    crate::db::dry_run(conn, |conn| exit(conn, who, agent_id))
}
