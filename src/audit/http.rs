use actix_web::{get, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{AuditRow, ListFilter};
use crate::auth::Principal;
use crate::error::AppError;
use crate::pagination::{Page, PageQuery};
use crate::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    /// A staff member's login.
    pub actor: Option<String>,
    /// An action (`withdrawal.pay`), or a prefix ending in `.` (`withdrawal.`).
    pub action: Option<String>,
    /// From this instant (RFC 3339), inclusive.
    pub from: Option<DateTime<Utc>>,
    /// Before this instant, exclusive.
    pub to: Option<DateTime<Utc>>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// The export's filters: the list's, without pages (narrow `from`/`to` instead).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ExportParams {
    /// A staff member's login.
    pub actor: Option<String>,
    /// An action (`withdrawal.pay`), or a prefix ending in `.` (`withdrawal.`).
    pub action: Option<String>,
    /// From this instant (RFC 3339), inclusive.
    pub from: Option<DateTime<Utc>>,
    /// Before this instant, exclusive.
    pub to: Option<DateTime<Utc>>,
    /// `csv`, the only format.
    #[param(pattern = "^csv$")]
    pub format: Option<String>,
}

fn filter(actor: &Option<String>, action: &Option<String>, from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> Result<ListFilter, AppError> {
    if let (Some(f), Some(t)) = (from, to) {
        if f >= t {
            return Err(AppError::validation("`from` must be before `to`"));
        }
    }
    Ok(ListFilter { actor: actor.clone(), action: action.clone(), from, to })
}

/// Every HQ write, newest first: owner and auditor.
#[utoipa::path(get, tag = "audit", params(AuditParams), responses((status = 200, body = Page<AuditRow>), (status = 400), (status = 403)), security(("bearer" = [])))]
#[get("/audit")]
pub async fn list(state: web::Data<AppState>, who: Principal, params: web::Query<AuditParams>) -> Result<HttpResponse, AppError> {
    who.require_hq()?;
    let p = params.into_inner();
    let f = filter(&p.actor, &p.action, p.from, p.to)?;
    let page = PageQuery { limit: p.limit, cursor: p.cursor };
    let (limit, before) = (page.limit()?, page.id_cursor()?);
    let rows = crate::db::read(state.reads(), move |conn| super::list(conn, who.brand_id, &f, before, limit + 1)).await?;
    Ok(HttpResponse::Ok().json(Page::from_rows(rows, limit, |r| r.id.to_string())))
}

/// At most this many rows per export; narrow the dates for more.
pub const EXPORT_MAX: i64 = 100_000;

/// The filtered log as CSV (oldest first, with each row's hash): owner and auditor.
#[utoipa::path(get, tag = "audit", params(ExportParams),
    responses((status = 200, description = "text/csv", content_type = "text/csv"), (status = 400), (status = 403)), security(("bearer" = [])))]
#[get("/audit/export")]
pub async fn export(state: web::Data<AppState>, who: Principal, params: web::Query<ExportParams>) -> Result<HttpResponse, AppError> {
    who.require_hq()?;
    let p = params.into_inner();
    if p.format.as_deref().is_some_and(|f| f != "csv") {
        return Err(AppError::bad_request("validation", "format must be csv"));
    }
    let f = filter(&p.actor, &p.action, p.from, p.to)?;
    let mut rows = crate::db::read(state.reads(), move |conn| super::list(conn, who.brand_id, &f, 0, EXPORT_MAX)).await?;
    rows.reverse();
    let bytes = super::csv(&rows)?;
    Ok(HttpResponse::Ok().content_type("text/csv; charset=utf-8").insert_header(("Content-Disposition", "attachment; filename=\"audit.csv\"")).body(bytes))
}
