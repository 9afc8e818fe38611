//! Log in and out of the console with the brand, the login and the password.

use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::session::{expired_cookie, session_cookie, ConsoleUser, PageError, COOKIE};
use crate::auth::LoginOutcome;
use crate::AppState;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    brand: &'a str,
    login: &'a str,
    message: Option<String>,
}

fn render(status: actix_web::http::StatusCode, page: LoginPage) -> Result<HttpResponse, PageError> {
    super::html_with(status, &page)
}

#[get("/console/login")]
pub async fn login_form() -> Result<HttpResponse, PageError> {
    render(actix_web::http::StatusCode::OK, LoginPage { brand: "", login: "", message: None })
}

#[derive(Deserialize)]
pub struct LoginForm {
    brand: String,
    login: String,
    password: String,
}

#[post("/console/login")]
pub async fn login_submit(state: web::Data<AppState>, req: HttpRequest, form: web::Form<LoginForm>) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    let again = |message: String| LoginPage { brand: &form.brand, login: &form.login, message: Some(message) };
    if let Some(ip) = req.peer_addr().map(|a| a.ip()) {
        if let Err(secs) = state.login_limit.check(ip) {
            return render(
                actix_web::http::StatusCode::TOO_MANY_REQUESTS,
                again(format!("登录太频繁，请 {secs} 秒后再试。 Too many logins; try again in {secs} s.")),
            );
        }
    }
    let (brand, login, password) = (form.brand.trim().to_owned(), form.login.trim().to_owned(), form.password.clone());
    let source = crate::auth::source_of(&req);
    let outcome = crate::db::transaction(&state.pool, move |conn| crate::auth::login(conn, &brand, &login, &password, &source)).await?;
    match outcome {
        LoginOutcome::Success(session) if session.role == "hq" => {
            // the role only shapes the menu; every request is authorised on the server
            let role = session.staff_role.map_or("auditor", |r| r.as_str());
            let menu = actix_web::cookie::Cookie::build("al_role", role).path("/console").same_site(actix_web::cookie::SameSite::Strict).finish();
            Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, "/console/")).cookie(session_cookie(&session.token)).cookie(menu).finish())
        }
        LoginOutcome::Success(session) => {
            // an agent's login opens no console session
            let brand_id = session.token.split('.').next().and_then(|b| b.parse::<i64>().ok()).unwrap_or_default();
            crate::db::read(&state.pool, move |conn| crate::auth::logout(conn, brand_id, &session.token)).await?;
            render(
                actix_web::http::StatusCode::FORBIDDEN,
                again("总部后台仅供总部员工使用；代理请使用代理端。 The console is for HQ staff; agents use the agent portal.".into()),
            )
        }
        LoginOutcome::BadCredentials => {
            render(actix_web::http::StatusCode::UNAUTHORIZED, again("品牌、账号或密码不对。 Wrong brand, login or password.".into()))
        }
        LoginOutcome::Throttled { retry_after_secs } => render(
            actix_web::http::StatusCode::TOO_MANY_REQUESTS,
            again(format!("失败次数过多，请 {retry_after_secs} 秒后再试。 Too many failed logins; try again in {retry_after_secs} s.")),
        ),
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

#[post("/console/logout")]
pub async fn logout(state: web::Data<AppState>, user: ConsoleUser, req: HttpRequest, form: web::Form<CsrfForm>) -> Result<HttpResponse, PageError> {
    user.check_csrf(&form.csrf)?;
    if let Some(token) = req.cookie(COOKIE).map(|c| c.value().to_owned()) {
        let brand_id = user.who.brand_id;
        crate::db::read(&state.pool, move |conn| crate::auth::logout(conn, brand_id, &token)).await?;
    }
    Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, "/console/login")).cookie(expired_cookie()).finish())
}
