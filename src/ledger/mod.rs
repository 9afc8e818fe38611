//! The double-entry ledger: journal entries whose postings sum to 0.00, appended and never
//! changed (the database refuses UPDATE, DELETE and TRUNCATE, and checks balance at commit).
//!
//! No hot rows: balances are never stored in one row per account that every order would
//! update. A wallet's balance is derived: the last closed month's statement (a checkpoint)
//! plus the postings since, read through a covering index.

pub mod adjustments;
pub mod ftc;
pub mod http;
pub mod payee;
pub mod payout_file;
pub mod payouts;
pub mod payouts_http;
pub mod quote;
pub mod withdrawals;

pub use withdrawals::{Withdrawal, WithdrawalRequest};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::auth::Principal;
use crate::error::AppError;
use crate::schema::{journal_entries, postings};

/// HQ's accounts, and each agent's wallet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Account {
    Wallet(i64),
    Clearing,
    Revenue,
    BonusExpense,
    Payouts,
    Buyback,
    /// Approved withdrawals not yet paid: what HQ owes the payees.
    PayoutsDue,
    WithdrawalFees,
    TaxWithheld,
    /// The other side of manual credits and debits of wallets.
    Adjustments,
}

impl Account {
    fn parts(self) -> (&'static str, Option<i64>) {
        match self {
            Account::Wallet(id) => ("wallet", Some(id)),
            Account::Clearing => ("clearing", None),
            Account::Revenue => ("revenue", None),
            Account::BonusExpense => ("bonus_expense", None),
            Account::Payouts => ("payouts", None),
            Account::Buyback => ("buyback", None),
            Account::PayoutsDue => ("payouts_due", None),
            Account::WithdrawalFees => ("withdrawal_fees", None),
            Account::TaxWithheld => ("tax_withheld", None),
            Account::Adjustments => ("adjustments", None),
        }
    }
}

/// One posting: a positive amount credits the account, a negative one debits it.
#[derive(Debug, Clone)]
pub struct Posting {
    pub account: Account,
    pub amount: Decimal,
    pub split_kind: Option<&'static str>,
    pub order_id: Option<i64>,
    pub line_no: Option<i32>,
    pub generation: Option<i32>,
    pub available_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default)]
pub struct Entry<'a> {
    pub kind: &'a str,
    pub order_id: Option<i64>,
    pub refund_id: Option<i64>,
    pub withdrawal_id: Option<i64>,
    pub occurred_at: DateTime<Utc>,
    pub memo: Option<&'a str>,
    pub created_by: &'a str,
    /// The wallet cuts of postings inserted apart from `post` (the month's rebates, in bulk).
    pub wallet_cuts: Option<Decimal>,
}

/// The cuts an entry pays to wallets (differentials, peer and referral bonuses, team rebates,
/// and their reversals), kept on the entry for the dashboard's figures; None when it pays none.
fn wallet_cuts(lines: &[Posting]) -> Option<Decimal> {
    let cut = |p: &&Posting| {
        matches!(p.account, Account::Wallet(_)) && matches!(p.split_kind, Some("differential" | "peer_bonus" | "referral_bonus" | "team_rebate"))
    };
    let mut cuts = lines.iter().filter(cut).peekable();
    cuts.peek()?;
    Some(cuts.map(|p| p.amount).sum())
}

/// Appends one journal entry with its postings; returns the entry id. Refuses an
/// unbalanced entry here, and the database checks again at commit.
pub fn post(conn: &mut PgConnection, brand_id: i64, entry: &Entry, lines: &[Posting]) -> Result<i64, AppError> {
    let ids = post_many(conn, brand_id, &[(entry, lines)])?;
    ids.first().copied().ok_or_else(|| AppError::internal("no entry id"))
}

