//! The audit log: every HQ write — who, with which role, when, what, the request's id, and
//! before/after for settings, prices, plans, tree changes and staff. Insert-only like the
//! journal (the database refuses UPDATE, DELETE and TRUNCATE), and each row carries a sha256
//! over its fields and the hash of the previous row of its chain, so `verify` finds any row
//! changed or removed behind the triggers' back. Each staff member has 16 chains, picked by
//! the request id: two people never wait for each other, and one person's concurrent writes
//! (a script placing orders) rarely share a chain head. Rows are written in the same transaction as the change they
//! describe: a write that rolls back leaves no row, a row never describes a write that did not happen.

pub mod http;
pub mod store;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::auth::Principal;
use crate::error::AppError;

pub use store::{list, ListFilter};

/// One row of the log.
#[derive(Debug, Clone, Serialize, diesel::Queryable, diesel::Selectable, utoipa::ToSchema)]
#[diesel(table_name = crate::schema::audit_log)]
pub struct AuditRow {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_id: i64,
    /// Which of the staff member's chains the row is in.
    pub chain: i16,
    /// The staff member's login.
    pub actor: String,
    pub role: String,
    /// e.g. `withdrawal.pay`, `settings.update`, `agent.move`.
    pub action: String,
    /// What was acted on, e.g. `withdrawal:12`, `agent:42`, `plan`.
    pub target: String,
    /// The request's `X-Request-Id` (`cli` from the command line).
    pub request_id: String,
    /// Any JSON value (a number, a string, an object…), null when there was nothing.
    #[schema(value_type = Value)]
    pub before: Option<serde_json::Value>,
    #[schema(value_type = Value)]
    pub after: Option<serde_json::Value>,
    /// The previous row's hash in this chain (`genesis` for the first).
    pub prev_hash: String,
    /// sha256 over prev_hash and every field.
    pub hash: String,
}

/// Chains per staff member.
pub const CHAINS: u64 = 16;

/// Records one HQ write in the caller's transaction. Agents' own writes (orders, withdrawal
/// requests) are in the journal and their tables; the log is of what HQ's staff did.
pub fn record(
    conn: &mut diesel::PgConnection,
    who: &Principal,
    action: &str,
    target: impl std::fmt::Display,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> Result<(), AppError> {
    let (Some(user_id), Some(role)) = (who.user_id(), who.staff_role()) else { return Ok(()) };
    let request = if who.request == 0 { "cli".to_owned() } else { format!("{:016x}", who.request) };
    // one of the person's 16 chains, by request: concurrent requests rarely share a chain head
    let chain = (who.request % CHAINS) as i16;
    store::append(conn, who.brand_id, user_id, chain, role.as_str(), action, &target.to_string(), &request, before, after)
}

/// `record` with a serialisable before and after.
pub fn change<B: Serialize, A: Serialize>(
    conn: &mut diesel::PgConnection,
    who: &Principal,
    action: &str,
    target: impl std::fmt::Display,
    before: Option<&B>,
    after: Option<&A>,
) -> Result<(), AppError> {
    let json = |v: Option<serde_json::Value>| v.filter(|v| !v.is_null());
    let before = json(before.map(serde_json::to_value).transpose().map_err(|e| AppError::internal(format!("audit: {e}")))?);
    let after = json(after.map(serde_json::to_value).transpose().map_err(|e| AppError::internal(format!("audit: {e}")))?);
    record(conn, who, action, target, before, after)
}

/// A money amount as the log keeps it.
pub fn money(d: Decimal) -> serde_json::Value {
    let mut d = d;
    d.rescale(2);
    serde_json::Value::String(d.to_string())
}

/// The rows as CSV (UTF-8 with a BOM, for spreadsheets).
pub fn csv(rows: &[AuditRow]) -> Result<Vec<u8>, AppError> {
    let err = |e: csv::Error| AppError::internal(format!("csv: {e}"));
    let mut out = "\u{feff}".as_bytes().to_vec();
    {
        let mut w = csv::Writer::from_writer(&mut out);
        w.write_record(["id", "at", "actor", "chain", "role", "action", "target", "request_id", "before", "after", "prev_hash", "hash"]).map_err(err)?;
        for r in rows {
            let json = |v: &Option<serde_json::Value>| v.as_ref().map(|v| v.to_string()).unwrap_or_default();
            w.write_record([
                r.id.to_string(),
                r.at.to_rfc3339(),
                r.actor.clone(),
                r.chain.to_string(),
                r.role.clone(),
                r.action.clone(),
                r.target.clone(),
                r.request_id.clone(),
                json(&r.before),
                json(&r.after),
                r.prev_hash.clone(),
                r.hash.clone(),
            ])
            .map_err(err)?;
        }
        w.flush().map_err(|e| AppError::internal(format!("csv: {e}")))?;
    }
    Ok(out)
}
