//! 对账单确认与申诉: an agent confirms or disputes a closed month's statement, once; HQ answers
//! a dispute with a note. The statement never changes; a correction, where money is owed, is
//! posted in the open month and named by its journal entry.

use diesel::prelude::*;

pub use super::store::reviews::Review;
use super::store::{self, reviews};
use crate::auth::Principal;
use crate::error::AppError;

pub const STATES: [&str; 3] = ["confirmed", "disputed", "resolved"];

fn text(field: &str, value: Option<&str>) -> Result<String, AppError> {
    let v = value.map(str::trim).unwrap_or_default();
    if v.is_empty() {
        return Err(AppError::bad_request("reason_required", format!("{field} is required")));
    }
    if v.chars().count() > 1000 || v.contains('\0') {
        return Err(AppError::validation(format!("{field} must be at most 1000 characters of text")));
    }
    Ok(v.to_owned())
}

/// The agent itself confirms (`reason` None) or disputes its statement of a closed month.
pub fn review(conn: &mut PgConnection, who: &Principal, agent_id: i64, month: &str, dispute: Option<&str>) -> Result<Review, AppError> {
    if who.agent_id() != Some(agent_id) {
        return Err(if who.is_hq() {
            AppError::forbidden("only the agent itself confirms or disputes its statement")
        } else {
            AppError::not_found(format!("agent {agent_id}"))
        });
    }
    let reason = match dispute {
        Some(r) => Some(text("reason", Some(r))?),
        None => None,
    };
    crate::period::parse_month(month)?;
    store::require_closed(conn, who.brand_id, month)?;
    store::statement(conn, who.brand_id, month, agent_id)?.ok_or_else(|| AppError::not_found(format!("statement of agent {agent_id} for {month}")))?;
    let state = if reason.is_some() { "disputed" } else { "confirmed" };
    match reviews::insert(conn, who.brand_id, month, agent_id, state, reason.as_deref())? {
        Some(r) => Ok(r),
        None => {
            let earlier = reviews::of(conn, who.brand_id, month, agent_id)?.map(|r| r.state).unwrap_or_default();
            Err(AppError::conflict("already_reviewed", format!("the statement of {month} is already {earlier}; a statement is confirmed or disputed once")))
        }
    }
}

/// The review of one statement, if any (HQ or the agent itself).
pub fn of(conn: &mut PgConnection, who: &Principal, agent_id: i64, month: &str) -> Result<Option<Review>, AppError> {
    crate::tree::visible(conn, who, agent_id)?;
    reviews::of(conn, who.brand_id, month, agent_id)
}

/// Every review of an agent (its statements list).
pub fn of_agent(conn: &mut PgConnection, who: &Principal, agent_id: i64) -> Result<Vec<Review>, AppError> {
    crate::tree::visible(conn, who, agent_id)?;
    reviews::of_agent(conn, who.brand_id, agent_id)
}

/// HQ: reviews by state (disputes: `disputed`), newest first.
pub fn list(conn: &mut PgConnection, who: &Principal, state: Option<&str>, before: i64, limit: i64) -> Result<Vec<Review>, AppError> {
    who.require_hq()?;
    if let Some(s) = state {
        if !STATES.contains(&s) {
            return Err(AppError::bad_request("validation", format!("status must be one of {}", STATES.join(", "))));
        }
    }
    reviews::list(conn, who.brand_id, state, before, limit)
}

/// HQ answers a dispute, once, with a note and optionally the correcting journal entry.
/// HQ answers an open dispute with a note and, where money was owed, the approved adjustment
/// that corrected it (for the same agent).
pub fn resolve(conn: &mut PgConnection, who: &Principal, id: i64, note: Option<&str>, adjustment_id: Option<i64>) -> Result<Review, AppError> {
    who.require_hq()?;
    let note = text("note", note)?;
    let current = reviews::find(conn, who.brand_id, id)?.ok_or_else(|| AppError::not_found(format!("dispute {id}")))?;
    if current.state != "disputed" {
        return Err(AppError::conflict("not_disputed", format!("statement review {id} is {}; only an open dispute is resolved", current.state)));
    }
    let entry_id = match adjustment_id {
        None => None,
        Some(a) => {
            let adj = crate::ledger::adjustments::find(conn, who.brand_id, a)?
                .ok_or_else(|| AppError::unprocessable("unknown_adjustment", format!("adjustment {a} does not exist")))?;
            if adj.agent_id != current.agent_id {
                return Err(AppError::unprocessable(
                    "adjustment_mismatch",
                    format!("adjustment {a} is for agent {}, the dispute is agent {}'s", adj.agent_id, current.agent_id),
                ));
            }
            if adj.status != "approved" {
                return Err(AppError::conflict(
                    "adjustment_not_approved",
                    format!("adjustment {a} is {}: a second staff member must approve it before it settles a dispute", adj.status),
                ));
            }
            adj.entry_id
        }
    };
    let review = reviews::resolve(conn, who.brand_id, id, &note, &who.actor(), entry_id, adjustment_id)?
        .ok_or_else(|| AppError::conflict("not_disputed", format!("dispute {id} was resolved meanwhile")))?;
    crate::audit::record(
        conn,
        who,
        "dispute.resolve",
        format!("dispute:{id}"),
        None,
        Some(serde_json::json!({ "note": note, "adjustment_id": adjustment_id })),
    )?;
    Ok(review)
}

/// The closed months, oldest first: the statements an agent (or HQ) can open.
pub fn closed_months(conn: &mut PgConnection, who: &Principal) -> Result<Vec<String>, AppError> {
    Ok(store::closed(conn, who.brand_id)?.into_iter().map(|p| p.month).collect())
}
