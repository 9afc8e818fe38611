//! The console's session: the API token in an HttpOnly, SameSite=Strict cookie, the CSRF
//! token derived from it, and the one mapping of service errors to pages.

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::{dev::Payload, web, FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use askama::Template;
use sha2::{Digest, Sha256};

use crate::auth::Principal;
use crate::error::{AppError, ErrorKind};
use crate::AppState;

pub const COOKIE: &str = "al_session";

/// A logged-in HQ staff member: who, and the CSRF token its forms must carry.
pub struct ConsoleUser {
    pub who: Principal,
    pub csrf: String,
}

/// The CSRF token of a session: derived from its secret token, so it needs no storage and
/// dies with the session.
pub fn csrf_token(session_token: &str) -> String {
    hex::encode(&Sha256::digest(format!("agent-ledger csrf {session_token}").as_bytes())[..16])
}

pub fn session_cookie(token: &str) -> Cookie<'static> {
    Cookie::build(COOKIE, token.to_owned()).path("/").http_only(true).same_site(SameSite::Strict).finish()
}

pub fn expired_cookie() -> Cookie<'static> {
    let mut c = session_cookie("");
    c.make_removal();
    c
}

impl ConsoleUser {
    /// Refuses a form whose CSRF token is not this session's.
    pub fn check_csrf(&self, sent: &str) -> Result<(), PageError> {
        if sent.len() == self.csrf.len() && sent == self.csrf {
            Ok(())
        } else {
            Err(PageError(AppError::forbidden(
                "this form is stale or was not sent by the console (CSRF token missing or wrong); reload the page and try again",
            )))
        }
    }
}

impl FromRequest for ConsoleUser {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = req.cookie(COOKIE).map(|c| c.value().to_owned()).filter(|t| !t.is_empty());
        if let (Some(crate::auth::http::Identified(who)), Some(token)) = (req.extensions().get::<crate::auth::http::Identified>().copied(), token.clone()) {
            return Box::pin(async move {
                if !who.is_hq() {
                    return Err(PageError(AppError::unauthorized("the console is for HQ staff")));
                }
                Ok(ConsoleUser { who, csrf: csrf_token(&token) })
            });
        }
        let (request, need) = (crate::auth::http::request_id(req), crate::auth::http::route_need(req));
        Box::pin(async move {
            let state = state.ok_or_else(|| PageError(AppError::internal("application state missing")))?;
            let token = token.ok_or_else(|| PageError(AppError::unauthorized("not logged in")))?;
            let lookup = token.clone();
            let mut who = crate::db::read(&state.pool, move |conn| crate::auth::authenticate(conn, &lookup))
                .await
                .map_err(PageError)?
                .ok_or_else(|| PageError(AppError::unauthorized("session expired")))?;
            if !who.is_hq() {
                // an agent's session never opens a console page
                return Err(PageError(AppError::unauthorized("the console is for HQ staff")));
            }
            who.request = request;
            who.require(need)?;
            Ok(ConsoleUser { who, csrf: csrf_token(&token) })
        })
    }
}

/// A console form that decides something: its CSRF token and, for a refusal, the reason.
#[derive(Debug, serde::Deserialize)]
pub struct ReasonForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub reason: String,
}

/// A service error shown as a page: 401 goes to the login form, anything else is an
/// error page with the error's own words (a 500 never shows internal text).
#[derive(Debug)]
pub struct PageError(pub AppError);

impl From<AppError> for PageError {
    fn from(e: AppError) -> Self {
        PageError(e)
    }
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    title: &'a str,
    detail: &'a str,
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        self.0.status_code()
    }

    fn error_response(&self) -> HttpResponse {
        if self.0.kind == ErrorKind::Unauthorized {
            return HttpResponse::SeeOther().insert_header((header::LOCATION, "/console/login")).cookie(expired_cookie()).finish();
        }
        let status = self.status_code();
        let internal = status.is_server_error();
        if internal {
            log::error!("page error: {}", self.0);
        }
        let title = match status.as_u16() {
            403 => "无权操作 Not allowed",
            404 => "找不到 Not found",
            409 => "冲突 Conflict",
            422 | 400 => "无法处理 Cannot do that",
            _ => "出错了 Something went wrong",
        };
        let detail = if internal { "服务暂时出错，请稍后再试。 The service failed; please try again." } else { self.0.detail.as_str() };
        let body = ErrorPage { status: status.as_u16(), title, detail }.render().unwrap_or_else(|_| detail.to_owned());
        HttpResponse::build(status).content_type("text/html; charset=utf-8").body(body)
    }
}
