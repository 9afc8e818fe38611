//! 下单 Order: buy at the own tier's price (from HQ or the upline), or record a retail sale to
//! a consumer (the brand's price floor warns or refuses, as it set). Each form writes once.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use askama::Template;
use rust_decimal::Decimal;

use super::session::{AgentUser, PortalError};
use crate::error::AppError;
use crate::idempotency::IdempotencyKey;
use crate::orders::{Customer, OrderRequest, OrderView, PurchaseLine, PurchaseRequest, RetailLine, RetailRequest};
use crate::web::format::{filters, form_key};
use crate::AppState;

struct Offer {
    sku: String,
    name: String,
    /// The agent's own tier price; None when its tier has none.
    price: Option<Decimal>,
    retail: Decimal,
    floor: Option<Decimal>,
    on_sale: bool,
}

#[derive(Template)]
#[template(path = "m/order.html")]
struct OrderPage {
    csrf: String,
    idem: String,
    offers: Vec<Offer>,
    supply: &'static str,
}

#[get("/m/order")]
pub async fn order_form(state: web::Data<AppState>, user: AgentUser) -> Result<HttpResponse, PortalError> {
    let (who, id) = (user.who, user.id);
    let (me, products, supply) = crate::db::read(&state.pool, move |conn| {
        Ok((
            crate::tree::get(conn, &who, id)?,
            crate::catalog::load_products(conn, who.brand_id, None, 1000)?,
            crate::brands::settings(conn, who.brand_id)?.supply_mode,
        ))
    })
    .await?;
    let offers = products
        .into_iter()
        .map(|p| Offer {
            price: p.prices.get(&me.tier_id.to_string()).copied(),
            retail: p.retail_price,
            floor: p.retail_floor,
            on_sale: p.on_sale,
            name: p.name,
            sku: p.sku,
        })
        .collect();
    super::html(&OrderPage { csrf: user.csrf, idem: form_key(), offers, supply: supply.as_str() })
}

#[derive(Template)]
#[template(path = "m/order_done.html")]
struct Done {
    csrf: String,
    order: OrderView,
}

fn field<'a>(form: &'a HashMap<String, String>, k: &str) -> &'a str {
    form.get(k).map_or("", |s| s.trim())
}

async fn place(state: &AppState, user: &AgentUser, form: &HashMap<String, String>, req: OrderRequest) -> Result<HttpResponse, PortalError> {
    let key = IdempotencyKey(Some(field(form, "idem").to_owned()).filter(|k| !k.is_empty() && k.len() <= 200));
    let who = user.who;
    let buyer = crate::orders::purchase_buyer(&who, &req);
    let stored = crate::db::transaction(&state.pool, move |conn| {
        crate::idempotency::once(conn, &who, &key, "POST /orders", &req, StatusCode::CREATED, |conn| crate::orders::place(conn, &who, &req))
    })
    .await?;
    if let Some(buyer) = buyer {
        crate::db::transaction(&state.pool, move |conn| crate::tree::activation::after_purchase(conn, who.brand_id, buyer)).await?;
    }
    let id = serde_json::from_str::<serde_json::Value>(&stored.body)
        .ok()
        .and_then(|v| v["id"].as_i64())
        .ok_or_else(|| PortalError(AppError::internal("placed order has no id")))?;
    let who = user.who;
    let order = crate::db::read(&state.pool, move |conn| crate::orders::get(conn, &who, id)).await?;
    super::html_with(StatusCode::CREATED, &Done { csrf: user.csrf.clone(), order })
}

fn qty(form: &HashMap<String, String>) -> Result<i64, PortalError> {
    field(form, "qty").parse().map_err(|_| PortalError(AppError::validation("数量必须是整数 quantity must be a whole number")))
}

#[post("/m/order/purchase")]
pub async fn purchase(state: web::Data<AppState>, user: AgentUser, form: web::Form<HashMap<String, String>>) -> Result<HttpResponse, PortalError> {
    let form = form.into_inner();
    user.check_csrf(field(&form, "csrf"))?;
    let supply = match field(&form, "supply") {
        "hq" => Some(crate::brands::SupplyMode::Hq),
        "upline" => Some(crate::brands::SupplyMode::Upline),
        _ => None,
    };
    let req = OrderRequest::Purchase(PurchaseRequest {
        buyer_id: Some(user.id),
        supply,
        lines: vec![PurchaseLine { sku: field(&form, "sku").to_owned(), qty: qty(&form)? }],
        placed_at: None,
    });
    place(&state, &user, &form, req).await
}

#[post("/m/order/retail")]
pub async fn retail(state: web::Data<AppState>, user: AgentUser, form: web::Form<HashMap<String, String>>) -> Result<HttpResponse, PortalError> {
    let form = form.into_inner();
    user.check_csrf(field(&form, "csrf"))?;
    let price = field(&form, "unit_price");
    let unit_price = if price.is_empty() {
        None
    } else {
        Some(price.parse::<Decimal>().map_err(|_| PortalError(AppError::validation("售价不是金额 the price is not an amount")))?)
    };
    let phone = Some(field(&form, "phone").trim()).filter(|p| !p.is_empty()).map(str::to_owned);
    let name = field(&form, "customer").trim();
    let customer = match (name.is_empty(), &phone) {
        (true, None) => None,
        // a phone without a name keeps the customer: it is named by its phone
        (true, Some(p)) => Some(Customer { name: crate::customers::phone::mask(p), phone }),
        (false, _) => Some(Customer { name: name.to_owned(), phone }),
    };
    let req = OrderRequest::Retail(RetailRequest {
        seller_id: Some(user.id),
        customer,
        lines: vec![RetailLine { sku: field(&form, "sku").to_owned(), qty: qty(&form)?, unit_price }],
        placed_at: None,
    });
    place(&state, &user, &form, req).await
}
