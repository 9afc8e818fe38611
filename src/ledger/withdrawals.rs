//! Money out, first half: an agent asks to be paid, HQ approves (the payout is posted) or
//! rejects with a reason that is kept; the queue and the history are read by status.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{post, wallet_of, Account, Entry, Posting};
use crate::auth::Principal;
use crate::error::AppError;
use crate::schema::withdrawals;

pub const STATUSES: [&str; 3] = ["requested", "approved", "rejected"];
/// A reason longer than this is refused rather than cut.
pub const MAX_REASON: usize = 500;

#[derive(Debug, Clone, Serialize, Queryable, Selectable, utoipa::ToSchema)]
#[diesel(table_name = withdrawals)]
pub struct Withdrawal {
    pub id: i64,
    pub agent_id: i64,
    #[schema(value_type = String)]
    pub amount: Decimal,
    /// requested, approved or rejected
    pub status: String,
    pub requested_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    /// Who approved or rejected it.
    pub decided_by: Option<String>,
    /// Why it was rejected.
    pub reason: Option<String>,
}

/// A withdrawal in the queue, with the agent's name.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct QueuedWithdrawal {
    #[serde(flatten)]
    pub withdrawal: Withdrawal,
    pub agent_name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawalRequest {
    #[schema(value_type = String)]
    pub amount: Decimal,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectRequest {
    /// Shown to the agent; required.
    pub reason: Option<String>,
}

/// Filters of the queue.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub status: Option<String>,
    pub agent_id: Option<i64>,
}

/// An agent asks to be paid out, never more than `available`.
pub fn request(conn: &mut PgConnection, who: &Principal, agent_id: i64, amount: Decimal) -> Result<Withdrawal, AppError> {
    if who.agent_id() != Some(agent_id) {
        return Err(if who.is_hq() { AppError::forbidden("only the agent itself requests a withdrawal") } else { AppError::not_found(format!("agent {agent_id}")) });
    }
    crate::catalog::prices::check_amount("amount", amount)?;
    if amount.is_zero() {
        return Err(AppError::validation("amount must be more than 0.00"));
    }
    // One agent's withdrawals are serialised on its own row: no brand-wide lock.
    crate::tree::store::find_for_update(conn, who.brand_id, agent_id)?;
    let wallet = wallet_of(conn, who.brand_id, agent_id, Utc::now())?;
    if amount > wallet.available {
        return Err(AppError::conflict("insufficient_funds", format!("{amount} is more than the {} available", wallet.available)));
    }
    Ok(diesel::insert_into(withdrawals::table)
        .values((withdrawals::brand_id.eq(who.brand_id), withdrawals::agent_id.eq(agent_id), withdrawals::amount.eq(amount)))
        .returning(Withdrawal::as_returning())
        .get_result(conn)?)
}

/// Checks a rejection's reason: present, not blank, at most `MAX_REASON` characters.
pub fn check_reason(reason: Option<&str>) -> Result<String, AppError> {
    let reason = reason.map(str::trim).unwrap_or_default();
    if reason.is_empty() {
        return Err(AppError::bad_request("reason_required", "a rejection needs a reason the agent will see"));
    }
    if reason.chars().count() > MAX_REASON || reason.contains('\0') {
        return Err(AppError::bad_request("validation", format!("reason must be at most {MAX_REASON} characters of text")));
    }
    Ok(reason.to_owned())
}

/// HQ approves (posts the payout) or rejects (with a reason) a requested withdrawal; once.
pub fn decide(conn: &mut PgConnection, who: &Principal, id: i64, approve: bool, reason: Option<String>) -> Result<Withdrawal, AppError> {
    who.require_hq()?;
    let current: Withdrawal = withdrawals::table
        .find((who.brand_id, id))
        .select(Withdrawal::as_select())
        .for_update()
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found(format!("withdrawal {id}")))?;
    if current.status != "requested" {
        return Err(AppError::conflict("already_decided", format!("withdrawal {id} is already {}", current.status)));
    }
    let now = Utc::now();
    let status = if approve { "approved" } else { "rejected" };
    let updated: Withdrawal = diesel::update(withdrawals::table.find((who.brand_id, id)))
        .set((withdrawals::status.eq(status), withdrawals::decided_at.eq(now), withdrawals::decided_by.eq(who.actor()), withdrawals::reason.eq(reason)))
        .returning(Withdrawal::as_returning())
        .get_result(conn)?;
    if approve {
        let payout = |account, amount| Posting { account, amount, split_kind: Some("withdrawal"), order_id: None, line_no: None, generation: None, available_at: now };
        post(
            conn,
            who.brand_id,
            &Entry { kind: "withdrawal", withdrawal_id: Some(id), occurred_at: now, created_by: &who.actor(), ..Default::default() },
            &[payout(Account::Wallet(current.agent_id), -current.amount), payout(Account::Payouts, current.amount)],
        )?;
    }
    Ok(updated)
}

/// The queue and the history, newest first: HQ sees the brand's, an agent only its own.
/// `before` is the last id of the previous page (0 for the first page).
pub fn list(conn: &mut PgConnection, who: &Principal, f: &ListFilter, before: i64, limit: i64) -> Result<Vec<QueuedWithdrawal>, AppError> {
    if let Some(s) = f.status.as_deref() {
        if !STATUSES.contains(&s) {
            return Err(AppError::bad_request("validation", format!("status must be one of {}", STATUSES.join(", "))));
        }
    }
    let agent_id = match (who.agent_id(), f.agent_id) {
        (None, a) => a,
        (Some(me), None) => Some(me),
        (Some(me), Some(a)) if a == me => Some(me),
        // another agent's withdrawals, even in its own team: not found, as if absent
        (Some(_), Some(a)) => return Err(AppError::not_found(format!("agent {a}"))),
    };
    let mut q = withdrawals::table.filter(withdrawals::brand_id.eq(who.brand_id)).into_boxed();
    if let Some(s) = f.status.as_deref() {
        q = q.filter(withdrawals::status.eq(s.to_owned()));
    }
    if let Some(a) = agent_id {
        q = q.filter(withdrawals::agent_id.eq(a));
    }
    if before > 0 {
        q = q.filter(withdrawals::id.lt(before));
    }
    let rows: Vec<Withdrawal> = q.order(withdrawals::id.desc()).limit(limit).select(Withdrawal::as_select()).load(conn)?;
    let mut ids: Vec<i64> = rows.iter().map(|w| w.agent_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let names: std::collections::HashMap<i64, String> =
        crate::tree::store::by_ids(conn, who.brand_id, &ids)?.into_iter().map(|a| (a.id, a.name)).collect();
    Ok(rows
        .into_iter()
        .map(|w| QueuedWithdrawal { agent_name: names.get(&w.agent_id).cloned().unwrap_or_default(), withdrawal: w })
        .collect())
}
