//! The audit log's SQL: the append (through `audit_append`, which chains the row under the
//! brand's audit lock), the filtered list, and the chain check `verify` runs.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Jsonb, Nullable, Text};

use super::AuditRow;
use crate::error::AppError;
use crate::schema::audit_log;

#[allow(clippy::too_many_arguments)]
pub fn append(
    conn: &mut PgConnection,
    brand_id: i64,
    user_id: i64,
    chain: i16,
    role: &str,
    action: &str,
    target: &str,
    request: &str,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> Result<(), AppError> {
    crate::db::prepared("SELECT audit_append($1, $2, $9, (SELECT login FROM hq_users WHERE brand_id = $1 AND id = $2), $3, $4, $5, $6, $7, $8)")
        .bind::<BigInt, _>(brand_id)
        .bind::<BigInt, _>(user_id)
        .bind::<Text, _>(role)
        .bind::<Text, _>(action)
        .bind::<Text, _>(target)
        .bind::<Text, _>(request)
        .bind::<Nullable<Jsonb>, _>(before)
        .bind::<Nullable<Jsonb>, _>(after)
        .bind::<diesel::sql_types::SmallInt, _>(chain)
        .execute(conn)?;
    Ok(())
}

/// Filters of the log.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// A staff member's login.
    pub actor: Option<String>,
    /// An action, or its prefix ending in `.` (e.g. `withdrawal.`).
    pub action: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// Newest first; `before` is the last id of the previous page (0 for the first).
pub fn list(conn: &mut PgConnection, brand_id: i64, f: &ListFilter, before: i64, limit: i64) -> Result<Vec<AuditRow>, AppError> {
    let mut q = audit_log::table.filter(audit_log::brand_id.eq(brand_id)).into_boxed();
    if let Some(a) = &f.actor {
        q = q.filter(audit_log::actor.eq(a.clone()));
    }
    if let Some(a) = &f.action {
        q = if a.ends_with('.') {
            q.filter(audit_log::action.like(format!("{}%", a.replace('%', "").replace('_', "\\_"))))
        } else {
            q.filter(audit_log::action.eq(a.clone()))
        };
    }
    if let Some(t) = f.from {
        q = q.filter(audit_log::at.ge(t));
    }
    if let Some(t) = f.to {
        q = q.filter(audit_log::at.lt(t));
    }
    if before > 0 {
        q = q.filter(audit_log::id.lt(before));
    }
    Ok(q.order(audit_log::id.desc()).limit(limit).select(AuditRow::as_select()).load(conn)?)
}
