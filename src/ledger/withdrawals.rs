//! Money out: an agent asks to be paid (the fee and tax it was shown are fixed on the
//! request, with the payee), HQ's finance approves or rejects it, then marks it paid with
//! the bank's reference or failed (the money returns to the wallet) — see `payouts`.
//! HQ may also pay out what an exited agent has left (its buyback money).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::payee::{mask, PayeeInput};
use super::quote::{quote, Quote, QuoteError, WithdrawalRules};
use super::{wallet_of, Wallet};
use crate::auth::Principal;
use crate::error::AppError;
use crate::schema::{postings, withdrawals};

pub const STATUSES: [&str; 5] = ["requested", "approved", "paid", "rejected", "failed"];
/// A reason or reference longer than this is refused rather than cut.
pub const MAX_REASON: usize = 500;

/// A withdrawal as stored (the payee's account whole: never sent as is).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = withdrawals)]
pub struct Row {
    pub id: i64,
    pub agent_id: i64,
    pub amount: Decimal,
    pub fee: Decimal,
    pub tax: Decimal,
    pub status: String,
    pub requested_at: DateTime<Utc>,
    pub requested_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decided_by: Option<String>,
    pub reason: Option<String>,
    pub payee_method: Option<String>,
    pub payee_name: Option<String>,
    pub payee_account: Option<String>,
    pub payee_bank: Option<String>,
    pub batch_no: Option<i32>,
    pub exported_at: Option<DateTime<Utc>>,
    pub paid_at: Option<DateTime<Utc>>,
    pub paid_by: Option<String>,
    pub reference: Option<String>,
    pub failed_at: Option<DateTime<Utc>>,
    pub failed_by: Option<String>,
    pub failure: Option<String>,
}

