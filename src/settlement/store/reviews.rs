//! The statement reviews' SQL: insert-or-nothing (once per statement), the disputes queue,
//! and the one allowed change of state (disputed → resolved).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::error::AppError;
use crate::schema::statement_reviews as sr;

#[derive(Debug, Clone, Serialize, Queryable, Selectable, utoipa::ToSchema)]
#[diesel(table_name = sr)]
pub struct Review {
    pub id: i64,
    pub month: String,
    pub agent_id: i64,
    /// confirmed, disputed or resolved
    pub state: String,
    /// The agent's reason for a dispute.
    pub reason: Option<String>,
    pub reviewed_at: DateTime<Utc>,
    /// HQ's answer to a dispute.
    pub note: Option<String>,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// The correction posted in the open month, when money was owed.
    pub entry_id: Option<i64>,
    /// The adjustment that posted it.
    pub adjustment_id: Option<i64>,
}

/// Records the review unless the statement already has one; None when it had.
pub fn insert(conn: &mut PgConnection, brand_id: i64, month: &str, agent_id: i64, state: &str, reason: Option<&str>) -> Result<Option<Review>, AppError> {
    Ok(diesel::insert_into(sr::table)
        .values((sr::brand_id.eq(brand_id), sr::month.eq(month), sr::agent_id.eq(agent_id), sr::state.eq(state), sr::reason.eq(reason)))
        .on_conflict_do_nothing()
        .returning(Review::as_returning())
        .get_result(conn)
        .optional()?)
}

pub fn of(conn: &mut PgConnection, brand_id: i64, month: &str, agent_id: i64) -> Result<Option<Review>, AppError> {
    Ok(sr::table.find((brand_id, month, agent_id)).select(Review::as_select()).first(conn).optional()?)
}

pub fn of_agent(conn: &mut PgConnection, brand_id: i64, agent_id: i64) -> Result<Vec<Review>, AppError> {
    Ok(sr::table.filter(sr::brand_id.eq(brand_id)).filter(sr::agent_id.eq(agent_id)).select(Review::as_select()).load(conn)?)
}

/// Reviews in a state, newest first, before id `before` (0: from the newest).
pub fn list(conn: &mut PgConnection, brand_id: i64, state: Option<&str>, before: i64, limit: i64) -> Result<Vec<Review>, AppError> {
    let mut q = sr::table.filter(sr::brand_id.eq(brand_id)).into_boxed();
    if let Some(s) = state {
        q = q.filter(sr::state.eq(s.to_owned()));
    }
    if before > 0 {
        q = q.filter(sr::id.lt(before));
    }
    Ok(q.order(sr::id.desc()).limit(limit).select(Review::as_select()).load(conn)?)
}

/// disputed → resolved, once; None when the dispute is not (or no longer) open.
pub fn resolve(
    conn: &mut PgConnection,
    brand_id: i64,
    id: i64,
    note: &str,
    by: &str,
    entry_id: Option<i64>,
    adjustment_id: Option<i64>,
) -> Result<Option<Review>, AppError> {
    Ok(diesel::update(sr::table.filter(sr::brand_id.eq(brand_id)).filter(sr::id.eq(id)).filter(sr::state.eq("disputed")))
        .set((
            sr::state.eq("resolved"),
            sr::note.eq(note),
            sr::resolved_by.eq(by),
            sr::resolved_at.eq(Utc::now()),
            sr::entry_id.eq(entry_id),
            sr::adjustment_id.eq(adjustment_id),
        ))
        .returning(Review::as_returning())
        .get_result(conn)
        .optional()?)
}

pub fn find(conn: &mut PgConnection, brand_id: i64, id: i64) -> Result<Option<Review>, AppError> {
    Ok(sr::table.filter(sr::brand_id.eq(brand_id)).filter(sr::id.eq(id)).select(Review::as_select()).first(conn).optional()?)
}
