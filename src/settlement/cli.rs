//! `agent-ledger settle`: close a month and write its export from the command line.

use std::path::Path;

use diesel::prelude::*;
use indicatif::{ProgressBar, ProgressStyle};

use super::export::{export, ExportFormat};
use super::Progress;
use crate::auth::Principal;
use crate::error::AppError;
use crate::schema::{brands, hq_users};

struct Bar(ProgressBar);

impl Progress for Bar {
    fn step(&self, what: &str) {
        self.0.inc(1);
        self.0.set_message(what.to_owned());
    }
}

/// The command line acts as brand `code`'s first owner.
pub fn owner_of(conn: &mut PgConnection, code: &str) -> Result<Principal, AppError> {
    let brand_id: i64 =
        brands::table.filter(brands::code.eq(code)).select(brands::id).first(conn).optional()?.ok_or_else(|| AppError::not_found(format!("brand {code}")))?;
    let user_id: i64 = hq_users::table
        .filter(hq_users::brand_id.eq(brand_id))
        .filter(hq_users::role.eq("owner"))
        .order(hq_users::id)
        .select(hq_users::id)
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found(format!("an owner of brand {code}")))?;
    Ok(Principal::hq(brand_id, user_id, crate::auth::StaffRole::Owner))
}

/// Closes `month` of brand `code` unless it is closed, then writes the export if asked.
pub fn settle(conn: &mut PgConnection, code: &str, month: &str, export_to: Option<&Path>) -> Result<String, AppError> {
    let hq = owner_of(conn, code)?;
    let brand_id = hq.brand_id;
    let closed = super::store::require_closed(conn, brand_id, month).is_ok();
    let mut report = String::new();
    if closed {
        if export_to.is_none() {
            return Err(AppError::conflict("period_closed", format!("{month} is already closed")));
        }
        report.push_str(&format!("{month} was already closed\n"));
    } else {
        let bar = ProgressBar::new(5)
            .with_style(ProgressStyle::with_template("{spinner} [{elapsed}] {bar:20} {msg}").unwrap_or_else(|_| ProgressStyle::default_bar()));
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        let result = conn.transaction(|conn| super::close(conn, &hq, month, &Bar(bar.clone())))?;
        bar.set_message("vacuum, growth figures");
        super::after_commit(conn, brand_id, month)?;
        bar.finish_and_clear();
        report.push_str(&format!("closed {month}: {} statements, team rebates {}\n", result.statements, result.team_rebate_total));
    }
    if let Some(path) = export_to {
        let format = ExportFormat::parse(path.extension().and_then(|e| e.to_str()).unwrap_or(""))?;
        let bytes = conn.transaction(|conn| export(conn, &hq, month, format))?;
        std::fs::write(path, &bytes).map_err(|e| AppError::internal(format!("cannot write {}: {e}", path.display())))?;
        report.push_str(&format!("wrote {} ({} bytes)\n", path.display(), bytes.len()));
    }
    Ok(report)
}
