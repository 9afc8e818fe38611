//! Upgrades by rule (升级): per target tier, what an agent must reach over the last N closed
//! months — its own purchases, its active direct recruits, its team's volume — all or any.
//! The brand's `upgrade_mode` says what qualifying does: `off` (nothing; HQ re-tiers by
//! hand), `approval` (a proposal HQ approves or rejects) or `auto` (a dated tier change).
//!
//! Proposals come from the month close (every agent, set-based) and from the agent itself
//! (申请升级, for one named tier). Never from inside an order: an order holds the tree lock
//! shared, and a month's figures are final only once it is closed (refunds). Every applied
//! upgrade is a `tier_changed` event dated when it is applied, so the past keeps its tiers,
//! and a new certificate.

pub mod http;
pub mod rule;
pub mod store;

use chrono::Months;
use diesel::prelude::*;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

pub use rule::{Check, Combine, Figures, Rule};
pub use store::Proposal;

use crate::auth::Principal;
use crate::error::AppError;

pub const MODES: [&str; 3] = ["off", "approval", "auto"];
pub const STATUSES: [&str; 4] = ["pending", "applied", "rejected", "void"];

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleInput {
    /// The window: the last `months` closed months (1–12).
    pub months: i32,
    #[serde(default, deserialize_with = "crate::amount::money_opt")]
    #[schema(value_type = Option<String>)]
    pub own_purchases_min: Option<Decimal>,
    #[serde(default)]
    pub direct_recruits_min: Option<i32>,
    #[serde(default, deserialize_with = "crate::amount::money_opt")]
    #[schema(value_type = Option<String>)]
    pub team_volume_min: Option<Decimal>,
    pub combine: Combine,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RuleView {
    /// The tier the rule leads to.
    pub tier_id: i64,
    pub tier_name: String,
    pub rank: i32,
    pub months: i32,
    #[schema(value_type = Option<String>)]
    pub own_purchases_min: Option<Decimal>,
    pub direct_recruits_min: Option<i32>,
    #[schema(value_type = Option<String>)]
    pub team_volume_min: Option<Decimal>,
    pub combine: Combine,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Rules {
    /// off, approval or auto (a brand setting, `upgrade_mode`)
    pub mode: String,
    pub rules: Vec<RuleView>,
}

fn cents(d: Decimal) -> Decimal {
    let mut d = d;
    d.rescale(2);
    d
}

fn tier_names(conn: &mut PgConnection, brand_id: i64) -> Result<Vec<crate::catalog::Tier>, AppError> {
    crate::catalog::list_tiers(conn, brand_id)
}

fn view(r: &Rule, tiers: &[crate::catalog::Tier]) -> RuleView {
    RuleView {
        tier_id: r.tier_id,
        tier_name: tiers.iter().find(|t| t.id == r.tier_id).map(|t| t.name.clone()).unwrap_or_default(),
        rank: r.rank,
        months: r.months,
        own_purchases_min: r.own_purchases_min.map(cents),
        direct_recruits_min: r.direct_recruits_min,
        team_volume_min: r.team_volume_min.map(cents),
        combine: r.combine,
    }
}

pub fn mode(conn: &mut PgConnection, brand_id: i64) -> Result<String, AppError> {
    use crate::schema::brands;
    Ok(brands::table.find(brand_id).select(brands::upgrade_mode).first(conn)?)
}

/// The brand's rules, best tier first: HQ and agents alike (they are the brand's published
/// terms).
pub fn rules(conn: &mut PgConnection, who: &Principal) -> Result<Rules, AppError> {
    let tiers = tier_names(conn, who.brand_id)?;
    let rules = store::rules(conn, who.brand_id)?;
    Ok(Rules { mode: mode(conn, who.brand_id)?, rules: rules.iter().map(|r| view(r, &tiers)).collect() })
}

/// Sets (or replaces) the rule to reach `tier_id`. The entry tier (the worst) has none:
/// nobody is below it.
pub fn set_rule(conn: &mut PgConnection, who: &Principal, tier_id: i64, input: &RuleInput) -> Result<RuleView, AppError> {
    who.require_hq()?;
    let tiers = tier_names(conn, who.brand_id)?;
    let tier = tiers.iter().find(|t| t.id == tier_id).ok_or_else(|| AppError::not_found(format!("tier {tier_id}")))?;
    if tiers.iter().all(|t| t.rank <= tier.rank) {
        return Err(AppError::unprocessable("entry_tier", format!("{} is the entry tier: nobody is below it to upgrade into it", tier.name)));
    }
    let r = Rule {
        tier_id,
        rank: tier.rank,
        months: input.months,
        own_purchases_min: input.own_purchases_min.map(|d| d.normalize()),
        direct_recruits_min: input.direct_recruits_min,
        team_volume_min: input.team_volume_min.map(|d| d.normalize()),
        combine: input.combine,
    };
    rule::validate(&r).map_err(AppError::validation)?;
    let before = store::rules(conn, who.brand_id)?.into_iter().find(|x| x.tier_id == tier_id).map(|x| view(&x, &tiers));
    store::upsert_rule(conn, who.brand_id, &r)?;
    let after = view(&r, &tiers);
    crate::audit::change(conn, who, "upgrade_rule.set", format!("tier:{tier_id}"), before.as_ref(), Some(&after))?;
    Ok(after)
}

pub fn delete_rule(conn: &mut PgConnection, who: &Principal, tier_id: i64) -> Result<(), AppError> {
    who.require_hq()?;
    let tiers = tier_names(conn, who.brand_id)?;
    let before = store::rules(conn, who.brand_id)?.into_iter().find(|x| x.tier_id == tier_id).map(|x| view(&x, &tiers));
    if !store::delete_rule(conn, who.brand_id, tier_id)? {
        return Err(AppError::not_found(format!("upgrade rule of tier {tier_id}")));
    }
    crate::audit::change(conn, who, "upgrade_rule.delete", format!("tier:{tier_id}"), before.as_ref(), None::<&()>)
}

/// The `n` calendar months ending with `last` (oldest first).
pub fn window(last: &str, n: i32) -> Result<Vec<String>, AppError> {
    let end = crate::period::parse_month(last)?;
    (0..n.max(1))
        .rev()
        .map(|back| {
            end.checked_sub_months(Months::new(back as u32)).map(|d| d.format("%Y-%m").to_string()).ok_or_else(|| AppError::internal("month out of range"))
        })
        .collect()
}

/// What a proposal keeps of its reasons.
fn figures_json(months: &[String], f: &Figures, checks: &[Check]) -> serde_json::Value {
    serde_json::json!({
        "months": months,
        "own_purchases": cents(f.own_purchases).to_string(),
        "direct_recruits": f.direct_recruits,
        "team_volume": cents(f.team_volume).to_string(),
        "checks": checks,
    })
}

mod apply;
mod progress;

pub use apply::{approve, at_close, reject, request, CloseUpgrades, UpgradeRequest};
pub use progress::{progress, AgentProgress, Target};

/// Proposals, newest first: HQ the brand's, an agent its own.
pub fn list(conn: &mut PgConnection, who: &Principal, status: Option<&str>, agent_id: Option<i64>, limit: i64) -> Result<Vec<Proposal>, AppError> {
    if let Some(s) = status {
        if !STATUSES.contains(&s) {
            return Err(AppError::bad_request("validation", format!("status must be one of {}", STATUSES.join(", "))));
        }
    }
    let agent = match who.agent_id() {
        Some(me) if agent_id.is_some_and(|a| a != me) => return Err(AppError::not_found(format!("agent {}", agent_id.unwrap_or_default()))),
        Some(me) => Some(me),
        None => agent_id,
    };
    store::list(conn, who.brand_id, status, agent, limit)
}

/// When the tier changed otherwise or the agent stopped being active, a waiting proposal is
/// void: it was about a tier the agent no longer holds.
pub fn void_pending(conn: &mut PgConnection, brand_id: i64, agent_id: i64, by: &str, why: &str) -> Result<(), AppError> {
    store::void_pending(conn, brand_id, agent_id, by, why)
}

/// The last closed month: windows end there (an open month's figures are not final).
fn last_closed_month(conn: &mut PgConnection, brand_id: i64) -> Result<Option<String>, AppError> {
    Ok(crate::settlement::store::last_closed(conn, brand_id)?.map(|p| p.month))
}
