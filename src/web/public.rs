//! The public pages, no login: `/join/{code}` applies to become an agent through an invite
//! link (and shows the decision when the applicant comes back to it), `/verify` checks a
//! certificate (授权查询). Both rate-limited per address, like their API.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::session::PageError;
use crate::recruiting::applications::{ApplicationRequest, Progress};
use crate::recruiting::certificates::PublicCertificate;
use crate::AppState;

const APPLICATION_COOKIE: &str = "al_application";

#[derive(Template)]
#[template(path = "public/join.html")]
struct JoinPage {
    code: String,
    brand: String,
    inviter: String,
    tiers: Vec<(i64, String)>,
    progress: Option<Progress>,
    /// The form is shown: a live link, and no application of this browser waiting or approved.
    can_apply: bool,
    problem: String,
    name: String,
    phone: String,
    wechat: String,
}

fn page(status: StatusCode, p: &impl Template) -> Result<HttpResponse, PageError> {
    let body = p.render().map_err(|e| PageError(crate::error::AppError::internal(format!("template: {e}"))))?;
    Ok(HttpResponse::build(status).content_type("text/html; charset=utf-8").body(body))
}

/// The applicant's id and token, from the cookie the join page set.
fn following(req: &HttpRequest) -> Option<(i64, String)> {
    let c = req.cookie(APPLICATION_COOKIE)?;
    let (id, token) = c.value().split_once('.')?;
    Some((id.parse().ok()?, token.to_owned()))
}

#[get("/join/{code}")]
pub async fn join(state: web::Data<AppState>, req: HttpRequest, code: web::Path<String>) -> Result<HttpResponse, PageError> {
    let code = code.into_inner();
    let follow = following(&req);
    let c = code.clone();
    let (info, progress) = crate::db::transaction(&state.pool, move |conn| {
        let progress = follow.and_then(|(id, token)| crate::recruiting::applications::progress(conn, id, &token).ok());
        Ok((crate::recruiting::applications::join_info(conn, &c)?, progress))
    })
    .await?;
    let Some((brand, inviter, tiers)) = info else {
        let p = JoinPage {
            code,
            brand: String::new(),
            inviter: String::new(),
            tiers: vec![],
            progress,
            can_apply: false,
            problem: "这个邀请链接已失效，请向邀请人要新的链接。 This invite link is not valid any more; ask for a new one.".into(),
            name: String::new(),
            phone: String::new(),
            wechat: String::new(),
        };
        return page(StatusCode::NOT_FOUND, &p);
    };
    let can_apply = progress.as_ref().is_none_or(|p| p.status == "expired" || p.status == "rejected");
    page(
        StatusCode::OK,
        &JoinPage {
            code,
            brand,
            inviter,
            tiers,
            progress,
            can_apply,
            problem: String::new(),
            name: String::new(),
            phone: String::new(),
            wechat: String::new(),
        },
    )
}

#[derive(Debug, Deserialize)]
pub struct JoinForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    wechat: String,
    #[serde(default)]
    tier_id: String,
    #[serde(default)]
    password: String,
}

#[post("/join/{code}")]
pub async fn apply(state: web::Data<AppState>, req: HttpRequest, code: web::Path<String>, form: web::Form<JoinForm>) -> Result<HttpResponse, PageError> {
    let (code, form) = (code.into_inner(), form.into_inner());
    let again = |problem: String, info: Option<(String, String, Vec<(i64, String)>)>, form: &JoinForm| {
        let can_apply = info.is_some();
        let (brand, inviter, tiers) = info.unwrap_or_default();
        JoinPage {
            code: code.clone(),
            brand,
            inviter,
            tiers,
            progress: None,
            can_apply,
            problem,
            name: form.name.clone(),
            phone: form.phone.clone(),
            wechat: form.wechat.clone(),
        }
    };
    let c = code.clone();
    let info = crate::db::read(&state.pool, move |conn| crate::recruiting::applications::join_info(conn, &c)).await?;
    if let Err(e) = crate::recruiting::http::limited(&state, &req) {
        return page(StatusCode::TOO_MANY_REQUESTS, &again(e.detail, info, &form));
    }
    let Ok(tier_id) = form.tier_id.trim().parse::<i64>() else {
        return page(StatusCode::UNPROCESSABLE_ENTITY, &again("请选择申请的等级 choose a tier".into(), info, &form));
    };
    let body = ApplicationRequest {
        code: code.clone(),
        name: form.name.clone(),
        phone: form.phone.clone(),
        wechat: Some(form.wechat.clone()),
        tier_id,
        password: form.password.clone(),
    };
    let source = crate::auth::source_of(&req);
    match crate::db::transaction(&state.pool, move |conn| crate::recruiting::applications::apply(conn, &body, &source)).await {
        Ok(created) => {
            let cookie =
                Cookie::build(APPLICATION_COOKIE, format!("{}.{}", created.id, created.token)).path("/join").http_only(true).same_site(SameSite::Lax).finish();
            Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, format!("/join/{code}"))).cookie(cookie).finish())
        }
        Err(e) if actix_web::ResponseError::status_code(&e).is_client_error() => page(actix_web::ResponseError::status_code(&e), &again(e.detail, info, &form)),
        Err(e) => Err(PageError(e)),
    }
}

#[derive(Template)]
#[template(path = "public/verify.html")]
struct VerifyPage {
    number: String,
    found: Option<PublicCertificate>,
    until: String,
    problem: String,
}

#[derive(Debug, Deserialize)]
pub struct VerifyQuery {
    #[serde(default)]
    n: String,
}

#[get("/verify")]
pub async fn verify(state: web::Data<AppState>, req: HttpRequest, q: web::Query<VerifyQuery>) -> Result<HttpResponse, PageError> {
    let number = q.into_inner().n.trim().to_owned();
    if number.is_empty() {
        return page(StatusCode::OK, &VerifyPage { number, found: None, until: String::new(), problem: String::new() });
    }
    if let Err(e) = crate::recruiting::http::limited(&state, &req) {
        return page(StatusCode::TOO_MANY_REQUESTS, &VerifyPage { number, found: None, until: String::new(), problem: e.detail });
    }
    let n = number.clone();
    let found = crate::db::read(&state.pool, move |conn| crate::recruiting::certificates::check(conn, &n)).await?;
    let until = found.as_ref().map(|c| c.valid_until.with_timezone(&chrono_tz::Asia::Shanghai).format("%Y-%m-%d").to_string()).unwrap_or_default();
    let problem = if found.is_none() {
        "查无此授权编号：请向品牌方核实。 No certificate has this number: check with the brand.".into()
    } else {
        String::new()
    };
    page(if found.is_some() { StatusCode::OK } else { StatusCode::NOT_FOUND }, &VerifyPage { number, found, until, problem })
}
