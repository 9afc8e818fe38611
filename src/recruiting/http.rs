use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::applications::{Application, ApplicationRequest, Created};
use super::certificates::{Certificate, PublicCertificate};
use super::invites::Invite;
use crate::auth::Principal;
use crate::db::transaction;
use crate::error::AppError;
use crate::ledger::withdrawals::RejectRequest;
use crate::AppState;

/// The site's own address as the client reached it, for links and QR codes.
pub fn base_url(req: &HttpRequest) -> String {
    let ci = req.connection_info();
    format!("{}://{}", ci.scheme(), ci.host())
}

/// Public writes and lookups are limited per client address.
pub fn limited(state: &AppState, req: &HttpRequest) -> Result<(), AppError> {
    state.public_limit.check_request(req, "requests")
}

/// The agent's recruiting link (招代理) and its QR code: the agent itself or HQ.
#[utoipa::path(get, tag = "recruiting", params(("id" = i64, Path)),
    responses((status = 200, body = Invite), (status = 404), (status = 409, description = "not_active")), security(("bearer" = [])))]
#[get("/agents/{id}/invite")]
pub async fn invite(state: web::Data<AppState>, who: Principal, req: HttpRequest, id: web::Path<i64>) -> Result<HttpResponse, AppError> {
    let (id, base) = (id.into_inner(), base_url(&req));
    let found = transaction(&state.pool, move |conn| super::invites::get(conn, &who, id, &base)).await?;
    Ok(HttpResponse::Ok().json(found))
}

/// A new code; the old link stops working.
#[utoipa::path(post, tag = "recruiting", params(("id" = i64, Path)),
    responses((status = 200, body = Invite), (status = 404), (status = 409, description = "not_active")), security(("bearer" = [])))]
#[post("/agents/{id}/invite/renew")]
pub async fn renew(state: web::Data<AppState>, who: Principal, req: HttpRequest, id: web::Path<i64>) -> Result<HttpResponse, AppError> {
    let (id, base) = (id.into_inner(), base_url(&req));
    let renewed = transaction(&state.pool, move |conn| super::invites::renew(conn, &who, id, &base)).await?;
    Ok(HttpResponse::Ok().json(renewed))
}

/// The link stops working; none until the agent asks for its invite again.
#[utoipa::path(post, tag = "recruiting", params(("id" = i64, Path)), responses((status = 204), (status = 404)), security(("bearer" = [])))]
#[post("/agents/{id}/invite/revoke")]
pub async fn revoke(state: web::Data<AppState>, who: Principal, id: web::Path<i64>) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    transaction(&state.pool, move |conn| super::invites::revoke(conn, &who, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Applies to become an agent through an invite code (public, rate-limited per address).
#[utoipa::path(post, tag = "recruiting", request_body = ApplicationRequest,
    responses((status = 201, body = Created), (status = 404, description = "the code is not valid"), (status = 409, description = "phone_taken, already_applied"),
        (status = 422, description = "validation, unknown_tier, tier_above_inviter"), (status = 429)))]
#[post("/applications")]
pub async fn apply(state: web::Data<AppState>, req: HttpRequest, body: web::Json<ApplicationRequest>) -> Result<HttpResponse, AppError> {
    limited(&state, &req)?;
    let (body, source) = (body.into_inner(), crate::auth::source_of(&req));
    let created = transaction(&state.pool, move |conn| super::applications::apply(conn, &body, &source)).await?;
    Ok(HttpResponse::Created().json(created))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// pending, approved, rejected or expired
    #[param(pattern = "^(pending|approved|rejected|expired)$")]
    pub status: Option<String>,
}

/// Applications: HQ sees the brand's, an agent those addressed to it; newest first (200).
#[utoipa::path(get, tag = "recruiting", params(ListParams), responses((status = 200, body = Vec<Application>), (status = 400)), security(("bearer" = [])))]
#[get("/applications")]
pub async fn list(state: web::Data<AppState>, who: Principal, q: web::Query<ListParams>) -> Result<HttpResponse, AppError> {
    let status = q.into_inner().status;
    let rows = transaction(&state.pool, move |conn| super::applications::list(conn, &who, status.as_deref(), 200)).await?;
    Ok(HttpResponse::Ok().json(rows))
}

/// Approves at the caller's stage (the inviter, then HQ, as the brand set); the last approval
/// creates the agent under the inviter.
#[utoipa::path(post, tag = "recruiting", params(("id" = i64, Path)),
    responses((status = 200, body = Application), (status = 404), (status = 409, description = "already_decided, expired, waiting_for_inviter, waiting_for_hq, phone_taken, inviter_inactive")), security(("bearer" = [])))]
#[post("/applications/{id}/approve")]
pub async fn approve(state: web::Data<AppState>, who: Principal, id: web::Path<i64>) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let a = transaction(&state.pool, move |conn| super::applications::approve(conn, &who, id)).await?;
    Ok(HttpResponse::Ok().json(a))
}

/// Rejects with a reason the applicant sees on its link.
#[utoipa::path(post, tag = "recruiting", params(("id" = i64, Path)), request_body = RejectRequest,
    responses((status = 200, body = Application), (status = 400, description = "reason_required"), (status = 404), (status = 409)), security(("bearer" = [])))]
#[post("/applications/{id}/reject")]
pub async fn reject(state: web::Data<AppState>, who: Principal, id: web::Path<i64>, body: web::Json<RejectRequest>) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let reason = crate::ledger::withdrawals::check_reason(body.reason.as_deref())?;
    let a = transaction(&state.pool, move |conn| super::applications::reject(conn, &who, id, reason)).await?;
    Ok(HttpResponse::Ok().json(a))
}

/// The agent's 授权书: the agent itself or HQ.
#[utoipa::path(get, tag = "recruiting", params(("id" = i64, Path)), responses((status = 200, body = Certificate), (status = 404)), security(("bearer" = [])))]
#[get("/agents/{id}/certificate")]
pub async fn certificate(state: web::Data<AppState>, who: Principal, req: HttpRequest, id: web::Path<i64>) -> Result<HttpResponse, AppError> {
    let (id, base) = (id.into_inner(), base_url(&req));
    let c = transaction(&state.pool, move |conn| super::certificates::of_agent(conn, &who, id, &base)).await?;
    Ok(HttpResponse::Ok().json(c))
}

/// 授权查询: is this certificate genuine and valid? Anyone; rate-limited per address.
#[utoipa::path(get, tag = "recruiting", params(("number" = String, Path)),
    responses((status = 200, body = PublicCertificate), (status = 404, description = "no such certificate"), (status = 429)))]
#[get("/public/certificates/{number}")]
pub async fn check(state: web::Data<AppState>, req: HttpRequest, number: web::Path<String>) -> Result<HttpResponse, AppError> {
    limited(&state, &req)?;
    let number = number.into_inner();
    let found = crate::db::read(&state.pool, move |conn| super::certificates::check(conn, &number)).await?;
    found.map(|c| HttpResponse::Ok().json(c)).ok_or_else(|| AppError::not_found("no certificate has this number"))
}
