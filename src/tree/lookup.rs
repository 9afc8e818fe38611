//! Agents looked up in bulk for a page or an import: names by id (only those the caller may
//! see) and ids by login phone (HQ).

use diesel::prelude::*;

use super::store;
use crate::auth::Principal;
use crate::error::AppError;

/// Agent ids by login phone (HQ): what an import names agents by.
pub fn ids_by_phone(conn: &mut PgConnection, who: &Principal, phones: &[&str]) -> Result<std::collections::HashMap<String, i64>, AppError> {
    who.require_hq()?;
    Ok(store::ids_by_phone(conn, who.brand_id, phones)?.into_iter().collect())
}

/// Names of the given agents the caller may see (others are left out), for lists that show
/// who bought, sold or earned.
pub fn names(conn: &mut PgConnection, who: &Principal, ids: &[i64]) -> Result<std::collections::HashMap<i64, String>, AppError> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    Ok(store::by_ids(conn, who.brand_id, &ids)?
        .into_iter()
        .filter(|row| who.agent_id().is_none_or(|me| row.path.contains(&me)))
        .map(|row| (row.id, row.name))
        .collect())
}
