//! Price-list rules, as plain functions: prices never rise toward better tiers and never
//! exceed retail (domain §2).

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::Tier;
use crate::commission::money::is_cents;
use crate::error::AppError;

pub fn check_amount(field: &str, amount: Decimal) -> Result<(), AppError> {
    if amount.is_sign_negative() {
        return Err(AppError::validation(format!("{field} must not be negative (got {amount})")));
    }
    if !is_cents(amount) {
        return Err(AppError::validation(format!("{field} must have at most 2 decimals (got {amount})")));
    }
    if amount > Decimal::from(1_000_000_000_000i64) {
        return Err(AppError::validation(format!("{field} is too large")));
    }
    Ok(())
}

pub fn check_sku(sku: &str) -> Result<(), AppError> {
    if sku.is_empty() || sku.len() > 64 || !sku.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')) {
        return Err(AppError::validation("sku must be 1 to 64 letters, digits, '.', '_' or '-'"));
    }
    Ok(())
}

/// Price-list keys are tier ids written as strings (JSON object keys).
pub fn parse_tier_keys(prices: &BTreeMap<String, Decimal>) -> Result<BTreeMap<i64, Decimal>, AppError> {
    prices
        .iter()
        .map(|(k, v)| k.parse::<i64>().map(|id| (id, *v)).map_err(|_| AppError::validation(format!("price list key {k:?} is not a tier id"))))
        .collect()
}

/// Checks a price list against the brand's tiers (ordered by rank). With `complete`, every
/// tier must have a price; otherwise tiers added later may still lack one.
pub fn validate_price_list(tiers: &[Tier], retail: Decimal, prices: &BTreeMap<i64, Decimal>, complete: bool) -> Result<(), AppError> {
    check_amount("retail_price", retail)?;
    for (tier_id, price) in prices {
        if !tiers.iter().any(|t| t.id == *tier_id) {
            return Err(AppError::validation(format!("tier {tier_id} does not exist")));
        }
        check_amount(&format!("price for tier {tier_id}"), *price)?;
        if *price > retail {
            return Err(AppError::unprocessable("price_order", format!("price {price} for tier {tier_id} is above the retail price {retail}")));
        }
    }
    let mut ranked = tiers.to_vec();
    ranked.sort_by_key(|t| t.rank);
    if complete {
        if let Some(missing) = ranked.iter().find(|t| !prices.contains_key(&t.id)) {
            return Err(AppError::validation(format!("no price for tier {} ({})", missing.id, missing.name)));
        }
    }
    let priced: Vec<(&Tier, Decimal)> = ranked.iter().filter_map(|t| prices.get(&t.id).map(|p| (t, *p))).collect();
    for pair in priced.windows(2) {
        let ((better, better_price), (worse, worse_price)) = (pair[0], pair[1]);
        if better_price > worse_price {
            return Err(AppError::unprocessable(
                "price_order",
                format!(
                    "tier {} (rank {}) would pay {better_price}, more than tier {} (rank {}) at {worse_price}: a better tier never pays more",
                    better.name, better.rank, worse.name, worse.rank
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn tiers() -> Vec<Tier> {
        (1..=3).map(|r| Tier { id: r * 10, rank: r as i32, name: format!("T{r}"), min_first_order: None }).collect()
    }

    #[test]
    fn accepts_a_monotone_list_and_rejects_the_rest() {
        let ok = BTreeMap::from([(10, dec!(50)), (20, dec!(60)), (30, dec!(60))]);
        assert!(validate_price_list(&tiers(), dec!(99), &ok, true).is_ok());
        let inverted = BTreeMap::from([(10, dec!(70)), (20, dec!(60)), (30, dec!(80))]);
        assert_eq!(validate_price_list(&tiers(), dec!(99), &inverted, true).unwrap_err().code, "price_order");
        let above_retail = BTreeMap::from([(10, dec!(50)), (20, dec!(60)), (30, dec!(100))]);
        assert_eq!(validate_price_list(&tiers(), dec!(99), &above_retail, true).unwrap_err().code, "price_order");
        let missing = BTreeMap::from([(10, dec!(50)), (20, dec!(60))]);
        assert_eq!(validate_price_list(&tiers(), dec!(99), &missing, true).unwrap_err().code, "validation");
        let negative = BTreeMap::from([(10, dec!(-1)), (20, dec!(60)), (30, dec!(60))]);
        assert_eq!(validate_price_list(&tiers(), dec!(99), &negative, true).unwrap_err().code, "validation");
    }
}
