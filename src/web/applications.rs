//! 招代理 Applications: what came in through invite links, to approve (when HQ decides) or
//! reject; and an agent's 授权书 as HQ sees it.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::format::{local, zone};
use super::session::{ConsoleUser, PageError, ReasonForm};
use crate::recruiting::applications::Application;
use crate::AppState;

#[derive(Debug, Deserialize)]
pub struct Filters {
    #[serde(default = "pending")]
    status: String,
}

fn pending() -> String {
    "pending".to_owned()
}

#[derive(Template)]
#[template(path = "applications.html")]
struct ApplicationsPage {
    csrf: String,
    status: String,
    mode: String,
    rows: Vec<(Application, String, String, String)>,
}

#[get("/console/applications")]
pub async fn page(state: web::Data<AppState>, user: ConsoleUser, f: web::Query<Filters>) -> Result<HttpResponse, PageError> {
    let status = f.into_inner().status;
    let (who, s) = (user.who, status.clone());
    let (rows, names, tiers, settings) = crate::db::transaction(&state.pool, move |conn| {
        let rows = crate::recruiting::applications::list(conn, &who, Some(s.as_str()).filter(|s| !s.is_empty()), 200)?;
        let ids: Vec<i64> = rows.iter().map(|a| a.inviter_id).collect();
        let tiers: std::collections::HashMap<i64, String> = crate::catalog::list_tiers(conn, who.brand_id)?.into_iter().map(|t| (t.id, t.name)).collect();
        Ok((rows, crate::tree::names(conn, &who, &ids)?, tiers, crate::brands::settings(conn, who.brand_id)?))
    })
    .await?;
    let tz = zone(&settings.timezone);
    let rows = rows
        .into_iter()
        .map(|a| {
            let (inviter, tier, at) =
                (names.get(&a.inviter_id).cloned().unwrap_or_default(), tiers.get(&a.tier_id).cloned().unwrap_or_default(), local(&a.created_at, &tz));
            (a, inviter, tier, at)
        })
        .collect();
    super::html(&ApplicationsPage { csrf: user.csrf, status, mode: settings.application_approval, rows })
}

#[post("/console/applications/{id}/approve")]
pub async fn approve(state: web::Data<AppState>, user: ConsoleUser, id: web::Path<i64>, form: web::Form<ReasonForm>) -> Result<HttpResponse, PageError> {
    user.check_csrf(&form.csrf)?;
    let (who, id) = (user.who, id.into_inner());
    crate::db::transaction(&state.pool, move |conn| crate::recruiting::applications::approve(conn, &who, id)).await?;
    Ok(super::see_other("/console/applications"))
}

#[post("/console/applications/{id}/reject")]
pub async fn reject(state: web::Data<AppState>, user: ConsoleUser, id: web::Path<i64>, form: web::Form<ReasonForm>) -> Result<HttpResponse, PageError> {
    user.check_csrf(&form.csrf)?;
    let reason = crate::ledger::withdrawals::check_reason(Some(&form.reason))?;
    let (who, id) = (user.who, id.into_inner());
    crate::db::transaction(&state.pool, move |conn| crate::recruiting::applications::reject(conn, &who, id, reason)).await?;
    Ok(super::see_other("/console/applications"))
}

/// An agent's certificate, printable.
#[get("/console/agents/{id}/certificate")]
pub async fn certificate(state: web::Data<AppState>, user: ConsoleUser, req: HttpRequest, id: web::Path<i64>) -> Result<HttpResponse, PageError> {
    let (who, id, base) = (user.who, id.into_inner(), crate::recruiting::http::base_url(&req));
    let c = crate::db::transaction(&state.pool, move |conn| crate::recruiting::certificates::of_agent(conn, &who, id, &base)).await?;
    let tz = chrono_tz::Asia::Shanghai;
    let (from, until) =
        (c.valid_from.with_timezone(&tz).format("%Y年%m月%d日").to_string(), c.valid_until.with_timezone(&tz).format("%Y年%m月%d日").to_string());
    super::html(&super::portal::recruit::CertificatePage { back: format!("/console/agents/{id}"), c, from, until })
}
