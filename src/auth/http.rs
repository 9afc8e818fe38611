use std::future::Future;
use std::pin::Pin;

use actix_web::{dev::Payload, get, http::header, patch, post, web, FromRequest, HttpMessage, HttpRequest, HttpResponse};
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
#[utoipa::path(post, tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, description = "wrong brand, login or password"), (status = 429, description = "too_many_attempts (failed logins of this login) or rate_limited (logins from this address)")))]
#[post("/auth/login")]
pub async fn login(state: web::Data<AppState>, req: HttpRequest, body: web::Json<LoginRequest>) -> Result<HttpResponse, AppError> {
    state.login_limit.check_request(&req, "logins")?;
    let body = body.into_inner();
    let source = crate::auth::source_of(&req);
    let outcome = crate::db::transaction(&state.pool, move |conn| super::login(conn, &body.brand, &body.login, &body.password, &source)).await?;
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
#[utoipa::path(post, tag = "auth", responses((status = 204, description = "the token no longer works"), (status = 401)), security(("bearer" = [])))]
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

/// The id of this request: set by the `request_id` middleware (and sent back as
/// `X-Request-Id`), or made here when the app runs without it.
pub fn request_id(req: &HttpRequest) -> u64 {
    if let Some(RequestId(id)) = req.extensions().get::<RequestId>() {
        return *id;
    }
    let id = rand::random::<u64>() >> 1;
    req.extensions_mut().insert(RequestId(id));
    id
}

#[derive(Debug, Clone, Copy)]
pub struct RequestId(pub u64);

/// The caller as identified by the `gate` middleware, before any handler or extractor ran.
#[derive(Debug, Clone, Copy)]
pub struct Identified(pub Principal);

/// The gate every request passes: it gets an id (kept in its extensions and returned as
/// `X-Request-Id`), its caller is identified once (bearer token on `/api/`, the console's
/// cookie on `/console`), and a staff member whose role does not allow the route is refused
/// here — before any extractor reads the body, so no role sees a different answer for a
/// malformed request than for a good one.
pub async fn gate(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<actix_web::body::EitherBody<impl actix_web::body::MessageBody>>, actix_web::Error> {
    use actix_web::ResponseError;
    let id = rand::random::<u64>() >> 1;
    req.extensions_mut().insert(RequestId(id));
    let console = req.path().starts_with("/console");
    let token = if req.path().starts_with("/api/") {
        bearer(req.request())
    } else if console {
        req.cookie(crate::web::session::COOKIE).map(|c| c.value().to_owned()).filter(|t| !t.is_empty())
    } else {
        None
    };
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let refusal = match (token, state) {
        (Some(token), Some(state)) => match crate::db::read(&state.pool, move |conn| super::authenticate(conn, &token)).await {
            Ok(Some(mut who)) => {
                who.request = id;
                match who.require(route_need(req.request())) {
                    Ok(()) => {
                        req.extensions_mut().insert(Identified(who));
                        None
                    }
                    Err(e) => Some(e),
                }
            }
            // unknown or expired: the extractor answers 401 where a login is needed
            Ok(None) => None,
            Err(e) => Some(e),
        },
        _ => None,
    };
    let mut res = match refusal {
        Some(e) => {
            let resp = if console { crate::web::session::PageError(e).error_response() } else { e.error_response() };
            req.into_response(resp).map_into_right_body()
        }
        None => next.call(req).await?.map_into_left_body(),
    };
    if res.status().is_server_error() {
        log::error!("request {id:016x}: {} {} answered {}", res.request().method(), res.request().path(), res.status());
    }
    if let Ok(v) = header::HeaderValue::from_str(&format!("{id:016x}")) {
        res.headers_mut().insert(header::HeaderName::from_static("x-request-id"), v);
    }
    Ok(res)
}

/// What the matched route needs of a staff member (the policy's one table).
pub fn route_need(req: &HttpRequest) -> super::policy::Need {
    super::policy::need(req.method(), &req.match_pattern().unwrap_or_else(|| req.path().to_owned()))
}

impl FromRequest for Principal {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        if let Some(Identified(who)) = req.extensions().get::<Identified>() {
            let who = *who;
            return Box::pin(async move { Ok(who) });
        }
        // without the gate (it identifies every request of the app): the same, here
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer(req);
        let (request, need) = (request_id(req), route_need(req));
        Box::pin(async move {
            let state = state.ok_or_else(|| AppError::internal("application state missing"))?;
            let token = token.ok_or_else(|| AppError::unauthorized("missing bearer token"))?;
            let principal = crate::db::read(&state.pool, move |conn| super::authenticate(conn, &token)).await?;
            let mut principal = principal.ok_or_else(|| AppError::unauthorized("invalid or expired token"))?;
            principal.request = request;
            principal.require(need)?;
            Ok(principal)
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
#[utoipa::path(post, tag = "auth", request_body = PasswordRequest,
    responses((status = 204, description = "changed; other sessions ended"), (status = 401), (status = 422, description = "wrong_password, validation")), security(("bearer" = [])))]
#[post("/auth/password")]
pub async fn change_password(state: web::Data<AppState>, who: Principal, req: HttpRequest, body: web::Json<PasswordRequest>) -> Result<HttpResponse, AppError> {
    let token = bearer(&req).ok_or_else(|| AppError::unauthorized("missing bearer token"))?;
    let body = body.into_inner();
    crate::db::transaction(&state.pool, move |conn| super::change_password(conn, &who, &token, &body.old, &body.new)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// HQ's staff, with their roles.
#[utoipa::path(get, tag = "staff", responses((status = 200, body = Vec<super::staff::Staff>), (status = 403)), security(("bearer" = [])))]
#[get("/staff")]
pub async fn list_staff(state: web::Data<AppState>, who: Principal) -> Result<HttpResponse, AppError> {
    let staff = crate::db::read(&state.pool, move |conn| super::staff::list(conn, &who)).await?;
    Ok(HttpResponse::Ok().json(staff))
}

/// The owner adds a staff member with a role.
#[utoipa::path(post, tag = "staff", request_body = super::staff::NewStaff, params(("Idempotency-Key" = Option<String>, Header, description = "replay-safe retries")),
    responses((status = 201, body = super::staff::Staff), (status = 403, description = "role_forbidden"), (status = 409, description = "login_taken"), (status = 422)), security(("bearer" = [])))]
#[post("/staff")]
pub async fn create_staff(
    state: web::Data<AppState>,
    who: Principal,
    key: crate::idempotency::IdempotencyKey,
    body: web::Json<super::staff::NewStaff>,
) -> Result<HttpResponse, AppError> {
    let new = body.into_inner();
    let resp = crate::db::transaction(&state.pool, move |conn| {
        // the stored response never carries the password: the key's request is hashed
        crate::idempotency::once(conn, &who, &key, "POST /staff", &new, actix_web::http::StatusCode::CREATED, |conn| super::staff::create(conn, &who, &new))
    })
    .await?;
    Ok(resp.into_http())
}

/// The owner changes a staff member's name, role, or disables the login.
#[utoipa::path(patch, tag = "staff", params(("id" = i64, Path)), request_body = super::staff::StaffPatch,
    responses((status = 200, body = super::staff::Staff), (status = 403), (status = 404), (status = 409, description = "last_owner")), security(("bearer" = [])))]
#[patch("/staff/{id}")]
pub async fn update_staff(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<i64>,
    body: web::Json<super::staff::StaffPatch>,
) -> Result<HttpResponse, AppError> {
    let (id, patch) = (id.into_inner(), body.into_inner());
    let staff = crate::db::transaction(&state.pool, move |conn| super::staff::update(conn, &who, id, &patch)).await?;
    Ok(HttpResponse::Ok().json(staff))
}

/// The owner resets a staff member's password; that person's sessions end.
#[utoipa::path(post, tag = "staff", params(("id" = i64, Path)), request_body = super::staff::ResetPassword,
    responses((status = 204), (status = 403), (status = 404), (status = 422)), security(("bearer" = [])))]
#[post("/staff/{id}/password")]
pub async fn reset_staff_password(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<i64>,
    body: web::Json<super::staff::ResetPassword>,
) -> Result<HttpResponse, AppError> {
    let (id, body) = (id.into_inner(), body.into_inner());
    crate::db::transaction(&state.pool, move |conn| super::staff::reset_staff_password(conn, &who, id, &body.password)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The owner resets an agent's password; the agent's sessions end.
#[utoipa::path(post, tag = "staff", params(("id" = i64, Path)), request_body = super::staff::ResetPassword,
    responses((status = 204), (status = 403), (status = 404), (status = 422)), security(("bearer" = [])))]
#[post("/agents/{id}/password")]
pub async fn reset_agent_password(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<i64>,
    body: web::Json<super::staff::ResetPassword>,
) -> Result<HttpResponse, AppError> {
    let (id, body) = (id.into_inner(), body.into_inner());
    crate::db::transaction(&state.pool, move |conn| super::staff::reset_agent_password(conn, &who, id, &body.password)).await?;
    Ok(HttpResponse::NoContent().finish())
}
