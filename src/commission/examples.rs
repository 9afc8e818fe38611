//! The worked examples of `docs/domain.md` §10, each asserted to the cent.

use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use super::plan::*;
use super::*;

/// MASK-01 tier prices, rank 1 first.
const MASK: [Decimal; 5] = [dec!(59.70), dec!(79.60), dec!(99.50), dec!(119.40), dec!(139.30)];

pub(super) fn plan() -> Plan {
    Plan {
        version: 1,
        effective_from: "2026-10-01T00:00:00+08:00".parse().unwrap(),
        differential: Toggle { enabled: true },
        peer_bonus: PeerBonus::default(),
        referral_bonus: ReferralBonus::default(),
        team_rebate: TeamRebate::default(),
        max_depth: None,
        limits: Limits::default(),
    }
}

fn up(agent_id: i64, rank: u32) -> Upline {
    Upline { agent_id, rank, active: true, unit_price: MASK[rank as usize - 1] }
}

fn line<'a>(qty: u32, buyer_rank: u32, chain: &'a [Upline], seller: Party) -> LineInput<'a> {
    LineInput { line_no: 1, qty, unit_price: MASK[buyer_rank as usize - 1], buyer_rank, chain, seller, sponsor: None, referral_eligible: false }
}

fn amounts(splits: &[Split]) -> Vec<(SplitKind, Party, Decimal, Option<u32>)> {
    splits.iter().map(|s| (s.kind, s.party, s.amount, s.generation)).collect()
}

const A: i64 = 1;
const B: i64 = 2;
const C: i64 = 3;
const D: i64 = 4;

// E1: HQ → A(1) → B(2) → C(3) → D(4) → E(5). E buys 10 from HQ.
fn e1_chain() -> Vec<Upline> {
    vec![up(D, 4), up(C, 3), up(B, 2), up(A, 1)]
}

#[test]
fn e1_hq_supplies_differentials_up_the_chain() {
    let chain = e1_chain();
    let input = line(10, 5, &chain, Party::Hq);
    assert_eq!(input.amount(), dec!(1393.00));
    let splits = split_line(&plan(), &input).unwrap();
    use SplitKind::*;
    assert_eq!(
        amounts(&splits),
        vec![
            (Proceeds, Party::Hq, dec!(597.00), None),
            (Differential, Party::Agent(D), dec!(199.00), Some(1)),
            (Differential, Party::Agent(C), dec!(199.00), Some(2)),
            (Differential, Party::Agent(B), dec!(199.00), Some(3)),
            (Differential, Party::Agent(A), dec!(199.00), Some(4)),
        ]
    );
    assert_eq!(split::buyer_paid_total(&splits), dec!(1393.00));
}

#[test]
fn e1_with_max_depth_3_the_seller_keeps_the_deeper_share() {
    let chain = e1_chain();
    let plan = Plan { max_depth: Some(3), ..plan() };
    let splits = split_line(&plan, &line(10, 5, &chain, Party::Hq)).unwrap();
    use SplitKind::*;
    assert_eq!(
        amounts(&splits),
        vec![
            (Proceeds, Party::Hq, dec!(796.00), None),
            (Differential, Party::Agent(D), dec!(199.00), Some(1)),
            (Differential, Party::Agent(C), dec!(199.00), Some(2)),
            (Differential, Party::Agent(B), dec!(199.00), Some(3)),
        ]
    );
}

pub(super) fn e2_plan() -> Plan {
    Plan { peer_bonus: PeerBonus { enabled: true, rates: vec![dec!(0.03), dec!(0.01)] }, ..plan() }
}

// E2: HQ → A(1) → B(2) → C(2) → D(2); D buys 100 from HQ.
pub(super) fn e2_chain() -> Vec<Upline> {
    vec![up(C, 2), up(B, 2), up(A, 1)]
}

fn e2_splits() -> Vec<Split> {
    let chain = e2_chain();
    split_line(&e2_plan(), &line(100, 2, &chain, Party::Hq)).unwrap()
}

#[test]
fn e2_peers_earn_peer_bonus_and_the_better_tier_the_differential() {
    let splits = e2_splits();
    use SplitKind::*;
    assert_eq!(
        amounts(&splits),
        vec![
            (Proceeds, Party::Hq, dec!(5970.00), None),
            (Differential, Party::Agent(A), dec!(1990.00), Some(3)),
            (PeerBonus, Party::Agent(C), dec!(238.80), Some(1)),
            (PeerBonus, Party::Agent(B), dec!(79.60), Some(2)),
        ]
    );
    assert_eq!(split::buyer_paid_total(&splits), dec!(7960.00));
}

