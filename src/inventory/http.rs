use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};

use super::{Adjustment, AdjustmentResult, StockLine};
use crate::auth::Principal;
use crate::db::transaction;
use crate::error::AppError;
use crate::idempotency::{self, IdempotencyKey};
use crate::AppState;

/// Opening stock or a stock-count correction (HQ).
#[utoipa::path(post, tag = "inventory", request_body = Adjustment,
    params(("Idempotency-Key" = Option<String>, Header, description = "replay-safe retries")),
    responses((status = 201, body = AdjustmentResult), (status = 409, description = "insufficient_stock"), (status = 422)), security(("bearer" = [])))]
#[post("/inventory/adjustments")]
pub async fn adjust(state: web::Data<AppState>, who: Principal, key: IdempotencyKey, body: web::Json<Adjustment>) -> Result<HttpResponse, AppError> {
    let adj = body.into_inner();
    let resp = transaction(&state.pool, move |conn| {
        idempotency::once(conn, &who, &key, "POST /inventory/adjustments", &adj, StatusCode::CREATED, |conn| super::adjust(conn, &who, &adj))
    })
    .await?;
    Ok(resp.into_http())
}

/// Stock on hand with moving average cost: HQ, or an agent for its subtree.
#[utoipa::path(get, tag = "inventory", params(("id" = i64, Path)), responses((status = 200, body = Vec<StockLine>), (status = 404)), security(("bearer" = [])))]
#[get("/agents/{id}/inventory")]
pub async fn agent_inventory(state: web::Data<AppState>, who: Principal, id: web::Path<i64>) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let lines = transaction(&state.pool, move |conn| super::agent_stock(conn, &who, id)).await?;
    Ok(HttpResponse::Ok().json(lines))
}
