//! Replaying a purchase line under another plan (the what-if, `plans::whatif`): the same
//! split, then the same refunds in the order they were made, so the replay of a line under
//! the plan it was split with gives back exactly what the ledger holds for it.

use chrono::{DateTime, Months, Utc};
use rust_decimal::Decimal;

use super::plan::{Plan, ReferralBonus};
use super::refund::{refund_line, RefundInput};
use super::split::{split_line, LineInput, Party, Split, Sponsor, Upline};
use super::EngineError;

/// Whether a purchase earns the sponsor a referral bonus under `rule` (domain §5.3): the
/// buyer's first purchase order (`months` 0), or any purchase in the `months` after joining.
pub fn referral_eligible(rule: &ReferralBonus, has_sponsor: bool, first_purchase: bool, placed_at: DateTime<Utc>, joined_at: DateTime<Utc>) -> bool {
    rule.enabled
        && has_sponsor
        && if rule.months == 0 { first_purchase } else { placed_at < joined_at.checked_add_months(Months::new(rule.months)).unwrap_or(joined_at) }
}

/// One purchase line with what it was split with, as of its placed_at.
#[derive(Debug, Clone)]
pub struct ReplayLine {
    pub line_no: u32,
    pub qty: u32,
    pub unit_price: Decimal,
    pub buyer_rank: u32,
    /// Parent first, up to (not including) the seller.
    pub chain: Vec<Upline>,
    pub seller: Party,
    pub sponsor: Option<Sponsor>,
    pub first_purchase: bool,
    pub placed_at: DateTime<Utc>,
    pub buyer_joined_at: DateTime<Utc>,
    /// Units of each refund of the line, in the order they were made.
    pub refunds: Vec<u32>,
}

/// The line's splits under `plan` followed by the reversals of its refunds: summed per
/// (party, kind), they are what the line finally pays.
pub fn replay_line(plan: &Plan, line: &ReplayLine) -> Result<Vec<Split>, EngineError> {
    let input = LineInput {
        line_no: line.line_no,
        qty: line.qty,
        unit_price: line.unit_price,
        buyer_rank: line.buyer_rank,
        chain: &line.chain,
        seller: line.seller,
        sponsor: line.sponsor.clone(),
        referral_eligible: referral_eligible(&plan.referral_bonus, line.sponsor.is_some(), line.first_purchase, line.placed_at, line.buyer_joined_at),
    };
    let original = split_line(plan, &input)?;
    let mut reversed: Vec<Split> = Vec::new();
    let mut before = 0;
    for &qty in &line.refunds {
        let more = refund_line(&RefundInput { line_qty: line.qty, refunded_qty: before, qty, original: &original, reversed: &reversed })?;
        reversed.extend(more);
        before += qty;
    }
    let mut out = original;
    out.extend(reversed);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    use super::*;
    use crate::commission::plan::{PeerBonus, ReferralBonus};
    use crate::commission::SplitKind;

    fn plan() -> Plan {
        let mut plan: Plan = serde_json::from_value(serde_json::json!({"effective_from": "2026-01-01T00:00:00Z"})).unwrap();
        plan.peer_bonus = PeerBonus { enabled: true, rates: vec![dec!(0.03), dec!(0.01)] };
        plan.referral_bonus = ReferralBonus { enabled: true, rate: dec!(0.10), months: 0 };
        plan
    }

    fn line(qty: u32, refunds: Vec<u32>) -> ReplayLine {
        let up = |id, rank, price| Upline { agent_id: id, rank, active: true, unit_price: price };
        ReplayLine {
            line_no: 1,
            qty,
            unit_price: dec!(139.30),
            buyer_rank: 5,
            chain: vec![up(4, 5, dec!(139.30)), up(3, 4, dec!(119.40)), up(2, 2, dec!(79.60)), up(1, 1, dec!(59.70))],
            seller: Party::Hq,
            sponsor: Some(Sponsor { agent_id: 4, active: true }),
            first_purchase: true,
            placed_at: "2026-10-02T00:00:00Z".parse().unwrap(),
            buyer_joined_at: "2026-10-01T00:00:00Z".parse().unwrap(),
            refunds,
        }
    }

    fn net(splits: &[Split]) -> BTreeMap<(Party, SplitKind), Decimal> {
        let mut out = BTreeMap::new();
        for s in splits {
            *out.entry((s.party, s.kind)).or_insert(Decimal::ZERO) += s.amount;
        }
        out
    }

    #[test]
    fn a_hand_checked_line() {
        // 特约 buys 3 × 139.30 = 417.90 from HQ; refunds 1 unit
        let n = net(&replay_line(&plan(), &line(3, vec![1])).unwrap());
        // proceeds 3 × 59.70 = 179.10, less round(179.10 / 3) = 59.70
        assert_eq!(n[&(Party::Hq, SplitKind::Proceeds)], dec!(119.40));
        // 市代 (3) 19.90 × 3 = 59.70 → 39.80; 总代 (2) 39.80 × 3 → 79.60; 联创 (1) 19.90 × 3 → 39.80
        assert_eq!(n[&(Party::Agent(3), SplitKind::Differential)], dec!(39.80));
        assert_eq!(n[&(Party::Agent(2), SplitKind::Differential)], dec!(79.60));
        assert_eq!(n[&(Party::Agent(1), SplitKind::Differential)], dec!(39.80));
        // peer 4 is the first 特约 above: 3% × 417.90 = 12.54 → less round(12.537 / 3 … ) = 4.18
        assert_eq!(n[&(Party::Agent(4), SplitKind::PeerBonus)], dec!(8.36));
        // referral: 10% × 417.90 = 41.79, less 13.93
        assert_eq!(n[&(Party::Agent(4), SplitKind::ReferralBonus)], dec!(27.86));
        // not a first purchase under a first-purchase rule: no referral bonus
        let mut later = line(3, vec![]);
        later.first_purchase = false;
        assert!(!net(&replay_line(&plan(), &later).unwrap()).contains_key(&(Party::Agent(4), SplitKind::ReferralBonus)));
    }

    proptest! {
        /// Conservation: whatever the refunds, proceeds + differentials are the unrefunded
        /// amount, and a fully refunded line pays nothing to anyone.
        #[test]
        fn replayed_lines_conserve_the_buyers_money(qty in 1u32..50, cuts in proptest::collection::vec(1u32..10, 0..6)) {
            let mut refunds = Vec::new();
            let mut left = qty;
            for c in cuts {
                let q = c.min(left);
                if q == 0 { break; }
                refunds.push(q);
                left -= q;
            }
            let splits = replay_line(&plan(), &line(qty, refunds)).unwrap();
            let shared: Decimal = splits.iter().filter(|s| s.kind.is_paid_by_buyer()).map(|s| s.amount).sum();
            prop_assert_eq!(shared, dec!(139.30) * Decimal::from(left));
            if left == 0 {
                prop_assert!(net(&splits).values().all(|v| v.is_zero()));
            }
        }
    }
}