// E3: HQ → A(1) → B(2) → C(3); B holds stock and supplies C (upline mode).
#[test]
fn e3_upline_supplies_and_keeps_the_whole_payment() {
    let chain: Vec<Upline> = vec![]; // the chain stops below the seller B
    let splits = split_line(&plan(), &line(20, 3, &chain, Party::Agent(B))).unwrap();
    assert_eq!(amounts(&splits), vec![(SplitKind::Proceeds, Party::Agent(B), dec!(1990.00), None)]);
}

// E4: E2's order refunded 1 unit, then 99.
#[test]
fn e4_partial_refunds_reverse_to_zero() {
    let original = e2_splits();
    let first = refund_line(&RefundInput { line_qty: 100, refunded_qty: 0, qty: 1, original: &original, reversed: &[] }).unwrap();
    let peer_c = |r: &[Split]| r.iter().find(|s| s.kind == SplitKind::PeerBonus && s.party == Party::Agent(C)).unwrap().amount;
    assert_eq!(peer_c(&first), dec!(-2.39));
    let second = refund_line(&RefundInput { line_qty: 100, refunded_qty: 1, qty: 99, original: &original, reversed: &first }).unwrap();
    assert_eq!(peer_c(&second), dec!(-236.41));
    for s in &original {
        let net: Decimal =
            s.amount + [&first[..], &second[..]].concat().iter().filter(|r| r.kind == s.kind && r.party == s.party).map(|r| r.amount).sum::<Decimal>();
        assert_eq!(net, Decimal::ZERO, "{:?} {:?} nets to zero", s.kind, s.party);
    }
    // the payment comes back exactly: 79.60 for the first unit
    assert_eq!(split::buyer_paid_total(&first), dec!(-79.60));
}

// E5: brackets 10000 → 2%, 50000 → 4%, 100000 → 6%. A has children B and C; B has child D.
#[test]
fn e5_team_rebate_pays_each_level_the_difference() {
    let rule = TeamRebate {
        enabled: true,
        brackets: vec![
            Bracket { min_volume: dec!(10000), rate: dec!(0.02) },
            Bracket { min_volume: dec!(50000), rate: dec!(0.04) },
            Bracket { min_volume: dec!(100000), rate: dec!(0.06) },
        ],
    };
    let node = |agent_id, parent_id, v| RebateNode { agent_id, parent_id, active: true, own_volume: v };
    let nodes = vec![node(A, None, dec!(20000)), node(B, Some(A), dec!(30000)), node(C, Some(A), dec!(5000)), node(D, Some(B), dec!(60000))];
    let rebates = team_rebates(&nodes, &rule).unwrap();
    let get = |id| rebates.iter().find(|r| r.agent_id == id).unwrap().rebate;
    assert_eq!(get(D), dec!(2400.00));
    assert_eq!(get(B), dec!(1200.00));
    assert_eq!(get(C), dec!(0.00));
    assert_eq!(get(A), dec!(3300.00));
    let total: Decimal = rebates.iter().map(|r| r.rebate).sum();
    assert_eq!(total, dec!(6900.00));
    assert_eq!(total, dec!(0.06) * dec!(115000));
}

#[test]
fn inactive_agents_are_passed_over_entirely() {
    // E2 with C suspended: B becomes the first peer, A still takes the differential.
    let mut chain = e2_chain();
    chain[0].active = false;
    let splits = split_line(&e2_plan(), &line(100, 2, &chain, Party::Hq)).unwrap();
    let peers: Vec<_> = splits.iter().filter(|s| s.kind == SplitKind::PeerBonus).map(|s| (s.party, s.amount, s.generation)).collect();
    assert_eq!(peers, vec![(Party::Agent(B), dec!(238.80), Some(2))]);
}

#[test]
fn suspended_better_tier_does_not_move_the_floor() {
    // E1 with C(3) suspended: B takes C's share too (99.50 → 79.60 from 119.40).
    let mut chain = e1_chain();
    chain[1].active = false;
    let splits = split_line(&plan(), &line(10, 5, &chain, Party::Hq)).unwrap();
    let b = splits.iter().find(|s| s.party == Party::Agent(B)).unwrap();
    assert_eq!(b.amount, dec!(398.00));
    assert!(splits.iter().all(|s| s.party != Party::Agent(C)));
    assert_eq!(split::buyer_paid_total(&splits), dec!(1393.00));
}

