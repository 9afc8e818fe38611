//! 订单 Orders: the list (month, kind, agent, SKU; newest first, paged by cursor), an order's
//! page that explains every cut with its arithmetic, refunds from that page and their history.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{get, post, web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::format::{filters, form_key, local, query, zone};
use super::session::{ConsoleUser, PageError};
use crate::error::AppError;
use crate::idempotency::IdempotencyKey;
use crate::orders::explain::Cut;
use crate::orders::{ListQuery, OrderView, PurchaseLine, RefundRequest};
use crate::AppState;

const PAGE: i64 = 50;

#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    #[serde(default)]
    month: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    agent_id: String,
    #[serde(default)]
    sku: String,
    #[serde(default)]
    before: String,
}

struct Row {
    order: OrderView,
    at: String,
    buyer: String,
    seller: String,
    skus: String,
}

#[derive(Template)]
#[template(path = "orders.html")]
struct OrdersPage {
    csrf: String,
    f: Filters,
    rows: Vec<Row>,
    next: Option<String>,
}

fn parse_id(what: &str, s: &str) -> Result<Option<i64>, PageError> {
    if s.trim().is_empty() {
        return Ok(None);
    }
    s.trim().parse().map(Some).map_err(|_| PageError(AppError::bad_request("invalid_query", format!("{what} must be a number"))))
}

fn who_name(names: &HashMap<i64, String>, id: Option<i64>) -> String {
    match id {
        None => "总部 HQ".to_owned(),
        Some(id) => names.get(&id).map_or_else(|| format!("#{id}"), |n| format!("{n} #{id}")),
    }
}

#[get("/console/orders")]
pub async fn list(state: web::Data<AppState>, user: ConsoleUser, f: web::Query<Filters>) -> Result<HttpResponse, PageError> {
    let f = f.into_inner();
    let q = ListQuery {
        agent_id: parse_id("agent", &f.agent_id)?,
        month: Some(f.month.trim().to_owned()).filter(|m| !m.is_empty()),
        kind: Some(f.kind.clone()).filter(|k| !k.is_empty()),
        sku: Some(f.sku.trim().to_owned()).filter(|s| !s.is_empty()),
        desc: true,
    };
    let before = parse_id("cursor", &f.before)?.unwrap_or(0);
    let who = user.who;
    let (mut orders, names, tz) = crate::db::read(&state.pool, move |conn| {
        let orders = crate::orders::list(conn, &who, &q, before, PAGE + 1)?;
        let ids: Vec<i64> = orders.iter().flat_map(|o| [o.buyer_id, o.seller_id]).flatten().collect();
        Ok((orders, crate::tree::names(conn, &who, &ids)?, crate::brands::settings(conn, who.brand_id)?.timezone))
    })
    .await?;
    let tz = zone(&tz);
    let next = (orders.len() as i64 > PAGE).then(|| {
        orders.truncate(PAGE as usize);
        let last = orders.last().map_or(0, |o| o.id).to_string();
        query(&[("month", &f.month), ("kind", &f.kind), ("agent_id", &f.agent_id), ("sku", &f.sku), ("before", &last)])
    });
    let rows = orders
        .into_iter()
        .map(|o| Row {
            at: local(&o.placed_at, &tz),
            buyer: if o.kind == "retail" {
                o.customer.as_ref().map_or_else(|| "顾客 Customer".to_owned(), |c| format!("顾客 {}", c.name))
            } else {
                who_name(&names, o.buyer_id)
            },
            seller: who_name(&names, o.seller_id),
            skus: o.lines.iter().map(|l| format!("{} × {}", l.sku, l.qty)).collect::<Vec<_>>().join(", "),
            order: o,
        })
        .collect();
    super::html(&OrdersPage { csrf: user.csrf, f, rows, next })
}

struct CutRow {
    cut: Cut,
    sku: String,
    receiver: String,
}

