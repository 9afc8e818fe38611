//! JSON endpoints of upgrades by rule.

use actix_web::{delete, get, post, put, web, HttpResponse};
use serde::Deserialize;

use super::{AgentProgress, Proposal, RuleInput, RuleView, Rules, UpgradeRequest};
use crate::auth::Principal;
use crate::db::{read, transaction};
use crate::error::AppError;
use crate::ledger::withdrawals::RejectRequest;
use crate::AppState;

/// The brand's upgrade rules and its `upgrade_mode`, best tier first (HQ and agents).
#[utoipa::path(get, tag = "recruiting", responses((status = 200, body = Rules)), security(("bearer" = [])))]
#[get("/upgrades/rules")]
pub async fn rules(state: web::Data<AppState>, who: Principal) -> Result<HttpResponse, AppError> {
    let rules = read(&state.pool, move |conn| super::rules(conn, &who)).await?;
    Ok(HttpResponse::Ok().json(rules))
}

/// Sets or replaces the rule to reach a tier (owner).
#[utoipa::path(put, tag = "recruiting", params(("tier_id" = i64, Path)), request_body = RuleInput,
    responses((status = 200, body = RuleView), (status = 404, description = "no such tier"), (status = 422, description = "validation, entry_tier")), security(("bearer" = [])))]
#[put("/upgrades/rules/{tier_id}")]
pub async fn set_rule(state: web::Data<AppState>, who: Principal, tier_id: web::Path<i64>, body: web::Json<RuleInput>) -> Result<HttpResponse, AppError> {
    let (tier_id, body) = (tier_id.into_inner(), body.into_inner());
    let rule = transaction(&state.pool, move |conn| super::set_rule(conn, &who, tier_id, &body)).await?;
    Ok(HttpResponse::Ok().json(rule))
}

/// Removes the rule: the tier is then reached only by HQ's hand (owner).
#[utoipa::path(delete, tag = "recruiting", params(("tier_id" = i64, Path)), responses((status = 204), (status = 404)), security(("bearer" = [])))]
#[delete("/upgrades/rules/{tier_id}")]
pub async fn delete_rule(state: web::Data<AppState>, who: Principal, tier_id: web::Path<i64>) -> Result<HttpResponse, AppError> {
    let tier_id = tier_id.into_inner();
    transaction(&state.pool, move |conn| super::delete_rule(conn, &who, tier_id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// pending, applied, rejected or void
    #[param(pattern = "^(pending|applied|rejected|void)$")]
    pub status: Option<String>,
    pub agent_id: Option<i64>,
}

/// Upgrade proposals, newest first: HQ the brand's (the queue with `status=pending`), an agent its own.
#[utoipa::path(get, tag = "recruiting", params(ListParams), responses((status = 200, body = Vec<Proposal>), (status = 400), (status = 404)), security(("bearer" = [])))]
#[get("/upgrades")]
pub async fn list(state: web::Data<AppState>, who: Principal, q: web::Query<ListParams>) -> Result<HttpResponse, AppError> {
    let q = q.into_inner();
    let rows = read(&state.pool, move |conn| super::list(conn, &who, q.status.as_deref(), q.agent_id, 200)).await?;
    Ok(HttpResponse::Ok().json(rows))
}

/// HQ approves: the tier changes now, dated; once under concurrent clicks.
#[utoipa::path(post, tag = "recruiting", params(("id" = i64, Path)),
    responses((status = 200, body = Proposal), (status = 404), (status = 409, description = "already_decided, stale")), security(("bearer" = [])))]
#[post("/upgrades/{id}/approve")]
pub async fn approve(state: web::Data<AppState>, who: Principal, id: web::Path<i64>) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let p = transaction(&state.pool, move |conn| super::approve(conn, &who, id)).await?;
    Ok(HttpResponse::Ok().json(p))
}

/// HQ rejects with a reason the agent sees.
#[utoipa::path(post, tag = "recruiting", params(("id" = i64, Path)), request_body = RejectRequest,
    responses((status = 200, body = Proposal), (status = 400, description = "reason_required"), (status = 404), (status = 409, description = "already_decided")), security(("bearer" = [])))]
#[post("/upgrades/{id}/reject")]
pub async fn reject(state: web::Data<AppState>, who: Principal, id: web::Path<i64>, body: web::Json<RejectRequest>) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let reason = crate::ledger::withdrawals::check_reason(body.reason.as_deref())?;
    let p = transaction(&state.pool, move |conn| super::reject(conn, &who, id, reason)).await?;
    Ok(HttpResponse::Ok().json(p))
}

/// An agent's way up: each better tier's rule against its figures, and its proposal (the agent itself or HQ).
#[utoipa::path(get, tag = "recruiting", params(("id" = i64, Path)), responses((status = 200, body = AgentProgress), (status = 404)), security(("bearer" = [])))]
#[get("/agents/{id}/upgrade")]
pub async fn progress(state: web::Data<AppState>, who: Principal, id: web::Path<i64>) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let p = read(&state.pool, move |conn| super::progress(conn, &who, id)).await?;
    Ok(HttpResponse::Ok().json(p))
}

/// 申请升级: the agent applies for a better tier. 201 with the proposal (applied at once in
/// `auto`), 200 with the same one when asked again, 422 `not_qualified` with its figures.
#[utoipa::path(post, tag = "recruiting", params(("id" = i64, Path)), request_body = UpgradeRequest,
    responses((status = 201, body = Proposal), (status = 200, body = Proposal, description = "the same request again"), (status = 403, description = "HQ re-tiers with /tier"), (status = 404),
        (status = 409, description = "upgrades_off, not_active, already_pending"), (status = 422, description = "unknown_tier, not_better, no_rule, not_qualified (with `figures`)")), security(("bearer" = [])))]
#[post("/agents/{id}/upgrade")]
pub async fn request(state: web::Data<AppState>, who: Principal, id: web::Path<i64>, body: web::Json<UpgradeRequest>) -> Result<HttpResponse, AppError> {
    let (id, body) = (id.into_inner(), body.into_inner());
    let (p, created) = transaction(&state.pool, move |conn| super::request(conn, &who, id, &body)).await?;
    Ok(if created { HttpResponse::Created() } else { HttpResponse::Ok() }.json(p))
}
