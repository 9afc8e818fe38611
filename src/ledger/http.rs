use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;

use super::withdrawals::{QueuedWithdrawal, RejectRequest};
use super::{Earnings, Wallet, Withdrawal, WithdrawalRequest};
use crate::pagination::{Page, PageQuery};
use crate::auth::Principal;
use crate::db::transaction;
use crate::error::AppError;
use crate::idempotency::{self, IdempotencyKey};
use crate::AppState;

/// Balance, pending (held) cuts, available and pending withdrawals: HQ, or the agent itself.
#[utoipa::path(get, path = "/api/v1/agents/{id}/wallet", tag = "ledger", params(("id" = i64, Path)), responses((status = 200, body = Wallet), (status = 404)), security(("bearer" = [])))]
#[get("/agents/{id}/wallet")]
pub async fn wallet(state: web::Data<AppState>, who: Principal, id: web::Path<i64>) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let wallet = transaction(&state.pool, move |conn| super::wallet(conn, &who, id)).await?;
    Ok(HttpResponse::Ok().json(wallet))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MonthQuery {
    /// YYYY-MM, in the brand's time zone.
    pub month: String,
}

/// Totals by kind for a month, with the postings behind them: HQ, or the agent itself.
#[utoipa::path(get, path = "/api/v1/agents/{id}/earnings", tag = "ledger", params(("id" = i64, Path), MonthQuery), responses((status = 200, body = Earnings), (status = 404)), security(("bearer" = [])))]
#[get("/agents/{id}/earnings")]
pub async fn earnings(state: web::Data<AppState>, who: Principal, id: web::Path<i64>, q: web::Query<MonthQuery>) -> Result<HttpResponse, AppError> {
    let (id, month) = (id.into_inner(), q.into_inner().month);
    let earnings = transaction(&state.pool, move |conn| super::earnings(conn, &who, id, &month)).await?;
    Ok(HttpResponse::Ok().json(earnings))
}

/// The agent asks to be paid; never more than `available`.
#[utoipa::path(post, path = "/api/v1/agents/{id}/withdrawals", tag = "ledger", params(("id" = i64, Path), ("Idempotency-Key" = Option<String>, Header, description = "replay-safe retries")),
    request_body = WithdrawalRequest, responses((status = 201, body = Withdrawal), (status = 409, description = "insufficient_funds")), security(("bearer" = [])))]
#[post("/agents/{id}/withdrawals")]
pub async fn request_withdrawal(state: web::Data<AppState>, who: Principal, key: IdempotencyKey, id: web::Path<i64>, body: web::Json<WithdrawalRequest>) -> Result<HttpResponse, AppError> {
    let (id, req) = (id.into_inner(), body.into_inner());
    let resp = transaction(&state.pool, move |conn| {
        idempotency::once(conn, &who, &key, &format!("POST /agents/{id}/withdrawals"), &req, StatusCode::CREATED, |conn| super::withdrawals::request(conn, &who, id, req.amount))
    })
    .await?;
    Ok(resp.into_http())
}

#[utoipa::path(post, path = "/api/v1/withdrawals/{id}/approve", tag = "ledger", params(("id" = i64, Path)), responses((status = 200, body = Withdrawal), (status = 409)), security(("bearer" = [])))]
#[post("/withdrawals/{id}/approve")]
pub async fn approve(state: web::Data<AppState>, who: Principal, id: web::Path<i64>) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let w = transaction(&state.pool, move |conn| super::withdrawals::decide(conn, &who, id, true, None)).await?;
    Ok(HttpResponse::Ok().json(w))
}

/// HQ rejects a requested withdrawal with a reason the agent sees; nothing is posted.
#[utoipa::path(post, path = "/api/v1/withdrawals/{id}/reject", tag = "ledger", params(("id" = i64, Path)), request_body = RejectRequest,
    responses((status = 200, body = Withdrawal), (status = 400, description = "reason_required"), (status = 409, description = "already_decided")), security(("bearer" = [])))]
#[post("/withdrawals/{id}/reject")]
pub async fn reject(state: web::Data<AppState>, who: Principal, id: web::Path<i64>, body: web::Json<RejectRequest>) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let reason = super::withdrawals::check_reason(body.reason.as_deref())?;
    let w = transaction(&state.pool, move |conn| super::withdrawals::decide(conn, &who, id, false, Some(reason))).await?;
    Ok(HttpResponse::Ok().json(w))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct WithdrawalListParams {
    /// requested, approved or rejected
    pub status: Option<String>,
    /// One agent's withdrawals (an agent: only its own).
    pub agent_id: Option<i64>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// The queue (`status=requested`) and the history, newest first.
#[utoipa::path(get, path = "/api/v1/withdrawals", tag = "ledger", params(WithdrawalListParams),
    responses((status = 200, body = Page<QueuedWithdrawal>), (status = 400), (status = 404)), security(("bearer" = [])))]
#[get("/withdrawals")]
pub async fn list(state: web::Data<AppState>, who: Principal, params: web::Query<WithdrawalListParams>) -> Result<HttpResponse, AppError> {
    let p = params.into_inner();
    let page = PageQuery { limit: p.limit, cursor: p.cursor };
    let (limit, before) = (page.limit()?, page.id_cursor()?);
    let f = super::withdrawals::ListFilter { status: p.status, agent_id: p.agent_id };
    let rows = crate::db::read(&state.pool, move |conn| super::withdrawals::list(conn, &who, &f, before, limit + 1)).await?;
    Ok(HttpResponse::Ok().json(Page::from_rows(rows, limit, |w| w.withdrawal.id.to_string())))
}
