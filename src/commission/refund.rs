//! Reversal of a purchase line's splits when some of its units are refunded (domain §7).
//!
//! Each reversal is `round(amount * q / n)`; the refund that completes the line reverses
//! exactly what is left, so a fully refunded line nets to zero to the cent.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::money::round_cents;
use super::split::{Party, Split, SplitKind};
use super::EngineError;

/// The state of one line before this refund.
#[derive(Debug, Clone)]
pub struct RefundInput<'a> {
    /// Units on the line (n).
    pub line_qty: u32,
    /// Units already refunded before this refund.
    pub refunded_qty: u32,
    /// Units refunded now (q).
    pub qty: u32,
    /// The line's original splits.
    pub original: &'a [Split],
    /// Every reversal already posted for the line (negative amounts).
    pub reversed: &'a [Split],
}

/// Returns the reversals (negative amounts) for this refund, in the order of `original`.
/// Zero reversals are left out.
pub fn refund_line(input: &RefundInput) -> Result<Vec<Split>, EngineError> {
    let remaining = input.line_qty.checked_sub(input.refunded_qty).ok_or_else(|| EngineError::InvalidInput("more units refunded than the line has".into()))?;
    if input.qty == 0 {
        return Err(EngineError::InvalidInput("refund quantity must be at least 1".into()));
    }
    if input.qty > remaining {
        return Err(EngineError::InvalidInput(format!("refund of {} units, but only {remaining} remain unrefunded", input.qty)));
    }
    let completes = input.qty == remaining;
    let mut already: BTreeMap<(SplitKind, Party), Decimal> = BTreeMap::new();
    for r in input.reversed {
        *already.entry((r.kind, r.party)).or_default() += r.amount;
    }
    let (q, n) = (Decimal::from(input.qty), Decimal::from(input.line_qty));
    let mut out = Vec::with_capacity(input.original.len());
    for split in input.original {
        let reversal = if completes {
            let done = already.get(&(split.kind, split.party)).copied().unwrap_or_default();
            round_cents(-(split.amount + done))
        } else {
            // multiply before dividing: a true half cent stays exactly representable
            round_cents(-(split.amount * q / n))
        };
        if !reversal.is_zero() {
            out.push(Split { amount: reversal, ..split.clone() });
        }
    }
    Ok(out)
}
