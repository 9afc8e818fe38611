//! 调整 Adjustments: a manual credit or debit of a wallet, made by one staff member and posted
//! only when another approves it; the queue, and the history by state.

use actix_web::{get, post, web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::format::{filters, form_key, local, zone};
use super::session::{ConsoleUser, PageError, ReasonForm};
use crate::error::AppError;
use crate::ledger::adjustments::{AdjustmentView, NewAdjustment, CATEGORIES};
use crate::AppState;

#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    #[serde(default = "requested")]
    status: String,
    /// Prefills the form (from a dispute).
    #[serde(default)]
    agent_id: String,
    #[serde(default)]
    dispute_id: String,
}

fn requested() -> String {
    "requested".to_owned()
}

#[derive(Template)]
#[template(path = "adjustments.html")]
struct AdjustmentsPage {
    csrf: String,
    idem: String,
    f: Filters,
    me: i64,
    categories: [&'static str; 5],
    rows: Vec<(AdjustmentView, String)>,
}

#[get("/console/adjustments")]
pub async fn page(state: web::Data<AppState>, user: ConsoleUser, f: web::Query<Filters>) -> Result<HttpResponse, PageError> {
    let f = f.into_inner();
    let (who, status) = (user.who, f.status.clone());
    let (rows, tz) = crate::db::read(&state.pool, move |conn| {
        let rows = crate::ledger::adjustments::list(conn, &who, Some(status.as_str()).filter(|s| !s.is_empty()), None, 0, 200)?;
        Ok((rows, crate::brands::settings(conn, who.brand_id)?.timezone))
    })
    .await?;
    let tz = zone(&tz);
    let rows = rows
        .into_iter()
        .map(|a| {
            let at = local(&a.adjustment.made_at, &tz);
            (a, at)
        })
        .collect();
    super::html(&AdjustmentsPage { csrf: user.csrf, idem: form_key(), f, me: user.who.user_id().unwrap_or_default(), categories: CATEGORIES, rows })
}

#[derive(Debug, Deserialize)]
pub struct NewForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    agent_id: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    dispute_id: String,
    #[serde(default)]
    idem: String,
}

#[post("/console/adjustments")]
pub async fn create(state: web::Data<AppState>, user: ConsoleUser, form: web::Form<NewForm>) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    user.check_csrf(&form.csrf)?;
    let number = |what: &str, v: &str| v.trim().parse::<i64>().map_err(|_| PageError(AppError::validation(format!("{what} must be a number"))));
    let new = NewAdjustment {
        agent_id: number("代理编号 agent", &form.agent_id)?,
        amount: form.amount.trim().parse().map_err(|_| PageError(AppError::validation("金额 amount must be like 12.34 or -12.34")))?,
        category: form.category.clone(),
        reason: form.reason.clone(),
        dispute_id: if form.dispute_id.trim().is_empty() { None } else { Some(number("申诉 dispute", &form.dispute_id)?) },
    };
    let who = user.who;
    // one adjustment per form, however often it is sent
    let key = crate::idempotency::IdempotencyKey(Some(form.idem.clone()).filter(|k| !k.is_empty() && k.len() <= 200));
    crate::db::transaction(&state.pool, move |conn| {
        crate::idempotency::once(conn, &who, &key, "POST /adjustments", &new, actix_web::http::StatusCode::CREATED, |conn| {
            crate::ledger::adjustments::create(conn, &who, &new)
        })
    })
    .await?;
    Ok(super::see_other("/console/adjustments?status=requested"))
}

#[post("/console/adjustments/{id}/approve")]
pub async fn approve(state: web::Data<AppState>, user: ConsoleUser, id: web::Path<i64>, form: web::Form<ReasonForm>) -> Result<HttpResponse, PageError> {
    user.check_csrf(&form.csrf)?;
    let (id, who) = (id.into_inner(), user.who);
    crate::db::transaction(&state.pool, move |conn| crate::ledger::adjustments::approve(conn, &who, id)).await?;
    Ok(super::see_other("/console/adjustments?status=approved"))
}

#[post("/console/adjustments/{id}/reject")]
pub async fn reject(state: web::Data<AppState>, user: ConsoleUser, id: web::Path<i64>, form: web::Form<ReasonForm>) -> Result<HttpResponse, PageError> {
    user.check_csrf(&form.csrf)?;
    let reason = crate::ledger::withdrawals::check_reason(Some(&form.reason))?;
    let (id, who) = (id.into_inner(), user.who);
    crate::db::transaction(&state.pool, move |conn| crate::ledger::adjustments::reject(conn, &who, id, reason)).await?;
    Ok(super::see_other("/console/adjustments?status=rejected"))
}
