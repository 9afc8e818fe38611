//! The portal's session: the agent's API token in its own cookie (`al_agent`, path `/m`,
//! HttpOnly, SameSite=Strict, kept 30 days on the phone), its CSRF token, and the one mapping
//! of service errors to portal pages (401 → the portal's login; a 500 hides internal text).

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{time::Duration, Cookie, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::{dev::Payload, web, FromRequest, HttpRequest, HttpResponse, ResponseError};
use askama::Template;

use crate::auth::Principal;
use crate::error::{AppError, ErrorKind};
use crate::AppState;

pub const COOKIE: &str = "al_agent";

/// A logged-in agent: its principal, its id, and the CSRF token its forms carry.
pub struct AgentUser {
    pub who: Principal,
    pub id: i64,
    pub csrf: String,
}

pub fn session_cookie(token: &str) -> Cookie<'static> {
    Cookie::build(COOKIE, token.to_owned()).path("/m").http_only(true).same_site(SameSite::Strict).max_age(Duration::days(30)).finish()
}

pub fn expired_cookie() -> Cookie<'static> {
    let mut c = session_cookie("");
    c.make_removal();
    c
}

impl AgentUser {
    pub fn check_csrf(&self, sent: &str) -> Result<(), PortalError> {
        if sent == self.csrf {
            Ok(())
        } else {
            Err(PortalError(AppError::forbidden("this form is stale (CSRF token missing or wrong); reload the page and try again")))
        }
    }
}

impl FromRequest for AgentUser {
    type Error = PortalError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = req.cookie(COOKIE).map(|c| c.value().to_owned()).filter(|t| !t.is_empty());
        Box::pin(async move {
            let state = state.ok_or_else(|| PortalError(AppError::internal("application state missing")))?;
            let token = token.ok_or_else(|| PortalError(AppError::unauthorized("not logged in")))?;
            let lookup = token.clone();
            // the phone stays logged in: each use slides the session 30 days ahead (a write at
            // most once a day per session)
            let who = crate::db::read(&state.pool, move |conn| {
                let who = crate::auth::authenticate(conn, &lookup)?;
                if let Some(w) = &who {
                    crate::auth::keep_alive(conn, w.brand_id, &lookup)?;
                }
                Ok(who)
            })
            .await
            .map_err(PortalError)?
            .ok_or_else(|| PortalError(AppError::unauthorized("session expired")))?;
            let id = who.agent_id().ok_or_else(|| PortalError(AppError::unauthorized("the portal is for agents")))?;
            Ok(AgentUser { who, id, csrf: crate::web::session::csrf_token(&token) })
        })
    }
}

#[derive(Debug)]
pub struct PortalError(pub AppError);

impl From<AppError> for PortalError {
    fn from(e: AppError) -> Self {
        PortalError(e)
    }
}

impl std::fmt::Display for PortalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Template)]
#[template(path = "m/error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    detail: &'a str,
}

impl ResponseError for PortalError {
    fn status_code(&self) -> StatusCode {
        self.0.status_code()
    }

    fn error_response(&self) -> HttpResponse {
        if self.0.kind == ErrorKind::Unauthorized {
            return HttpResponse::SeeOther().insert_header((header::LOCATION, "/m/login")).cookie(expired_cookie()).finish();
        }
        let status = self.status_code();
        if status.is_server_error() {
            log::error!("portal error: {}", self.0);
        }
        let title = match status.as_u16() {
            404 => "找不到 Not found",
            403 => "无权操作 Not allowed",
            409 => "无法完成 Cannot do that now",
            400 | 422 => "请检查输入 Check what you entered",
            _ => "出错了 Something went wrong",
        };
        let detail =
            if status.is_server_error() { "服务暂时出错，请稍后再试。 The service failed; please try again." } else { self.0.detail.as_str() };
        let body = ErrorPage { title, detail }.render().unwrap_or_else(|_| detail.to_owned());
        HttpResponse::build(status).content_type("text/html; charset=utf-8").body(body)
    }
}
