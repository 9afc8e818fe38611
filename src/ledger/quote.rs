//! What a withdrawal costs the agent, as a plain function: the brand's limits, the fee
//! (a rate with a minimum) and the tax withheld, each rounded to the cent half away from
//! zero, and what reaches the payee. The agent is shown this before it asks, and the very
//! same numbers are fixed on the withdrawal and posted as their own ledger lines.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::commission::money::{is_cents, round_cents};

/// A brand's withdrawal rules (part of its settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WithdrawalRules {
    /// Smallest amount per request.
    #[schema(value_type = String)]
    #[serde(deserialize_with = "crate::amount::money")]
    pub min: Decimal,
    /// Largest amount per request.
    #[schema(value_type = String)]
    #[serde(deserialize_with = "crate::amount::money")]
    pub max: Decimal,
    /// Fee as a share of the amount, e.g. "0.006".
    #[schema(value_type = String)]
    #[serde(deserialize_with = "crate::amount::rate")]
    pub fee_rate: Decimal,
    /// The fee is at least this.
    #[schema(value_type = String)]
    #[serde(deserialize_with = "crate::amount::money")]
    pub fee_min: Decimal,
    /// Tax withheld as a share of the amount (个税代扣), e.g. "0.20"; "0" for none.
    #[schema(value_type = String)]
    #[serde(deserialize_with = "crate::amount::rate")]
    pub tax_rate: Decimal,
}

impl Default for WithdrawalRules {
    fn default() -> Self {
        WithdrawalRules { min: Decimal::new(100, 2), max: Decimal::new(5_000_000, 2), fee_rate: Decimal::ZERO, fee_min: Decimal::ZERO, tax_rate: Decimal::ZERO }
    }
}

/// The split of one withdrawal: `fee + tax + net = amount`, each in cents, none negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Quote {
    #[schema(value_type = String)]
    pub amount: Decimal,
    #[schema(value_type = String)]
    pub fee: Decimal,
    #[schema(value_type = String)]
    pub tax: Decimal,
    /// What reaches the payee.
    #[schema(value_type = String)]
    pub net: Decimal,
}

/// Why an amount cannot be withdrawn under the rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuoteError {
    NotCents,
    BelowMin(Decimal),
    AboveMax(Decimal),
    NothingLeft,
}

impl std::fmt::Display for QuoteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QuoteError::NotCents => write!(f, "amount must be a positive number of cents"),
            QuoteError::BelowMin(m) => write!(f, "the smallest withdrawal is {m}"),
            QuoteError::AboveMax(m) => write!(f, "the largest withdrawal is {m}"),
            QuoteError::NothingLeft => write!(f, "the fee and tax would take all of it: ask for more"),
        }
    }
}

/// Checks the rules themselves (a settings change).
pub fn check_rules(r: &WithdrawalRules) -> Result<(), String> {
    let rate = |v: Decimal| v >= Decimal::ZERO && v < Decimal::ONE && v.scale() <= 4;
    if !(r.min > Decimal::ZERO && is_cents(r.min) && is_cents(r.max) && r.min <= r.max) {
        return Err("withdrawal min and max must be amounts in cents with 0 < min ≤ max".into());
    }
    if !rate(r.fee_rate) || !rate(r.tax_rate) {
        return Err("fee_rate and tax_rate must be at least 0 and below 1, with at most 4 decimals".into());
    }
    if r.fee_min < Decimal::ZERO || !is_cents(r.fee_min) || r.fee_min >= r.min {
        return Err("fee_min must be an amount in cents, at least 0 and below the smallest withdrawal".into());
    }
    Ok(())
}

/// The fee, tax and net of `amount` under `rules`; `taxable` is the part of it the tax
/// applies to (all of it, except an exited agent's returned buyback money).
pub fn quote(rules: &WithdrawalRules, amount: Decimal, taxable: Decimal) -> Result<Quote, QuoteError> {
    if amount <= Decimal::ZERO || !is_cents(amount) {
        return Err(QuoteError::NotCents);
    }
    if amount < rules.min {
        return Err(QuoteError::BelowMin(round_cents(rules.min)));
    }
    if amount > rules.max {
        return Err(QuoteError::AboveMax(round_cents(rules.max)));
    }
    let fee = round_cents((amount * rules.fee_rate).max(rules.fee_min)).min(amount);
    let taxable = taxable.clamp(Decimal::ZERO, amount);
    let tax = round_cents(taxable * rules.tax_rate).min(amount - fee);
    let net = round_cents(amount - fee - tax);
    if net <= Decimal::ZERO {
        return Err(QuoteError::NothingLeft);
    }
    Ok(Quote { amount: round_cents(amount), fee, tax, net })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn worked_example() {
        let rules = WithdrawalRules { fee_rate: d("0.006"), fee_min: d("2.00"), tax_rate: d("0.2"), ..Default::default() };
        // 1000.00: fee 6.00 (0.6%), tax 200.00, net 794.00
        assert_eq!(quote(&rules, d("1000.00"), d("1000.00")), Ok(Quote { amount: d("1000.00"), fee: d("6.00"), tax: d("200.00"), net: d("794.00") }));
        // 100.00: 0.6% is 0.60, below the 2.00 minimum
        assert_eq!(quote(&rules, d("100.00"), d("100.00")).map(|q| q.fee), Ok(d("2.00")));
        // 333.33: fee 2.00 (1.99998 is below the minimum), tax 66.666 → 66.67
        assert_eq!(quote(&rules, d("333.33"), d("333.33")).map(|q| (q.fee, q.tax, q.net)), Ok((d("2.00"), d("66.67"), d("264.66"))));
        assert_eq!(quote(&rules, d("0.50"), d("0.50")), Err(QuoteError::BelowMin(d("1.00"))));
        assert_eq!(quote(&rules, d("50000.01"), d("0")), Err(QuoteError::AboveMax(d("50000.00"))));
        assert_eq!(quote(&rules, d("1.005"), d("0")), Err(QuoteError::NotCents));
        // buyback money returned at exit is not income: only the taxable part is taxed
        assert_eq!(quote(&rules, d("1000.00"), d("100.00")).map(|q| q.tax), Ok(d("20.00")));
    }

    proptest! {
        #[test]
        fn fee_tax_and_net_add_up(amount in 100i64..5_000_000, taxable in 0i64..5_000_000, fee_bp in 0i64..1000, fee_min in 0i64..99, tax_bp in 0i64..5000) {
            let rules = WithdrawalRules { fee_rate: Decimal::new(fee_bp, 4), fee_min: Decimal::new(fee_min, 2), tax_rate: Decimal::new(tax_bp, 4), ..Default::default() };
            prop_assert!(check_rules(&rules).is_ok());
            let amount = Decimal::new(amount, 2);
            match quote(&rules, amount, Decimal::new(taxable, 2)) {
                Ok(q) => {
                    prop_assert_eq!(q.fee + q.tax + q.net, amount);
                    prop_assert!(q.fee >= Decimal::ZERO && q.tax >= Decimal::ZERO && q.net > Decimal::ZERO);
                    prop_assert!(q.fee >= rules.fee_min.min(amount));
                    prop_assert_eq!((q.fee.scale(), q.tax.scale(), q.net.scale()), (2, 2, 2));
                }
                Err(e) => prop_assert_eq!(e, QuoteError::NothingLeft),
            }
        }
    }
}
