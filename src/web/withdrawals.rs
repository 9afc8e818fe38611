//! 提现 Withdrawals: the queue of requests with each agent's wallet beside it; approve, or
//! reject with a reason the agent sees; the history by state.

use actix_web::http::header;
use actix_web::{get, post, web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::format::{filters, local, query, zone};
use super::session::{ConsoleUser, PageError};
use crate::error::AppError;
use crate::ledger::withdrawals::{ListFilter, QueuedWithdrawal};
use crate::AppState;

const PAGE: i64 = 50;

#[derive(Debug, Deserialize)]
pub struct Filters {
    #[serde(default = "requested")]
    status: String,
    #[serde(default)]
    agent_id: String,
    #[serde(default)]
    before: String,
}

fn requested() -> String {
    "requested".to_owned()
}

struct Row {
    w: QueuedWithdrawal,
    requested: String,
    decided: String,
    /// What the agent could still withdraw (for the queue only).
    available: Option<rust_decimal::Decimal>,
}

#[derive(Template)]
#[template(path = "withdrawals.html")]
struct WithdrawalsPage {
    csrf: String,
    f: Filters,
    rows: Vec<Row>,
    next: Option<String>,
}

#[get("/console/withdrawals")]
pub async fn page(state: web::Data<AppState>, user: ConsoleUser, f: web::Query<Filters>) -> Result<HttpResponse, PageError> {
    let f = f.into_inner();
    let bad = |what: &str| PageError(AppError::bad_request("invalid_query", format!("{what} must be a number")));
    let agent_id = if f.agent_id.trim().is_empty() { None } else { Some(f.agent_id.trim().parse::<i64>().map_err(|_| bad("agent"))?) };
    let before = if f.before.is_empty() { 0 } else { f.before.parse::<i64>().map_err(|_| bad("cursor"))? };
    let filter = ListFilter { status: Some(f.status.clone()).filter(|s| !s.is_empty()), agent_id, month: None };
    let who = user.who.clone();
    let queue = f.status == "requested";
    let (mut items, wallets, tz) = crate::db::read(&state.pool, move |conn| {
        let items = crate::ledger::withdrawals::list(conn, &who, &filter, before, PAGE + 1)?;
        let mut wallets = std::collections::HashMap::new();
        if queue {
            for w in items.iter().take(PAGE as usize) {
                if !wallets.contains_key(&w.withdrawal.agent_id) {
                    wallets.insert(w.withdrawal.agent_id, crate::ledger::wallet(conn, &who, w.withdrawal.agent_id)?.available);
                }
            }
        }
        Ok((items, wallets, crate::brands::settings(conn, who.brand_id)?.timezone))
    })
    .await?;
    let tz = zone(&tz);
    let next = (items.len() as i64 > PAGE).then(|| {
        items.truncate(PAGE as usize);
        let last = items.last().map_or(0, |w| w.withdrawal.id).to_string();
        query(&[("status", &f.status), ("agent_id", &f.agent_id), ("before", &last)])
    });
    let rows = items
        .into_iter()
        .map(|w| Row {
            requested: local(&w.withdrawal.requested_at, &tz),
            decided: w.withdrawal.decided_at.as_ref().map(|d| local(d, &tz)).unwrap_or_default(),
            available: wallets.get(&w.withdrawal.agent_id).copied(),
            w,
        })
        .collect();
    super::html(&WithdrawalsPage { csrf: user.csrf, f, rows, next })
}

#[derive(Debug, Deserialize)]
pub struct Decision {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

#[post("/console/withdrawals/{id}/approve")]
pub async fn approve(state: web::Data<AppState>, user: ConsoleUser, id: web::Path<i64>, form: web::Form<Decision>) -> Result<HttpResponse, PageError> {
    user.check_csrf(&form.csrf)?;
    let (id, who) = (id.into_inner(), user.who.clone());
    crate::db::transaction(&state.pool, move |conn| crate::ledger::payouts::approve(conn, &who, id)).await?;
    Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, "/console/withdrawals")).finish())
}

#[post("/console/withdrawals/{id}/reject")]
pub async fn reject(state: web::Data<AppState>, user: ConsoleUser, id: web::Path<i64>, form: web::Form<Decision>) -> Result<HttpResponse, PageError> {
    user.check_csrf(&form.csrf)?;
    let reason = crate::ledger::withdrawals::check_reason(Some(&form.reason))?;
    let (id, who) = (id.into_inner(), user.who.clone());
    crate::db::transaction(&state.pool, move |conn| crate::ledger::payouts::reject(conn, &who, id, reason)).await?;
    Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, "/console/withdrawals")).finish())
}