/// Appends entries with their postings — two INSERTs however many (a batch of orders) — and
/// returns their ids in the given order. Every entry must balance.
pub fn post_many(conn: &mut PgConnection, brand_id: i64, entries: &[(&Entry, &[Posting])]) -> Result<Vec<i64>, AppError> {
    use diesel::sql_types::{Array, BigInt, Int4, Nullable, Numeric, Text, Timestamptz};
    for (entry, lines) in entries {
        let total: Decimal = lines.iter().map(|p| p.amount).sum();
        if !total.is_zero() {
            return Err(AppError::internal(format!("refusing an unbalanced {} entry: postings sum to {total}", entry.kind)));
        }
    }
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    // ids first, so the postings can name their entry without relying on RETURNING's order
    let ids = crate::db::next_ids(conn, "journal_entries", entries.len())?;
    let rows: Vec<_> = entries
        .iter()
        .zip(&ids)
        .map(|((entry, lines), id)| {
            (
                journal_entries::brand_id.eq(brand_id),
                journal_entries::id.eq(*id),
                journal_entries::kind.eq(entry.kind),
                journal_entries::order_id.eq(entry.order_id),
                journal_entries::refund_id.eq(entry.refund_id),
                journal_entries::withdrawal_id.eq(entry.withdrawal_id),
                journal_entries::occurred_at.eq(entry.occurred_at),
                journal_entries::memo.eq(entry.memo),
                journal_entries::created_by.eq(entry.created_by),
                journal_entries::wallet_cuts.eq(entry.wallet_cuts.or_else(|| wallet_cuts(lines))),
            )
        })
        .collect();
    diesel::insert_into(journal_entries::table).values(rows).execute(conn)?;
    let mut cols = PostingColumns::default();
    for ((entry, lines), id) in entries.iter().zip(&ids) {
        for p in lines.iter().filter(|p| !p.amount.is_zero()) {
            let (account, agent_id) = p.account.parts();
            cols.entry_id.push(*id);
            cols.account.push(account);
            cols.agent_id.push(agent_id);
            cols.amount.push(p.amount);
            cols.split_kind.push(p.split_kind);
            cols.order_id.push(p.order_id);
            cols.line_no.push(p.line_no);
            cols.generation.push(p.generation);
            cols.occurred_at.push(entry.occurred_at);
            cols.available_at.push(p.available_at);
            cols.entry_kind.push(entry.kind);
        }
    }
    if !cols.entry_id.is_empty() {
        // one statement: the balance trigger checks every entry it touched once
        crate::db::prepared(
            "INSERT INTO postings (brand_id, entry_id, account, agent_id, amount, split_kind, order_id, line_no, generation, occurred_at, available_at, entry_kind)
             SELECT $1, p.* FROM unnest($2::bigint[], $3::text[], $4::bigint[], $5::numeric[], $6::text[], $7::bigint[], $8::int4[], $9::int4[], $10::timestamptz[], $11::timestamptz[], $12::text[])
                    AS p(entry_id, account, agent_id, amount, split_kind, order_id, line_no, generation, occurred_at, available_at, entry_kind)",
        )
        .bind::<BigInt, _>(brand_id)
        .bind::<Array<BigInt>, _>(&cols.entry_id)
        .bind::<Array<Text>, _>(&cols.account)
        .bind::<Array<Nullable<BigInt>>, _>(&cols.agent_id)
        .bind::<Array<Numeric>, _>(&cols.amount)
        .bind::<Array<Nullable<Text>>, _>(&cols.split_kind)
        .bind::<Array<Nullable<BigInt>>, _>(&cols.order_id)
        .bind::<Array<Nullable<Int4>>, _>(&cols.line_no)
        .bind::<Array<Nullable<Int4>>, _>(&cols.generation)
        .bind::<Array<Timestamptz>, _>(&cols.occurred_at)
        .bind::<Array<Timestamptz>, _>(&cols.available_at)
        .bind::<Array<Text>, _>(&cols.entry_kind)
        .execute(conn)?;
    }
    Ok(ids)
}

/// The postings of a `post_many`, column by column (bound as arrays).
#[derive(Default)]
struct PostingColumns<'a> {
    entry_id: Vec<i64>,
    account: Vec<&'static str>,
    agent_id: Vec<Option<i64>>,
    amount: Vec<Decimal>,
    split_kind: Vec<Option<&'static str>>,
    order_id: Vec<Option<i64>>,
    line_no: Vec<Option<i32>>,
    generation: Vec<Option<i32>>,
    occurred_at: Vec<DateTime<Utc>>,
    available_at: Vec<DateTime<Utc>>,
    entry_kind: Vec<&'a str>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Wallet {
    pub agent_id: i64,
    /// Everything credited minus everything debited.
    #[schema(value_type = String)]
    pub balance: Decimal,
    /// Cuts still inside the hold window (`hold_days`): not yet withdrawable.
    #[schema(value_type = String)]
    pub pending: Decimal,
    /// us_ftc only: downline pay of open months whose team retail share is at or below 50%.
    #[schema(value_type = String)]
    pub held: Decimal,
    /// What may be withdrawn now: balance − pending − held − pending withdrawals (may be negative
    /// when a clawback left a debt).
    #[schema(value_type = String)]
    pub available: Decimal,
    /// Requested withdrawals not yet approved or rejected.
    #[schema(value_type = String)]
    pub pending_withdrawals: Decimal,
}

fn cents(mut d: Decimal) -> Decimal {
    d.rescale(2);
    d
}

