//! Manual credits (+) and debits (−) of a wallet — a correction, the answer to a dispute,
//! a bonus or a penalty — made by one staff member and posted only when a *different* one
//! approves it (maker ≠ checker, also a CHECK in the database). Approval is once under any
//! number of concurrent clicks: the row is locked and its state checked.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{post, Account, Entry, Posting};
use crate::auth::Principal;
use crate::error::AppError;
use crate::schema::{adjustments, statement_reviews};

pub const CATEGORIES: [&str; 5] = ["correction", "dispute", "bonus", "penalty", "other"];
pub const STATUSES: [&str; 3] = ["requested", "approved", "rejected"];
/// The largest amount one adjustment may move, either way.
pub const MAX_AMOUNT: i64 = 1_000_000;

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAdjustment {
    pub agent_id: i64,
    /// Positive credits the wallet, negative debits it.
    #[schema(value_type = String)]
    #[serde(deserialize_with = "crate::amount::money")]
    pub amount: Decimal,
    /// correction, dispute, bonus, penalty or other
    pub category: String,
    /// Why; shown to the agent with the posting.
    pub reason: String,
    /// The statement dispute this answers, if any (a review id from GET /disputes).
    pub dispute_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Queryable, Selectable, utoipa::ToSchema)]
#[diesel(table_name = adjustments)]
pub struct Adjustment {
    pub id: i64,
    pub agent_id: i64,
    #[schema(value_type = String)]
    pub amount: Decimal,
    pub category: String,
    pub reason: String,
    pub dispute_id: Option<i64>,
    /// requested, approved or rejected
    pub status: String,
    /// The staff member who made it.
    pub made_by: i64,
    pub made_at: DateTime<Utc>,
    /// The other staff member who approved or rejected it.
    pub checked_by: Option<i64>,
    pub checked_at: Option<DateTime<Utc>>,
    pub rejection: Option<String>,
    /// The journal entry posted on approval.
    pub entry_id: Option<i64>,
}

fn cents(mut a: Adjustment) -> Adjustment {
    a.amount.rescale(2);
    a
}

pub fn create(conn: &mut PgConnection, who: &Principal, new: &NewAdjustment) -> Result<Adjustment, AppError> {
    let user = who.user_id().ok_or_else(|| AppError::forbidden("only HQ staff make adjustments"))?;
    if new.amount.is_zero() || !crate::commission::money::is_cents(new.amount) || new.amount.abs() > Decimal::from(MAX_AMOUNT) {
        return Err(AppError::validation(format!("amount must be a non-zero number of cents between -{MAX_AMOUNT} and {MAX_AMOUNT}")));
    }
    if !CATEGORIES.contains(&new.category.as_str()) {
        return Err(AppError::validation(format!("category must be one of {}", CATEGORIES.join(", "))));
    }
    let reason = super::withdrawals::check_reason(Some(&new.reason))?;
    crate::tree::store::find(conn, who.brand_id, new.agent_id)?
        .ok_or_else(|| AppError::unprocessable("unknown_agent", format!("agent {} does not exist", new.agent_id)))?;
    if let Some(d) = new.dispute_id {
        let agent: Option<i64> = statement_reviews::table
            .filter(statement_reviews::brand_id.eq(who.brand_id))
            .filter(statement_reviews::id.eq(d))
            .filter(statement_reviews::state.ne("confirmed"))
            .select(statement_reviews::agent_id)
            .first(conn)
            .optional()?;
        match agent {
            None => return Err(AppError::unprocessable("unknown_dispute", format!("dispute {d} does not exist"))),
            Some(a) if a != new.agent_id => return Err(AppError::unprocessable("dispute_mismatch", format!("dispute {d} is another agent's"))),
            Some(_) => {}
        }
    }
    let mut amount = new.amount;
    amount.rescale(2);
    let row: Adjustment = diesel::insert_into(adjustments::table)
        .values((
            adjustments::brand_id.eq(who.brand_id),
            adjustments::agent_id.eq(new.agent_id),
            adjustments::amount.eq(amount),
            adjustments::category.eq(&new.category),
            adjustments::reason.eq(&reason),
            adjustments::dispute_id.eq(new.dispute_id),
            adjustments::made_by.eq(user),
        ))
        .returning(Adjustment::as_returning())
        .get_result(conn)?;
    crate::audit::change(conn, who, "adjustment.create", format!("adjustment:{}", row.id), None::<&()>, Some(&row))?;
    Ok(cents(row))
}

fn locked(conn: &mut PgConnection, who: &Principal, id: i64) -> Result<Adjustment, AppError> {
    adjustments::table
        .find((who.brand_id, id))
        .select(Adjustment::as_select())
        .for_update()
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found(format!("adjustment {id}")))
}

