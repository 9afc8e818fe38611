//! 对账单 Statements: the closed months, a month's statement, and confirming or disputing it
//! (once) — with HQ's answer shown when a dispute is resolved.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{get, post, web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::session::{AgentUser, PortalError};
use crate::settlement::reviews::Review;
use crate::settlement::Statement;
use crate::web::format::filters;
use crate::AppState;

#[derive(Template)]
#[template(path = "m/statements.html")]
struct ListPage {
    csrf: String,
    /// (month, its review state if any)
    months: Vec<(String, Option<String>)>,
}

#[get("/m/statements")]
pub async fn list(state: web::Data<AppState>, user: AgentUser) -> Result<HttpResponse, PortalError> {
    let (who, id) = (user.who, user.id);
    let (closed, reviews) = crate::db::read(&state.pool, move |conn| {
        Ok((crate::settlement::reviews::closed_months(conn, &who)?, crate::settlement::reviews::of_agent(conn, &who, id)?))
    })
    .await?;
    let by_month: HashMap<String, String> = reviews.into_iter().map(|r| (r.month, r.state)).collect();
    let mut months: Vec<(String, Option<String>)> = closed
        .into_iter()
        .map(|m| {
            let s = by_month.get(&m).cloned();
            (m, s)
        })
        .collect();
    months.reverse();
    super::html(&ListPage { csrf: user.csrf, months })
}

#[derive(Template)]
#[template(path = "m/statement.html")]
struct StatementPage {
    csrf: String,
    s: Statement,
    review: Option<Review>,
}

#[get("/m/statements/{month}")]
pub async fn page(state: web::Data<AppState>, user: AgentUser, month: web::Path<String>) -> Result<HttpResponse, PortalError> {
    let (who, id, month) = (user.who, user.id, month.into_inner());
    let (s, review) = crate::db::read(&state.pool, move |conn| {
        Ok((crate::settlement::agent_statement(conn, &who, id, &month)?, crate::settlement::reviews::of(conn, &who, id, &month)?))
    })
    .await?;
    super::html(&StatementPage { csrf: user.csrf, s, review })
}

#[derive(Debug, Deserialize)]
pub struct ReviewForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

#[post("/m/statements/{month}/confirm")]
pub async fn confirm(state: web::Data<AppState>, user: AgentUser, month: web::Path<String>, form: web::Form<ReviewForm>) -> Result<HttpResponse, PortalError> {
    user.check_csrf(&form.csrf)?;
    let (who, id, month) = (user.who, user.id, month.into_inner());
    let m = month.clone();
    crate::db::transaction(&state.pool, move |conn| crate::settlement::reviews::review(conn, &who, id, &m, None)).await?;
    Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, format!("/m/statements/{month}"))).finish())
}

#[post("/m/statements/{month}/dispute")]
pub async fn dispute(state: web::Data<AppState>, user: AgentUser, month: web::Path<String>, form: web::Form<ReviewForm>) -> Result<HttpResponse, PortalError> {
    user.check_csrf(&form.csrf)?;
    let (who, id, month, reason) = (user.who, user.id, month.into_inner(), form.into_inner().reason);
    let m = month.clone();
    crate::db::transaction(&state.pool, move |conn| crate::settlement::reviews::review(conn, &who, id, &m, Some(&reason))).await?;
    Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, format!("/m/statements/{month}"))).finish())
}