#[test]
fn referral_bonus_goes_to_an_active_sponsor_when_eligible() {
    let chain = e1_chain();
    let plan = Plan { referral_bonus: ReferralBonus { enabled: true, rate: dec!(0.10), months: 0 }, ..plan() };
    let mut input = line(10, 5, &chain, Party::Hq);
    input.sponsor = Some(Sponsor { agent_id: 99, active: true });
    input.referral_eligible = true;
    let splits = split_line(&plan, &input).unwrap();
    let referral = splits.iter().find(|s| s.kind == SplitKind::ReferralBonus).unwrap();
    assert_eq!((referral.party, referral.amount, referral.generation), (Party::Agent(99), dec!(139.30), None));
    input.referral_eligible = false;
    assert!(split_line(&plan, &input).unwrap().iter().all(|s| s.kind != SplitKind::ReferralBonus));
}

#[test]
fn bad_lines_are_errors_not_panics() {
    let chain = e1_chain();
    let mut input = line(0, 5, &chain, Party::Hq);
    assert!(split_line(&plan(), &input).is_err());
    input.qty = 1;
    input.unit_price = dec!(-1);
    assert!(split_line(&plan(), &input).is_err());
    input.unit_price = dec!(1.005);
    assert!(split_line(&plan(), &input).is_err());
}

#[test]
fn validation_names_each_finding_by_profile() {
    let mut plan = e2_plan();
    plan.referral_bonus = ReferralBonus { enabled: true, rate: dec!(0.05), months: 0 };
    plan.peer_bonus.rates.push(dec!(1.5));
    let ctx =
        PlanContext { jurisdiction: Jurisdiction::None, tier_thresholds: vec![Some(dec!(5000)), None, None, None, None], product_prices: vec![MASK.to_vec()] };
    let report = validate_plan(&plan, &ctx);
    let codes = |v: &[Finding]| v.iter().map(|f| f.code.clone()).collect::<Vec<_>>();
    assert_eq!(codes(&report.errors), vec!["rate_out_of_range"]);
    assert_eq!(codes(&report.warnings), vec!["team_pay_depth", "recruitment_reward", "entry_threshold"]);

    plan.peer_bonus.rates.pop();
    let cn = validate_plan(&plan, &PlanContext { jurisdiction: Jurisdiction::CnDirectSelling, ..ctx.clone() });
    assert_eq!(codes(&cn.errors), vec!["payout_ratio", "team_pay_depth", "recruitment_reward", "entry_threshold"]);
    assert!(cn.warnings.is_empty());

    plan.limits = Limits { max_payout_ratio: Some(dec!(0.30)), max_paid_levels: Some(3) };
    let limited = validate_plan(&plan, &ctx);
    // worst case: a 特约 buying (139.30-59.70)/139.30 = 0.5714 differential + 0.04 peers + 0.05 referral
    assert_eq!(validate::worst_case_payout_ratio(&plan, &ctx), dec!(0.6614));
    assert_eq!(codes(&limited.errors), vec!["payout_ratio", "paid_levels"]);
    plan.team_rebate.brackets = vec![Bracket { min_volume: dec!(100), rate: dec!(0.05) }, Bracket { min_volume: dec!(50), rate: dec!(0.01) }];
    assert!(codes(&validate_plan(&plan, &ctx).errors).contains(&"brackets_not_monotone".to_string()));
}

#[test]
fn team_rebate_never_goes_negative_where_half_up_rounding_would() {
    // Two children at 10000.25 each: 2% is 200.005 each. Rounded half up, the children
    // would get 200.01 + 200.01 while the parent's gross is 400.01, a rebate of -0.01.
    let rule = TeamRebate { enabled: true, brackets: vec![Bracket { min_volume: dec!(10000), rate: dec!(0.02) }] };
    let node = |agent_id, parent_id, v| RebateNode { agent_id, parent_id, active: true, own_volume: v };
    let nodes = vec![node(A, None, dec!(0)), node(B, Some(A), dec!(10000.25)), node(C, Some(A), dec!(10000.25))];
    let rebates = team_rebates(&nodes, &rule).unwrap();
    let get = |id| rebates.iter().find(|r| r.agent_id == id).unwrap().rebate;
    assert_eq!((get(A), get(B), get(C)), (dec!(0.01), dec!(200.00), dec!(200.00)));
    assert_eq!(rebates.iter().map(|r| r.rebate).sum::<Decimal>(), dec!(400.01));
}
