//! A withdrawal's life after the request, each step once under any number of concurrent
//! clicks (the row is locked, the state checked, then changed), and each step that moves
//! money a balanced journal entry:
//!
//! | step | entry | postings |
//! |---|---|---|
//! | approve | `withdrawal` | wallet −net, −fee, −tax (three lines); payouts_due +net; withdrawal_fees +fee; tax_withheld +tax |
//! | pay `{reference}` | `payout` | payouts_due −net; payouts +net |
//! | fail `{reason}` | `payout_failed` | the approval reversed: the whole amount back to the wallet |
//! | reject `{reason}` | — | nothing was posted; the reservation ends |

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::withdrawals::{check_text, Row, Withdrawal};
use super::{post, Account, Entry, Posting};
use crate::auth::Principal;
use crate::error::AppError;
use crate::schema::withdrawals;

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayRequest {
    /// The bank's reference of the transfer (流水号); required.
    #[schema(required = true, value_type = String)]
    pub reference: Option<String>,
    /// When the bank paid it; defaults to now. Not in the future.
    pub paid_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FailRequest {
    /// Why the transfer failed (the bank's words); required.
    #[schema(required = true, value_type = String)]
    pub reason: Option<String>,
}

fn locked(conn: &mut PgConnection, who: &Principal, id: i64) -> Result<Row, AppError> {
    who.require_hq()?;
    withdrawals::table
        .find((who.brand_id, id))
        .select(Row::as_select())
        .for_update()
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found(format!("withdrawal {id}")))
}

fn wrong_state(w: &Row, wanted: &str) -> AppError {
    let code = match w.status.as_str() {
        "paid" => "already_paid",
        "failed" => "already_failed",
        "rejected" | "approved" if wanted == "requested" => "already_decided",
        _ => "wrong_state",
    };
    AppError::conflict(code, format!("withdrawal {} is {}, not {wanted}", w.id, w.status))
}

fn line(account: Account, amount: Decimal, kind: &'static str, now: DateTime<Utc>) -> Posting {
    Posting { account, amount, split_kind: Some(kind), order_id: None, line_no: None, generation: None, available_at: now }
}

/// The approval's postings (negated for a failure): the wallet pays net, fee and tax as
/// three lines; HQ then owes the net to the payee, keeps the fee, owes the tax to the state.
fn approval_lines(w: &Row, sign: Decimal, now: DateTime<Utc>) -> Vec<Posting> {
    let agent = Account::Wallet(w.agent_id);
    vec![
        line(agent, -sign * w.net(), "withdrawal", now),
        line(agent, -sign * w.fee, "withdrawal_fee", now),
        line(agent, -sign * w.tax, "withholding_tax", now),
        line(Account::PayoutsDue, sign * w.net(), "withdrawal", now),
        line(Account::WithdrawalFees, sign * w.fee, "withdrawal_fee", now),
        line(Account::TaxWithheld, sign * w.tax, "withholding_tax", now),
    ]
}

/// Approves a requested withdrawal (locked by the caller) and posts it.
pub(super) fn approve_row(conn: &mut PgConnection, who: &Principal, w: Row) -> Result<Withdrawal, AppError> {
    let now = Utc::now();
    post(
        conn,
        who.brand_id,
        &Entry { kind: "withdrawal", withdrawal_id: Some(w.id), occurred_at: now, created_by: &who.actor(), ..Default::default() },
        &approval_lines(&w, Decimal::ONE, now),
    )?;
    let row: Row = diesel::update(withdrawals::table.find((who.brand_id, w.id)))
        .set((withdrawals::status.eq("approved"), withdrawals::decided_at.eq(now), withdrawals::decided_by.eq(who.actor())))
        .returning(Row::as_returning())
        .get_result(conn)?;
    Ok(row.into())
}

/// Finance approves a requested withdrawal: once.
pub fn approve(conn: &mut PgConnection, who: &Principal, id: i64) -> Result<Withdrawal, AppError> {
    let w = locked(conn, who, id)?;
    if w.status != "requested" {
        return Err(wrong_state(&w, "requested"));
    }
    let out = approve_row(conn, who, w)?;
    crate::audit::record(conn, who, "withdrawal.approve", format!("withdrawal:{id}"), None, Some(crate::audit::money(out.amount)))?;
    Ok(out)
}

