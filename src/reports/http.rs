use actix_web::{get, web, HttpResponse};
use serde::Deserialize;

use super::{DownlineSummary, SalesSplit, Scope};
use crate::auth::Principal;
use crate::db::transaction;
use crate::error::AppError;
use crate::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SalesSplitQuery {
    /// YYYY-MM in the brand's time zone.
    pub month: String,
    /// An agent (an agent: itself by default); none: the whole brand (HQ).
    pub agent_id: Option<i64>,
    /// self (default) or team.
    pub scope: Option<Scope>,
}

/// Purchases, internal sales and retail sales (units and amount, net of refunds) and the
/// retail share, for the brand, an agent or a team.
#[utoipa::path(get, tag = "reports", params(SalesSplitQuery), responses((status = 200, body = SalesSplit), (status = 404)), security(("bearer" = [])))]
#[get("/reports/sales-split")]
pub async fn sales_split(state: web::Data<AppState>, who: Principal, q: web::Query<SalesSplitQuery>) -> Result<HttpResponse, AppError> {
    let q = q.into_inner();
    let split = transaction(state.reads(), move |conn| super::sales_split(conn, &who, &q.month, q.agent_id, q.scope.unwrap_or(Scope::Own))).await?;
    Ok(HttpResponse::Ok().json(split))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SummaryQuery {
    /// YYYY-MM in the brand's time zone.
    pub month: String,
}

/// Downline size by tier and relative depth, own and team purchases for a month.
#[utoipa::path(get, tag = "reports", params(("id" = i64, Path), SummaryQuery), responses((status = 200, body = DownlineSummary), (status = 404)), security(("bearer" = [])))]
#[get("/agents/{id}/downline/summary")]
pub async fn downline_summary(state: web::Data<AppState>, who: Principal, id: web::Path<i64>, q: web::Query<SummaryQuery>) -> Result<HttpResponse, AppError> {
    let summary = super::team::downline_summary(&state, who, id.into_inner(), q.into_inner().month).await?;
    Ok(HttpResponse::Ok().json(summary))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ComplianceQuery {
    /// YYYY-MM in the brand's time zone.
    pub month: String,
    /// json (default) or csv.
    #[param(pattern = "^(json|csv)$")]
    pub format: Option<String>,
    /// With csv: agents_below, teams_below, bought_no_retail, inventory_loading, income_disclosure or retail_findings.
    #[param(pattern = "^(agents_below|teams_below|bought_no_retail|inventory_loading|income_disclosure|retail_findings)$")]
    pub table: Option<String>,
}

/// The monthly compliance report (HQ): facts, not legal advice.
#[utoipa::path(get, tag = "reports", params(ComplianceQuery), responses((status = 200, description = "the report (JSON), or one table as CSV with `format=csv`", content((super::compliance::ComplianceReport = "application/json"), (String = "text/csv"))), (status = 403)), security(("bearer" = [])))]
#[get("/reports/compliance")]
pub async fn compliance(state: web::Data<AppState>, who: Principal, q: web::Query<ComplianceQuery>) -> Result<HttpResponse, AppError> {
    let q = q.into_inner();
    // a table is named right or refused, with csv or without
    if let Some(table) = q.table.as_deref().filter(|t| !super::compliance::TABLES.contains(t)) {
        return Err(AppError::bad_request("invalid_query", format!("table {table:?}: one of {}", super::compliance::TABLES.join(", "))));
    }
    let report = transaction(state.reads(), move |conn| super::compliance::report(conn, &who, &q.month).map(|r| (r, q))).await?;
    let (report, q) = report;
    match q.format.as_deref() {
        None | Some("json") => Ok(HttpResponse::Ok().json(report)),
        Some("csv") => {
            let table = q.table.as_deref().unwrap_or("agents_below");
            let bytes = super::compliance::csv(&report, table)?;
            Ok(HttpResponse::Ok().content_type("text/csv; charset=utf-8").body(bytes))
        }
        Some(other) => Err(AppError::bad_request("invalid_query", format!("format {other:?}: json or csv"))),
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DashboardQuery {
    /// How many months back, the current one included: 1 to 36, default 12.
    pub months: Option<u32>,
}

/// The HQ dashboard: one row per month and the withdrawals waiting for a decision.
#[utoipa::path(get, tag = "reports", params(DashboardQuery),
    responses((status = 200, body = super::dashboard::Dashboard), (status = 400), (status = 403)), security(("bearer" = [])))]
#[get("/reports/dashboard")]
pub async fn dashboard(state: web::Data<AppState>, who: Principal, q: web::Query<DashboardQuery>) -> Result<HttpResponse, AppError> {
    let months = q.months.unwrap_or(12);
    let body = crate::db::read(state.reads(), move |conn| {
        conn.build_transaction().read_only().repeatable_read().run(|conn| super::dashboard::dashboard(conn, &who, months))
    })
    .await?;
    Ok(HttpResponse::Ok().json(body))
}
