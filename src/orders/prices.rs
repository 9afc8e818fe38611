//! The price book of a group of orders: the brand's tier ranks and each tier's price of the
//! orders' SKUs, read in one query; each order then checks its own SKUs against it.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use rust_decimal::Decimal;

use crate::error::AppError;

#[derive(Default)]
pub(super) struct PriceBook {
    ranks: HashMap<i64, u32>,
    prices: HashMap<(String, i64), Decimal>,
    /// SKUs with at least one tier price: the ones the brand sells.
    listed: HashSet<String>,
    /// SKUs taken off sale (下架): agents may still sell what they hold, not buy more.
    off_sale: HashSet<String>,
}

pub(super) fn price_book(conn: &mut PgConnection, brand_id: i64, skus: &[&str]) -> Result<PriceBook, AppError> {
    let mut book = PriceBook::default();
    for r in super::store::tier_prices(conn, brand_id, skus)? {
        book.ranks.insert(r.tier_id, r.rank as u32);
        if let (Some(sku), Some(price)) = (r.sku, r.price) {
            if r.on_sale == Some(false) {
                book.off_sale.insert(sku.clone());
            }
            book.listed.insert(sku.clone());
            book.prices.insert((sku, r.tier_id), price);
        }
    }
    Ok(book)
}

impl PriceBook {
    /// 422 for the first of `skus` the brand does not sell.
    pub fn require(&self, skus: &[&str]) -> Result<(), AppError> {
        match skus.iter().find(|s| !self.listed.contains(**s)) {
            Some(missing) => Err(AppError::validation(format!("product {missing} does not exist"))),
            None => Ok(()),
        }
    }

    /// The first of `skus` that is off sale.
    pub fn off_sale<'a>(&self, skus: &[&'a str]) -> Option<&'a str> {
        skus.iter().find(|s| self.off_sale.contains(**s)).copied()
    }

    pub fn rank(&self, tier_id: i64) -> Result<u32, AppError> {
        self.ranks.get(&tier_id).copied().ok_or_else(|| AppError::internal(format!("tier {tier_id} has no rank")))
    }

    pub fn has_rank(&self, tier_id: i64) -> Option<u32> {
        self.ranks.get(&tier_id).copied()
    }

    pub fn price(&self, sku: &str, tier_id: i64) -> Result<Decimal, AppError> {
        self.prices.get(&(sku.to_owned(), tier_id)).copied().ok_or_else(|| AppError::validation(format!("{sku} has no price for tier {tier_id}")))
    }
}
