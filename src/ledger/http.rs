use actix_web::http::StatusCode;
use actix_web::{get, post, put, web, HttpResponse};
use serde::Deserialize;

use super::payee::{Payee, PayeeInput};
use super::withdrawals::{QueuedWithdrawal, QuoteView};
use super::{Earnings, Wallet, Withdrawal, WithdrawalRequest};
use crate::auth::Principal;
use crate::db::transaction;
use crate::error::AppError;
use crate::idempotency::{self, IdempotencyKey};
use crate::pagination::{Page, PageQuery};
use crate::AppState;

/// Balance, pending (held) cuts, available and pending withdrawals: HQ, or the agent itself.
#[utoipa::path(get, tag = "ledger", params(("id" = i64, Path)), responses((status = 200, body = Wallet), (status = 404)), security(("bearer" = [])))]
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
#[utoipa::path(get, tag = "ledger", params(("id" = i64, Path), MonthQuery), responses((status = 200, body = Earnings), (status = 404)), security(("bearer" = [])))]
#[get("/agents/{id}/earnings")]
pub async fn earnings(state: web::Data<AppState>, who: Principal, id: web::Path<i64>, q: web::Query<MonthQuery>) -> Result<HttpResponse, AppError> {
    let (id, month) = (id.into_inner(), q.into_inner().month);
    let earnings = transaction(&state.pool, move |conn| super::earnings(conn, &who, id, &month)).await?;
    Ok(HttpResponse::Ok().json(earnings))
}

/// The agent asks to be paid: never more than `available`, within the brand's limits, to its
/// payee; the fee and tax it was quoted are fixed on the request. HQ (finance) may ask for an
/// exited agent, to pay out what it has left: that one is approved at once.
#[utoipa::path(post, tag = "ledger", params(("id" = i64, Path), ("Idempotency-Key" = Option<String>, Header, description = "replay-safe retries")),
    request_body = WithdrawalRequest, responses((status = 201, body = Withdrawal), (status = 409, description = "insufficient_funds, no_payee, not_exited"), (status = 422, description = "below_minimum, above_maximum, nothing_left")), security(("bearer" = [])))]
#[post("/agents/{id}/withdrawals")]
pub async fn request_withdrawal(
    state: web::Data<AppState>,
    who: Principal,
    key: IdempotencyKey,
    id: web::Path<i64>,
    body: web::Json<WithdrawalRequest>,
) -> Result<HttpResponse, AppError> {
    let (id, req) = (id.into_inner(), body.into_inner());
    let resp = transaction(&state.pool, move |conn| {
        idempotency::once(conn, &who, &key, &format!("POST /agents/{id}/withdrawals"), &req, StatusCode::CREATED, |conn| {
            super::withdrawals::request(conn, &who, id, &req)
        })
    })
    .await?;
    Ok(resp.into_http())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct QuoteParams {
    /// The amount the agent would ask for.
    #[param(value_type = String, pattern = "^[0-9]{1,12}(\\.[0-9]{1,2})?$")]
    #[serde(deserialize_with = "crate::amount::money")]
    pub amount: rust_decimal::Decimal,
}

/// What asking for `amount` would cost and pay (fee, tax, net), with the wallet and the rules:
/// shown before the agent asks. The agent itself or HQ.
#[utoipa::path(get, tag = "ledger", params(("id" = i64, Path), QuoteParams),
    responses((status = 200, body = QuoteView), (status = 404), (status = 422, description = "below_minimum, above_maximum, nothing_left")), security(("bearer" = [])))]
#[get("/agents/{id}/withdrawals/quote")]
pub async fn quote(state: web::Data<AppState>, who: Principal, id: web::Path<i64>, q: web::Query<QuoteParams>) -> Result<HttpResponse, AppError> {
    let (id, amount) = (id.into_inner(), q.into_inner().amount);
    let view = crate::db::read(&state.pool, move |conn| super::withdrawals::preview(conn, &who, id, amount)).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Where the agent is paid (masked): the agent itself or HQ. 404 until one is set.
#[utoipa::path(get, tag = "ledger", params(("id" = i64, Path)), responses((status = 200, body = Payee), (status = 404)), security(("bearer" = [])))]
#[get("/agents/{id}/payee")]
pub async fn get_payee(state: web::Data<AppState>, who: Principal, id: web::Path<i64>) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let payee = crate::db::read(&state.pool, move |conn| super::payee::get(conn, &who, id)).await?;
    payee.map(|p| HttpResponse::Ok().json(p)).ok_or_else(|| AppError::not_found(format!("agent {id} has not set where to be paid")))
}

/// The agent itself sets where it is paid (bank card, Alipay or WeChat); returned masked.
#[utoipa::path(put, tag = "ledger", params(("id" = i64, Path)), request_body = PayeeInput,
    responses((status = 200, body = Payee), (status = 403), (status = 404), (status = 422)), security(("bearer" = [])))]
#[put("/agents/{id}/payee")]
pub async fn put_payee(state: web::Data<AppState>, who: Principal, id: web::Path<i64>, body: web::Json<PayeeInput>) -> Result<HttpResponse, AppError> {
    let (id, input) = (id.into_inner(), body.into_inner());
    let payee = transaction(&state.pool, move |conn| super::payee::set(conn, &who, id, &input)).await?;
    Ok(HttpResponse::Ok().json(payee))
}

/// One withdrawal: HQ, or the agent it belongs to.
#[utoipa::path(get, tag = "ledger", params(("id" = i64, Path)), responses((status = 200, body = Withdrawal), (status = 404)), security(("bearer" = [])))]
#[get("/withdrawals/{id}")]
pub async fn get_withdrawal(state: web::Data<AppState>, who: Principal, id: web::Path<i64>) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let w = crate::db::read(&state.pool, move |conn| super::withdrawals::get(conn, &who, id)).await?;
    Ok(HttpResponse::Ok().json(w))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct WithdrawalListParams {
    /// requested, approved, paid, rejected or failed
    #[param(pattern = "^(requested|approved|paid|rejected|failed)$")]
    pub status: Option<String>,
    /// One agent's withdrawals (an agent: only its own).
    pub agent_id: Option<i64>,
    /// Requested in this month (YYYY-MM).
    pub month: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// The queue (`status=requested`) and the history, newest first.
#[utoipa::path(get, tag = "ledger", params(WithdrawalListParams),
    responses((status = 200, body = Page<QueuedWithdrawal>), (status = 400), (status = 404)), security(("bearer" = [])))]
#[get("/withdrawals")]
pub async fn list(state: web::Data<AppState>, who: Principal, params: web::Query<WithdrawalListParams>) -> Result<HttpResponse, AppError> {
    let p = params.into_inner();
    let page = PageQuery { limit: p.limit, cursor: p.cursor };
    let (limit, before) = (page.limit()?, page.id_cursor()?);
    let f = super::withdrawals::ListFilter { status: p.status, agent_id: p.agent_id, month: p.month };
    let rows = crate::db::read(state.reads(), move |conn| super::withdrawals::list(conn, &who, &f, before, limit + 1)).await?;
    Ok(HttpResponse::Ok().json(Page::from_rows(rows, limit, |w| w.withdrawal.id.to_string())))
}
