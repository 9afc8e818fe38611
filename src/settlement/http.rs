use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;

use super::export::ExportFormat;
use super::reviews::Review;
use super::{CloseResult, PeriodView, Statement};
use crate::auth::Principal;
use crate::db::transaction;
use crate::error::AppError;
use crate::idempotency::{self, IdempotencyKey};
use crate::pagination::{Page, PageQuery};
use crate::AppState;

/// Months from the brand's first activity to now, newest first, open or closed.
#[utoipa::path(get, tag = "settlement", responses((status = 200, body = Page<PeriodView>), (status = 403)), security(("bearer" = [])))]
#[get("/periods")]
pub async fn list(state: web::Data<AppState>, who: Principal) -> Result<HttpResponse, AppError> {
    let periods = transaction(&state.pool, move |conn| super::list(conn, &who)).await?;
    Ok(HttpResponse::Ok().json(Page::all(periods)))
}

/// Closes an ended month: team rebates, one statement per agent, closed for good.
#[utoipa::path(post, tag = "settlement", params(("month" = String, Path, description = "YYYY-MM"), ("Idempotency-Key" = Option<String>, Header, description = "replay-safe retries")),
    responses((status = 201, body = CloseResult), (status = 409, description = "period_closed, period_not_ended, earlier_period_open")), security(("bearer" = [])))]
#[post("/periods/{month}/close")]
pub async fn close(state: web::Data<AppState>, who: Principal, key: IdempotencyKey, month: web::Path<String>) -> Result<HttpResponse, AppError> {
    let month = month.into_inner();
    let (brand_id, m) = (who.brand_id, month.clone());
    let resp = transaction(&state.pool, move |conn| {
        idempotency::once(conn, &who, &key, &format!("POST /periods/{month}/close"), &(), StatusCode::CREATED, |conn| super::close(conn, &who, &month, &()))
    })
    .await?;
    super::after_close(&state.pool, brand_id, m);
    Ok(resp.into_http())
}

/// Every agent's statement of a closed month, by agent id.
#[utoipa::path(get, tag = "settlement", params(("month" = String, Path), PageQuery), responses((status = 200, body = Page<Statement>), (status = 409, description = "period_open")), security(("bearer" = [])))]
#[get("/periods/{month}/statements")]
pub async fn statements(state: web::Data<AppState>, who: Principal, month: web::Path<String>, page: web::Query<PageQuery>) -> Result<HttpResponse, AppError> {
    let (month, limit) = (month.into_inner(), page.limit()?);
    let after = page.id_cursor()?;
    let rows = transaction(&state.pool, move |conn| super::statements(conn, &who, &month, after, limit + 1)).await?;
    Ok(HttpResponse::Ok().json(Page::from_rows(rows, limit, |s| s.agent_id.to_string())))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// csv or xlsx
    #[param(pattern = "^(csv|xlsx)$")]
    pub format: String,
}

/// The month's settlement file; byte-identical on every download.
#[utoipa::path(get, tag = "settlement", params(("month" = String, Path), ExportQuery),
    responses((status = 200, description = "CSV (UTF-8 with BOM) or XLSX", content((String = "text/csv"), (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))), (status = 409, description = "period_open")), security(("bearer" = [])))]
#[get("/periods/{month}/export")]
pub async fn export(state: web::Data<AppState>, who: Principal, month: web::Path<String>, q: web::Query<ExportQuery>) -> Result<HttpResponse, AppError> {
    let (month, format) = (month.into_inner(), ExportFormat::parse(&q.format)?);
    let name = format!("settlement-{month}.{}", format.as_str());
    let bytes = transaction(&state.pool, move |conn| super::export::export(conn, &who, &month, format)).await?;
    Ok(HttpResponse::Ok().content_type(format.content_type()).insert_header(("Content-Disposition", format!("attachment; filename=\"{name}\""))).body(bytes))
}

/// One agent's statement: HQ, or the agent itself.
#[utoipa::path(get, tag = "settlement", params(("id" = i64, Path), ("month" = String, Path)), responses((status = 200, body = Statement), (status = 404)), security(("bearer" = [])))]
#[get("/agents/{id}/statements/{month}")]
pub async fn agent_statement(state: web::Data<AppState>, who: Principal, path: web::Path<(i64, String)>) -> Result<HttpResponse, AppError> {
    let (id, month) = path.into_inner();
    let s = transaction(&state.pool, move |conn| super::agent_statement(conn, &who, id, &month)).await?;
    Ok(HttpResponse::Ok().json(s))
}

