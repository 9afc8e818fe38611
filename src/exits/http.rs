use actix_web::{post, web, HttpResponse};

use super::ExitResult;
use crate::auth::Principal;
use crate::db::transaction;
use crate::error::AppError;
use crate::AppState;

/// The agent exits: buyback of stock bought within 12 months, downline to its parent,
/// status exited. Repeating it returns the first result.
#[utoipa::path(post, tag = "agents", params(("id" = i64, Path)), responses((status = 200, body = ExitResult), (status = 403), (status = 404)), security(("bearer" = [])))]
#[post("/agents/{id}/exit")]
pub async fn exit(state: web::Data<AppState>, who: Principal, id: web::Path<i64>) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let result = transaction(&state.pool, move |conn| super::exit(conn, &who, id)).await?;
    Ok(HttpResponse::Ok().json(result))
}
