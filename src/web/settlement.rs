//! 月结 Settlement: the months and their state; closing a month after a confirmation page that
//! shows what the close will post (a dry run); a closed month's statements, searchable by
//! agent; the CSV and XLSX files.

use actix_web::http::header;
use actix_web::{get, post, web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::format::{filters, form_key, local, query, zone};
use super::session::{ConsoleUser, PageError};
use crate::error::AppError;
use crate::idempotency::IdempotencyKey;
use crate::settlement::{CloseResult, PeriodView, Statement};
use crate::AppState;

const PAGE: i64 = 50;

struct MonthRow {
    p: PeriodView,
    closed_at: String,
}

#[derive(Template)]
#[template(path = "settlement.html")]
struct MonthsPage {
    csrf: String,
    months: Vec<MonthRow>,
    /// The oldest month that has ended and is still open: the one to close next.
    next_to_close: Option<String>,
}

#[get("/console/settlement")]
pub async fn months(state: web::Data<AppState>, user: ConsoleUser) -> Result<HttpResponse, PageError> {
    let who = user.who;
    let (periods, tz) =
        crate::db::read(&state.pool, move |conn| Ok((crate::settlement::list(conn, &who)?, crate::brands::settings(conn, who.brand_id)?.timezone))).await?;
    let tz = zone(&tz);
    let next_to_close = periods.iter().rev().find(|p| p.status == "open" && p.ended).map(|p| p.month.clone());
    let months = periods.into_iter().map(|p| MonthRow { closed_at: p.closed_at.as_ref().map(|c| local(c, &tz)).unwrap_or_default(), p }).collect();
    super::html(&MonthsPage { csrf: user.csrf, months, next_to_close })
}

#[derive(Template)]
#[template(path = "settlement_close.html")]
struct ClosePage {
    csrf: String,
    idem: String,
    month: String,
    preview: CloseResult,
}

/// The confirmation: what closing will post, computed by a close that is rolled back.
#[get("/console/settlement/{month}/close")]
pub async fn confirm(state: web::Data<AppState>, user: ConsoleUser, month: web::Path<String>) -> Result<HttpResponse, PageError> {
    let month = month.into_inner();
    let (who, m) = (user.who, month.clone());
    let preview = crate::db::read(&state.pool, move |conn| crate::settlement::preview::preview(conn, &who, &m)).await?;
    super::html(&ClosePage { csrf: user.csrf, idem: form_key(), month, preview })
}

#[derive(Debug, Deserialize)]
pub struct CloseForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    idem: String,
}

#[post("/console/settlement/{month}/close")]
pub async fn close(state: web::Data<AppState>, user: ConsoleUser, month: web::Path<String>, form: web::Form<CloseForm>) -> Result<HttpResponse, PageError> {
    user.check_csrf(&form.csrf)?;
    let month = month.into_inner();
    let key = IdempotencyKey(Some(form.idem.clone()).filter(|k| !k.is_empty() && k.len() <= 200));
    let (who, m) = (user.who, month.clone());
    crate::db::transaction(&state.pool, move |conn| {
        crate::idempotency::once(conn, &who, &key, &format!("POST /periods/{m}/close"), &m, actix_web::http::StatusCode::OK, |conn| {
            crate::settlement::close(conn, &who, &m, &())
        })
    })
    .await?;
    crate::settlement::after_close(&state.pool, user.who.brand_id, month.clone());
    Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, format!("/console/settlement/{month}"))).finish())
}

#[derive(Debug, Default, Deserialize)]
pub struct StatementFilters {
    #[serde(default)]
    q: String,
    #[serde(default)]
    after: String,
}

struct StatementRow {
    s: Statement,
    name: String,
}

#[derive(Template)]
#[template(path = "statements.html")]
struct StatementsPage {
    csrf: String,
    month: String,
    f: StatementFilters,
    rows: Vec<StatementRow>,
    next: Option<String>,
}

/// A closed month's statements by agent id, or those of the agents a search finds.
#[get("/console/settlement/{month}")]
pub async fn statements(
    state: web::Data<AppState>,
    user: ConsoleUser,
    month: web::Path<String>,
    f: web::Query<StatementFilters>,
) -> Result<HttpResponse, PageError> {
    let (month, f) = (month.into_inner(), f.into_inner());
    let after =
        if f.after.is_empty() { 0 } else { f.after.parse::<i64>().map_err(|_| PageError(AppError::bad_request("invalid_query", "after must be a number")))? };
    let (who, m, q) = (user.who, month.clone(), f.q.trim().to_owned());
    let (mut items, names) = crate::db::read(&state.pool, move |conn| {
        let items = if q.is_empty() {
            crate::settlement::statements(conn, &who, &m, after, PAGE + 1)?
        } else {
            let search = crate::tree::SearchQuery { q: Some(q), ..Default::default() };
            let ids: Vec<i64> = crate::tree::search(conn, &who, &search, 0, PAGE)?.into_iter().map(|a| a.id).collect();
            crate::settlement::preview::statements_of(conn, &who, &m, &ids)?
        };
        let ids: Vec<i64> = items.iter().map(|s| s.agent_id).collect();
        Ok((items, crate::tree::names(conn, &who, &ids)?))
    })
    .await?;
    let next = (items.len() as i64 > PAGE).then(|| {
        items.truncate(PAGE as usize);
        query(&[("after", &items.last().map_or(0, |s| s.agent_id).to_string())])
    });
    let rows = items.into_iter().map(|s| StatementRow { name: names.get(&s.agent_id).cloned().unwrap_or_default(), s }).collect();
    super::html(&StatementsPage { csrf: user.csrf, month, f, rows, next })
}

/// The month's settlement file, the same bytes as the API's.
#[get("/console/settlement/{month}/export.{format}")]
pub async fn export(state: web::Data<AppState>, user: ConsoleUser, path: web::Path<(String, String)>) -> Result<HttpResponse, PageError> {
    let (month, format) = path.into_inner();
    let format = crate::settlement::export::ExportFormat::parse(&format)?;
    let name = format!("settlement-{month}.{}", format.as_str());
    let who = user.who;
    let bytes = crate::db::transaction(&state.pool, move |conn| crate::settlement::export::export(conn, &who, &month, format)).await?;
    Ok(HttpResponse::Ok().content_type(format.content_type()).insert_header(("Content-Disposition", format!("attachment; filename=\"{name}\""))).body(bytes))
}
