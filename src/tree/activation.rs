//! 首批进货, the first-order threshold: an agent whose tier has `min_first_order` starts in
//! `pending_activation` — it may log in and buy, but earns nothing (an upline that is not
//! active is passed over, as a suspended one), recruits nobody and holds no certificate —
//! until its purchases (net of refunds) reach the threshold, or HQ waives it with a reason.
//! Activation is a dated status change like any other, taken under the brand's tree lock
//! exclusively, so it runs in its own transaction right after the order that qualifies.

use chrono::Utc;
use diesel::prelude::*;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{store, Agent};
use crate::auth::Principal;
use crate::error::AppError;
use crate::schema::tiers;

/// The status a new agent of `tier_id` starts in.
pub fn initial_status(conn: &mut PgConnection, brand_id: i64, tier_id: i64) -> Result<&'static str, AppError> {
    Ok(if threshold(conn, brand_id, tier_id)?.is_some() { "pending_activation" } else { "active" })
}

fn threshold(conn: &mut PgConnection, brand_id: i64, tier_id: i64) -> Result<Option<Decimal>, AppError> {
    let min: Option<Option<Decimal>> =
        tiers::table.filter(tiers::brand_id.eq(brand_id)).filter(tiers::id.eq(tier_id)).select(tiers::min_first_order).first(conn).optional()?;
    Ok(min.flatten().filter(|m| *m > Decimal::ZERO))
}

/// What the agent has bought, net of refunds.
fn purchased(conn: &mut PgConnection, brand_id: i64, agent_id: i64) -> Result<Decimal, AppError> {
    #[derive(QueryableByName)]
    struct Sum {
        #[diesel(sql_type = diesel::sql_types::Numeric)]
        amount: Decimal,
    }
    let s: Sum = diesel::sql_query(
        "SELECT coalesce(sum(o.amount), 0) - coalesce((SELECT sum(rl.amount) FROM refund_lines rl JOIN orders r ON r.brand_id = rl.brand_id AND r.id = rl.order_id
                                                       WHERE r.brand_id = $1 AND r.buyer_id = $2 AND r.kind = 'purchase'), 0) AS amount
           FROM orders o WHERE o.brand_id = $1 AND o.buyer_id = $2 AND o.kind = 'purchase'",
    )
    .bind::<diesel::sql_types::BigInt, _>(brand_id)
    .bind::<diesel::sql_types::BigInt, _>(agent_id)
    .get_result(conn)?;
    Ok(s.amount)
}

fn activate(conn: &mut PgConnection, brand_id: i64, agent_id: i64, actor: &str, reason: &str) -> Result<(), AppError> {
    store::set_status(conn, brand_id, agent_id, "active")?;
    store::record_status_with_reason(conn, brand_id, agent_id, "pending_activation", "active", actor, Utc::now(), reason)?;
    crate::recruiting::certificates::sync(conn, brand_id, agent_id)
}

/// Which of `ids` still wait for activation (one query for a batch's buyers: the others
/// need no `after_purchase`).
pub fn waiting(conn: &mut PgConnection, brand_id: i64, ids: &[i64]) -> Result<Vec<i64>, AppError> {
    use crate::schema::agents;
    Ok(agents::table
        .filter(agents::brand_id.eq(brand_id))
        .filter(agents::id.eq_any(ids))
        .filter(agents::status.eq("pending_activation"))
        .select(agents::id)
        .order(agents::id)
        .load(conn)?)
}

/// After a purchase: activates the buyer if it was waiting and has now bought enough.
/// Returns whether it did. Cheap when the buyer is active (one row read).
pub fn after_purchase(conn: &mut PgConnection, brand_id: i64, buyer_id: i64) -> Result<bool, AppError> {
    let Some(agent) = store::find(conn, brand_id, buyer_id)? else { return Ok(false) };
    if agent.status != "pending_activation" {
        return Ok(false);
    }
    store::lock_tree(conn, brand_id, true)?;
    let Some(agent) = store::find_for_update(conn, brand_id, buyer_id)?.filter(|a| a.status == "pending_activation") else { return Ok(false) };
    let Some(min) = threshold(conn, brand_id, agent.tier_id)? else { return Ok(false) };
    let bought = purchased(conn, brand_id, buyer_id)?;
    if bought < min {
        return Ok(false);
    }
    activate(conn, brand_id, buyer_id, "system", &format!("首批进货达标 first purchases {bought} reached {min}"))?;
    Ok(true)
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WaiveRequest {
    /// Why the threshold is waived; kept on the event and in the audit log.
    pub reason: String,
}

/// HQ activates a waiting agent without the first-order threshold, on record.
pub fn waive(conn: &mut PgConnection, who: &Principal, id: i64, reason: &str) -> Result<Agent, AppError> {
    who.require_hq()?;
    let reason = crate::ledger::withdrawals::check_reason(Some(reason))?;
    store::lock_tree(conn, who.brand_id, true)?;
    let agent = store::find_for_update(conn, who.brand_id, id)?.ok_or_else(|| AppError::not_found(format!("agent {id}")))?;
    if agent.status != "pending_activation" {
        return Err(AppError::conflict("not_pending", format!("agent {id} is {}, not waiting for activation", agent.status)));
    }
    activate(conn, who.brand_id, id, &who.actor(), &format!("免首批进货 waived: {reason}"))?;
    crate::audit::record(
        conn,
        who,
        "agent.activate",
        format!("agent:{id}"),
        Some(serde_json::json!({ "status": "pending_activation" })),
        Some(serde_json::json!({ "status": "active", "reason": reason })),
    )?;
    super::get(conn, who, id)
}