#[derive(Template)]
#[template(path = "order.html")]
struct OrderPage {
    csrf: String,
    idem: String,
    order: OrderView,
    at: String,
    buyer: String,
    seller: String,
    cuts: Vec<CutRow>,
    refunds: Vec<CutRow>,
    refundable: bool,
}

#[get("/console/orders/{id}")]
pub async fn page(state: web::Data<AppState>, user: ConsoleUser, id: web::Path<i64>) -> Result<HttpResponse, PageError> {
    let id = id.into_inner();
    let who = user.who;
    let (order, plan, names, tz) = crate::db::read(&state.pool, move |conn| {
        let order = crate::orders::get(conn, &who, id)?;
        let plan = match order.plan_version {
            Some(_) => Some(crate::plans::in_force_at(conn, who.brand_id, order.placed_at)?),
            None => None,
        };
        let ids: Vec<i64> = order.splits.iter().filter_map(|s| s.agent_id).chain([order.buyer_id, order.seller_id].into_iter().flatten()).collect();
        Ok((order, plan, crate::tree::names(conn, &who, &ids)?, crate::brands::settings(conn, who.brand_id)?.timezone))
    })
    .await?;
    let sku_of: HashMap<i32, String> = order.lines.iter().map(|l| (l.line_no, l.sku.clone())).collect();
    let (refunds, cuts): (Vec<CutRow>, Vec<CutRow>) = crate::orders::explain::explain(&order, plan.as_ref())
        .into_iter()
        .map(|cut| CutRow { sku: sku_of.get(&cut.line_no).cloned().unwrap_or_default(), receiver: who_name(&names, cut.agent_id), cut })
        .partition(|c| c.cut.refund_id.is_some());
    let page = OrderPage {
        csrf: user.csrf,
        idem: form_key(),
        at: local(&order.placed_at, &zone(&tz)),
        buyer: if order.kind == "retail" {
            order.customer.as_ref().map_or_else(|| "顾客 Customer".to_owned(), |c| format!("顾客 {}", c.name))
        } else {
            who_name(&names, order.buyer_id)
        },
        seller: who_name(&names, order.seller_id),
        refundable: order.lines.iter().any(|l| l.refunded_qty < i64::from(l.qty)),
        cuts,
        refunds,
        order,
    };
    super::html(&page)
}

/// The refund form: `csrf`, `idem`, and `qty_<line_no>` for every line (0 or empty: none).
#[post("/console/orders/{id}/refunds")]
pub async fn refund(
    state: web::Data<AppState>,
    user: ConsoleUser,
    id: web::Path<i64>,
    form: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, PageError> {
    let id = id.into_inner();
    let form = form.into_inner();
    user.check_csrf(form.get("csrf").map_or("", String::as_str))?;
    let key = IdempotencyKey(form.get("idem").filter(|k| !k.is_empty() && k.len() <= 200).cloned());
    let who = user.who;
    let (lines_of_order, _) = crate::db::read(&state.pool, {
        let who = who;
        move |conn| Ok((crate::orders::get(conn, &who, id)?.lines, ()))
    })
    .await?;
    let mut lines = Vec::new();
    for l in &lines_of_order {
        let raw = form.get(&format!("qty_{}", l.line_no)).map_or("", |s| s.trim());
        if raw.is_empty() || raw == "0" {
            continue;
        }
        let qty: i64 =
            raw.parse().map_err(|_| PageError(AppError::validation(format!("退款数量必须是整数 refund quantity of {} must be a whole number", l.sku))))?;
        lines.push(PurchaseLine { sku: l.sku.clone(), qty });
    }
    if lines.is_empty() {
        return Err(PageError(AppError::validation("请填写要退的数量 enter how many units to refund")));
    }
    let req = RefundRequest { lines, refunded_at: None };
    crate::db::transaction(&state.pool, move |conn| {
        crate::idempotency::once(conn, &who, &key, &format!("POST /orders/{id}/refunds"), &req, actix_web::http::StatusCode::CREATED, |conn| {
            crate::orders::refund(conn, &who, id, &req)
        })
    })
    .await?;
    Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, format!("/console/orders/{id}#refunds"))).finish())
}