impl Row {
    pub fn net(&self) -> Decimal {
        self.amount - self.fee - self.tax
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Withdrawal {
    pub id: i64,
    pub agent_id: i64,
    /// Taken from the wallet.
    #[schema(value_type = String)]
    pub amount: Decimal,
    #[schema(value_type = String)]
    pub fee: Decimal,
    /// Tax withheld.
    #[schema(value_type = String)]
    pub tax: Decimal,
    /// Paid to the payee: amount − fee − tax.
    #[schema(value_type = String)]
    pub net: Decimal,
    /// requested, approved, paid, rejected or failed
    pub status: String,
    pub requested_at: DateTime<Utc>,
    /// `agent:<id>`, or the staff member who paid out an exited agent.
    pub requested_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    /// Who approved or rejected it.
    pub decided_by: Option<String>,
    /// Why it was rejected.
    pub reason: Option<String>,
    /// bank, alipay or wechat
    pub payee_method: Option<String>,
    pub payee_name: Option<String>,
    /// Masked.
    pub payee_account: Option<String>,
    pub payee_bank: Option<String>,
    /// The payout file that first carried it.
    pub batch_no: Option<i32>,
    pub exported_at: Option<DateTime<Utc>>,
    /// When the bank paid it, and its reference.
    pub paid_at: Option<DateTime<Utc>>,
    pub paid_by: Option<String>,
    pub reference: Option<String>,
    pub failed_at: Option<DateTime<Utc>>,
    pub failed_by: Option<String>,
    /// Why the transfer failed.
    pub failure: Option<String>,
}

impl From<Row> for Withdrawal {
    fn from(r: Row) -> Self {
        let cents = |mut d: Decimal| {
            d.rescale(2);
            d
        };
        Withdrawal {
            id: r.id,
            agent_id: r.agent_id,
            net: cents(r.net()),
            amount: cents(r.amount),
            fee: cents(r.fee),
            tax: cents(r.tax),
            status: r.status,
            requested_at: r.requested_at,
            requested_by: r.requested_by,
            decided_at: r.decided_at,
            decided_by: r.decided_by,
            reason: r.reason,
            payee_method: r.payee_method,
            payee_name: r.payee_name,
            payee_account: r.payee_account.as_deref().map(mask),
            payee_bank: r.payee_bank,
            batch_no: r.batch_no,
            exported_at: r.exported_at,
            paid_at: r.paid_at,
            paid_by: r.paid_by,
            reference: r.reference,
            failed_at: r.failed_at,
            failed_by: r.failed_by,
            failure: r.failure,
        }
    }
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
    #[serde(deserialize_with = "crate::amount::money")]
    pub amount: Decimal,
    /// HQ paying out an exited agent only: where to pay it, when the agent never set a payee.
    pub payee: Option<PayeeInput>,
}

/// What asking for `amount` would give, shown before the agent asks.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct QuoteView {
    #[serde(flatten)]
    pub quote: Quote,
    pub wallet: Wallet,
    pub rules: WithdrawalRules,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectRequest {
    /// Shown to the agent; required.
    #[schema(required = true, value_type = String)]
    pub reason: Option<String>,
}

/// Filters of the queue.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub status: Option<String>,
    pub agent_id: Option<i64>,
    /// Requested in this month (YYYY-MM, the brand's time zone).
    pub month: Option<String>,
}

fn quote_error(e: QuoteError) -> AppError {
    match e {
        QuoteError::NotCents => AppError::validation(e.to_string()),
        QuoteError::BelowMin(_) => AppError::unprocessable("below_minimum", e.to_string()),
        QuoteError::AboveMax(_) => AppError::unprocessable("above_maximum", e.to_string()),
        QuoteError::NothingLeft => AppError::unprocessable("nothing_left", e.to_string()),
    }
}

/// The fee, tax and net of asking for `amount` now, with the wallet: the agent itself or HQ.
pub fn preview(conn: &mut PgConnection, who: &Principal, agent_id: i64, amount: Decimal) -> Result<QuoteView, AppError> {
    let wallet = super::wallet(conn, who, agent_id)?;
    let rules = crate::brands::settings(conn, who.brand_id)?.withdrawal;
    let quote = quote(&rules, amount, amount).map_err(quote_error)?;
    Ok(QuoteView { quote, wallet, rules })
}

/// An agent asks to be paid: never more than `available`, within the brand's limits, to the
/// payee it has set. HQ (finance) may ask on behalf of an exited agent, to pay out what it
/// has left: that withdrawal is approved at once (see `payouts::approve_entry`).
pub fn request(conn: &mut PgConnection, who: &Principal, agent_id: i64, req: &WithdrawalRequest) -> Result<Withdrawal, AppError> {
    let amount = req.amount;
    let exit_payout = who.is_hq();
    if !exit_payout && who.agent_id() != Some(agent_id) {
        return Err(AppError::not_found(format!("agent {agent_id}")));
    }
    if !exit_payout && req.payee.is_some() {
        return Err(AppError::validation("payee is set with PUT /agents/{id}/payee, not on a withdrawal"));
    }
    if amount <= Decimal::ZERO || !crate::commission::money::is_cents(amount) {
        return Err(AppError::validation("amount must be a positive number of cents"));
    }
    // One agent's withdrawals are serialised on its own row: no brand-wide lock.
    let agent = crate::tree::store::find_for_update(conn, who.brand_id, agent_id)?.ok_or_else(|| AppError::not_found(format!("agent {agent_id}")))?;
    if exit_payout && agent.status != "exited" {
        return Err(AppError::conflict("not_exited", format!("agent {agent_id} has not exited: an agent asks for its own withdrawals")));
    }
    let mut rules = crate::brands::settings(conn, who.brand_id)?.withdrawal;
    let mut taxable = amount;
    if exit_payout {
        // HQ pays what is left: no per-request limits, no fee, and the buyback money (the
        // agent's own purchase money coming back) is not taxed
        rules = WithdrawalRules { min: Decimal::new(1, 2), max: Decimal::MAX, fee_rate: Decimal::ZERO, fee_min: Decimal::ZERO, ..rules };
        taxable = (amount - buyback_credits(conn, who.brand_id, agent_id)?).max(Decimal::ZERO);
    }
    let q = quote(&rules, amount, taxable).map_err(quote_error)?;
    if exit_payout {
        if let Some(p) = &req.payee {
            let p = super::payee::checked(p)?;
            super::payee::store(conn, who.brand_id, agent_id, &p)?;
        }
    }
    let payee = super::payee::whole(conn, who.brand_id, agent_id)?
        .ok_or_else(|| AppError::conflict("no_payee", "set where to be paid (bank card, Alipay or WeChat) before asking for a withdrawal"))?;
    let wallet = wallet_of(conn, who.brand_id, agent_id, Utc::now())?;
    if amount > wallet.available {
        return Err(AppError::conflict("insufficient_funds", format!("{amount} is more than the {} available", wallet.available)));
    }
    let (_, method, name, account, bank, _) = payee;
    let row: Row = diesel::insert_into(withdrawals::table)
        .values((
            withdrawals::brand_id.eq(who.brand_id),
            withdrawals::agent_id.eq(agent_id),
            withdrawals::amount.eq(q.amount),
            withdrawals::fee.eq(q.fee),
            withdrawals::tax.eq(q.tax),
            withdrawals::payee_method.eq(method),
            withdrawals::payee_name.eq(name),
            withdrawals::payee_account.eq(account),
            withdrawals::payee_bank.eq(bank),
            withdrawals::requested_by.eq(who.actor()),
        ))
        .returning(Row::as_returning())
        .get_result(conn)?;
    if exit_payout {
        let w = super::payouts::approve_row(conn, who, row)?;
        crate::audit::change(conn, who, "withdrawal.exit_payout", format!("withdrawal:{}", w.id), None::<&()>, Some(&w))?;
        return Ok(w);
    }
    Ok(row.into())
}

/// What exits credited to the agent's wallet (buybacks).
fn buyback_credits(conn: &mut PgConnection, brand_id: i64, agent_id: i64) -> Result<Decimal, AppError> {
    let sum: Option<Decimal> = postings::table
        .filter(postings::brand_id.eq(brand_id))
        .filter(postings::agent_id.eq(agent_id))
        .filter(postings::account.eq("wallet"))
        .filter(postings::split_kind.eq("buyback"))
        .select(diesel::dsl::sum(postings::amount))
        .first(conn)?;
    Ok(sum.unwrap_or_default())
}

/// Checks a reason (or a reference): present, not blank, at most `MAX_REASON` characters.
pub fn check_text(what: &'static str, text: Option<&str>) -> Result<String, AppError> {
    let text = text.map(str::trim).unwrap_or_default();
    if text.is_empty() {
        return Err(AppError::bad_request(if what == "reference" { "reference_required" } else { "reason_required" }, format!("a {what} is required")));
    }
    if text.chars().count() > MAX_REASON || text.contains('\0') {
        return Err(AppError::bad_request("validation", format!("{what} must be at most {MAX_REASON} characters of text")));
    }
    Ok(text.to_owned())
}

/// Checks a rejection's reason.
pub fn check_reason(reason: Option<&str>) -> Result<String, AppError> {
    check_text("reason", reason)
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
    if let Some(m) = f.month.as_deref() {
        let tz = crate::brands::settings(conn, who.brand_id)?.timezone;
        let (start, end) = crate::period::month_bounds(m, &tz)?;
        q = q.filter(withdrawals::requested_at.ge(start)).filter(withdrawals::requested_at.lt(end));
    }
    if before > 0 {
        q = q.filter(withdrawals::id.lt(before));
    }
    let rows: Vec<Row> = q.order(withdrawals::id.desc()).limit(limit).select(Row::as_select()).load(conn)?;
    let mut ids: Vec<i64> = rows.iter().map(|w| w.agent_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let names: std::collections::HashMap<i64, String> = crate::tree::store::by_ids(conn, who.brand_id, &ids)?.into_iter().map(|a| (a.id, a.name)).collect();
    Ok(rows.into_iter().map(|w| QueuedWithdrawal { agent_name: names.get(&w.agent_id).cloned().unwrap_or_default(), withdrawal: w.into() }).collect())
}

/// One withdrawal: HQ, or the agent it belongs to.
pub fn get(conn: &mut PgConnection, who: &Principal, id: i64) -> Result<Withdrawal, AppError> {
    let row: Row = withdrawals::table
        .find((who.brand_id, id))
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .filter(|r| who.agent_id().is_none_or(|me| me == r.agent_id))
        .ok_or_else(|| AppError::not_found(format!("withdrawal {id}")))?;
    Ok(row.into())
}
