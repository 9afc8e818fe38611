//! 申诉 Disputes: the agents' disputes of closed statements, answered by HQ with a note (and,
//! where money is owed, the correcting journal entry posted in the open month).

use actix_web::{get, post, web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::format::{local, zone};
use super::session::{ConsoleUser, PageError};
use crate::error::AppError;
use crate::settlement::reviews::Review;
use crate::AppState;

#[derive(Debug, Deserialize)]
pub struct Filters {
    #[serde(default = "disputed")]
    status: String,
}

fn disputed() -> String {
    "disputed".to_owned()
}

#[derive(Template)]
#[template(path = "disputes.html")]
struct DisputesPage {
    csrf: String,
    status: String,
    rows: Vec<(Review, String, String)>,
}

#[get("/console/disputes")]
pub async fn page(state: web::Data<AppState>, user: ConsoleUser, f: web::Query<Filters>) -> Result<HttpResponse, PageError> {
    let status = f.into_inner().status;
    let (who, s) = (user.who, status.clone());
    let (rows, names, tz) = crate::db::read(&state.pool, move |conn| {
        let rows = crate::settlement::reviews::list(conn, &who, Some(s.as_str()).filter(|s| !s.is_empty()), 0, 200)?;
        let ids: Vec<i64> = rows.iter().map(|r| r.agent_id).collect();
        Ok((rows, crate::tree::names(conn, &who, &ids)?, crate::brands::settings(conn, who.brand_id)?.timezone))
    })
    .await?;
    let tz = zone(&tz);
    let rows = rows
        .into_iter()
        .map(|r| {
            let n = names.get(&r.agent_id).cloned().unwrap_or_default();
            let at = local(&r.reviewed_at, &tz);
            (r, n, at)
        })
        .collect();
    super::html(&DisputesPage { csrf: user.csrf, status, rows })
}

#[derive(Debug, Deserialize)]
pub struct ResolveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    adjustment_id: String,
}

#[post("/console/disputes/{id}/resolve")]
pub async fn resolve(state: web::Data<AppState>, user: ConsoleUser, id: web::Path<i64>, form: web::Form<ResolveForm>) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    user.check_csrf(&form.csrf)?;
    let adj = form.adjustment_id.trim();
    let adjustment_id = if adj.is_empty() {
        None
    } else {
        Some(adj.parse::<i64>().map_err(|_| PageError(AppError::validation("调整单号必须是数字 the adjustment must be a number")))?)
    };
    let (who, id) = (user.who, id.into_inner());
    crate::db::transaction(&state.pool, move |conn| crate::settlement::reviews::resolve(conn, &who, id, Some(&form.note), adjustment_id)).await?;
    Ok(super::see_other("/console/disputes"))
}
