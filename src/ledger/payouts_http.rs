//! HTTP for money out after the request: approve, reject, pay, fail, the payout file and
//! its batches, and the adjustments.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;

use super::adjustments::{Adjustment, AdjustmentView, NewAdjustment};
use super::payout_file::{Batch, Selection};
use super::payouts::{FailRequest, PayRequest};
use super::withdrawals::{RejectRequest, Withdrawal};
use crate::auth::Principal;
use crate::db::transaction;
use crate::error::AppError;
use crate::idempotency::{self, IdempotencyKey};
use crate::pagination::{Page, PageQuery};
use crate::settlement::export::ExportFormat;
use crate::AppState;

/// Finance approves a requested withdrawal: the wallet pays amount (net, fee and tax as
/// their own lines) and HQ owes the net to the payee. Once (409 `already_decided`).
#[utoipa::path(post, tag = "payouts", params(("id" = i64, Path)), responses((status = 200, body = Withdrawal), (status = 403), (status = 409, description = "already_decided")), security(("bearer" = [])))]
#[post("/withdrawals/{id}/approve")]
pub async fn approve(state: web::Data<AppState>, who: Principal, id: web::Path<i64>) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let w = transaction(&state.pool, move |conn| super::payouts::approve(conn, &who, id)).await?;
    Ok(HttpResponse::Ok().json(w))
}

/// Finance rejects a requested withdrawal with a reason the agent sees; nothing is posted.
#[utoipa::path(post, tag = "payouts", params(("id" = i64, Path)), request_body = RejectRequest,
    responses((status = 200, body = Withdrawal), (status = 400, description = "reason_required"), (status = 409, description = "already_decided")), security(("bearer" = [])))]
#[post("/withdrawals/{id}/reject")]
pub async fn reject(state: web::Data<AppState>, who: Principal, id: web::Path<i64>, body: web::Json<RejectRequest>) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let reason = super::withdrawals::check_reason(body.reason.as_deref())?;
    let w = transaction(&state.pool, move |conn| super::payouts::reject(conn, &who, id, reason)).await?;
    Ok(HttpResponse::Ok().json(w))
}

/// Finance records the bank's transfer of an approved withdrawal, with its reference. Once:
/// a second payment of the same withdrawal is 409 `already_paid`.
#[utoipa::path(post, tag = "payouts", params(("id" = i64, Path)), request_body = PayRequest,
    responses((status = 200, body = Withdrawal), (status = 400, description = "reference_required"), (status = 409, description = "already_paid, already_failed, wrong_state")), security(("bearer" = [])))]
#[post("/withdrawals/{id}/pay")]
pub async fn pay(state: web::Data<AppState>, who: Principal, id: web::Path<i64>, body: web::Json<PayRequest>) -> Result<HttpResponse, AppError> {
    let (id, req) = (id.into_inner(), body.into_inner());
    let w = transaction(&state.pool, move |conn| super::payouts::pay(conn, &who, id, &req)).await?;
    Ok(HttpResponse::Ok().json(w))
}

/// Finance records that the transfer of an approved withdrawal failed: the whole amount
/// returns to the wallet. Once.
#[utoipa::path(post, tag = "payouts", params(("id" = i64, Path)), request_body = FailRequest,
    responses((status = 200, body = Withdrawal), (status = 400, description = "reason_required"), (status = 409, description = "already_paid, already_failed, wrong_state")), security(("bearer" = [])))]
#[post("/withdrawals/{id}/fail")]
pub async fn fail(state: web::Data<AppState>, who: Principal, id: web::Path<i64>, body: web::Json<FailRequest>) -> Result<HttpResponse, AppError> {
    let (id, req) = (id.into_inner(), body.into_inner());
    let w = transaction(&state.pool, move |conn| super::payouts::fail(conn, &who, id, &req)).await?;
    Ok(HttpResponse::Ok().json(w))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PayoutExportParams {
    /// `approved` (default): every withdrawal awaiting payment; new ones join the next batch.
    #[param(pattern = "^approved$")]
    pub status: Option<String>,
    /// One batch exactly, as first exported (instead of `status`).
    pub batch: Option<i32>,
    /// csv (default) or xlsx
    #[param(pattern = "^(csv|xlsx)$")]
    pub format: Option<String>,
}

/// The bank's batch-transfer file: payee, whole account, amount, fee, tax, net. Finance.
/// The response's `X-Payout-Batch` names the batch this download opened, if any.
#[utoipa::path(get, tag = "payouts", params(PayoutExportParams),
    responses((status = 200, description = "the file: CSV (UTF-8 with BOM) or XLSX", content((String = "text/csv"), (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))), (status = 400), (status = 403), (status = 404)), security(("bearer" = [])))]
