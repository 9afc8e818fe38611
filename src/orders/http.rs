use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;

use super::{ListQuery, OrderRequest, OrderView, RefundRequest, RefundView};
use crate::auth::Principal;
use crate::db::transaction;
use crate::error::AppError;
use crate::idempotency::{self, IdempotencyKey};
use crate::pagination::{Page, PageQuery};
use crate::AppState;

/// Places a purchase (an agent buys from HQ or its upline) or records a retail sale.
#[utoipa::path(post, tag = "orders", request_body = OrderRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "replay-safe retries")),
    responses((status = 201, body = OrderView), (status = 403), (status = 409, description = "insufficient_stock, agent_inactive, idempotency_conflict"), (status = 422)),
    security(("bearer" = [])))]
#[post("/orders")]
pub async fn create(state: web::Data<AppState>, who: Principal, key: IdempotencyKey, body: web::Json<OrderRequest>) -> Result<HttpResponse, AppError> {
    let req = body.into_inner();
    let buyer = super::purchase_buyer(&who, &req);
    // placed with whatever other orders arrive beside it, in one transaction (group commit)
    let (resp, waiting) = state.orders.place(super::group::Job { who, key: key.0, req }).await?;
    if let (true, Some(buyer)) = (waiting, buyer) {
        // 首批进货: a waiting buyer whose purchases now reach its threshold becomes active
        transaction(&state.pool, move |conn| crate::tree::activation::after_purchase(conn, who.brand_id, buyer)).await?;
    }
    Ok(resp.into_http())
}

/// Up to 1,000 orders in one request (HQ: imports and backfills), in one transaction: each
/// placed by the rules of `POST /orders`, in the request's order, under its own
/// `idempotency_key`; one result each, in order — the order or its problem. The same batch
/// again writes nothing.
#[utoipa::path(post, tag = "orders", request_body = super::batch::BatchRequest,
    responses((status = 200, body = Vec<super::batch::BatchResult>), (status = 403), (status = 422, description = "validation: 1 to 1,000 orders, keys unique")), security(("bearer" = [])))]
#[post("/orders/batch")]
pub async fn batch(state: web::Data<AppState>, who: Principal, body: web::Json<super::batch::BatchRequest>) -> Result<HttpResponse, AppError> {
    let req = body.into_inner();
    // place_batch commits per `batch::CHUNK` orders (a whole batch)
    let (results, buyers) = crate::db::read(&state.pool, move |conn| super::batch::place_batch(conn, &who, &req)).await?;
    for buyer in buyers {
        // 首批进货, as after each single order
        transaction(&state.pool, move |conn| crate::tree::activation::after_purchase(conn, who.brand_id, buyer)).await?;
    }
    Ok(HttpResponse::Ok().json(results))
}

#[utoipa::path(get, tag = "orders", params(("id" = i64, Path)), responses((status = 200, body = OrderView), (status = 404)), security(("bearer" = [])))]
#[get("/orders/{id}")]
pub async fn get(state: web::Data<AppState>, who: Principal, id: web::Path<i64>) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let order = transaction(&state.pool, move |conn| super::get(conn, &who, id)).await?;
    Ok(HttpResponse::Ok().json(order))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct OrderListParams {
    /// Orders this agent bought or sold (an agent: itself by default).
    pub agent_id: Option<i64>,
    /// YYYY-MM in the brand's time zone.
    pub month: Option<String>,
    /// purchase or retail
    #[param(pattern = "^(purchase|retail)$")]
    pub kind: Option<String>,
    /// Orders with a line of this SKU.
    pub sku: Option<String>,
    /// asc (default, oldest first) or desc (newest first).
    #[param(pattern = "^(asc|desc)$")]
    pub order: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[utoipa::path(get, tag = "orders", params(OrderListParams), responses((status = 200, body = Page<OrderView>), (status = 404)), security(("bearer" = [])))]
#[get("/orders")]
pub async fn list(state: web::Data<AppState>, who: Principal, params: web::Query<OrderListParams>) -> Result<HttpResponse, AppError> {
    let p = params.into_inner();
    let page = PageQuery { limit: p.limit, cursor: p.cursor };
    let limit = page.limit()?;
    let after = page.id_cursor()?;
    let desc = match p.order.as_deref() {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => return Err(AppError::bad_request("invalid_query", "order must be asc or desc")),
    };
    let q = ListQuery { agent_id: p.agent_id, month: p.month, kind: p.kind, sku: p.sku, desc };
    let rows = transaction(state.reads(), move |conn| super::list(conn, &who, &q, after, limit + 1)).await?;
    Ok(HttpResponse::Ok().json(Page::from_rows(rows, limit, |o| o.id.to_string())))
}

/// Refunds units of an order's lines (HQ): every split reversed, goods back to the seller.
#[utoipa::path(post, tag = "orders", params(("id" = i64, Path), ("Idempotency-Key" = Option<String>, Header, description = "replay-safe retries")),
    request_body = RefundRequest, responses((status = 201, body = RefundView), (status = 404), (status = 409, description = "refund_exceeds_order, insufficient_stock")), security(("bearer" = [])))]
#[post("/orders/{id}/refunds")]
pub async fn refund(
    state: web::Data<AppState>,
    who: Principal,
    key: IdempotencyKey,
    id: web::Path<i64>,
    body: web::Json<RefundRequest>,
) -> Result<HttpResponse, AppError> {
    let (id, req) = (id.into_inner(), body.into_inner());
    let resp = transaction(&state.pool, move |conn| {
        idempotency::once(conn, &who, &key, &format!("POST /orders/{id}/refunds"), &req, StatusCode::CREATED, |conn| super::refund(conn, &who, id, &req))
    })
    .await?;
    Ok(resp.into_http())
}
