//! 收益 Earnings, month by month: every cut with its order, rule, generation and when it
//! becomes available. 提现 Withdraw: up to the available balance, and each request's state.

use actix_web::http::{header, StatusCode};
use actix_web::{get, post, web, HttpResponse};
use askama::Template;
use rust_decimal::Decimal;
use serde::Deserialize;

use super::session::{AgentUser, PortalError};
use crate::error::AppError;
use crate::idempotency::IdempotencyKey;
use crate::ledger::payee::{Payee, PayeeInput};
use crate::ledger::quote::WithdrawalRules;
use crate::ledger::withdrawals::{ListFilter, QueuedWithdrawal};
use crate::ledger::{Earnings, PostingView, Wallet};
use crate::web::format::{filters, form_key, local, zone};
use crate::AppState;

struct Cut {
    p: PostingView,
    /// The arithmetic, e.g. `597.00 = 10 × (119.40 − 59.70)`, for the latest cuts.
    formula: String,
    rule: &'static str,
    at: String,
    available: String,
    held: bool,
}

#[derive(Template)]
#[template(path = "m/earnings.html")]
struct EarningsPage {
    csrf: String,
    month: String,
    prev: String,
    next: Option<String>,
    earnings: Earnings,
    totals: Vec<(&'static str, Decimal)>,
    cuts: Vec<Cut>,
}

#[derive(Debug, Default, Deserialize)]
pub struct MonthQuery {
    #[serde(default)]
    month: String,
}

fn shift(month: &str, by: i32) -> Result<String, AppError> {
    let d = crate::period::parse_month(month)?;
    let d = if by < 0 { d.checked_sub_months(chrono::Months::new(by.unsigned_abs())) } else { d.checked_add_months(chrono::Months::new(by as u32)) };
    d.map(|d| d.format("%Y-%m").to_string()).ok_or_else(|| AppError::validation("month out of range"))
}

#[get("/m/earnings")]
pub async fn earnings(state: web::Data<AppState>, user: AgentUser, q: web::Query<MonthQuery>) -> Result<HttpResponse, PortalError> {
    let (who, id, wanted) = (user.who, user.id, q.into_inner().month);
    let (earnings, tz, current, formulas) = crate::db::read(&state.pool, move |conn| {
        let tz = crate::brands::settings(conn, who.brand_id)?.timezone;
        let current = crate::period::month_of(chrono::Utc::now(), &tz)?;
        let month = if wanted.trim().is_empty() { current.clone() } else { wanted.trim().to_owned() };
        let earnings = crate::ledger::earnings(conn, &who, id, &month)?;
        // the arithmetic of the latest 30 cuts' orders
        let mut recent: Vec<i64> = earnings.postings.iter().rev().filter(|p| p.amount > Decimal::ZERO).filter_map(|p| p.order_id).collect();
        recent.dedup();
        recent.truncate(30);
        let formulas = crate::orders::formulas_for(conn, &who, id, &recent)?;
        Ok((earnings, tz, current, formulas))
    })
    .await?;
    let tz = zone(&tz);
    let now = chrono::Utc::now();
    let month = earnings.month.clone();
    let totals = earnings.totals.iter().map(|(k, v)| (crate::orders::explain::rule_name(k), *v)).collect();
    let cuts = earnings
        .postings
        .iter()
        .rev()
        .map(|p| Cut {
            rule: crate::orders::explain::rule_name(p.kind.as_deref().unwrap_or_default()),
            at: local(&p.occurred_at, &tz),
            available: local(&p.available_at, &tz),
            held: p.available_at > now,
            formula: p
                .order_id
                .and_then(|o| formulas.get(&(o, p.line_no.unwrap_or(0), p.kind.clone().unwrap_or_default(), p.generation)))
                .cloned()
                .unwrap_or_default(),
            p: p.clone(),
        })
        .collect();
    let page = EarningsPage {
        csrf: user.csrf,
        prev: shift(&month, -1)?,
        next: (month < current).then(|| shift(&month, 1)).transpose()?,
        month,
        totals,
        cuts,
        earnings,
    };
    super::html(&page)
}

#[derive(Template)]
#[template(path = "m/withdraw.html")]
struct WithdrawPage {
    csrf: String,
    idem: String,
    wallet: Wallet,
    payee: Option<Payee>,
    rules: WithdrawalRules,
    history: Vec<(QueuedWithdrawal, String)>,
}

#[get("/m/withdraw")]
pub async fn withdraw_page(state: web::Data<AppState>, user: AgentUser) -> Result<HttpResponse, PortalError> {
    let (who, id) = (user.who, user.id);
    let (wallet, payee_now, history, settings) = crate::db::read(&state.pool, move |conn| {
        Ok((
            crate::ledger::wallet(conn, &who, id)?,
            crate::ledger::payee::get(conn, &who, id)?,
            crate::ledger::withdrawals::list(conn, &who, &ListFilter::default(), 0, 50)?,
            crate::brands::settings(conn, who.brand_id)?,
        ))
    })
    .await?;
    let tz = zone(&settings.timezone);
    let history = history
        .into_iter()
        .map(|w| {
            let at = local(&w.withdrawal.requested_at, &tz);
            (w, at)
        })
        .collect();
    super::html(&WithdrawPage { csrf: user.csrf, idem: form_key(), wallet, payee: payee_now, rules: settings.withdrawal, history })
}

#[derive(Debug, Deserialize)]
pub struct WithdrawForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    idem: String,
    #[serde(default)]
    amount: String,
}

