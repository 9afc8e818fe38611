use actix_web::{get, patch, web, HttpResponse};

use super::{Settings, SettingsPatch};
use crate::auth::Principal;
use crate::error::AppError;
use crate::AppState;

/// The brand's settings.
#[utoipa::path(get, tag = "settings", responses((status = 200, body = Settings), (status = 403)), security(("bearer" = [])))]
#[get("/settings")]
pub async fn get_settings(state: web::Data<AppState>, who: Principal) -> Result<HttpResponse, AppError> {
    who.require_hq()?;
    let settings = crate::db::transaction(&state.pool, move |conn| super::settings(conn, who.brand_id)).await?;
    Ok(HttpResponse::Ok().json(settings))
}

/// Changes some settings; absent fields stay as they are.
#[utoipa::path(patch, tag = "settings", request_body = SettingsPatch, responses((status = 200, body = Settings), (status = 403), (status = 422)), security(("bearer" = [])))]
#[patch("/settings")]
pub async fn patch_settings(state: web::Data<AppState>, who: Principal, body: web::Json<SettingsPatch>) -> Result<HttpResponse, AppError> {
    let patch = body.into_inner();
    let settings = crate::db::transaction(&state.pool, move |conn| super::patch_settings(conn, &who, patch)).await?;
    Ok(HttpResponse::Ok().json(settings))
}
