//! Compensation plan versions: published by HQ, validated by the engine, never changed.

pub mod cli;
pub mod http;
pub mod store;
pub mod whatif;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::auth::Principal;
use crate::commission::validate::{validate_plan, PlanContext};
use crate::commission::{Finding, Plan, ValidationReport};
use crate::error::AppError;
use crate::schema::{orders, plan_versions, product_prices, tiers};

fn decode(version: i32, body: serde_json::Value) -> Result<Plan, AppError> {
    let mut plan: Plan = serde_json::from_value(body).map_err(|e| AppError::internal(format!("stored plan {version} does not parse: {e}")))?;
    plan.version = version;
    Ok(plan)
}

/// The latest published version.
pub fn current(conn: &mut PgConnection, brand_id: i64) -> Result<Plan, AppError> {
    let (version, body): (i32, serde_json::Value) = plan_versions::table
        .filter(plan_versions::brand_id.eq(brand_id))
        .order(plan_versions::version.desc())
        .select((plan_versions::version, plan_versions::body))
        .first(conn)?;
    decode(version, body)
}

/// The version in force at `at`: the latest `effective_from <= at` (the newest version on a tie).
pub fn in_force_at(conn: &mut PgConnection, brand_id: i64, at: DateTime<Utc>) -> Result<Plan, AppError> {
    let row: Option<(i32, serde_json::Value)> = plan_versions::table
        .filter(plan_versions::brand_id.eq(brand_id))
        .filter(plan_versions::effective_from.le(at))
        .order((plan_versions::effective_from.desc(), plan_versions::version.desc()))
        .select((plan_versions::version, plan_versions::body))
        .first(conn)
        .optional()?;
    let (version, body) = row.ok_or_else(|| AppError::conflict("no_plan", format!("no compensation plan is in force at {at}")))?;
    decode(version, body)
}

/// Every version with its `effective_from`, in the order `in_force_at` prefers them (latest
/// effective first, the newest version on a tie): read once for a batch of orders.
pub fn timeline(conn: &mut PgConnection, brand_id: i64) -> Result<Vec<(DateTime<Utc>, Plan)>, AppError> {
    let rows: Vec<(i32, serde_json::Value, DateTime<Utc>)> = plan_versions::table
        .filter(plan_versions::brand_id.eq(brand_id))
        .order((plan_versions::effective_from.desc(), plan_versions::version.desc()))
        .select((plan_versions::version, plan_versions::body, plan_versions::effective_from))
        .load(conn)?;
    rows.into_iter().map(|(version, body, from)| Ok((from, decode(version, body)?))).collect()
}

/// A published version with who published it and when.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VersionView {
    #[serde(flatten)]
    pub plan: Plan,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// Every version, newest first (HQ).
pub fn versions(conn: &mut PgConnection, who: &Principal) -> Result<Vec<VersionView>, AppError> {
    who.require_hq()?;
    let rows: Vec<(i32, serde_json::Value, String, DateTime<Utc>)> = plan_versions::table
        .filter(plan_versions::brand_id.eq(who.brand_id))
        .order(plan_versions::version.desc())
        .select((plan_versions::version, plan_versions::body, plan_versions::created_by, plan_versions::created_at))
        .load(conn)?;
    rows.into_iter().map(|(version, body, created_by, created_at)| Ok(VersionView { plan: decode(version, body)?, created_by, created_at })).collect()
}

/// What validation needs to know about the brand.
pub fn context(conn: &mut PgConnection, brand_id: i64) -> Result<PlanContext, AppError> {
    let settings = crate::brands::settings(conn, brand_id)?;
    let tier_rows: Vec<(i64, i32, Option<rust_decimal::Decimal>)> =
        tiers::table.filter(tiers::brand_id.eq(brand_id)).order(tiers::rank).select((tiers::id, tiers::rank, tiers::min_first_order)).load(conn)?;
    let prices: Vec<(String, i64, rust_decimal::Decimal)> = product_prices::table
        .filter(product_prices::brand_id.eq(brand_id))
        .select((product_prices::sku, product_prices::tier_id, product_prices::price))
        .load(conn)?;
    let mut by_sku: std::collections::BTreeMap<String, Vec<(i32, rust_decimal::Decimal)>> = Default::default();
    for (sku, tier_id, price) in prices {
        if let Some((_, rank, _)) = tier_rows.iter().find(|t| t.0 == tier_id) {
            by_sku.entry(sku).or_default().push((*rank, price));
        }
    }
    Ok(PlanContext {
        jurisdiction: settings.jurisdiction,
        tier_thresholds: tier_rows.iter().map(|t| t.2).collect(),
        product_prices: by_sku
            .into_values()
            .map(|mut v| {
                v.sort();
                v.into_iter().map(|(_, p)| p).collect()
            })
            .collect(),
    })
}