#[post("/m/withdraw")]
pub async fn withdraw(state: web::Data<AppState>, user: AgentUser, form: web::Form<WithdrawForm>) -> Result<HttpResponse, PortalError> {
    let form = form.into_inner();
    user.check_csrf(&form.csrf)?;
    let amount: Decimal = form.amount.trim().parse().map_err(|_| PortalError(AppError::validation("金额不对 the amount is not an amount")))?;
    let key = IdempotencyKey(Some(form.idem).filter(|k| !k.is_empty() && k.len() <= 200));
    let (who, id) = (user.who, user.id);
    let req = crate::ledger::WithdrawalRequest { amount, payee: None };
    crate::db::transaction(&state.pool, move |conn| {
        crate::idempotency::once(conn, &who, &key, &format!("POST /agents/{id}/withdrawals"), &req, StatusCode::CREATED, |conn| {
            crate::ledger::withdrawals::request(conn, &who, id, &req)
        })
    })
    .await?;
    Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, "/m/withdraw")).finish())
}

#[derive(Debug, Deserialize)]
pub struct QuoteQuery {
    #[serde(default)]
    amount: String,
}

#[derive(Template)]
#[template(path = "m/withdraw_quote.html")]
struct QuoteFragment {
    quote: Option<crate::ledger::quote::Quote>,
    problem: String,
}

/// What the typed amount would cost and pay, shown before the agent asks.
#[get("/m/withdraw/quote")]
pub async fn quote(state: web::Data<AppState>, user: AgentUser, q: web::Query<QuoteQuery>) -> Result<HttpResponse, PortalError> {
    let amount = q.into_inner().amount;
    if amount.trim().is_empty() {
        return super::html(&QuoteFragment { quote: None, problem: String::new() });
    }
    let Ok(amount) = amount.trim().parse::<Decimal>() else {
        return super::html(&QuoteFragment { quote: None, problem: "金额不对 not an amount".into() });
    };
    let (who, id) = (user.who, user.id);
    let result = crate::db::read(&state.pool, move |conn| crate::ledger::withdrawals::preview(conn, &who, id, amount)).await;
    match result {
        Ok(view) if amount > view.wallet.available => {
            super::html(&QuoteFragment { quote: Some(view.quote), problem: format!("超过可提现余额 more than the {} available", view.wallet.available) })
        }
        Ok(view) => super::html(&QuoteFragment { quote: Some(view.quote), problem: String::new() }),
        Err(e) if actix_web::ResponseError::status_code(&e).is_client_error() => super::html(&QuoteFragment { quote: None, problem: e.detail }),
        Err(e) => Err(PortalError(e)),
    }
}

#[derive(Template)]
#[template(path = "m/payee.html")]
struct PayeePage {
    csrf: String,
    payee: Option<Payee>,
}

/// Where to be paid: bank card, Alipay or WeChat.
#[get("/m/payee")]
pub async fn payee_page(state: web::Data<AppState>, user: AgentUser) -> Result<HttpResponse, PortalError> {
    let (who, id) = (user.who, user.id);
    let payee = crate::db::read(&state.pool, move |conn| crate::ledger::payee::get(conn, &who, id)).await?;
    super::html(&PayeePage { csrf: user.csrf, payee })
}

#[derive(Debug, Deserialize)]
pub struct PayeeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    method: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    account: String,
    #[serde(default)]
    bank: String,
}

#[post("/m/payee")]
pub async fn save_payee(state: web::Data<AppState>, user: AgentUser, form: web::Form<PayeeForm>) -> Result<HttpResponse, PortalError> {
    let form = form.into_inner();
    user.check_csrf(&form.csrf)?;
    let input = PayeeInput { method: form.method, name: form.name, account: form.account, bank: Some(form.bank).filter(|b| !b.trim().is_empty()) };
    let (who, id) = (user.who, user.id);
    crate::db::transaction(&state.pool, move |conn| crate::ledger::payee::set(conn, &who, id, &input)).await?;
    Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, "/m/withdraw")).finish())
}
