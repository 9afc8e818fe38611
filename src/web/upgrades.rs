//! 升级 Upgrades: the rules that move agents up (one row per tier above the entry tier), the
//! brand's mode, and the proposals queue to approve or reject with a reason.

use std::collections::HashMap;

use actix_web::{get, post, web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::format::{local, zone};
use super::session::{ConsoleUser, PageError, ReasonForm};
use crate::catalog::Tier;
use crate::error::AppError;
use crate::recruiting::upgrades::{Combine, Proposal, RuleInput, RuleView};
use crate::AppState;

#[derive(Debug, Deserialize)]
pub struct Filters {
    #[serde(default = "pending")]
    status: String,
}

fn pending() -> String {
    "pending".to_owned()
}

/// A proposal as the queue shows it.
struct Row {
    p: Proposal,
    agent: String,
    from: String,
    to: String,
    at: String,
    months: String,
}

#[derive(Template)]
#[template(path = "upgrades.html")]
struct UpgradesPage {
    csrf: String,
    mode: String,
    status: String,
    /// Every tier but the entry one, best first, with its rule if it has one.
    tiers: Vec<(Tier, Option<RuleView>)>,
    rows: Vec<Row>,
}

fn text(v: &serde_json::Value, key: &str) -> String {
    match &v[key] {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[get("/console/upgrades")]
pub async fn page(state: web::Data<AppState>, user: ConsoleUser, f: web::Query<Filters>) -> Result<HttpResponse, PageError> {
    let status = f.into_inner().status;
    let (who, s) = (user.who, status.clone());
    let (rules, rows, names, tiers, tz) = crate::db::read(&state.pool, move |conn| {
        let rows = crate::recruiting::upgrades::list(conn, &who, Some(s.as_str()).filter(|s| !s.is_empty()), None, 200)?;
        let ids: Vec<i64> = rows.iter().map(|p| p.agent_id).collect();
        let names = crate::tree::names(conn, &who, &ids)?;
        Ok((
            crate::recruiting::upgrades::rules(conn, &who)?,
            rows,
            names,
            crate::catalog::list_tiers(conn, who.brand_id)?,
            crate::brands::settings(conn, who.brand_id)?.timezone,
        ))
    })
    .await?;
    let tz = zone(&tz);
    let tier_name: HashMap<i64, String> = tiers.iter().map(|t| (t.id, t.name.clone())).collect();
    let entry = tiers.iter().map(|t| t.rank).max().unwrap_or(0);
    let mut better: Vec<(Tier, Option<RuleView>)> =
        tiers.iter().filter(|t| t.rank < entry).map(|t| (t.clone(), rules.rules.iter().find(|r| r.tier_id == t.id).cloned())).collect();
    better.sort_by_key(|(t, _)| t.rank);
    let rows = rows
        .into_iter()
        .map(|p| Row {
            agent: names.get(&p.agent_id).cloned().unwrap_or_default(),
            from: tier_name.get(&p.from_tier_id).cloned().unwrap_or_default(),
            to: tier_name.get(&p.to_tier_id).cloned().unwrap_or_default(),
            at: local(&p.created_at, &tz),
            months: p.figures["months"].as_array().map(|m| m.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>().join(", ")).unwrap_or_default(),
            p,
        })
        .collect();
    super::html(&UpgradesPage { csrf: user.csrf, mode: rules.mode, status, tiers: better, rows })
}

#[derive(Debug, Deserialize)]
pub struct RuleForm {
    csrf: String,
    months: String,
    own_purchases_min: String,
    direct_recruits_min: String,
    team_volume_min: String,
    combine: String,
}

/// The form, typed as the API takes it: one validation for both.
fn input_of(f: &RuleForm) -> Result<RuleInput, AppError> {
    let opt = |v: &str, what: &str| -> Result<Option<rust_decimal::Decimal>, AppError> {
        let v = v.trim();
        if v.is_empty() {
            return Ok(None);
        }
        v.parse().map(Some).map_err(|_| AppError::validation(format!("{what} 必须是金额 must be an amount such as 10000.00")))
    };
    let months = f.months.trim().parse().map_err(|_| AppError::validation("月数必须是 1–12 的整数 months must be a whole number from 1 to 12"))?;
    let recruits = match f.direct_recruits_min.trim() {
        "" => None,
        v => Some(v.parse().map_err(|_| AppError::validation("直推人数必须是整数 direct recruits must be a whole number"))?),
    };
    let combine = Combine::parse(&f.combine).ok_or_else(|| AppError::validation("combine must be all or any"))?;
    Ok(RuleInput {
        months,
        own_purchases_min: opt(&f.own_purchases_min, "own purchases")?,
        direct_recruits_min: recruits,
        team_volume_min: opt(&f.team_volume_min, "team volume")?,
        combine,
    })
}

#[post("/console/upgrades/rules/{tier_id}")]
pub async fn save_rule(state: web::Data<AppState>, user: ConsoleUser, tier_id: web::Path<i64>, form: web::Form<RuleForm>) -> Result<HttpResponse, PageError> {
    user.check_csrf(&form.csrf)?;
    let input = input_of(&form)?;
    let (who, tier_id) = (user.who, tier_id.into_inner());
    crate::db::transaction(&state.pool, move |conn| crate::recruiting::upgrades::set_rule(conn, &who, tier_id, &input)).await?;
    Ok(super::see_other("/console/upgrades"))
}

#[post("/console/upgrades/rules/{tier_id}/delete")]
pub async fn delete_rule(
    state: web::Data<AppState>,
    user: ConsoleUser,
    tier_id: web::Path<i64>,
    form: web::Form<ReasonForm>,
) -> Result<HttpResponse, PageError> {
    user.check_csrf(&form.csrf)?;
    let (who, tier_id) = (user.who, tier_id.into_inner());
    crate::db::transaction(&state.pool, move |conn| crate::recruiting::upgrades::delete_rule(conn, &who, tier_id)).await?;
    Ok(super::see_other("/console/upgrades"))
}

#[post("/console/upgrades/{id}/approve")]
pub async fn approve(state: web::Data<AppState>, user: ConsoleUser, id: web::Path<i64>, form: web::Form<ReasonForm>) -> Result<HttpResponse, PageError> {
    user.check_csrf(&form.csrf)?;
    let (who, id) = (user.who, id.into_inner());
    crate::db::transaction(&state.pool, move |conn| crate::recruiting::upgrades::approve(conn, &who, id)).await?;
    Ok(super::see_other("/console/upgrades"))
}

#[post("/console/upgrades/{id}/reject")]
pub async fn reject(state: web::Data<AppState>, user: ConsoleUser, id: web::Path<i64>, form: web::Form<ReasonForm>) -> Result<HttpResponse, PageError> {
    user.check_csrf(&form.csrf)?;
    let reason = crate::ledger::withdrawals::check_reason(Some(&form.reason))?;
    let (who, id) = (user.who, id.into_inner());
    crate::db::transaction(&state.pool, move |conn| crate::recruiting::upgrades::reject(conn, &who, id, reason)).await?;
    Ok(super::see_other("/console/upgrades"))
}

impl Row {
    fn figure(&self, key: &str) -> String {
        text(&self.p.figures, key)
    }
}
