//! What closing a month will post, shown before anyone confirms: the close itself, run in a
//! savepoint that is always rolled back. Exact by construction — the same code, the same
//! locks — and as slow as a close (a minute at a million agents), which is why the console
//! asks for it on its own confirmation page and not on the month list.

use diesel::prelude::*;

use super::{close, store, CloseResult, Statement};
use crate::auth::Principal;
use crate::error::AppError;

/// The result the close would return now, with nothing written.
pub fn preview(conn: &mut PgConnection, who: &Principal, month: &str) -> Result<CloseResult, AppError> {
    who.require_hq()?;
    crate::db::dry_run(conn, |conn| close(conn, who, month, &()))
}

/// The statements of the given agents for a closed month (the console's statement search).
pub fn statements_of(conn: &mut PgConnection, who: &Principal, month: &str, agent_ids: &[i64]) -> Result<Vec<Statement>, AppError> {
    who.require_hq()?;
    crate::period::parse_month(month)?;
    store::require_closed(conn, who.brand_id, month)?;
    let mut out = Vec::with_capacity(agent_ids.len());
    for &id in agent_ids {
        if let Some(s) = store::statement(conn, who.brand_id, month, id)? {
            out.push(s);
        }
    }
    Ok(out)
}
