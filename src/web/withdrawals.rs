//! 提现 Withdrawals: the queue of requests with each agent's wallet beside it; approve, or
//! reject with a reason the agent sees; the approved ones go out in the payout file (batches)
//! and are marked paid with the bank's reference, or failed; the history by state and month.

use actix_web::http::header;
use actix_web::{get, post, web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::format::{actor_name, filters, local, query, zone};
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
    month: String,
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
    /// When it was paid or failed.
    ended: String,
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
    batches: Vec<(crate::ledger::payout_file::Batch, String)>,
    total_net: rust_decimal::Decimal,
}

#[get("/console/withdrawals")]
pub async fn page(state: web::Data<AppState>, user: ConsoleUser, f: web::Query<Filters>) -> Result<HttpResponse, PageError> {
    let f = f.into_inner();
    let bad = |what: &str| PageError(AppError::bad_request("invalid_query", format!("{what} must be a number")));
    let agent_id = if f.agent_id.trim().is_empty() { None } else { Some(f.agent_id.trim().parse::<i64>().map_err(|_| bad("agent"))?) };
    let before = if f.before.is_empty() { 0 } else { f.before.parse::<i64>().map_err(|_| bad("cursor"))? };
    let month = Some(f.month.trim().to_owned()).filter(|m| !m.is_empty());
    let filter = ListFilter { status: Some(f.status.clone()).filter(|s| !s.is_empty()), agent_id, month };
    let who = user.who;
    let queue = f.status == "requested";
    let approved = f.status == "approved";
    let (mut items, wallets, tz, batches) = crate::db::read(&state.pool, move |conn| {
        let items = crate::ledger::withdrawals::list(conn, &who, &filter, before, PAGE + 1)?;
        let mut batches = if approved { crate::ledger::payout_file::batches(conn, &who)? } else { Vec::new() };
        let logins = crate::auth::staff::logins(conn, who.brand_id)?;
        for b in &mut batches {
            b.created_by = actor_name(&b.created_by, &logins);
        }
        let mut items = items;
        for w in &mut items {
            for by in [&mut w.withdrawal.decided_by, &mut w.withdrawal.paid_by, &mut w.withdrawal.failed_by, &mut w.withdrawal.requested_by] {
                if let Some(a) = by.as_mut() {
                    *a = actor_name(a, &logins);
                }
            }
        }
        let mut wallets = std::collections::HashMap::new();
        if queue {
            for w in items.iter().take(PAGE as usize) {
                if !wallets.contains_key(&w.withdrawal.agent_id) {
                    wallets.insert(w.withdrawal.agent_id, crate::ledger::wallet(conn, &who, w.withdrawal.agent_id)?.available);
                }
            }
        }
        Ok((items, wallets, crate::brands::settings(conn, who.brand_id)?.timezone, batches))
    })
    .await?;
    let tz = zone(&tz);
    let next = (items.len() as i64 > PAGE).then(|| {
        items.truncate(PAGE as usize);
        let last = items.last().map_or(0, |w| w.withdrawal.id).to_string();
        query(&[("status", &f.status), ("agent_id", &f.agent_id), ("month", &f.month), ("before", &last)])
    });
    let total_net = items.iter().map(|w| w.withdrawal.net).sum();
    let batches = batches
        .into_iter()
        .take(12)
        .map(|b| {
            let at = local(&b.created_at, &tz);
            (b, at)
        })
        .collect();
    let rows = items
        .into_iter()
        .map(|w| Row {
            requested: w.withdrawal.requested_at.with_timezone(&tz).format("%m-%d %H:%M").to_string(),
            decided: w.withdrawal.decided_at.as_ref().map(|d| local(d, &tz)).unwrap_or_default(),
            ended: w.withdrawal.paid_at.or(w.withdrawal.failed_at).as_ref().map(|d| local(d, &tz)).unwrap_or_default(),
            available: wallets.get(&w.withdrawal.agent_id).copied(),
            w,
        })
        .collect();
    super::html(&WithdrawalsPage { csrf: user.csrf, f, rows, next, batches, total_net })
}

#[derive(Debug, Deserialize)]
pub struct Decision {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    reference: String,
}

fn back(status: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, format!("/console/withdrawals?status={status}"))).finish()
}

#[post("/console/withdrawals/{id}/approve")]
pub async fn approve(state: web::Data<AppState>, user: ConsoleUser, id: web::Path<i64>, form: web::Form<Decision>) -> Result<HttpResponse, PageError> {
    user.check_csrf(&form.csrf)?;
    let (id, who) = (id.into_inner(), user.who);
    crate::db::transaction(&state.pool, move |conn| crate::ledger::payouts::approve(conn, &who, id)).await?;
    Ok(back("requested"))
}

#[post("/console/withdrawals/{id}/reject")]
pub async fn reject(state: web::Data<AppState>, user: ConsoleUser, id: web::Path<i64>, form: web::Form<Decision>) -> Result<HttpResponse, PageError> {
    user.check_csrf(&form.csrf)?;
    let reason = crate::ledger::withdrawals::check_reason(Some(&form.reason))?;
    let (id, who) = (id.into_inner(), user.who);
    crate::db::transaction(&state.pool, move |conn| crate::ledger::payouts::reject(conn, &who, id, reason)).await?;
    Ok(back("requested"))
}

