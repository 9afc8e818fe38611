use actix_web::{get, post, put, web, HttpResponse};

use super::Published;
use crate::auth::Principal;
use crate::commission::{Plan, ValidationReport};
use crate::db::transaction;
use crate::error::AppError;
use crate::AppState;

/// The latest plan version.
#[utoipa::path(get, tag = "plan", responses((status = 200, body = Plan), (status = 403)), security(("bearer" = [])))]
#[get("/plan")]
pub async fn get_plan(state: web::Data<AppState>, who: Principal) -> Result<HttpResponse, AppError> {
    who.require_hq()?;
    let plan = transaction(&state.pool, move |conn| super::current(conn, who.brand_id)).await?;
    Ok(HttpResponse::Ok().json(plan))
}

/// Every published version, newest first.
#[utoipa::path(get, tag = "plan", responses((status = 200, body = Vec<super::VersionView>), (status = 403)), security(("bearer" = [])))]
#[get("/plan/versions")]
pub async fn versions(state: web::Data<AppState>, who: Principal) -> Result<HttpResponse, AppError> {
    let versions = crate::db::read(&state.pool, move |conn| super::versions(conn, &who)).await?;
    Ok(HttpResponse::Ok().json(versions))
}

/// Publishes a new version (the body's `version` is ignored). Errors refuse it (422 with
/// `errors` and `warnings`); warnings come back with the accepted version.
/// With an `Idempotency-Key`, a retry answers the first publication instead of adding a
/// second version.
#[utoipa::path(put, tag = "plan", request_body = Plan, params(("Idempotency-Key" = Option<String>, Header, description = "replay-safe retries")),
    responses((status = 200, body = Published), (status = 409, description = "plan_in_use, idempotency_conflict"), (status = 422, description = "plan_invalid")), security(("bearer" = [])))]
#[put("/plan")]
pub async fn put_plan(
    state: web::Data<AppState>,
    who: Principal,
    key: crate::idempotency::IdempotencyKey,
    body: web::Json<Plan>,
) -> Result<HttpResponse, AppError> {
    let plan = body.into_inner();
    let resp = transaction(&state.pool, move |conn| {
        crate::idempotency::once(conn, &who, &key, "PUT /plan", &plan, actix_web::http::StatusCode::OK, |conn| super::publish(conn, &who, plan.clone()))
    })
    .await?;
    Ok(resp.into_http())
}

/// Validates a proposed plan without publishing it.
#[utoipa::path(post, tag = "plan", request_body = Plan, responses((status = 200, body = ValidationReport)), security(("bearer" = [])))]
#[post("/plan/validate")]
pub async fn validate(state: web::Data<AppState>, who: Principal, body: web::Json<Plan>) -> Result<HttpResponse, AppError> {
    who.require_hq()?;
    let plan = body.into_inner();
    let report = transaction(&state.pool, move |conn| super::validate(conn, who.brand_id, &plan)).await?;
    Ok(HttpResponse::Ok().json(report))
}

/// Replays closed months under a proposed plan and compares with what was paid; writes
/// nothing (one read-only snapshot).
#[utoipa::path(post, tag = "plan", request_body = super::whatif::WhatIfRequest,
    responses((status = 200, body = super::whatif::WhatIf), (status = 400), (status = 403), (status = 409, description = "period_open"), (status = 422)), security(("bearer" = [])))]
#[post("/plan/what-if")]
pub async fn what_if(state: web::Data<AppState>, who: Principal, body: web::Json<super::whatif::WhatIfRequest>) -> Result<HttpResponse, AppError> {
    who.require_hq()?;
    let req = body.into_inner();
    let result =
        crate::db::read(&state.pool, move |conn| conn.build_transaction().read_only().repeatable_read().run(|conn| super::whatif::what_if(conn, &who, &req)))
            .await?;
    Ok(HttpResponse::Ok().json(result))
}