/// A second staff member approves: the adjustment is posted to the wallet, now (no hold).
pub fn approve(conn: &mut PgConnection, who: &Principal, id: i64) -> Result<Adjustment, AppError> {
    let user = who.user_id().ok_or_else(|| AppError::forbidden("only HQ staff approve adjustments"))?;
    let a = locked(conn, who, id)?;
    if a.status != "requested" {
        return Err(AppError::conflict("already_decided", format!("adjustment {id} is already {}", a.status)));
    }
    if a.made_by == user {
        return Err(AppError::new(
            crate::error::ErrorKind::Forbidden,
            "maker_checker",
            "the staff member who made an adjustment cannot approve it: another one must",
        ));
    }
    let now = Utc::now();
    let line =
        |account, amount| Posting { account, amount, split_kind: Some("adjustment"), order_id: None, line_no: None, generation: None, available_at: now };
    let memo = format!("{}: {}", a.category, a.reason);
    let entry = post(
        conn,
        who.brand_id,
        &Entry { kind: "adjustment", occurred_at: now, memo: Some(&memo), created_by: &who.actor(), ..Default::default() },
        &[line(Account::Wallet(a.agent_id), a.amount), line(Account::Adjustments, -a.amount)],
    )?;
    let row: Adjustment = diesel::update(adjustments::table.find((who.brand_id, id)))
        .set((adjustments::status.eq("approved"), adjustments::checked_by.eq(user), adjustments::checked_at.eq(now), adjustments::entry_id.eq(entry)))
        .returning(Adjustment::as_returning())
        .get_result(conn)?;
    crate::audit::record(
        conn,
        who,
        "adjustment.approve",
        format!("adjustment:{id}"),
        None,
        Some(serde_json::json!({ "agent_id": a.agent_id, "amount": crate::audit::money(a.amount), "entry_id": entry })),
    )?;
    Ok(cents(row))
}

/// Any staff member with finance rights rejects (the maker may withdraw its own); nothing is posted.
pub fn reject(conn: &mut PgConnection, who: &Principal, id: i64, reason: String) -> Result<Adjustment, AppError> {
    let user = who.user_id().ok_or_else(|| AppError::forbidden("only HQ staff reject adjustments"))?;
    let a = locked(conn, who, id)?;
    if a.status != "requested" {
        return Err(AppError::conflict("already_decided", format!("adjustment {id} is already {}", a.status)));
    }
    // the database's maker ≠ checker rule: a maker withdrawing its own is recorded without a checker
    let checker = (a.made_by != user).then_some(user);
    let row: Adjustment = diesel::update(adjustments::table.find((who.brand_id, id)))
        .set((
            adjustments::status.eq("rejected"),
            adjustments::checked_by.eq(checker),
            adjustments::checked_at.eq(Utc::now()),
            adjustments::rejection.eq(&reason),
        ))
        .returning(Adjustment::as_returning())
        .get_result(conn)?;
    crate::audit::record(conn, who, "adjustment.reject", format!("adjustment:{id}"), None, Some(serde_json::json!({ "reason": reason })))?;
    Ok(cents(row))
}

/// An adjustment with the names of its maker and checker, for lists.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AdjustmentView {
    #[serde(flatten)]
    pub adjustment: Adjustment,
    pub agent_name: String,
    pub made_by_login: String,
    pub checked_by_login: Option<String>,
}

/// Newest first, by status and agent; `before` is the last id of the previous page.
pub fn list(
    conn: &mut PgConnection,
    who: &Principal,
    status: Option<&str>,
    agent_id: Option<i64>,
    before: i64,
    limit: i64,
) -> Result<Vec<AdjustmentView>, AppError> {
    who.require_hq()?;
    if let Some(s) = status {
        if !STATUSES.contains(&s) {
            return Err(AppError::bad_request("validation", format!("status must be one of {}", STATUSES.join(", "))));
        }
    }
    let mut q = adjustments::table.filter(adjustments::brand_id.eq(who.brand_id)).into_boxed();
    if let Some(s) = status {
        q = q.filter(adjustments::status.eq(s.to_owned()));
    }
    if let Some(a) = agent_id {
        q = q.filter(adjustments::agent_id.eq(a));
    }
    if before > 0 {
        q = q.filter(adjustments::id.lt(before));
    }
    let rows: Vec<Adjustment> = q.order(adjustments::id.desc()).limit(limit).select(Adjustment::as_select()).load(conn)?;
    let mut agents: Vec<i64> = rows.iter().map(|a| a.agent_id).collect();
    agents.sort_unstable();
    agents.dedup();
    let names: std::collections::HashMap<i64, String> = crate::tree::store::by_ids(conn, who.brand_id, &agents)?.into_iter().map(|a| (a.id, a.name)).collect();
    let logins = crate::auth::staff::logins(conn, who.brand_id)?;
    Ok(rows
        .into_iter()
        .map(|a| AdjustmentView {
            agent_name: names.get(&a.agent_id).cloned().unwrap_or_default(),
            made_by_login: logins.get(&a.made_by).cloned().unwrap_or_default(),
            checked_by_login: a.checked_by.and_then(|c| logins.get(&c).cloned()),
            adjustment: cents(a),
        })
        .collect())
}

/// One adjustment (for resolving a dispute with it).
pub fn find(conn: &mut PgConnection, brand_id: i64, id: i64) -> Result<Option<Adjustment>, AppError> {
    Ok(adjustments::table.find((brand_id, id)).select(Adjustment::as_select()).first(conn).optional()?)
}