/// Finance rejects a requested withdrawal with a reason the agent sees; nothing is posted.
pub fn reject(conn: &mut PgConnection, who: &Principal, id: i64, reason: String) -> Result<Withdrawal, AppError> {
    let w = locked(conn, who, id)?;
    if w.status != "requested" {
        return Err(wrong_state(&w, "requested"));
    }
    let row: Row = diesel::update(withdrawals::table.find((who.brand_id, id)))
        .set((
            withdrawals::status.eq("rejected"),
            withdrawals::decided_at.eq(Utc::now()),
            withdrawals::decided_by.eq(who.actor()),
            withdrawals::reason.eq(&reason),
        ))
        .returning(Row::as_returning())
        .get_result(conn)?;
    crate::audit::record(conn, who, "withdrawal.reject", format!("withdrawal:{id}"), None, Some(serde_json::json!({ "reason": reason })))?;
    Ok(row.into())
}

/// Finance records that the bank paid an approved withdrawal: once.
pub fn pay(conn: &mut PgConnection, who: &Principal, id: i64, req: &PayRequest) -> Result<Withdrawal, AppError> {
    let reference = check_text("reference", req.reference.as_deref())?;
    let now = Utc::now();
    let paid_at = req.paid_at.unwrap_or(now);
    if paid_at > now + chrono::Duration::minutes(5) {
        return Err(AppError::validation("paid_at is in the future"));
    }
    let w = locked(conn, who, id)?;
    if w.status != "approved" {
        return Err(wrong_state(&w, "approved"));
    }
    if w.decided_at.is_some_and(|d| paid_at < d - chrono::Duration::minutes(5)) {
        return Err(AppError::validation("paid_at is before the withdrawal was approved"));
    }
    post(
        conn,
        who.brand_id,
        &Entry { kind: "payout", withdrawal_id: Some(id), occurred_at: now, memo: Some(&reference), created_by: &who.actor(), ..Default::default() },
        &[line(Account::PayoutsDue, -w.net(), "withdrawal", now), line(Account::Payouts, w.net(), "withdrawal", now)],
    )?;
    let row: Row = diesel::update(withdrawals::table.find((who.brand_id, id)))
        .set((withdrawals::status.eq("paid"), withdrawals::paid_at.eq(paid_at), withdrawals::paid_by.eq(who.actor()), withdrawals::reference.eq(&reference)))
        .returning(Row::as_returning())
        .get_result(conn)?;
    crate::audit::record(
        conn,
        who,
        "withdrawal.pay",
        format!("withdrawal:{id}"),
        None,
        Some(serde_json::json!({ "reference": reference, "paid_at": paid_at, "net": crate::audit::money(w.net()) })),
    )?;
    Ok(row.into())
}

/// Finance records that the transfer of an approved withdrawal failed: the approval is
/// reversed and the whole amount is back in the wallet. Once.
pub fn fail(conn: &mut PgConnection, who: &Principal, id: i64, req: &FailRequest) -> Result<Withdrawal, AppError> {
    let reason = check_text("reason", req.reason.as_deref())?;
    let w = locked(conn, who, id)?;
    if w.status != "approved" {
        return Err(wrong_state(&w, "approved"));
    }
    let now = Utc::now();
    post(
        conn,
        who.brand_id,
        &Entry { kind: "payout_failed", withdrawal_id: Some(id), occurred_at: now, memo: Some(&reason), created_by: &who.actor(), ..Default::default() },
        &approval_lines(&w, -Decimal::ONE, now),
    )?;
    let row: Row = diesel::update(withdrawals::table.find((who.brand_id, id)))
        .set((withdrawals::status.eq("failed"), withdrawals::failed_at.eq(now), withdrawals::failed_by.eq(who.actor()), withdrawals::failure.eq(&reason)))
        .returning(Row::as_returning())
        .get_result(conn)?;
    crate::audit::record(conn, who, "withdrawal.fail", format!("withdrawal:{id}"), None, Some(serde_json::json!({ "reason": reason })))?;
    Ok(row.into())
}