pub fn validate(conn: &mut PgConnection, brand_id: i64, plan: &Plan) -> Result<ValidationReport, AppError> {
    Ok(validate_plan(plan, &context(conn, brand_id)?))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Published {
    #[serde(flatten)]
    pub plan: Plan,
    pub warnings: Vec<Finding>,
}

/// Adds a version. Refused (422) when validation finds errors; refused (409) when it would
/// take effect before an existing order, whose plan must never change.
pub fn publish(conn: &mut PgConnection, who: &Principal, mut plan: Plan) -> Result<Published, AppError> {
    who.require_hq()?;
    let report = validate(conn, who.brand_id, &plan)?;
    if !report.is_ok() {
        let detail = report.errors.iter().map(|f| format!("{}: {}", f.code, f.detail)).collect::<Vec<_>>().join("; ");
        return Err(AppError::unprocessable("plan_invalid", detail).with_extra(serde_json::json!({"errors": report.errors, "warnings": report.warnings})));
    }
    // The brand's tree lock, exclusively: every order in flight (they hold it shared) has
    // committed, so the newest placed_at below is final, and every later order reads its
    // plan after this version is committed.
    crate::tree::store::lock_tree(conn, who.brand_id, true)?;
    let effective = plan.effective_from.with_timezone(&Utc);
    crate::period::check_range(effective, "effective_from")?;
    let last_order: Option<DateTime<Utc>> = orders::table.filter(orders::brand_id.eq(who.brand_id)).select(diesel::dsl::max(orders::placed_at)).first(conn)?;
    if let Some(last) = last_order.filter(|last| *last >= effective) {
        return Err(AppError::conflict(
            "plan_in_use",
            format!("an order placed at {last} already uses the plan in force then; a new version must take effect after it"),
        ));
    }
    let version: Option<i32> =
        plan_versions::table.filter(plan_versions::brand_id.eq(who.brand_id)).select(diesel::dsl::max(plan_versions::version)).first(conn)?;
    let before: Option<serde_json::Value> = match version {
        Some(v) => plan_versions::table.find((who.brand_id, v)).select(plan_versions::body).first(conn).optional()?,
        None => None,
    };
    plan.version = version.unwrap_or(0) + 1;
    let body = serde_json::to_value(&plan).map_err(|e| AppError::internal(e.to_string()))?;
    diesel::insert_into(plan_versions::table)
        .values((
            plan_versions::brand_id.eq(who.brand_id),
            plan_versions::version.eq(plan.version),
            plan_versions::effective_from.eq(effective),
            plan_versions::body.eq(body),
            plan_versions::created_by.eq(who.actor()),
        ))
        .execute(conn)?;
    crate::audit::change(conn, who, "plan.publish", format!("plan:{}", plan.version), before.as_ref(), Some(&plan))?;
    Ok(Published { plan, warnings: report.warnings })
}

/// Refuses (422 `plan_breaks_profile`, with the findings) a change of jurisdiction while
/// the plan in force now, or one that will come into force, breaks the new profile: the
/// next order would otherwise pay cuts the profile forbids. Publish a compliant plan first.
pub fn revalidate_for_profile(conn: &mut PgConnection, brand_id: i64, jurisdiction: crate::commission::Jurisdiction) -> Result<(), AppError> {
    let now = Utc::now();
    let mut plans = vec![in_force_at(conn, brand_id, now)?];
    let later: Vec<(i32, serde_json::Value)> = plan_versions::table
        .filter(plan_versions::brand_id.eq(brand_id))
        .filter(plan_versions::effective_from.gt(now))
        .order(plan_versions::version)
        .select((plan_versions::version, plan_versions::body))
        .load(conn)?;
    for (version, body) in later {
        plans.push(decode(version, body)?);
    }
    let mut ctx = context(conn, brand_id)?;
    ctx.jurisdiction = jurisdiction;
    for plan in plans {
        let report = validate_plan(&plan, &ctx);
        if !report.is_ok() {
            let detail = report.errors.iter().map(|f| format!("{}: {}", f.code, f.detail)).collect::<Vec<_>>().join("; ");
            return Err(AppError::unprocessable(
                "plan_breaks_profile",
                format!("plan version {} breaks the {} profile ({detail}); publish a plan that complies first", plan.version, jurisdiction.as_str()),
            )
            .with_extra(serde_json::json!({"plan_version": plan.version, "errors": report.errors, "warnings": report.warnings})));
        }
    }
    Ok(())
}

/// Version 1 of a new brand: differentials only, in force since forever.
pub fn insert_default(conn: &mut PgConnection, brand_id: i64) -> Result<(), AppError> {
    let plan = Plan {
        version: 1,
        effective_from: DateTime::UNIX_EPOCH.fixed_offset(),
        differential: Default::default(),
        peer_bonus: Default::default(),
        referral_bonus: Default::default(),
        team_rebate: Default::default(),
        max_depth: None,
        limits: Default::default(),
    };
    diesel::insert_into(plan_versions::table)
        .values((
            plan_versions::brand_id.eq(brand_id),
            plan_versions::version.eq(1),
            plan_versions::effective_from.eq(DateTime::<Utc>::UNIX_EPOCH),
            plan_versions::body.eq(serde_json::to_value(&plan).map_err(|e| AppError::internal(e.to_string()))?),
            plan_versions::created_by.eq("system"),
        ))
        .execute(conn)?;
    Ok(())
}
