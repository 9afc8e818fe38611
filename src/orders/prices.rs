//! The price book of an order: the brand's tier ranks and each tier's price of the order's
//! SKUs, read in one query.

use std::collections::HashMap;

use diesel::prelude::*;
use rust_decimal::Decimal;

use crate::error::AppError;

/// The brand's tiers (id → rank) and the tier prices of the given SKUs, in one query;
/// fails on a SKU the brand does not sell.
pub(super) struct PriceBook {
    pub ranks: HashMap<i64, u32>,
    pub prices: HashMap<(String, i64), Decimal>,
    /// A SKU taken off sale (下架): agents may still sell what they hold, not buy more.
    pub off_sale: Option<String>,
}

pub(super) fn price_book(conn: &mut PgConnection, brand_id: i64, skus: &[&str]) -> Result<PriceBook, AppError> {
    let rows = super::store::tier_prices(conn, brand_id, skus)?;
    let mut book = PriceBook { ranks: HashMap::new(), prices: HashMap::new(), off_sale: None };
    let mut off_sale = None;
    for r in rows {
        if r.on_sale == Some(false) {
            off_sale = r.sku.clone();
        }
        book.ranks.insert(r.tier_id, r.rank as u32);
        if let (Some(sku), Some(price)) = (r.sku, r.price) {
            book.prices.insert((sku, r.tier_id), price);
        }
    }
    if let Some(missing) = skus.iter().find(|s| !book.prices.keys().any(|(k, _)| k == *s)) {
        return Err(AppError::validation(format!("product {missing} does not exist")));
    }
    book.off_sale = off_sale;
    Ok(book)
}

/// (sku, tier_id) → price for the given SKUs; fails on an unknown SKU.
pub(super) fn prices(conn: &mut PgConnection, brand_id: i64, skus: &[&str]) -> Result<HashMap<(String, i64), Decimal>, AppError> {
    Ok(price_book(conn, brand_id, skus)?.prices)
}
