//! Tiers (代理等级) and products with their tier price lists.

pub mod http;
pub mod prices;

use std::collections::BTreeMap;

use diesel::prelude::*;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::schema::{product_prices, products, tiers};

#[derive(Debug, Clone, Serialize, Queryable, Selectable, utoipa::ToSchema)]
#[diesel(table_name = tiers)]
pub struct Tier {
    pub id: i64,
    /// 1 is the best tier (closest to HQ).
    pub rank: i32,
    pub name: String,
    #[schema(value_type = Option<String>)]
    pub min_first_order: Option<Decimal>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TierInput {
    pub rank: i32,
    pub name: String,
    #[serde(default, deserialize_with = "crate::amount::money_opt")]
    #[schema(value_type = Option<String>)]
    pub min_first_order: Option<Decimal>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Product {
    pub sku: String,
    pub name: String,
    #[schema(value_type = String)]
    pub retail_price: Decimal,
    /// Price per tier id.
    #[schema(value_type = BTreeMap<String, String>)]
    pub prices: BTreeMap<String, Decimal>,
    /// 控价: the lowest retail price agents may charge (None: no floor).
    #[schema(value_type = Option<String>)]
    pub retail_floor: Option<Decimal>,
    /// 上架: false when taken off sale (no new orders; refunds and stock stay).
    pub on_sale: bool,
    /// 复购周期: days one unit lasts a consumer (1–365); None: no 复购提醒 for it.
    pub repurchase_days: Option<i32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaleRequest {
    pub on_sale: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductInput {
    pub sku: String,
    pub name: String,
    #[schema(value_type = String)]
    #[serde(deserialize_with = "crate::amount::money")]
    pub retail_price: Decimal,
    #[schema(value_type = BTreeMap<String, String>)]
    #[serde(deserialize_with = "crate::amount::money_map")]
    pub prices: BTreeMap<String, Decimal>,
    /// 控价: the lowest retail price agents may charge.
    #[serde(default, deserialize_with = "crate::amount::money_opt")]
    #[schema(value_type = Option<String>)]
    pub retail_floor: Option<Decimal>,
    /// 复购周期: days one unit lasts a consumer (1–365); omitted: no 复购提醒.
    #[serde(default)]
    pub repurchase_days: Option<i32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductUpdate {
    pub name: String,
    #[schema(value_type = String)]
    #[serde(deserialize_with = "crate::amount::money")]
    pub retail_price: Decimal,
    #[schema(value_type = BTreeMap<String, String>)]
    #[serde(deserialize_with = "crate::amount::money_map")]
    pub prices: BTreeMap<String, Decimal>,
    #[serde(default, deserialize_with = "crate::amount::money_opt")]
    #[schema(value_type = Option<String>)]
    pub retail_floor: Option<Decimal>,
    /// 复购周期: days one unit lasts a consumer (1–365); omitted: no 复购提醒.
    #[serde(default)]
    pub repurchase_days: Option<i32>,
}

pub fn list_tiers(conn: &mut PgConnection, brand_id: i64) -> Result<Vec<Tier>, AppError> {
    Ok(tiers::table.filter(tiers::brand_id.eq(brand_id)).order(tiers::rank).select(Tier::as_select()).load(conn)?)
}

fn check_tier(input: &TierInput) -> Result<(), AppError> {
    if input.rank < 1 {
        return Err(AppError::validation("rank must be 1 or more (1 is the best tier)"));
    }
    if input.name.trim().is_empty() || input.name.chars().count() > 40 {
        return Err(AppError::validation("tier name must be 1 to 40 characters"));
    }
    if let Some(min) = input.min_first_order {
        prices::check_amount("min_first_order", min)?;
    }
    Ok(())
}

fn rank_taken(conn: &mut PgConnection, brand_id: i64, rank: i32, except: Option<i64>) -> Result<bool, AppError> {
    let mut q = tiers::table.filter(tiers::brand_id.eq(brand_id)).filter(tiers::rank.eq(rank)).into_boxed();
    if let Some(id) = except {
        q = q.filter(tiers::id.ne(id));
    }
    Ok(diesel::select(diesel::dsl::exists(q)).get_result(conn)?)
}

pub fn create_tier(conn: &mut PgConnection, who: &crate::auth::Principal, input: &TierInput) -> Result<Tier, AppError> {
    who.require_hq()?;
    let brand_id = who.brand_id;
    check_tier(input)?;
    if rank_taken(conn, brand_id, input.rank, None)? {
        return Err(AppError::conflict("rank_taken", format!("a tier with rank {} already exists", input.rank)));
    }
    let tier: Tier = diesel::insert_into(tiers::table)
        .values((tiers::brand_id.eq(brand_id), tiers::rank.eq(input.rank), tiers::name.eq(input.name.trim()), tiers::min_first_order.eq(input.min_first_order)))
        .returning(Tier::as_returning())
        .get_result(conn)?;
    crate::audit::change(conn, who, "tier.create", format!("tier:{}", tier.id), None::<&()>, Some(&tier))?;
    Ok(tier)
}

/// Updates a tier; a rank change must keep every product's price list in order.
pub fn update_tier(conn: &mut PgConnection, who: &crate::auth::Principal, id: i64, input: &TierInput) -> Result<Tier, AppError> {
    who.require_hq()?;
    let brand_id = who.brand_id;
    check_tier(input)?;
    if rank_taken(conn, brand_id, input.rank, Some(id))? {
        return Err(AppError::conflict("rank_taken", format!("another tier has rank {}", input.rank)));
    }
    let before: Option<Tier> = tiers::table.find((brand_id, id)).select(Tier::as_select()).for_update().first(conn).optional()?;
    let tier = diesel::update(tiers::table.find((brand_id, id)))
        .set((tiers::rank.eq(input.rank), tiers::name.eq(input.name.trim()), tiers::min_first_order.eq(input.min_first_order)))
        .returning(Tier::as_returning())
        .get_result(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found(format!("tier {id}")))?;
    let all_tiers = list_tiers(conn, brand_id)?;
    for product in load_products(conn, brand_id, None, i64::MAX)? {
        let by_tier = prices::parse_tier_keys(&product.prices)?;
        prices::validate_price_list(&all_tiers, product.retail_price, &by_tier, false).map_err(|e| {
            AppError::unprocessable("price_order", format!("moving tier {id} to rank {} breaks product {}: {}", input.rank, product.sku, e.detail))
        })?;
    }
    crate::audit::change(conn, who, "tier.update", format!("tier:{id}"), before.as_ref(), Some(&tier))?;
    Ok(tier)
}

/// Products ordered by SKU, starting after `after`.
pub fn load_products(conn: &mut PgConnection, brand_id: i64, after: Option<&str>, limit: i64) -> Result<Vec<Product>, AppError> {
    let mut q = products::table
        .filter(products::brand_id.eq(brand_id))
        .order(products::sku)
        .limit(limit)
        .select((products::sku, products::name, products::retail_price, products::retail_floor, products::on_sale, products::repurchase_days))
        .into_boxed();
    if let Some(after) = after {
        q = q.filter(products::sku.gt(after.to_owned()));
    }
    let rows: Vec<(String, String, Decimal, Option<Decimal>, bool, Option<i32>)> = q.load(conn)?;
    let skus: Vec<&String> = rows.iter().map(|r| &r.0).collect();
    let price_rows: Vec<(String, i64, Decimal)> = product_prices::table
        .filter(product_prices::brand_id.eq(brand_id))
        .filter(product_prices::sku.eq_any(skus))
        .select((product_prices::sku, product_prices::tier_id, product_prices::price))
        .load(conn)?;
    let mut by_sku: BTreeMap<String, BTreeMap<String, Decimal>> = BTreeMap::new();
    for (sku, tier_id, price) in price_rows {
        by_sku.entry(sku).or_default().insert(tier_id.to_string(), price);
    }
    Ok(rows
        .into_iter()
        .map(|(sku, name, retail_price, retail_floor, on_sale, repurchase_days)| Product {
            prices: by_sku.remove(&sku).unwrap_or_default(),
            sku,
            name,
            retail_price,
            retail_floor,
            on_sale,
            repurchase_days,
        })
        .collect())
}

pub fn get_product(conn: &mut PgConnection, brand_id: i64, sku: &str) -> Result<Product, AppError> {
    let mut found = load_products(conn, brand_id, None, i64::MAX)?;
    found.retain(|p| p.sku == sku);
    found.pop().ok_or_else(|| AppError::not_found(format!("product {sku}")))
}

pub fn create_product(conn: &mut PgConnection, who: &crate::auth::Principal, input: &ProductInput) -> Result<Product, AppError> {
    who.require_hq()?;
    let brand_id = who.brand_id;
    prices::check_sku(&input.sku)?;
    let exists: bool = diesel::select(diesel::dsl::exists(products::table.find((brand_id, &input.sku)))).get_result(conn)?;
    if exists {
        return Err(AppError::conflict("sku_taken", format!("product {} already exists", input.sku)));
    }
    let by_tier = check_product(conn, brand_id, &input.name, input.retail_price, &input.prices, input.retail_floor)?;
    check_cycle(input.repurchase_days)?;
    diesel::insert_into(products::table)
        .values((
            products::brand_id.eq(brand_id),
            products::sku.eq(&input.sku),
            products::name.eq(input.name.trim()),
            products::retail_price.eq(input.retail_price),
            products::retail_floor.eq(input.retail_floor),
            products::repurchase_days.eq(input.repurchase_days),
        ))
        .execute(conn)?;
    write_prices(conn, brand_id, &input.sku, &by_tier)?;
    let product = get_product(conn, brand_id, &input.sku)?;
    crate::audit::change(conn, who, "product.create", format!("product:{}", product.sku), None::<&()>, Some(&product))?;
    Ok(product)
}

pub fn update_product(conn: &mut PgConnection, who: &crate::auth::Principal, sku: &str, input: &ProductUpdate) -> Result<Product, AppError> {
    who.require_hq()?;
    let brand_id = who.brand_id;
    let before = get_product(conn, brand_id, sku)?;
    check_cycle(input.repurchase_days)?;
    let updated = diesel::update(products::table.find((brand_id, sku)))
        .set((
            products::name.eq(input.name.trim()),
            products::retail_price.eq(input.retail_price),
            products::retail_floor.eq(input.retail_floor),
            products::repurchase_days.eq(input.repurchase_days),
        ))
        .execute(conn)?;
    if updated == 0 {
        return Err(AppError::not_found(format!("product {sku}")));
    }
    let by_tier = check_product(conn, brand_id, &input.name, input.retail_price, &input.prices, input.retail_floor)?;
    diesel::delete(product_prices::table.filter(product_prices::brand_id.eq(brand_id)).filter(product_prices::sku.eq(sku))).execute(conn)?;
    write_prices(conn, brand_id, sku, &by_tier)?;
    let after = get_product(conn, brand_id, sku)?;
    crate::audit::change(conn, who, "product.update", format!("product:{sku}"), Some(&before), Some(&after))?;
    Ok(after)
}

/// 上下架: puts a product on sale or takes it off (it keeps its prices, stock and history).
pub fn set_on_sale(conn: &mut PgConnection, who: &crate::auth::Principal, sku: &str, on_sale: bool) -> Result<Product, AppError> {
    who.require_hq()?;
    let brand_id = who.brand_id;
    let updated = diesel::update(products::table.find((brand_id, sku))).set(products::on_sale.eq(on_sale)).execute(conn)?;
    if updated == 0 {
        return Err(AppError::not_found(format!("product {sku}")));
    }
    crate::audit::record(conn, who, "product.sale", format!("product:{sku}"), None, Some(serde_json::json!({ "on_sale": on_sale })))?;
    get_product(conn, brand_id, sku)
}

fn check_product(
    conn: &mut PgConnection,
    brand_id: i64,
    name: &str,
    retail: Decimal,
    prices: &BTreeMap<String, Decimal>,
    floor: Option<Decimal>,
) -> Result<BTreeMap<i64, Decimal>, AppError> {
    if name.trim().is_empty() || name.chars().count() > 100 {
        return Err(AppError::validation("product name must be 1 to 100 characters"));
    }
    if let Some(floor) = floor {
        prices::check_amount("retail_floor", floor)?;
        if floor > retail {
            return Err(AppError::unprocessable("price_order", format!("retail_floor {floor} is above the retail price {retail}")));
        }
    }
    let by_tier = prices::parse_tier_keys(prices)?;
    let tiers = list_tiers(conn, brand_id)?;
    prices::validate_price_list(&tiers, retail, &by_tier, true)?;
    Ok(by_tier)
}

fn check_cycle(days: Option<i32>) -> Result<(), AppError> {
    if days.is_some_and(|d| !(1..=365).contains(&d)) {
        return Err(AppError::validation("repurchase_days must be between 1 and 365"));
    }
    Ok(())
}

fn write_prices(conn: &mut PgConnection, brand_id: i64, sku: &str, by_tier: &BTreeMap<i64, Decimal>) -> Result<(), AppError> {
    let rows: Vec<_> = by_tier
        .iter()
        .map(|(tier_id, price)| {
            (product_prices::brand_id.eq(brand_id), product_prices::sku.eq(sku), product_prices::tier_id.eq(*tier_id), product_prices::price.eq(*price))
        })
        .collect();
    diesel::insert_into(product_prices::table).values(rows).execute(conn)?;
    Ok(())
}
