use actix_web::http::StatusCode;
use actix_web::{get, post, put, web, HttpResponse};

use super::{Product, ProductInput, ProductUpdate, SaleRequest, Tier, TierInput};
use crate::auth::Principal;
use crate::error::AppError;
use crate::idempotency::{self, IdempotencyKey};
use crate::pagination::{Page, PageQuery};
use crate::AppState;

/// All tiers, best (rank 1) first.
#[utoipa::path(get, tag = "catalog", responses((status = 200, body = Page<Tier>)), security(("bearer" = [])))]
#[get("/tiers")]
pub async fn list_tiers(state: web::Data<AppState>, who: Principal) -> Result<HttpResponse, AppError> {
    let tiers = crate::db::transaction(&state.pool, move |conn| super::list_tiers(conn, who.brand_id)).await?;
    Ok(HttpResponse::Ok().json(Page::all(tiers)))
}

#[utoipa::path(post, tag = "catalog", request_body = TierInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "replay-safe retries")),
    responses((status = 201, body = Tier), (status = 403), (status = 409, description = "rank_taken"), (status = 422)), security(("bearer" = [])))]
#[post("/tiers")]
pub async fn create_tier(state: web::Data<AppState>, who: Principal, key: IdempotencyKey, body: web::Json<TierInput>) -> Result<HttpResponse, AppError> {
    who.require_hq()?;
    let input = body.into_inner();
    let resp = crate::db::transaction(&state.pool, move |conn| {
        idempotency::once(conn, &who, &key, "POST /tiers", &input, StatusCode::CREATED, |conn| super::create_tier(conn, &who, &input))
    })
    .await?;
    Ok(resp.into_http())
}

#[utoipa::path(put, tag = "catalog", request_body = TierInput, params(("id" = i64, Path)),
    responses((status = 200, body = Tier), (status = 404), (status = 409), (status = 422)), security(("bearer" = [])))]
#[put("/tiers/{id}")]
pub async fn update_tier(state: web::Data<AppState>, who: Principal, id: web::Path<i64>, body: web::Json<TierInput>) -> Result<HttpResponse, AppError> {
    who.require_hq()?;
    let (id, input) = (id.into_inner(), body.into_inner());
    let tier = crate::db::transaction(&state.pool, move |conn| super::update_tier(conn, &who, id, &input)).await?;
    Ok(HttpResponse::Ok().json(tier))
}

/// Products with their tier prices, by SKU.
#[utoipa::path(get, tag = "catalog", params(PageQuery), responses((status = 200, body = Page<Product>)), security(("bearer" = [])))]
#[get("/products")]
pub async fn list_products(state: web::Data<AppState>, who: Principal, page: web::Query<PageQuery>) -> Result<HttpResponse, AppError> {
    let (limit, after) = (page.limit()?, page.cursor()?);
    let rows = crate::db::transaction(&state.pool, move |conn| super::load_products(conn, who.brand_id, after.as_deref(), limit + 1)).await?;
    Ok(HttpResponse::Ok().json(Page::from_rows(rows, limit, |p| p.sku.clone())))
}

#[utoipa::path(get, tag = "catalog", params(("sku" = String, Path)), responses((status = 200, body = Product), (status = 404)), security(("bearer" = [])))]
#[get("/products/{sku}")]
pub async fn get_product(state: web::Data<AppState>, who: Principal, sku: web::Path<String>) -> Result<HttpResponse, AppError> {
    let sku = sku.into_inner();
    let product = crate::db::transaction(&state.pool, move |conn| super::get_product(conn, who.brand_id, &sku)).await?;
    Ok(HttpResponse::Ok().json(product))
}

/// Adds a product. Its price list must price every tier, never higher for a better tier,
/// never above retail.
#[utoipa::path(post, tag = "catalog", request_body = ProductInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "replay-safe retries")),
    responses((status = 201, body = Product), (status = 409, description = "sku_taken"), (status = 422, description = "validation or price_order")), security(("bearer" = [])))]
#[post("/products")]
pub async fn create_product(state: web::Data<AppState>, who: Principal, key: IdempotencyKey, body: web::Json<ProductInput>) -> Result<HttpResponse, AppError> {
    who.require_hq()?;
    let input = body.into_inner();
    let resp = crate::db::transaction(&state.pool, move |conn| {
        idempotency::once(conn, &who, &key, "POST /products", &input, StatusCode::CREATED, |conn| super::create_product(conn, &who, &input))
    })
    .await?;
    Ok(resp.into_http())
}

/// Replaces a product's name, retail price and price list.
#[utoipa::path(put, tag = "catalog", request_body = ProductUpdate, params(("sku" = String, Path)),
    responses((status = 200, body = Product), (status = 404), (status = 422)), security(("bearer" = [])))]
#[put("/products/{sku}")]
pub async fn update_product(
    state: web::Data<AppState>,
    who: Principal,
    sku: web::Path<String>,
    body: web::Json<ProductUpdate>,
) -> Result<HttpResponse, AppError> {
    who.require_hq()?;
    let (sku, input) = (sku.into_inner(), body.into_inner());
    let product = crate::db::transaction(&state.pool, move |conn| super::update_product(conn, &who, &sku, &input)).await?;
    Ok(HttpResponse::Ok().json(product))
}

/// 上下架: takes a product off sale (no new orders) or puts it back; nothing is deleted.
#[utoipa::path(post, tag = "catalog", request_body = SaleRequest, params(("sku" = String, Path)),
    responses((status = 200, body = Product), (status = 404)), security(("bearer" = [])))]
#[post("/products/{sku}/sale")]
pub async fn set_sale(state: web::Data<AppState>, who: Principal, sku: web::Path<String>, body: web::Json<SaleRequest>) -> Result<HttpResponse, AppError> {
    who.require_hq()?;
    let (sku, on_sale) = (sku.into_inner(), body.on_sale);
    let product = crate::db::transaction(&state.pool, move |conn| super::set_on_sale(conn, &who, &sku, on_sale)).await?;
    Ok(HttpResponse::Ok().json(product))
}
