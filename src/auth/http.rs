use std::future::Future;
use std::pin::Pin;

use actix_web::{dev::Payload, http::header, post, web, FromRequest, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::{LoginOutcome, LoginResponse, Principal};
use crate::error::{AppError, ErrorKind};
use crate::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Brand code.
    pub brand: String,
    /// HQ admin login, or an agent's phone.
    pub login: String,
    pub password: String,
}

/// Log in as HQ or as an agent (agents use their phone).
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, description = "wrong brand, login or password"), (status = 429, description = "too_many_attempts (failed logins of this login) or rate_limited (logins from this address)")))]
#[post("/auth/login")]
pub async fn login(state: web::Data<AppState>, req: HttpRequest, body: web::Json<LoginRequest>) -> Result<HttpResponse, AppError> {
    if let Some(ip) = req.peer_addr().map(|a| a.ip()) {
        state.login_limit.check(ip).map_err(|retry_after_secs| {
            AppError::new(ErrorKind::TooManyRequests { retry_after_secs }, "rate_limited", format!("too many logins from this address; try again in {retry_after_secs} s"))
        })?;
    }
    let body = body.into_inner();
    let outcome = crate::db::transaction(&state.pool, move |conn| super::login(conn, &body.brand, &body.login, &body.password)).await?;
    match outcome {
        LoginOutcome::Success(resp) => Ok(HttpResponse::Ok().json(resp)),
        LoginOutcome::BadCredentials => Err(AppError::unauthorized("wrong brand, login or password")),
        LoginOutcome::Throttled { retry_after_secs } => Err(AppError::new(
            ErrorKind::TooManyRequests { retry_after_secs },
            "too_many_attempts",
            format!("too many failed logins; try again in {retry_after_secs} s"),
        )),
    }
}

/// Ends the session of the bearer token used (the token stops working at once).
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 204, description = "the token no longer works"), (status = 401)), security(("bearer" = [])))]
#[post("/auth/logout")]
pub async fn logout(state: web::Data<AppState>, who: Principal, req: HttpRequest) -> Result<HttpResponse, AppError> {
    let token = bearer(&req).ok_or_else(|| AppError::unauthorized("missing bearer token"))?;
    crate::db::read(&state.pool, move |conn| super::logout(conn, who.brand_id, &token)).await?;
    Ok(HttpResponse::NoContent().finish())
}

fn bearer(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(|t| t.trim().to_owned())
}

impl FromRequest for Principal {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer(req);
        Box::pin(async move {
            let state = state.ok_or_else(|| AppError::internal("application state missing"))?;
            let token = token.ok_or_else(|| AppError::unauthorized("missing bearer token"))?;
            let principal = crate::db::read(&state.pool, move |conn| super::authenticate(conn, &token)).await?;
            principal.ok_or_else(|| AppError::unauthorized("invalid or expired token"))
        })
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordRequest {
    pub old: String,
    /// At least 8 characters.
    pub new: String,
}

/// Changes the caller's own password (HQ staff or agent); every other session of the caller ends.
#[utoipa::path(post, path = "/api/v1/auth/password", tag = "auth", request_body = PasswordRequest,
    responses((status = 204, description = "changed; other sessions ended"), (status = 401), (status = 422, description = "wrong_password, validation")), security(("bearer" = [])))]
#[post("/auth/password")]
pub async fn change_password(state: web::Data<AppState>, who: Principal, req: HttpRequest, body: web::Json<PasswordRequest>) -> Result<HttpResponse, AppError> {
    let token = bearer(&req).ok_or_else(|| AppError::unauthorized("missing bearer token"))?;
    let body = body.into_inner();
    crate::db::transaction(&state.pool, move |conn| super::change_password(conn, &who, &token, &body.old, &body.new)).await?;
    Ok(HttpResponse::NoContent().finish())
}