/// Marks an approved withdrawal paid, with the bank's reference.
#[post("/console/withdrawals/{id}/pay")]
pub async fn pay(state: web::Data<AppState>, user: ConsoleUser, id: web::Path<i64>, form: web::Form<Decision>) -> Result<HttpResponse, PageError> {
    user.check_csrf(&form.csrf)?;
    let req = crate::ledger::payouts::PayRequest { reference: Some(form.reference.clone()), paid_at: None };
    let (id, who) = (id.into_inner(), user.who);
    crate::db::transaction(&state.pool, move |conn| crate::ledger::payouts::pay(conn, &who, id, &req)).await?;
    Ok(back("approved"))
}

/// Marks an approved withdrawal failed (the money returns to the wallet).
#[post("/console/withdrawals/{id}/fail")]
pub async fn fail(state: web::Data<AppState>, user: ConsoleUser, id: web::Path<i64>, form: web::Form<Decision>) -> Result<HttpResponse, PageError> {
    user.check_csrf(&form.csrf)?;
    let req = crate::ledger::payouts::FailRequest { reason: Some(form.reason.clone()) };
    let (id, who) = (id.into_inner(), user.who);
    crate::db::transaction(&state.pool, move |conn| crate::ledger::payouts::fail(conn, &who, id, &req)).await?;
    Ok(back("approved"))
}

#[derive(Debug, Deserialize)]
pub struct ExportQuery {
    #[serde(default)]
    batch: Option<i32>,
}

/// The payout file, the API's bytes: all approved (opening a batch for new ones), or one batch.
#[get("/console/payouts/payouts.{format}")]
pub async fn export(state: web::Data<AppState>, user: ConsoleUser, format: web::Path<String>, q: web::Query<ExportQuery>) -> Result<HttpResponse, PageError> {
    use crate::ledger::payout_file::Selection;
    let format = crate::settlement::export::ExportFormat::parse(&format.into_inner())?;
    let sel = q.batch.map_or(Selection::Approved, Selection::Batch);
    let who = user.who;
    let (bytes, _) = crate::db::transaction(&state.pool, move |conn| crate::ledger::payout_file::export(conn, &who, sel, format)).await?;
    let name = match sel {
        Selection::Batch(n) => format!("payouts-batch-{n}.{}", format.as_str()),
        Selection::Approved => format!("payouts-approved.{}", format.as_str()),
    };
    Ok(HttpResponse::Ok().content_type(format.content_type()).insert_header(("Content-Disposition", format!("attachment; filename=\"{name}\""))).body(bytes))
}

#[derive(Template)]
#[template(path = "agent_payout.html")]
struct PayoutPage {
    csrf: String,
    idem: String,
    agent: crate::tree::Agent,
    wallet: crate::ledger::Wallet,
    payee: Option<crate::ledger::payee::Payee>,
}

/// Paying out what an exited agent has left (its buyback money): the wallet, the payee.
#[get("/console/agents/{id}/payout")]
pub async fn payout_form(state: web::Data<AppState>, user: ConsoleUser, id: web::Path<i64>) -> Result<HttpResponse, PageError> {
    let (id, who) = (id.into_inner(), user.who);
    let (agent, wallet, payee) = crate::db::read(&state.pool, move |conn| {
        Ok((crate::tree::get(conn, &who, id)?, crate::ledger::wallet(conn, &who, id)?, crate::ledger::payee::get(conn, &who, id)?))
    })
    .await?;
    super::html(&PayoutPage { csrf: user.csrf, idem: super::format::form_key(), agent, wallet, payee })
}

#[post("/console/agents/{id}/payout")]
pub async fn payout(
    state: web::Data<AppState>,
    user: ConsoleUser,
    id: web::Path<i64>,
    form: web::Form<std::collections::HashMap<String, String>>,
) -> Result<HttpResponse, PageError> {
    let (id, form) = (id.into_inner(), form.into_inner());
    user.check_csrf(form.get("csrf").map_or("", String::as_str))?;
    let field = |k: &str| form.get(k).map_or("", |s| s.trim()).to_owned();
    let amount = field("amount").parse().map_err(|_| PageError(AppError::validation("金额 amount must be like 358.20")))?;
    let payee = (!field("account").is_empty()).then(|| crate::ledger::payee::PayeeInput {
        method: field("method"),
        name: field("name"),
        account: field("account"),
        bank: Some(field("bank")).filter(|b| !b.is_empty()),
    });
    let req = crate::ledger::WithdrawalRequest { amount, payee };
    let key = crate::idempotency::IdempotencyKey(Some(field("idem")).filter(|k| !k.is_empty() && k.len() <= 200));
    let who = user.who;
    crate::db::transaction(&state.pool, move |conn| {
        crate::idempotency::once(conn, &who, &key, &format!("POST /agents/{id}/withdrawals"), &req, actix_web::http::StatusCode::CREATED, |conn| {
            crate::ledger::withdrawals::request(conn, &who, id, &req)
        })
    })
    .await?;
    Ok(back("approved"))
}