#[derive(Debug, Default, Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisputeRequest {
    /// What is wrong, in the agent's words; required.
    #[schema(required = true, value_type = String)]
    pub reason: Option<String>,
}

/// The agent signs off its statement of a closed month; once (409 `already_reviewed`).
#[utoipa::path(post, tag = "settlement", params(("id" = i64, Path), ("month" = String, Path)),
    responses((status = 201, body = Review), (status = 404), (status = 409, description = "already_reviewed, period_open")), security(("bearer" = [])))]
#[post("/agents/{id}/statements/{month}/confirm")]
pub async fn confirm(state: web::Data<AppState>, who: Principal, path: web::Path<(i64, String)>) -> Result<HttpResponse, AppError> {
    let (id, month) = path.into_inner();
    let r = transaction(&state.pool, move |conn| super::reviews::review(conn, &who, id, &month, None)).await?;
    Ok(HttpResponse::Created().json(r))
}

/// The agent disputes its statement of a closed month, with a reason; once.
#[utoipa::path(post, tag = "settlement", params(("id" = i64, Path), ("month" = String, Path)), request_body = DisputeRequest,
    responses((status = 201, body = Review), (status = 400, description = "reason_required"), (status = 404), (status = 409, description = "already_reviewed")), security(("bearer" = [])))]
#[post("/agents/{id}/statements/{month}/dispute")]
pub async fn dispute(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<(i64, String)>,
    body: web::Json<DisputeRequest>,
) -> Result<HttpResponse, AppError> {
    let (id, month) = path.into_inner();
    let reason = body.into_inner().reason.unwrap_or_default();
    let r = transaction(&state.pool, move |conn| super::reviews::review(conn, &who, id, &month, Some(&reason))).await?;
    Ok(HttpResponse::Created().json(r))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DisputeListParams {
    /// confirmed, disputed or resolved
    #[param(pattern = "^(confirmed|disputed|resolved)$")]
    pub status: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// HQ: statement reviews by state — `status=disputed` is the queue of disputes.
#[utoipa::path(get, tag = "settlement", params(DisputeListParams), responses((status = 200, body = Page<Review>), (status = 400)), security(("bearer" = [])))]
#[get("/disputes")]
pub async fn disputes(state: web::Data<AppState>, who: Principal, params: web::Query<DisputeListParams>) -> Result<HttpResponse, AppError> {
    let p = params.into_inner();
    let page = PageQuery { limit: p.limit, cursor: p.cursor };
    let (limit, before) = (page.limit()?, page.id_cursor()?);
    let rows = crate::db::read(&state.pool, move |conn| super::reviews::list(conn, &who, p.status.as_deref(), before, limit + 1)).await?;
    Ok(HttpResponse::Ok().json(Page::from_rows(rows, limit, |r| r.id.to_string())))
}

#[derive(Debug, Default, Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {
    /// HQ's answer, shown to the agent; required.
    #[schema(required = true, value_type = String)]
    pub note: Option<String>,
    /// The approved adjustment (POST /adjustments) that corrected it, if money was owed.
    pub adjustment_id: Option<i64>,
}

/// HQ answers a dispute; once (409 `not_disputed`).
#[utoipa::path(post, tag = "settlement", params(("id" = i64, Path)), request_body = ResolveRequest,
    responses((status = 200, body = Review), (status = 400), (status = 404), (status = 409, description = "not_disputed")), security(("bearer" = [])))]
#[post("/disputes/{id}/resolve")]
pub async fn resolve(state: web::Data<AppState>, who: Principal, id: web::Path<i64>, body: web::Json<ResolveRequest>) -> Result<HttpResponse, AppError> {
    let (id, body) = (id.into_inner(), body.into_inner());
    let r = transaction(&state.pool, move |conn| super::reviews::resolve(conn, &who, id, body.note.as_deref(), body.adjustment_id)).await?;
    Ok(HttpResponse::Ok().json(r))
}
