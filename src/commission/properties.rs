//! Property tests: conservation, non-negativity, the depth cap, refund identities and the
//! team rebate telescoping identity, over random chains, plans and trees.

use proptest::prelude::*;
use rust_decimal::Decimal;

use super::examples::plan;
use super::plan::*;
use super::split::buyer_paid_total;
use super::*;

fn cents(c: i64) -> Decimal {
    Decimal::new(c, 2)
}

/// Tier prices, best tier first, never rising toward better tiers.
fn price_ladder() -> impl Strategy<Value = Vec<Decimal>> {
    (0i64..50_000, prop::collection::vec(0i64..5_000, 4)).prop_map(|(base, steps)| {
        let mut p = base;
        let mut out = vec![cents(p)];
        for s in steps {
            p += s;
            out.push(cents(p));
        }
        out
    })
}

#[derive(Debug, Clone)]
struct Case {
    prices: Vec<Decimal>,
    buyer_rank: u32,
    chain: Vec<Upline>,
    qty: u32,
    rates: Vec<Decimal>,
    max_depth: Option<u32>,
    referral: Option<Decimal>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        price_ladder(),
        1u32..=5,
        prop::collection::vec((1u32..=5, prop::bool::weighted(0.85)), 0..=64),
        1u32..=1000,
        prop::collection::vec(0i64..=1000, 0..4),
        prop::option::of(0u32..12),
        prop::option::of(0i64..=2000),
    )
        .prop_map(|(prices, buyer_rank, chain, qty, rates, max_depth, referral)| {
            let chain = chain
                .into_iter()
                .enumerate()
                .map(|(i, (rank, active))| Upline { agent_id: i as i64 + 100, rank, active, unit_price: prices[rank as usize - 1] })
                .collect();
            Case {
                prices,
                buyer_rank,
                chain,
                qty,
                rates: rates.into_iter().map(|r| Decimal::new(r, 4)).collect(),
                max_depth,
                referral: referral.map(|r| Decimal::new(r, 4)),
            }
        })
}

impl Case {
    fn plan(&self) -> Plan {
        Plan {
            peer_bonus: PeerBonus { enabled: true, rates: self.rates.clone() },
            referral_bonus: ReferralBonus { enabled: self.referral.is_some(), rate: self.referral.unwrap_or_default(), months: 0 },
            max_depth: self.max_depth,
            ..plan()
        }
    }

    fn line(&self) -> LineInput<'_> {
        LineInput {
            line_no: 1,
            qty: self.qty,
            unit_price: self.prices[self.buyer_rank as usize - 1],
            buyer_rank: self.buyer_rank,
            chain: &self.chain,
            seller: Party::Hq,
            sponsor: Some(Sponsor { agent_id: 7, active: true }),
            referral_eligible: true,
        }
    }
}

/// Random refund steps that add up to `n`.
fn refund_steps(n: u32, cuts: &[u32]) -> Vec<u32> {
    let mut points: Vec<u32> = cuts.iter().map(|c| c % n).filter(|&c| c > 0).collect();
    points.push(0);
    points.push(n);
    points.sort_unstable();
    points.dedup();
    points.windows(2).map(|w| w[1] - w[0]).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn splits_conserve_the_payment_and_are_never_negative(case in case()) {
        let line = case.line();
        let splits = split_line(&case.plan(), &line).unwrap();
        prop_assert_eq!(buyer_paid_total(&splits), line.amount());
        for s in &splits {
            prop_assert!(!s.amount.is_sign_negative(), "negative cut {:?}", s);
            prop_assert_eq!(s.amount.scale(), 2);
        }
        // one cut per (beneficiary, kind)
        let mut keys: Vec<_> = splits.iter().map(|s| (s.kind, s.party)).collect();
        keys.sort();
        let before = keys.len();
        keys.dedup();
        prop_assert_eq!(before, keys.len());
    }

    #[test]
    fn depth_cap_is_respected_and_inactive_agents_earn_nothing(case in case()) {
        let splits = split_line(&case.plan(), &case.line()).unwrap();
        for s in &splits {
            if let (Some(cap), Some(g)) = (case.max_depth, s.generation) {
                prop_assert!(g <= cap, "generation {} above cap {}", g, cap);
            }
            if let Party::Agent(id) = s.party {
                if let Some(u) = case.chain.iter().find(|u| u.agent_id == id) {
                    prop_assert!(u.active, "inactive agent {} earned", id);
                }
            }
        }
    }

    #[test]
    fn a_full_refund_in_random_steps_nets_to_zero(case in case(), cuts in prop::collection::vec(any::<u32>(), 0..6)) {
        let original = split_line(&case.plan(), &case.line()).unwrap();
        let unit_price = case.prices[case.buyer_rank as usize - 1];
        let mut reversed: Vec<Split> = Vec::new();
        let mut refunded = 0;
        for q in refund_steps(case.qty, &cuts) {
            let step = refund_line(&RefundInput { line_qty: case.qty, refunded_qty: refunded, qty: q, original: &original, reversed: &reversed }).unwrap();
            // the buyer gets back exactly what it paid for the refunded units
            prop_assert_eq!(buyer_paid_total(&step), -(unit_price * Decimal::from(q)));
            prop_assert!(step.iter().all(|s| s.amount.is_sign_negative()));
            reversed.extend(step);
            refunded += q;
        }
        for s in &original {
            let back: Decimal = reversed.iter().filter(|r| r.kind == s.kind && r.party == s.party).map(|r| r.amount).sum();
            prop_assert_eq!(s.amount + back, Decimal::ZERO);
        }
        let over_refund = refund_line(&RefundInput { line_qty: case.qty, refunded_qty: refunded, qty: 1, original: &original, reversed: &reversed });
        prop_assert!(over_refund.is_err(), "refunding past the line must fail");
    }

    #[test]
    fn rebates_telescope_to_the_top_level_gross_and_are_never_negative(
        shape in prop::collection::vec((any::<prop::sample::Index>(), 0i64..5_000_000, prop::bool::weighted(0.2)), 1..300),
        thresholds in prop::collection::vec((1i64..20_000_000, 0i64..500), 1..5),
    ) {
        // monotone brackets: sort thresholds, make rates non-decreasing
        let mut thresholds = thresholds;
        thresholds.sort();
        thresholds.dedup_by_key(|t| t.0);
        let mut rate = 0;
        let brackets = thresholds.into_iter().map(|(v, r)| { rate += r; Bracket { min_volume: cents(v), rate: Decimal::new(rate, 4) } }).collect();
        let rule = TeamRebate { enabled: true, brackets };
        let nodes: Vec<RebateNode> = shape.iter().enumerate().map(|(i, (parent, v, top))| RebateNode {
            agent_id: i as i64,
            parent_id: if i == 0 || *top { None } else { Some(parent.index(i) as i64) },
            active: true,
            own_volume: cents(*v),
        }).collect();
        let rebates = team_rebates(&nodes, &rule).unwrap();
        let total: Decimal = rebates.iter().map(|r| r.rebate).sum();
        let top: Decimal = rebates.iter().zip(&nodes).filter(|(_, n)| n.parent_id.is_none()).map(|(r, _)| r.gross).sum();
        prop_assert_eq!(total, top);
        for r in &rebates {
            prop_assert!(!r.rebate.is_sign_negative(), "negative rebate {:?}", r);
        }
    }
}
