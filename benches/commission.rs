//! Commission engine micro-benchmarks: splits per second for depth-10 chains, and a
//! month's team rebate over a 1,000,000-agent tree. Run: `cargo bench --bench commission`.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use rust_decimal::Decimal;

use agent_ledger::commission::plan::{Bracket, Limits, PeerBonus, ReferralBonus, TeamRebate, Toggle};
use agent_ledger::commission::{split_line, team_rebates, LineInput, Party, Plan, RebateNode, Sponsor, Upline};

const PRICES: [i64; 5] = [5970, 7960, 9950, 11940, 13930];

fn plan() -> Plan {
    Plan {
        version: 1,
        effective_from: "2026-10-01T00:00:00+08:00".parse().unwrap(),
        differential: Toggle { enabled: true },
        peer_bonus: PeerBonus { enabled: true, rates: vec![Decimal::new(3, 2), Decimal::new(1, 2)] },
        referral_bonus: ReferralBonus { enabled: true, rate: Decimal::new(5, 2), months: 0 },
        team_rebate: TeamRebate::default(),
        max_depth: None,
        limits: Limits::default(),
    }
}

fn splits(c: &mut Criterion) {
    // depth 10: buyer 特约 (5); above it 5,4,4,3,3,2,2,2,1,1 — differentials, peers and a referral
    let ranks = [5u32, 4, 4, 3, 3, 2, 2, 2, 1, 1];
    let chain: Vec<Upline> = ranks
        .iter()
        .enumerate()
        .map(|(i, &rank)| Upline { agent_id: i as i64 + 1, rank, active: i != 3, unit_price: Decimal::new(PRICES[rank as usize - 1], 2) })
        .collect();
    let plan = plan();
    let line = LineInput {
        line_no: 1,
        qty: 37,
        unit_price: Decimal::new(PRICES[4], 2),
        buyer_rank: 5,
        chain: &chain,
        seller: Party::Hq,
        sponsor: Some(Sponsor { agent_id: 1, active: true }),
        referral_eligible: true,
    };
    let mut group = c.benchmark_group("split_line");
    group.throughput(Throughput::Elements(1));
    group.bench_function("depth_10_chain", |b| b.iter(|| split_line(&plan, std::hint::black_box(&line)).unwrap()));
    group.finish();
}

fn rebates(c: &mut Criterion) {
    // 1,000,000 agents: 10 top-level, then every agent i hangs under agent (i - 10) / 10.
    let nodes: Vec<RebateNode> = (0..1_000_000i64)
        .map(|i| RebateNode {
            agent_id: i,
            parent_id: if i < 10 { None } else { Some((i - 10) / 10) },
            active: i % 17 != 0,
            own_volume: Decimal::new((i * 7919) % 2_000_000, 2),
        })
        .collect();
    let rule = TeamRebate {
        enabled: true,
        brackets: vec![
            Bracket { min_volume: Decimal::new(1_000_000, 2), rate: Decimal::new(2, 2) },
            Bracket { min_volume: Decimal::new(5_000_000, 2), rate: Decimal::new(4, 2) },
            Bracket { min_volume: Decimal::new(10_000_000, 2), rate: Decimal::new(6, 2) },
        ],
    };
    let mut group = c.benchmark_group("team_rebate");
    group.sample_size(10);
    group.throughput(Throughput::Elements(nodes.len() as u64));
    group.bench_function("tree_of_1_000_000", |b| b.iter_batched(|| (), |_| team_rebates(&nodes, &rule).unwrap(), BatchSize::PerIteration));
    group.finish();
}

criterion_group!(benches, splits, rebates);
criterion_main!(benches);