#[get("/payouts/export")]
pub async fn export(state: web::Data<AppState>, who: Principal, q: web::Query<PayoutExportParams>) -> Result<HttpResponse, AppError> {
    let q = q.into_inner();
    let format = ExportFormat::parse(q.format.as_deref().unwrap_or("csv"))?;
    let sel = match (q.status.as_deref(), q.batch) {
        (None | Some("approved"), None) => Selection::Approved,
        (None, Some(n)) => Selection::Batch(n),
        (Some("approved"), Some(_)) => return Err(AppError::validation("give either status=approved or batch=N, not both")),
        (Some(s), _) => {
            return Err(AppError::bad_request("invalid_query", format!("status {s:?}: the payout file is of approved withdrawals (status=approved)")))
        }
    };
    let (bytes, opened) = transaction(&state.pool, move |conn| super::payout_file::export(conn, &who, sel, format)).await?;
    let name = match sel {
        Selection::Batch(n) => format!("payouts-batch-{n}.{}", format.as_str()),
        Selection::Approved => format!("payouts-approved.{}", format.as_str()),
    };
    let mut resp = HttpResponse::Ok();
    resp.content_type(format.content_type()).insert_header(("Content-Disposition", format!("attachment; filename=\"{name}\"")));
    if let Some(n) = opened {
        resp.insert_header(("X-Payout-Batch", n.to_string()));
    }
    Ok(resp.body(bytes))
}

/// The payout batches, newest first, with how many of each are paid, failed or waiting.
#[utoipa::path(get, tag = "payouts", responses((status = 200, body = Vec<Batch>), (status = 403)), security(("bearer" = [])))]
#[get("/payouts/batches")]
pub async fn batches(state: web::Data<AppState>, who: Principal) -> Result<HttpResponse, AppError> {
    let rows = crate::db::read(&state.pool, move |conn| super::payout_file::batches(conn, &who)).await?;
    Ok(HttpResponse::Ok().json(rows))
}

/// A staff member (finance) makes a manual credit or debit of a wallet; it is posted only
/// when another staff member approves it.
#[utoipa::path(post, tag = "payouts", request_body = NewAdjustment, params(("Idempotency-Key" = Option<String>, Header, description = "replay-safe retries")),
    responses((status = 201, body = Adjustment), (status = 400), (status = 403), (status = 422)), security(("bearer" = [])))]
#[post("/adjustments")]
pub async fn create_adjustment(
    state: web::Data<AppState>,
    who: Principal,
    key: IdempotencyKey,
    body: web::Json<NewAdjustment>,
) -> Result<HttpResponse, AppError> {
    let new = body.into_inner();
    let resp = transaction(&state.pool, move |conn| {
        idempotency::once(conn, &who, &key, "POST /adjustments", &new, StatusCode::CREATED, |conn| super::adjustments::create(conn, &who, &new))
    })
    .await?;
    Ok(resp.into_http())
}

/// Another staff member approves: the adjustment is posted. The maker cannot (403 `maker_checker`).
#[utoipa::path(post, tag = "payouts", params(("id" = i64, Path)),
    responses((status = 200, body = Adjustment), (status = 403, description = "maker_checker"), (status = 409, description = "already_decided")), security(("bearer" = [])))]
#[post("/adjustments/{id}/approve")]
pub async fn approve_adjustment(state: web::Data<AppState>, who: Principal, id: web::Path<i64>) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let a = transaction(&state.pool, move |conn| super::adjustments::approve(conn, &who, id)).await?;
    Ok(HttpResponse::Ok().json(a))
}

/// Rejects an adjustment with a reason; nothing is posted.
#[utoipa::path(post, tag = "payouts", params(("id" = i64, Path)), request_body = RejectRequest,
    responses((status = 200, body = Adjustment), (status = 400), (status = 409, description = "already_decided")), security(("bearer" = [])))]
#[post("/adjustments/{id}/reject")]
pub async fn reject_adjustment(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<i64>,
    body: web::Json<RejectRequest>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let reason = super::withdrawals::check_reason(body.reason.as_deref())?;
    let a = transaction(&state.pool, move |conn| super::adjustments::reject(conn, &who, id, reason)).await?;
    Ok(HttpResponse::Ok().json(a))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AdjustmentListParams {
    /// requested, approved or rejected
    #[param(pattern = "^(requested|approved|rejected)$")]
    pub status: Option<String>,
    pub agent_id: Option<i64>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Adjustments, newest first.
#[utoipa::path(get, tag = "payouts", params(AdjustmentListParams), responses((status = 200, body = Page<AdjustmentView>), (status = 400)), security(("bearer" = [])))]
#[get("/adjustments")]
pub async fn list_adjustments(state: web::Data<AppState>, who: Principal, q: web::Query<AdjustmentListParams>) -> Result<HttpResponse, AppError> {
    let q = q.into_inner();
    let page = PageQuery { limit: q.limit, cursor: q.cursor };
    let (limit, before) = (page.limit()?, page.id_cursor()?);
    let rows = crate::db::read(&state.pool, move |conn| super::adjustments::list(conn, &who, q.status.as_deref(), q.agent_id, before, limit + 1)).await?;
    Ok(HttpResponse::Ok().json(Page::from_rows(rows, limit, |a| a.adjustment.id.to_string())))
}
