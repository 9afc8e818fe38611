//! `agent-ledger what-if`: the what-if replay from the command line.

use std::path::Path;

use diesel::prelude::*;

use super::whatif::{what_if, WhatIf, WhatIfRequest};
use crate::auth::Principal;
use crate::error::AppError;
use crate::schema::{brands, hq_users};

/// `2026-08..2026-10` (inclusive), or months separated by commas.
pub fn parse_months(spec: &str) -> Result<Vec<String>, AppError> {
    if let Some((from, to)) = spec.split_once("..") {
        let (mut at, end) = (crate::period::parse_month(from.trim())?, crate::period::parse_month(to.trim())?);
        let mut out = Vec::new();
        while at <= end && out.len() <= super::whatif::MAX_MONTHS {
            out.push(at.format("%Y-%m").to_string());
            at = at.checked_add_months(chrono::Months::new(1)).ok_or_else(|| AppError::validation("month out of range"))?;
        }
        return Ok(out);
    }
    Ok(spec.split(',').map(|m| m.trim().to_owned()).filter(|m| !m.is_empty()).collect())
}

/// Replays `months` of brand `code` under the plan in `plan_file`; JSON or a text table.
pub fn run(conn: &mut PgConnection, code: &str, plan_file: &Path, months: &str, json: bool) -> Result<String, AppError> {
    let brand_id: i64 =
        brands::table.filter(brands::code.eq(code)).select(brands::id).first(conn).optional()?.ok_or_else(|| AppError::not_found(format!("brand {code}")))?;
    let user_id: i64 = hq_users::table.filter(hq_users::brand_id.eq(brand_id)).order(hq_users::id).select(hq_users::id).first(conn)?;
    let hq = Principal::hq(brand_id, user_id, crate::auth::StaffRole::Owner);
    let text = std::fs::read_to_string(plan_file).map_err(|e| AppError::validation(format!("cannot read {}: {e}", plan_file.display())))?;
    let plan = serde_json::from_str(&text).map_err(|e| AppError::validation(format!("{}: {e}", plan_file.display())))?;
    let req = WhatIfRequest { plan, months: parse_months(months)? };
    let started = std::time::Instant::now();
    let result = conn.build_transaction().read_only().repeatable_read().run(|conn| what_if(conn, &hq, &req))?;
    if json {
        return serde_json::to_string_pretty(&result).map_err(|e| AppError::internal(e.to_string()));
    }
    Ok(render(&result, started.elapsed()))
}

fn render(r: &WhatIf, took: std::time::Duration) -> String {
    let mut out = String::new();
    for f in &r.findings.errors {
        out.push_str(&format!("ERROR   {}: {}\n", f.code, f.detail));
    }
    for f in &r.findings.warnings {
        out.push_str(&format!("warning {}: {}\n", f.code, f.detail));
    }
    for m in &r.months {
        out.push_str(&format!("\n{}  {} purchase lines, purchases {}\n", m.month, m.lines, m.purchases));
        out.push_str(&format!("{:<16}{:>14}{:>14}{:>14}\n", "", "current", "proposed", "delta"));
        let rows = [
            ("differential", m.current.differential, m.proposed.differential, m.delta.differential),
            ("peer_bonus", m.current.peer_bonus, m.proposed.peer_bonus, m.delta.peer_bonus),
            ("referral_bonus", m.current.referral_bonus, m.proposed.referral_bonus, m.delta.referral_bonus),
            ("team_rebate", m.current.team_rebate, m.proposed.team_rebate, m.delta.team_rebate),
            ("total", m.current.total, m.proposed.total, m.delta.total),
        ];
        for (name, c, p, d) in rows {
            out.push_str(&format!("{name:<16}{c:>14}{p:>14}{d:>14}\n"));
        }
        let ratio = |v: Option<rust_decimal::Decimal>| v.map_or("-".to_owned(), |v| v.to_string());
        out.push_str(&format!("{:<16}{:>14}{:>14}\n", "payout ratio", ratio(m.current.payout_ratio), ratio(m.proposed.payout_ratio)));
        for ((c, p), d) in m.current.by_tier.iter().zip(&m.proposed.by_tier).zip(&m.delta.by_tier) {
            out.push_str(&format!("  {:<14}{:>14}{:>14}{:>14}\n", c.tier_name, c.amount, p.amount, d.amount));
        }
        for a in m.top_changes.iter().take(5) {
            out.push_str(&format!("  agent {} {}: {} → {} ({})\n", a.agent_id, a.name, a.current, a.proposed, a.delta));
        }
    }
    out.push_str(&format!("\nreplayed in {:.1} s; nothing was written\n", took.as_secs_f64()));
    out
}
