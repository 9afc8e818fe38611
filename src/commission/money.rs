//! Money and rate arithmetic. Every rounding in the product goes through this file so
//! that nobody falls into rust_decimal's default banker's rounding by accident.

use rust_decimal::{Decimal, RoundingStrategy};

/// Rounds to the cent, half away from zero (四舍五入), and always carries scale 2 so that
/// amounts serialise as `"1393.00"`.
pub fn round_cents(amount: Decimal) -> Decimal {
    let mut rounded = amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    rounded.rescale(2);
    rounded
}

/// Truncates toward zero to the cent. Used only where the rule needs a rounding that never
/// adds money (team rebate gross; see docs/compensation.md).
pub fn floor_cents(amount: Decimal) -> Decimal {
    let mut rounded = amount.round_dp_with_strategy(2, RoundingStrategy::ToZero);
    rounded.rescale(2);
    rounded
}

/// True when `amount` is a whole number of cents (what a price or amount must be).
pub fn is_cents(amount: Decimal) -> bool {
    amount.round_dp(2) == amount
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn rounds_half_away_from_zero_not_to_even() {
        assert_eq!(round_cents(dec!(2.385)), dec!(2.39));
        assert_eq!(round_cents(dec!(2.375)), dec!(2.38));
        assert_eq!(round_cents(dec!(-2.385)), dec!(-2.39));
        assert_eq!(round_cents(dec!(2.388)).to_string(), "2.39");
        assert_eq!(round_cents(dec!(1393)).to_string(), "1393.00");
    }

    #[test]
    fn floor_never_adds() {
        assert_eq!(floor_cents(dec!(200.005)), dec!(200.00));
        assert_eq!(floor_cents(dec!(-0.019)), dec!(-0.01));
    }
}
