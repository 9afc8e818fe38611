//! Monthly settlement (月结): close a month, post team rebates, write one statement per agent,
//! and export the payout file. Rules: domain §6, §7, §9.
//!
//! A month can be closed once it has ended in the brand's time zone, and only after every
//! earlier month with activity is closed. Closed is forever: nothing may be dated inside a
//! closed month afterwards (backdated orders are refused), and a refund of an order from a
//! closed month posts in the current open month as a clawback.

pub mod cli;
pub mod export;
pub mod http;
pub mod preview;
pub mod reviews;
pub mod store;

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::auth::Principal;
use crate::commission::{self, RebateNode};
use crate::error::AppError;
use crate::period;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PeriodView {
    pub month: String,
    /// open or closed
    pub status: String,
    pub closed_at: Option<DateTime<Utc>>,
    /// Whether the month has ended in the brand's time zone (it may then be closed).
    pub ended: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CloseResult {
    pub month: String,
    pub status: String,
    pub closed_at: DateTime<Utc>,
    pub statements: i64,
    #[schema(value_type = String)]
    pub team_rebate_total: Decimal,
    pub team_rebate_entry_id: Option<i64>,
    /// What the upgrade rules did at this close.
    pub upgrades: crate::recruiting::upgrades::CloseUpgrades,
}

/// Lets the command line show progress; the HTTP API passes a no-op.
pub trait Progress {
    fn step(&self, what: &str);
}

impl Progress for () {
    fn step(&self, _: &str) {}
}

/// Serialises closing against backdated writes of the same brand (orders take it shared).
pub fn lock_periods(conn: &mut PgConnection, brand_id: i64, exclusive: bool) -> Result<(), AppError> {
    let sql = if exclusive { "SELECT pg_advisory_xact_lock(7003, $1::int)" } else { "SELECT pg_advisory_xact_lock_shared(7003, $1::int)" };
    diesel::sql_query(sql).bind::<diesel::sql_types::BigInt, _>(brand_id).execute(conn)?;
    Ok(())
}

/// Refuses a write dated at `at` if that falls in (or before) a closed month. Writes dated
/// in the current month skip the lock: the current month cannot be closed.
pub fn ensure_open(conn: &mut PgConnection, brand_id: i64, at: DateTime<Utc>, now: DateTime<Utc>, tz: &str) -> Result<(), AppError> {
    if period::month_of(at, tz)? == period::month_of(now, tz)? {
        return Ok(());
    }
    refuse_closed(at, last_closed_locked(conn, brand_id)?.as_ref())
}

/// The last closed month, under the periods lock (shared): none can close until commit.
pub fn last_closed_locked(conn: &mut PgConnection, brand_id: i64) -> Result<Option<store::ClosedPeriod>, AppError> {
    lock_periods(conn, brand_id, false)?;
    store::last_closed(conn, brand_id)
}

/// 409 `period_closed` when `at` lies in or before the last closed month.
pub fn refuse_closed(at: DateTime<Utc>, last: Option<&store::ClosedPeriod>) -> Result<(), AppError> {
    match last {
        Some(last) if at < last.ends_at => {
            Err(AppError::conflict("period_closed", format!("{} is in or before {}, which is closed; nothing dated there may change", at, last.month)))
        }
        _ => Ok(()),
    }
}

pub fn list(conn: &mut PgConnection, who: &Principal) -> Result<Vec<PeriodView>, AppError> {
    who.require_hq()?;
    let tz = crate::brands::settings(conn, who.brand_id)?.timezone;
    let now = Utc::now();
    let first = store::first_activity(conn, who.brand_id)?.unwrap_or(now);
    let closed = store::closed(conn, who.brand_id)?;
    let mut month = period::month_of(first.min(closed.first().map_or(now, |p| p.starts_at)), &tz)?;
    let current = period::month_of(now, &tz)?;
    let mut out = Vec::new();
    loop {
        let (_, end) = period::month_bounds(&month, &tz)?;
        let closed_at = closed.iter().find(|p| p.month == month).map(|p| p.closed_at);
        out.push(PeriodView { month: month.clone(), status: if closed_at.is_some() { "closed" } else { "open" }.into(), closed_at, ended: end <= now });
        if month >= current {
            break;
        }
        month = period::month_of(end, &tz)?;
    }
    out.reverse();
    Ok(out)
}

/// Closes `month`: team rebates on the tree as it stands now, one statement per agent,
/// the month marked closed — one transaction.
pub fn close(conn: &mut PgConnection, who: &Principal, month: &str, progress: &dyn Progress) -> Result<CloseResult, AppError> {
    who.require_hq()?;
    let brand_id = who.brand_id;
    let tz = crate::brands::settings(conn, brand_id)?.timezone;
    let (start, end) = period::month_bounds(month, &tz)?;
    let now = Utc::now();
    if now < end {
        return Err(AppError::conflict("period_not_ended", format!("{month} ends at {end} ({tz}); it can be closed after that")));
    }
    lock_periods(conn, brand_id, true)?;
    // the tree stands still while the rebates are computed and the tree is kept
    crate::tree::store::lock_tree(conn, brand_id, false)?;
    let last = store::last_closed(conn, brand_id)?;
    if let Some(last) = &last {
        if last.month.as_str() >= month {
            return Err(AppError::conflict("period_closed", format!("{month} is already closed (the last closed month is {})", last.month)));
        }
    }
    let since = last.as_ref().map(|p| p.ends_at);
    if let Some(at) = store::earliest_activity_between(conn, brand_id, since, start)? {
        let open = period::month_of(at, &tz)?;
        return Err(AppError::conflict("earlier_period_open", format!("{open} has activity and is still open; close it first")));
    }
    // us_ftc: downline pay of teams whose retail share stayed at or below 50% is not kept
    let ftc = crate::brands::settings(conn, brand_id)?.jurisdiction == crate::commission::Jurisdiction::UsFtc;
    let shares = if ftc { Some(crate::ledger::ftc::team_shares(conn, brand_id, start, end)?) } else { None };
    if let Some(shares) = &shares {
        progress.step("us_ftc hold");
        crate::ledger::ftc::reverse_unreleased(conn, brand_id, month, start, end, shares, &who.actor())?;
    }
    progress.step("team volumes");
    let plan = crate::plans::in_force_at(conn, brand_id, end - Duration::microseconds(1))?;
    // the tree at close with each agent's own purchases of the month: the rebates are
    // computed on it, and every statement keeps its place in it
    let nodes: Vec<RebateNode> = store::rebate_tree(conn, brand_id, month)?;
    progress.step("team rebates");
    let rebating = plan.team_rebate.enabled && !plan.team_rebate.brackets.is_empty();
    let rule = if rebating { plan.team_rebate.clone() } else { commission::plan::TeamRebate { enabled: false, brackets: Vec::new() } };
    // team volumes are kept whether or not they pay (upgrade rules count them)
    let rebates = commission::team_rebates(&nodes, &rule).map_err(|e| AppError::internal(e.to_string()))?;
    let released = |id: i64| shares.as_ref().is_none_or(|s| crate::ledger::ftc::releases(s.get(&id).copied().flatten()));
    let paid: Vec<(i64, Decimal)> =
        rebates.iter().filter(|r| r.paid && r.rebate > Decimal::ZERO && released(r.agent_id)).map(|r| (r.agent_id, r.rebate)).collect();
    let rebate_total: Decimal = paid.iter().map(|p| p.1).sum();
    let mut rebate_entry = None;
    if !paid.is_empty() {
        progress.step("posting rebates");
        // dated at the month's last microsecond, so the rebate belongs to the month
        rebate_entry = Some(store::post_rebates(conn, brand_id, month, end - Duration::microseconds(1), now, &who.actor(), &paid)?);
    }
    store::insert_period(conn, brand_id, month, start, end, &who.actor(), rebate_entry)?;
    progress.step("statements");
    let volumes: std::collections::HashMap<i64, Decimal> = rebates.iter().map(|r| (r.agent_id, r.team_volume)).collect();
    let tree: Vec<store::close::AtClose> = crate::tree::places(&nodes.iter().map(|n| (n.agent_id, n.parent_id)).collect::<Vec<_>>())
        .into_iter()
        .map(|p| store::close::AtClose { agent_id: p.agent_id, team_volume: volumes.get(&p.agent_id).copied().unwrap_or_default(), pos: p.pos, end: p.end })
        .collect();
    let previous = last.filter(|p| p.ends_at == start).map(|p| p.month);
    let statements = store::write_statements(conn, brand_id, month, start, end, previous.as_deref(), &tree)?;
    // Frozen from now on: the statements keep the tree as it stands (the one the rebates
    // used), and the compliance report is kept as served later, whatever the tree, the
    // stock and the refunds do.
    progress.step("compliance report");
    let report = crate::reports::compliance::compute(conn, who, month)?;
    store::keep_report(conn, brand_id, month, "compliance", &serde_json::to_value(&report).map_err(|e| AppError::internal(e.to_string()))?)?;
    progress.step("upgrade rules");
    let upgrades = crate::recruiting::upgrades::at_close(conn, who, month)?;
    let result = CloseResult {
        month: month.to_owned(),
        status: "closed".into(),
        closed_at: now,
        statements,
        team_rebate_total: cents(rebate_total),
        team_rebate_entry_id: rebate_entry,
        upgrades,
    };
    crate::audit::change(conn, who, "period.close", format!("period:{month}"), None::<&()>, Some(&result))?;
    Ok(result)
}

/// What follows a committed close, outside its transaction: the statements table vacuumed
/// (the million rows just written get their hint bits, the visibility map and the planner's
/// statistics, so the first reader of the month — the export, the statements page — does not
/// pay for that), then the month's brand growth figures kept (seconds at a million agents, so
/// not inside the close; see `growth::keep`).
pub fn after_commit(conn: &mut PgConnection, brand_id: i64, month: &str) -> Result<(), AppError> {
    store::vacuum_statements(conn)?;
    conn.transaction(|conn| crate::growth::keep(conn, brand_id, month))
}

/// `after_commit` in the background, for the HTTP and page closes.
pub fn after_close(pool: &crate::db::Pool, brand_id: i64, month: String) {
    let pool = pool.clone();
    actix_web::rt::spawn(async move {
        if let Err(e) = crate::db::read(&pool, move |conn| after_commit(conn, brand_id, &month)).await {
            log::warn!("after a close (vacuum, growth figures): {}", e.detail);
        }
    });
}

fn cents(mut d: Decimal) -> Decimal {
    d.rescale(2);
    d
}

pub use store::Statement;

pub fn statements(conn: &mut PgConnection, who: &Principal, month: &str, after: i64, limit: i64) -> Result<Vec<Statement>, AppError> {
    who.require_hq()?;
    period::parse_month(month)?;
    store::require_closed(conn, who.brand_id, month)?;
    store::statements(conn, who.brand_id, month, after, limit)
}

pub fn agent_statement(conn: &mut PgConnection, who: &Principal, agent_id: i64, month: &str) -> Result<Statement, AppError> {
    if who.agent_id().is_some_and(|me| me != agent_id) {
        return Err(AppError::not_found(format!("agent {agent_id}")));
    }
    period::parse_month(month)?;
    crate::tree::visible(conn, who, agent_id)?;
    store::require_closed(conn, who.brand_id, month)?;
    store::statement(conn, who.brand_id, month, agent_id)?.ok_or_else(|| AppError::not_found(format!("statement of agent {agent_id} for {month}")))
}
