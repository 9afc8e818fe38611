//! 招代理 Recruit: the agent's invite link and QR code (renew, revoke), the applications
//! addressed to it to approve or reject; 授权书 its certificate, printable, with the QR code
//! of the public check.

use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::session::{AgentUser, PortalError};
use crate::recruiting::applications::Application;
use crate::recruiting::certificates::Certificate;
use crate::recruiting::http::base_url;
use crate::recruiting::invites::Invite;
use crate::web::format::{local, zone};
use crate::AppState;

#[derive(Template)]
#[template(path = "m/invite.html")]
struct InvitePage {
    csrf: String,
    invite: Option<Invite>,
    problem: String,
    pending: Vec<(Application, String, String)>,
    decided: Vec<(Application, String, String)>,
}

#[get("/m/invite")]
pub async fn page(state: web::Data<AppState>, user: AgentUser, req: HttpRequest) -> Result<HttpResponse, PortalError> {
    let (who, id, base) = (user.who, user.id, base_url(&req));
    let (invite, apps, tiers, tz) = crate::db::transaction(&state.pool, move |conn| {
        let invite = crate::recruiting::invites::get(conn, &who, id, &base);
        let apps = crate::recruiting::applications::list(conn, &who, None, 50)?;
        let tiers: std::collections::HashMap<i64, String> = crate::catalog::list_tiers(conn, who.brand_id)?.into_iter().map(|t| (t.id, t.name)).collect();
        Ok((invite, apps, tiers, crate::brands::settings(conn, who.brand_id)?.timezone))
    })
    .await?;
    let tz = zone(&tz);
    let (invite, problem) = match invite {
        Ok(i) => (Some(i), String::new()),
        Err(e) => (None, e.detail),
    };
    let rows = apps.into_iter().map(|a| {
        let t = tiers.get(&a.tier_id).cloned().unwrap_or_default();
        let at = local(&a.created_at, &tz);
        (a, t, at)
    });
    let (pending, decided): (Vec<_>, Vec<_>) = rows.partition(|(a, _, _)| a.status == "pending");
    super::html(&InvitePage { csrf: user.csrf, invite, problem, pending, decided })
}

#[derive(Debug, Deserialize)]
pub struct Form {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

fn back() -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, "/m/invite")).finish()
}

#[post("/m/invite/renew")]
pub async fn renew(state: web::Data<AppState>, user: AgentUser, req: HttpRequest, form: web::Form<Form>) -> Result<HttpResponse, PortalError> {
    user.check_csrf(&form.csrf)?;
    let (who, id, base) = (user.who, user.id, base_url(&req));
    crate::db::transaction(&state.pool, move |conn| crate::recruiting::invites::renew(conn, &who, id, &base)).await?;
    Ok(back())
}

#[post("/m/applications/{id}/approve")]
pub async fn approve(state: web::Data<AppState>, user: AgentUser, id: web::Path<i64>, form: web::Form<Form>) -> Result<HttpResponse, PortalError> {
    user.check_csrf(&form.csrf)?;
    let (who, id) = (user.who, id.into_inner());
    crate::db::transaction(&state.pool, move |conn| crate::recruiting::applications::approve(conn, &who, id)).await?;
    Ok(back())
}

#[post("/m/applications/{id}/reject")]
pub async fn reject(state: web::Data<AppState>, user: AgentUser, id: web::Path<i64>, form: web::Form<Form>) -> Result<HttpResponse, PortalError> {
    user.check_csrf(&form.csrf)?;
    let reason = crate::ledger::withdrawals::check_reason(Some(&form.reason))?;
    let (who, id) = (user.who, id.into_inner());
    crate::db::transaction(&state.pool, move |conn| crate::recruiting::applications::reject(conn, &who, id, reason)).await?;
    Ok(back())
}

#[derive(Template)]
#[template(path = "certificate.html")]
pub struct CertificatePage {
    pub c: Certificate,
    pub from: String,
    pub until: String,
    pub back: String,
}

#[get("/m/certificate")]
pub async fn certificate(state: web::Data<AppState>, user: AgentUser, req: HttpRequest) -> Result<HttpResponse, PortalError> {
    let (who, id, base) = (user.who, user.id, base_url(&req));
    let c = crate::db::transaction(&state.pool, move |conn| crate::recruiting::certificates::of_agent(conn, &who, id, &base)).await?;
    let tz = chrono_tz::Asia::Shanghai;
    let (from, until) =
        (c.valid_from.with_timezone(&tz).format("%Y年%m月%d日").to_string(), c.valid_until.with_timezone(&tz).format("%Y年%m月%d日").to_string());
    super::html(&CertificatePage { c, from, until, back: "/m/".into() })
}
