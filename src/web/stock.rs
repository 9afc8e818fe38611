//! 库存 Stock: HQ's stock where the brand tracks it, one agent's stock, adjustments (with a
//! reason, once per form), and the dated movements of goods.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::format::{filters, form_key, local, query, zone};
use super::session::{ConsoleUser, PageError};
use crate::error::AppError;
use crate::idempotency::IdempotencyKey;
use crate::inventory::movements::Movement;
use crate::inventory::{Adjustment, StockLine};
use crate::AppState;

const PAGE: i64 = 50;

#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    #[serde(default)]
    agent_id: String,
    #[serde(default)]
    sku: String,
    #[serde(default)]
    before: String,
}

struct MoveRow {
    m: Movement,
    at: String,
    from: String,
    to: String,
}

#[derive(Template)]
#[template(path = "stock.html")]
struct StockPage {
    csrf: String,
    idem: String,
    f: Filters,
    tracking: bool,
    hq: Vec<(String, i64)>,
    agent: Option<(crate::tree::Agent, Vec<StockLine>)>,
    skus: Vec<String>,
    moves: Vec<MoveRow>,
    next: Option<String>,
}

fn party(names: &HashMap<i64, String>, id: Option<i64>, kind: &str) -> String {
    match id {
        Some(id) => names.get(&id).map_or_else(|| format!("#{id}"), |n| format!("{n} #{id}")),
        None if kind == "retail" => "顾客 consumer".to_owned(),
        None => "总部 HQ".to_owned(),
    }
}

#[get("/console/stock")]
pub async fn page(state: web::Data<AppState>, user: ConsoleUser, f: web::Query<Filters>) -> Result<HttpResponse, PageError> {
    let f = f.into_inner();
    let bad = |what: &str| PageError(AppError::bad_request("invalid_query", format!("{what} must be a number")));
    let agent_id = if f.agent_id.trim().is_empty() { None } else { Some(f.agent_id.trim().parse::<i64>().map_err(|_| bad("agent"))?) };
    let before = if f.before.is_empty() { 0 } else { f.before.parse::<i64>().map_err(|_| bad("cursor"))? };
    let sku = Some(f.sku.trim().to_owned()).filter(|s| !s.is_empty());
    let who = user.who;
    let (settings, hq, agent, skus, mut moves, names) = crate::db::read(&state.pool, move |conn| {
        let settings = crate::brands::settings(conn, who.brand_id)?;
        let hq = crate::inventory::movements::hq_stock(conn, &who)?;
        let agent = match agent_id {
            Some(id) => Some((crate::tree::get(conn, &who, id)?, crate::inventory::agent_stock(conn, &who, id)?)),
            None => None,
        };
        let skus = crate::catalog::load_products(conn, who.brand_id, None, 1000)?.into_iter().map(|p| p.sku).collect::<Vec<_>>();
        let moves = crate::inventory::movements::movements(conn, &who, agent_id, sku.as_deref(), before, PAGE + 1)?;
        let ids: Vec<i64> = moves.iter().flat_map(|m| [m.from_agent, m.to_agent]).flatten().collect();
        let names = crate::tree::names(conn, &who, &ids)?;
        Ok((settings, hq, agent, skus, moves, names))
    })
    .await?;
    let tz = zone(&settings.timezone);
    let next = (moves.len() as i64 > PAGE).then(|| {
        moves.truncate(PAGE as usize);
        query(&[("agent_id", &f.agent_id), ("sku", &f.sku), ("before", &moves.last().map_or(0, |m| m.id).to_string())])
    });
    let moves = moves
        .into_iter()
        .map(|m| MoveRow { at: local(&m.at, &tz), from: party(&names, m.from_agent, ""), to: party(&names, m.to_agent, &m.kind), m })
        .collect();
    super::html(&StockPage { csrf: user.csrf, idem: form_key(), f, tracking: settings.hq_stock_tracking, hq, agent, skus, moves, next })
}

#[post("/console/stock/adjustments")]
pub async fn adjust(state: web::Data<AppState>, user: ConsoleUser, form: web::Form<HashMap<String, String>>) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    user.check_csrf(form.get("csrf").map_or("", String::as_str))?;
    let field = |k: &str| form.get(k).map_or("", |s| s.trim()).to_owned();
    let agent_raw = field("agent_id");
    let agent_id = if agent_raw.is_empty() {
        None
    } else {
        Some(agent_raw.parse::<i64>().map_err(|_| PageError(AppError::validation("代理编号必须是数字 agent must be a number")))?)
    };
    let qty: i64 =
        field("qty").parse().map_err(|_| PageError(AppError::validation("数量必须是整数（减少用负数） qty must be a whole number (negative removes)")))?;
    let cost = field("unit_cost");
    let unit_cost =
        if cost.is_empty() { None } else { Some(cost.parse().map_err(|_| PageError(AppError::validation("成本不是金额 unit cost is not an amount")))?) };
    let adj = Adjustment { agent_id, sku: field("sku"), qty, unit_cost, reason: field("reason") };
    let key = IdempotencyKey(Some(field("idem")).filter(|k| !k.is_empty() && k.len() <= 200));
    let who = user.who;
    crate::db::transaction(&state.pool, move |conn| {
        crate::idempotency::once(conn, &who, &key, "POST /inventory/adjustments", &adj, StatusCode::CREATED, |conn| crate::inventory::adjust(conn, &who, &adj))
    })
    .await?;
    let back = agent_id.map_or_else(|| "/console/stock".to_owned(), |id| format!("/console/stock?agent_id={id}"));
    Ok(super::see_other(back))
}