pub fn wallet_of(conn: &mut PgConnection, brand_id: i64, agent_id: i64, now: DateTime<Utc>) -> Result<Wallet, AppError> {
    #[derive(QueryableByName)]
    struct Sums {
        #[diesel(sql_type = diesel::sql_types::Numeric)]
        balance: Decimal,
        #[diesel(sql_type = diesel::sql_types::Numeric)]
        pending: Decimal,
    }
    // Checkpoint: the last closed month's closing balance; nothing can be dated inside a
    // closed month after it closes, so the balance is that plus the postings since.
    // Pending credits are younger than hold_days (at most 365, a CHECK), which bounds that scan.
    let Sums { balance, pending } = crate::db::prepared(
        "WITH last AS (SELECT month, ends_at FROM periods WHERE brand_id = $1 ORDER BY month DESC LIMIT 1)
         SELECT coalesce((SELECT s.closing_balance FROM statements s, last WHERE s.brand_id = $1 AND s.month = last.month AND s.agent_id = $2), 0)
              + coalesce((SELECT sum(amount) FROM postings WHERE brand_id = $1 AND agent_id = $2 AND account = 'wallet'
                            AND occurred_at >= coalesce((SELECT ends_at FROM last), '-infinity')), 0) AS balance,
                coalesce((SELECT sum(amount) FROM postings WHERE brand_id = $1 AND agent_id = $2 AND account = 'wallet'
                            AND available_at > $3 AND occurred_at > $3 - interval '366 days'), 0) AS pending",
    )
    .bind::<diesel::sql_types::BigInt, _>(brand_id)
    .bind::<diesel::sql_types::BigInt, _>(agent_id)
    .bind::<diesel::sql_types::Timestamptz, _>(now)
    .get_result(conn)?;
    let requested: Option<Decimal> = crate::schema::withdrawals::table
        .filter(crate::schema::withdrawals::brand_id.eq(brand_id))
        .filter(crate::schema::withdrawals::agent_id.eq(agent_id))
        .filter(crate::schema::withdrawals::status.eq("requested"))
        .select(diesel::dsl::sum(crate::schema::withdrawals::amount))
        .first(conn)?;
    let (pending, requested) = (pending.max(Decimal::ZERO), requested.unwrap_or_default());
    let held = crate::ledger::ftc::held_for(conn, brand_id, agent_id, now)?;
    Ok(Wallet {
        agent_id,
        balance: cents(balance),
        pending: cents(pending),
        held: cents(held),
        available: cents(balance - pending - held - requested),
        pending_withdrawals: cents(requested),
    })
}

/// HQ, or the agent itself (an upline does not see a downline's money).
fn own_or_hq(who: &Principal, agent_id: i64) -> Result<(), AppError> {
    match who.agent_id() {
        Some(me) if me != agent_id => Err(AppError::not_found(format!("agent {agent_id}"))),
        _ => Ok(()),
    }
}

pub fn wallet(conn: &mut PgConnection, who: &Principal, agent_id: i64) -> Result<Wallet, AppError> {
    own_or_hq(who, agent_id)?;
    crate::tree::visible(conn, who, agent_id)?;
    wallet_of(conn, who.brand_id, agent_id, Utc::now())
}

#[derive(Debug, Clone, Serialize, Queryable, utoipa::ToSchema)]
pub struct PostingView {
    pub id: i64,
    pub entry_id: i64,
    /// proceeds, differential, peer_bonus, referral_bonus, team_rebate, withdrawal, buyback
    pub kind: Option<String>,
    #[schema(value_type = String)]
    pub amount: Decimal,
    pub order_id: Option<i64>,
    pub line_no: Option<i32>,
    pub generation: Option<i32>,
    pub occurred_at: DateTime<Utc>,
    pub available_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Earnings {
    pub agent_id: i64,
    pub month: String,
    /// Net amount per kind (refund reversals included).
    #[schema(value_type = std::collections::BTreeMap<String, String>)]
    pub totals: std::collections::BTreeMap<String, Decimal>,
    #[schema(value_type = String)]
    pub total: Decimal,
    pub postings: Vec<PostingView>,
}

/// Wallet postings that take money out (not earnings): withdrawals, their fees and tax.
pub const OUT_KINDS: [&str; 3] = ["withdrawal", "withdrawal_fee", "withholding_tax"];

/// The agent's wallet postings dated in `month` (the brand's time zone), by kind.
pub fn earnings(conn: &mut PgConnection, who: &Principal, agent_id: i64, month: &str) -> Result<Earnings, AppError> {
    own_or_hq(who, agent_id)?;
    crate::tree::visible(conn, who, agent_id)?;
    let tz = crate::brands::settings(conn, who.brand_id)?.timezone;
    let (start, end) = crate::period::month_bounds(month, &tz)?;
    let rows: Vec<PostingView> = postings::table
        .filter(postings::brand_id.eq(who.brand_id))
        .filter(postings::agent_id.eq(agent_id))
        .filter(postings::account.eq("wallet"))
        .filter(postings::occurred_at.ge(start))
        .filter(postings::occurred_at.lt(end))
        .order(postings::id)
        .select((
            postings::id,
            postings::entry_id,
            postings::split_kind,
            postings::amount,
            postings::order_id,
            postings::line_no,
            postings::generation,
            postings::occurred_at,
            postings::available_at,
        ))
        .load(conn)?;
    let mut totals = std::collections::BTreeMap::new();
    for p in rows.iter().filter(|p| !matches!(p.kind.as_deref(), Some(k) if OUT_KINDS.contains(&k))) {
        *totals.entry(p.kind.clone().unwrap_or_default()).or_insert(Decimal::ZERO) += p.amount;
    }
    let totals: std::collections::BTreeMap<String, Decimal> = totals.into_iter().map(|(k, v)| (k, cents(v))).collect();
    let total = cents(totals.values().copied().sum());
    Ok(Earnings { agent_id, month: month.to_owned(), totals, total, postings: rows })
}
