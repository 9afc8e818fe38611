//! 设置 Settings: the brand's settings, each with what it means, changed in one form.

use std::collections::HashMap;

use actix_web::{get, post, web, HttpResponse};
use askama::Template;

use super::session::{ConsoleUser, PageError};
use crate::brands::{Settings, SettingsPatch};
use crate::error::AppError;
use crate::AppState;

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    csrf: String,
    s: Settings,
    supply: &'static str,
    jurisdiction: &'static str,
    floor: &'static str,
}

#[get("/console/settings")]
pub async fn page(state: web::Data<AppState>, user: ConsoleUser) -> Result<HttpResponse, PageError> {
    let brand_id = user.who.brand_id;
    let s = crate::db::read(&state.pool, move |conn| crate::brands::settings(conn, brand_id)).await?;
    let (supply, jurisdiction, floor) = (s.supply_mode.as_str(), s.jurisdiction.as_str(), s.price_floor_mode.as_str());
    super::html(&SettingsPage { csrf: user.csrf, s, supply, jurisdiction, floor })
}

/// The form's fields, typed as the API takes them, into a patch: one validation for both.
fn patch_of(form: &HashMap<String, String>) -> Result<SettingsPatch, AppError> {
    let text = |k: &str| form.get(k).map(|v| serde_json::Value::String(v.trim().to_owned()));
    let mut patch = serde_json::Map::new();
    for key in ["supply_mode", "timezone", "buyback_ratio", "jurisdiction", "price_floor_mode", "min_retail_share", "application_approval", "upgrade_mode"] {
        if let Some(v) = text(key) {
            patch.insert(key.into(), v);
        }
    }
    if let Some(days) = form.get("application_days") {
        let n: i32 = days.trim().parse().map_err(|_| AppError::validation("申请有效天数必须是整数 application_days must be a whole number"))?;
        patch.insert("application_days".into(), n.into());
    }
    if let Some(days) = form.get("hold_days") {
        let n: i32 = days.trim().parse().map_err(|_| AppError::validation("冻结天数必须是整数 hold_days must be a whole number"))?;
        patch.insert("hold_days".into(), n.into());
    }
    patch.insert("hq_stock_tracking".into(), form.get("hq_stock_tracking").is_some_and(|v| v == "1").into());
    let rules = ["withdrawal_min", "withdrawal_max", "fee_rate", "fee_min", "tax_rate"];
    if rules.iter().all(|k| form.contains_key(*k)) {
        let w: serde_json::Map<String, serde_json::Value> =
            rules.iter().map(|k| (k.trim_start_matches("withdrawal_").to_owned(), text(k).unwrap_or_default())).collect();
        patch.insert("withdrawal".into(), serde_json::Value::Object(w));
    }
    let checks = ["ceiling_factor", "max_units_per_customer", "max_sellers_per_customer", "late_days"];
    if checks.iter().all(|k| form.contains_key(*k)) {
        let whole = |k: &str| {
            form.get(k)
                .and_then(|v| v.trim().parse::<i64>().ok())
                .map(serde_json::Value::from)
                .ok_or_else(|| AppError::validation(format!("{k} 必须是整数 must be a whole number")))
        };
        let r = serde_json::json!({
            "ceiling_factor": text("ceiling_factor").unwrap_or_default(),
            "max_units_per_customer": whole("max_units_per_customer")?,
            "max_sellers_per_customer": whole("max_sellers_per_customer")?,
            "late_days": whole("late_days")?,
        });
        patch.insert("retail_checks".into(), r);
    }
    serde_json::from_value(serde_json::Value::Object(patch)).map_err(|e| AppError::validation(format!("设置有误 a setting is not valid: {e}")))
}

#[post("/console/settings")]
pub async fn save(state: web::Data<AppState>, user: ConsoleUser, form: web::Form<HashMap<String, String>>) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    user.check_csrf(form.get("csrf").map_or("", String::as_str))?;
    let patch = patch_of(&form)?;
    let who = user.who;
    crate::db::transaction(&state.pool, move |conn| crate::brands::patch_settings(conn, &who, patch)).await?;
    Ok(super::see_other("/console/settings"))
}
