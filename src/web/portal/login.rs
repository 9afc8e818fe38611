//! Log in to the portal with the brand, the phone and the password; log out.

use actix_web::http::{header, StatusCode};
use actix_web::{get, post, web, HttpRequest, HttpResponse, ResponseError};
use askama::Template;
use serde::Deserialize;

use super::session::{expired_cookie, session_cookie, AgentUser, PortalError, COOKIE};
use crate::auth::LoginOutcome;
use crate::AppState;

#[derive(Template)]
#[template(path = "m/login.html")]
struct LoginPage<'a> {
    brand: &'a str,
    phone: &'a str,
    message: Option<String>,
}

#[get("/m/login")]
pub async fn login_form() -> Result<HttpResponse, PortalError> {
    super::html(&LoginPage { brand: "", phone: "", message: None })
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    brand: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    password: String,
}

#[post("/m/login")]
pub async fn submit(state: web::Data<AppState>, req: HttpRequest, form: web::Form<LoginForm>) -> Result<HttpResponse, PortalError> {
    let form = form.into_inner();
    let again = |message: String| LoginPage { brand: &form.brand, phone: &form.phone, message: Some(message) };
    if let Some(ip) = req.peer_addr().map(|a| a.ip()) {
        if let Err(secs) = state.login_limit.check(ip) {
            return super::html_with(
                StatusCode::TOO_MANY_REQUESTS,
                &again(format!("登录太频繁，请 {secs} 秒后再试。 Too many logins; try again in {secs} s.")),
            );
        }
    }
    let (brand, phone, password) = (form.brand.trim().to_owned(), form.phone.trim().to_owned(), form.password.clone());
    let source = crate::auth::source_of(&req);
    let outcome = crate::db::transaction(&state.pool, move |conn| crate::auth::login(conn, &brand, &phone, &password, &source)).await?;
    match outcome {
        LoginOutcome::Success(session) if session.role == "agent" => {
            Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, "/m/")).cookie(session_cookie(&session.token)).finish())
        }
        LoginOutcome::Success(session) => {
            // HQ staff use the console; the portal opens no HQ session
            let brand_id = session.token.split('.').next().and_then(|b| b.parse::<i64>().ok()).unwrap_or_default();
            crate::db::read(&state.pool, move |conn| crate::auth::logout(conn, brand_id, &session.token)).await?;
            super::html_with(
                StatusCode::FORBIDDEN,
                &again("代理端供代理使用；总部员工请用总部后台 /console/。 The portal is for agents; HQ staff use /console/.".into()),
            )
        }
        LoginOutcome::BadCredentials => super::html_with(StatusCode::UNAUTHORIZED, &again("品牌、手机号或密码不对。 Wrong brand, phone or password.".into())),
        LoginOutcome::Throttled { retry_after_secs } => super::html_with(
            StatusCode::TOO_MANY_REQUESTS,
            &again(format!("失败次数过多，请 {retry_after_secs} 秒后再试。 Too many failed logins; try again in {retry_after_secs} s.")),
        ),
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

#[post("/m/logout")]
pub async fn logout(state: web::Data<AppState>, user: AgentUser, req: HttpRequest, form: web::Form<CsrfForm>) -> Result<HttpResponse, PortalError> {
    user.check_csrf(&form.csrf)?;
    if let Some(token) = req.cookie(COOKIE).map(|c| c.value().to_owned()) {
        let brand_id = user.who.brand_id;
        crate::db::read(&state.pool, move |conn| crate::auth::logout(conn, brand_id, &token)).await?;
    }
    Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, "/m/login")).cookie(expired_cookie()).finish())
}

#[derive(Template)]
#[template(path = "m/password.html")]
struct PasswordPage {
    csrf: String,
    message: Option<String>,
    done: bool,
}

#[get("/m/password")]
pub async fn password_form(user: AgentUser) -> Result<HttpResponse, PortalError> {
    super::html(&PasswordPage { csrf: user.csrf, message: None, done: false })
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    old: String,
    #[serde(default)]
    new: String,
}

/// Changes the agent's password; its other sessions (another phone) end, this one stays.
#[post("/m/password")]
pub async fn change_password(
    state: web::Data<AppState>,
    user: AgentUser,
    req: HttpRequest,
    form: web::Form<PasswordForm>,
) -> Result<HttpResponse, PortalError> {
    let form = form.into_inner();
    user.check_csrf(&form.csrf)?;
    let token = req.cookie(COOKIE).map(|c| c.value().to_owned()).unwrap_or_default();
    let who = user.who;
    let result = crate::db::transaction(&state.pool, move |conn| crate::auth::change_password(conn, &who, &token, &form.old, &form.new)).await;
    match result {
        Ok(()) => super::html(&PasswordPage { csrf: user.csrf, message: None, done: true }),
        Err(e) if e.status_code().is_client_error() => {
            super::html_with(e.status_code(), &PasswordPage { csrf: user.csrf, message: Some(e.detail), done: false })
        }
        Err(e) => Err(PortalError(e)),
    }
}
