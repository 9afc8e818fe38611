//! Brands (tenants) and their settings.

pub mod http;

use diesel::prelude::*;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::auth::{check_password_strength, hash_password};
use crate::commission::Jurisdiction;
use crate::error::AppError;
use crate::schema::{brands, hq_users};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SupplyMode {
    /// 云仓: HQ is the seller of every purchase.
    Hq,
    /// The nearest active ancestor of a strictly better tier sells.
    Upline,
}

impl SupplyMode {
    pub fn as_str(self) -> &'static str {
        match self {
            SupplyMode::Hq => "hq",
            SupplyMode::Upline => "upline",
        }
    }
}

/// What a retail sale below a product's `retail_floor` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PriceFloorMode {
    /// Refused with 422 `below_price_floor`.
    Reject,
    /// Recorded, with the line marked `below_floor` for the compliance report.
    Flag,
}

impl PriceFloorMode {
    pub fn as_str(self) -> &'static str {
        match self {
            PriceFloorMode::Reject => "reject",
            PriceFloorMode::Flag => "flag",
        }
    }
}

/// Retail that can be believed (docs/compliance.md): the price ceiling, refused at entry,
/// and the thresholds of the findings that keep retail out of the us_ftc share.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetailChecks {
    /// A retail unit price may be at most the product's retail price × this (1.00–100.00).
    #[serde(deserialize_with = "crate::amount::money")]
    #[schema(value_type = String)]
    pub ceiling_factor: Decimal,
    /// A customer taking more units than this in a month is a finding (1–100000).
    pub max_units_per_customer: i32,
    /// A customer buying from this many agents or more in a month is a finding (2–1000).
    pub max_sellers_per_customer: i32,
    /// More than half of a seller's month of retail in its last this many days is a finding (0: off; up to 10).
    pub late_days: i32,
}

impl RetailChecks {
    pub fn check(&self) -> Result<(), AppError> {
        if self.ceiling_factor < Decimal::ONE || self.ceiling_factor > Decimal::ONE_HUNDRED {
            return Err(AppError::validation("retail_checks.ceiling_factor must be between 1.00 and 100.00"));
        }
        if !(1..=100_000).contains(&self.max_units_per_customer) {
            return Err(AppError::validation("retail_checks.max_units_per_customer must be between 1 and 100000"));
        }
        if !(2..=1000).contains(&self.max_sellers_per_customer) {
            return Err(AppError::validation("retail_checks.max_sellers_per_customer must be between 2 and 1000"));
        }
        if !(0..=10).contains(&self.late_days) {
            return Err(AppError::validation("retail_checks.late_days must be between 0 and 10"));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Settings {
    pub supply_mode: SupplyMode,
    /// IANA name; defines month boundaries.
    pub timezone: String,
    pub hq_stock_tracking: bool,
    #[schema(value_type = String)]
    pub buyback_ratio: Decimal,
    pub hold_days: i32,
    pub jurisdiction: Jurisdiction,
    pub price_floor_mode: PriceFloorMode,
    /// The compliance report lists agents and teams whose retail share is below this.
    #[schema(value_type = String)]
    pub min_retail_share: Decimal,
    /// Limits, fee and tax of withdrawals.
    pub withdrawal: crate::ledger::quote::WithdrawalRules,
    /// Who approves applications through invite links: `inviter`, `hq` or `inviter_then_hq`.
    pub application_approval: String,
    /// Days a pending application waits before it expires (1–90).
    pub application_days: i32,
    /// What meeting an upgrade rule does: `off` (nothing), `approval` (a proposal for HQ) or `auto` (the tier changes).
    pub upgrade_mode: String,
    /// The retail price ceiling and the findings on retail that looks invented.
    pub retail_checks: RetailChecks,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsPatch {
    pub supply_mode: Option<SupplyMode>,
    pub timezone: Option<String>,
    pub hq_stock_tracking: Option<bool>,
    #[serde(default, deserialize_with = "crate::amount::rate_opt")]
    #[schema(value_type = Option<String>)]
    pub buyback_ratio: Option<Decimal>,
    pub hold_days: Option<i32>,
    pub jurisdiction: Option<Jurisdiction>,
    pub price_floor_mode: Option<PriceFloorMode>,
    #[serde(default, deserialize_with = "crate::amount::rate_opt")]
    #[schema(value_type = Option<String>)]
    pub min_retail_share: Option<Decimal>,
    /// Replaces the withdrawal rules (all five fields).
    pub withdrawal: Option<crate::ledger::quote::WithdrawalRules>,
    pub application_approval: Option<String>,
    pub application_days: Option<i32>,
    pub upgrade_mode: Option<String>,
    /// Replaces the retail checks (all four fields).
    pub retail_checks: Option<RetailChecks>,
}

type SettingsRow = (
    String,
    String,
    bool,
    Decimal,
    i32,
    String,
    String,
    Decimal,
    (Decimal, Decimal, Decimal, Decimal, Decimal),
    (String, i32, String),
    (Decimal, i32, i32, i32),
);

fn to_settings(
    (
        supply_mode,
        timezone,
        hq_stock_tracking,
        buyback_ratio,
        hold_days,
        jurisdiction,
        floor,
        min_retail_share,
        w,
        (application_approval, application_days, upgrade_mode),
        r,
    ): SettingsRow,
) -> Settings {
    Settings {
        supply_mode: if supply_mode == "upline" { SupplyMode::Upline } else { SupplyMode::Hq },
        timezone,
        hq_stock_tracking,
        buyback_ratio: buyback_ratio.normalize(),
        hold_days,
        jurisdiction: Jurisdiction::parse(&jurisdiction).unwrap_or_default(),
        price_floor_mode: if floor == "flag" { PriceFloorMode::Flag } else { PriceFloorMode::Reject },
        min_retail_share: min_retail_share.normalize(),
        withdrawal: crate::ledger::quote::WithdrawalRules { min: w.0, max: w.1, fee_rate: w.2.normalize(), fee_min: w.3, tax_rate: w.4.normalize() },
        application_approval,
        application_days,
        upgrade_mode,
        retail_checks: RetailChecks { ceiling_factor: r.0, max_units_per_customer: r.1, max_sellers_per_customer: r.2, late_days: r.3 },
    }
}

pub fn settings(conn: &mut PgConnection, brand_id: i64) -> Result<Settings, AppError> {
    let row: SettingsRow = brands::table
        .find(brand_id)
        .select((
            brands::supply_mode,
            brands::timezone,
            brands::hq_stock_tracking,
            brands::buyback_ratio,
            brands::hold_days,
            brands::jurisdiction,
            brands::price_floor_mode,
            brands::min_retail_share,
            (brands::withdrawal_min, brands::withdrawal_max, brands::withdrawal_fee_rate, brands::withdrawal_fee_min, brands::withholding_tax_rate),
            (brands::application_approval, brands::application_days, brands::upgrade_mode),
            (brands::retail_ceiling_factor, brands::retail_max_units, brands::retail_max_sellers, brands::retail_late_days),
        ))
        .first(conn)?;
    Ok(to_settings(row))
}

/// Changes settings; the change is in the audit log with the settings before and after.
pub fn patch_settings(conn: &mut PgConnection, who: &crate::auth::Principal, patch: SettingsPatch) -> Result<Settings, AppError> {
    who.require_hq()?;
    let brand_id = who.brand_id;
    // one settings change at a time per brand, so before/after in the log are exact
    let _: i64 = brands::table.find(brand_id).select(brands::id).for_update().first(conn)?;
    let before = settings(conn, brand_id)?;
    if let Some(w) = &patch.withdrawal {
        crate::ledger::quote::check_rules(w).map_err(AppError::validation)?;
    }
    if let Some(r) = &patch.retail_checks {
        r.check()?;
    }
    if patch.application_approval.as_deref().is_some_and(|m| !crate::recruiting::applications::MODES.contains(&m)) {
        return Err(AppError::validation("application_approval must be inviter, hq or inviter_then_hq"));
    }
    if patch.upgrade_mode.as_deref().is_some_and(|m| !crate::recruiting::upgrades::MODES.contains(&m)) {
        return Err(AppError::validation("upgrade_mode must be off, approval or auto"));
    }
    if patch.application_days.is_some_and(|d| !(1..=90).contains(&d)) {
        return Err(AppError::validation("application_days must be between 1 and 90"));
    }
    if let Some(tz) = &patch.timezone {
        tz.parse::<chrono_tz::Tz>().map_err(|_| AppError::validation(format!("timezone {tz:?} is not an IANA time zone name such as Asia/Shanghai")))?;
    }
    if let Some(ratio) = patch.buyback_ratio {
        if ratio < Decimal::ZERO || ratio > Decimal::ONE {
            return Err(AppError::validation("buyback_ratio must be between 0 and 1"));
        }
    }
    if let Some(share) = patch.min_retail_share {
        if share < Decimal::ZERO || share > Decimal::ONE {
            return Err(AppError::validation("min_retail_share must be between 0 and 1"));
        }
    }
    if let Some(days) = patch.hold_days {
        if !(0..=365).contains(&days) {
            return Err(AppError::validation("hold_days must be between 0 and 365"));
        }
    }
    let target = brands::table.find(brand_id);
    if let Some(v) = patch.supply_mode {
        diesel::update(target).set(brands::supply_mode.eq(v.as_str())).execute(conn)?;
    }
    if let Some(v) = &patch.timezone {
        diesel::update(target).set(brands::timezone.eq(v)).execute(conn)?;
        // the dashboard's figures and each agent's monthly purchases (which the downline
        // summaries and the close read) are kept by month in the brand's zone: recount them
        diesel::sql_query("SELECT month_figures_rebuild($1)").bind::<diesel::sql_types::BigInt, _>(brand_id).execute(conn)?;
        crate::reports::totals::rebuild(conn, brand_id)?;
    }
    if let Some(v) = patch.hq_stock_tracking {
        diesel::update(target).set(brands::hq_stock_tracking.eq(v)).execute(conn)?;
    }
    if let Some(v) = patch.buyback_ratio {
        diesel::update(target).set(brands::buyback_ratio.eq(v)).execute(conn)?;
    }
    if let Some(v) = patch.hold_days {
        diesel::update(target).set(brands::hold_days.eq(v)).execute(conn)?;
    }
    if let Some(v) = patch.jurisdiction {
        // no plan is published meanwhile (publishers take the tree lock exclusively)
        crate::tree::store::lock_tree(conn, brand_id, true)?;
        diesel::update(target).set(brands::jurisdiction.eq(v.as_str())).execute(conn)?;
        crate::plans::revalidate_for_profile(conn, brand_id, v)?;
    }
    if let Some(v) = patch.price_floor_mode {
        diesel::update(target).set(brands::price_floor_mode.eq(v.as_str())).execute(conn)?;
    }
    if let Some(v) = patch.min_retail_share {
        diesel::update(target).set(brands::min_retail_share.eq(v)).execute(conn)?;
    }
    if let Some(w) = patch.withdrawal {
        diesel::update(target)
            .set((
                brands::withdrawal_min.eq(w.min),
                brands::withdrawal_max.eq(w.max),
                brands::withdrawal_fee_rate.eq(w.fee_rate),
                brands::withdrawal_fee_min.eq(w.fee_min),
                brands::withholding_tax_rate.eq(w.tax_rate),
            ))
            .execute(conn)?;
    }
    if let Some(m) = &patch.application_approval {
        diesel::update(target).set(brands::application_approval.eq(m)).execute(conn)?;
    }
    if let Some(d) = patch.application_days {
        diesel::update(target).set(brands::application_days.eq(d)).execute(conn)?;
    }
    if let Some(m) = &patch.upgrade_mode {
        diesel::update(target).set(brands::upgrade_mode.eq(m)).execute(conn)?;
    }
    if let Some(r) = patch.retail_checks {
        diesel::update(target)
            .set((
                brands::retail_ceiling_factor.eq(r.ceiling_factor),
                brands::retail_max_units.eq(r.max_units_per_customer),
                brands::retail_max_sellers.eq(r.max_sellers_per_customer),
                brands::retail_late_days.eq(r.late_days),
            ))
            .execute(conn)?;
    }
    let after = settings(conn, brand_id)?;
    crate::audit::change(conn, who, "settings.update", "settings", Some(&before), Some(&after))?;
    Ok(after)
}

/// Creates a brand and its first HQ admin; returns the brand id.
pub fn create_brand(conn: &mut PgConnection, code: &str, name: &str, admin_login: &str, admin_password: &str) -> Result<i64, AppError> {
    if code.is_empty() || code.len() > 40 || !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return Err(AppError::validation("brand code must be 1 to 40 letters, digits, '_' or '-'"));
    }
    if name.trim().is_empty() || admin_login.trim().is_empty() {
        return Err(AppError::validation("brand name and admin login must not be empty"));
    }
    check_password_strength(admin_password)?;
    let exists: bool = diesel::select(diesel::dsl::exists(brands::table.filter(brands::code.eq(code)))).get_result(conn)?;
    if exists {
        return Err(AppError::conflict("brand_exists", format!("a brand with code {code:?} already exists")));
    }
    let brand_id: i64 = diesel::insert_into(brands::table).values((brands::code.eq(code), brands::name.eq(name))).returning(brands::id).get_result(conn)?;
    diesel::insert_into(hq_users::table)
        .values((
            hq_users::brand_id.eq(brand_id),
            hq_users::login.eq(admin_login),
            hq_users::password_hash.eq(hash_password(admin_password)?),
            hq_users::role.eq("owner"),
        ))
        .execute(conn)?;
    crate::plans::insert_default(conn, brand_id)?;
    Ok(brand_id)
}
