//! The what-if replay (`POST /plan/what-if`, `agent-ledger what-if`): the purchases,
//! refunds and team rebates of closed months replayed under a proposed plan, with each
//! order's tree, tiers and sponsor as they were at its placed_at and the tree kept at the
//! month's close for the rebates. Writes nothing: one read-only snapshot.
//!
//! "Current" is what the ledger paid for the month (the cuts of its purchase orders net of
//! refunds made before the close, and its team rebates); "proposed" is the same orders and
//! refunds through the same engine under the proposed plan. Replaying a month under the
//! plan it was split with gives a delta of 0.00 (tested).

use std::collections::{BTreeMap, HashMap};

use diesel::prelude::*;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use super::store::{self, LineRow};
use crate::auth::Principal;
use crate::commission::{self, Party, Plan, ReplayLine, SplitKind, Sponsor, Upline, ValidationReport};
use crate::error::AppError;

pub const MAX_MONTHS: usize = 12;
/// Agents listed per month in `top_changes`.
pub const TOP: usize = 20;
const KINDS: [&str; 4] = ["differential", "peer_bonus", "referral_bonus", "team_rebate"];

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WhatIfRequest {
    /// The proposed plan, as for `PUT /plan` (its `effective_from` is not used).
    pub plan: Plan,
    /// Closed months, `YYYY-MM`; at most 12.
    pub months: Vec<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WhatIf {
    /// The proposed plan's validation under the brand's profile (a plan with errors is
    /// replayed all the same: it could not be published).
    pub findings: ValidationReport,
    pub months: Vec<MonthWhatIf>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MonthWhatIf {
    pub month: String,
    /// Purchase lines replayed.
    pub lines: i64,
    /// Purchases of the month, net of refunds made before the close.
    #[schema(value_type = String)]
    pub purchases: Decimal,
    pub current: Payouts,
    pub proposed: Payouts,
    /// proposed − current.
    pub delta: Payouts,
    /// The agents whose pay changes most (by |delta|), at most 20.
    pub top_changes: Vec<AgentChange>,
}

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Payouts {
    #[schema(value_type = String)]
    pub total: Decimal,
    #[schema(value_type = String)]
    pub differential: Decimal,
    #[schema(value_type = String)]
    pub peer_bonus: Decimal,
    #[schema(value_type = String)]
    pub referral_bonus: Decimal,
    #[schema(value_type = String)]
    pub team_rebate: Decimal,
    /// total ÷ purchases (4 places); null when nothing was purchased.
    #[schema(value_type = Option<String>)]
    pub payout_ratio: Option<Decimal>,
    /// By the tier each agent held when the month closed, best tier first.
    pub by_tier: Vec<TierAmount>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TierAmount {
    pub tier_id: i64,
    pub tier_name: String,
    #[schema(value_type = String)]
    pub amount: Decimal,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AgentChange {
    pub agent_id: i64,
    pub name: String,
    pub tier_id: Option<i64>,
    #[schema(value_type = String)]
    pub current: Decimal,
    #[schema(value_type = String)]
    pub proposed: Decimal,
    #[schema(value_type = String)]
    pub delta: Decimal,
}

/// Amounts per agent and kind (index into KINDS).
type Book = HashMap<i64, [Decimal; 4]>;

fn kind_index(kind: &str) -> Option<usize> {
    KINDS.iter().position(|k| *k == kind)
}

/// The months asked for: valid, distinct, in order, closed.
fn closed_months(conn: &mut PgConnection, brand_id: i64, months: &[String]) -> Result<Vec<crate::settlement::store::ClosedPeriod>, AppError> {
    if months.is_empty() || months.len() > MAX_MONTHS {
        return Err(AppError::validation(format!("months: 1 to {MAX_MONTHS} closed months")));
    }
    let mut sorted: Vec<&String> = months.iter().collect();
    for m in &sorted {
        crate::period::parse_month(m)?;
    }
    sorted.sort();
    sorted.dedup();
    sorted
        .into_iter()
        .map(|m| {
            crate::settlement::store::closed_period(conn, brand_id, m)?
                .ok_or_else(|| AppError::conflict("period_open", format!("{m} is not closed; the what-if replays closed months")))
        })
        .collect()
}

/// Replays `months` under `plan`. The caller runs it in a read-only transaction.
pub fn what_if(conn: &mut PgConnection, who: &Principal, req: &WhatIfRequest) -> Result<WhatIf, AppError> {
    who.require_hq()?;
    let brand_id = who.brand_id;
    let periods = closed_months(conn, brand_id, &req.months)?;
    let findings = super::validate(conn, brand_id, &req.plan)?;
    let tiers = crate::catalog::list_tiers(conn, brand_id)?;
    let ranks: HashMap<i64, u32> = tiers.iter().map(|t| (t.id, t.rank as u32)).collect();
    let prices: HashMap<(String, i64), Decimal> = store::price_list(conn, brand_id)?.into_iter().map(|(sku, tier, p)| ((sku, tier), p)).collect();
    let mut out = Vec::with_capacity(periods.len());
    for period in periods {
        out.push(replay_month(conn, brand_id, &req.plan, &period, &tiers, &ranks, &prices)?);
    }
    Ok(WhatIf { findings, months: out })
}

fn replay_month(
    conn: &mut PgConnection,
    brand_id: i64,
    plan: &Plan,
    period: &crate::settlement::store::ClosedPeriod,
    tiers: &[crate::catalog::Tier],
    ranks: &HashMap<i64, u32>,
    prices: &HashMap<(String, i64), Decimal>,
) -> Result<MonthWhatIf, AppError> {
    let (start, end, closed_at) = (period.starts_at, period.ends_at, period.closed_at);
    let mut proposed: Book = HashMap::new();
    let mut lines = 0i64;
    let mut legacy: Vec<LineRow> = Vec::new();
    store::each_line(conn, brand_id, start, end, closed_at, |row| {
        lines += 1;
        match to_replay(&row, ranks, prices)? {
            Some(line) => add_splits(&mut proposed, plan, &line),
            None => {
                legacy.push(row);
                Ok(())
            }
        }
    })?;
    // Orders written before their split context was kept: the tree as of placed_at.
    for mut row in legacy {
        let family = crate::tree::store::family_as_of(conn, brand_id, row.buyer_id, row.placed_at)?
            .ok_or_else(|| AppError::internal(format!("buyer {} missing", row.buyer_id)))?;
        let upto = row.seller_id.and_then(|s| family.upline.iter().position(|a| a.id == s)).unwrap_or(family.upline.len());
        let chain = &family.upline[..upto];
        row.buyer_tier_id = Some(family.buyer.tier_id);
        row.upline = Some(chain.iter().map(|a| a.id).collect());
        row.upline_tiers = Some(chain.iter().map(|a| a.tier_id).collect());
        row.upline_active = Some(chain.iter().map(|a| a.status == "active").collect());
        row.sponsor_active = family.sponsor.as_ref().map(|s| s.status == "active");
        if let Some(line) = to_replay(&row, ranks, prices)? {
            add_splits(&mut proposed, plan, &line)?;
        }
    }

    let mut current: Book = HashMap::new();
    for p in store::paid(conn, brand_id, &period.month, start, end, closed_at)? {
        if let Some(k) = kind_index(&p.kind) {
            current.entry(p.agent_id).or_default()[k] += p.amount;
        }
    }
    let tree = store::month_tree(conn, brand_id, &period.month, start, end, closed_at)?;
    let purchases: Decimal = tree.iter().map(|a| a.volume).sum();
    if plan.team_rebate.enabled && !plan.team_rebate.brackets.is_empty() {
        let nodes: Vec<commission::RebateNode> =
            tree.iter().map(|a| commission::RebateNode { agent_id: a.agent_id, parent_id: a.parent_id, active: a.active, own_volume: a.volume }).collect();
        for r in commission::team_rebates(&nodes, &plan.team_rebate).map_err(|e| AppError::unprocessable("plan_invalid", e.to_string()))? {
            if r.paid && r.rebate > Decimal::ZERO {
                proposed.entry(r.agent_id).or_default()[3] += r.rebate;
            }
        }
    }
    let tier_of: HashMap<i64, i64> = tree.iter().map(|a| (a.agent_id, a.tier_id)).collect();
    let current_p = payouts(&current, purchases, &tier_of, tiers);
    let proposed_p = payouts(&proposed, purchases, &tier_of, tiers);
    let delta = difference(&current_p, &proposed_p, tiers);
    let top_changes = top_changes(conn, brand_id, &current, &proposed, &tier_of)?;
    Ok(MonthWhatIf { month: period.month.clone(), lines, purchases: cents(purchases), current: current_p, proposed: proposed_p, delta, top_changes })
}

/// The engine's input for a line; None when the order predates its kept split context.
fn to_replay(row: &LineRow, ranks: &HashMap<i64, u32>, prices: &HashMap<(String, i64), Decimal>) -> Result<Option<ReplayLine>, AppError> {
    let (Some(buyer_tier), Some(upline), Some(upline_tiers), Some(upline_active)) = (row.buyer_tier_id, &row.upline, &row.upline_tiers, &row.upline_active)
    else {
        return Ok(None);
    };
    let rank = |tier: i64| ranks.get(&tier).copied().ok_or_else(|| AppError::internal(format!("tier {tier} has no rank")));
    let price = |tier: i64| {
        prices.get(&(row.sku.clone(), tier)).copied().ok_or_else(|| AppError::conflict("price_missing", format!("{} has no price for tier {tier}", row.sku)))
    };
    let chain = upline
        .iter()
        .zip(upline_tiers)
        .zip(upline_active)
        .map(|((id, tier), active)| Ok(Upline { agent_id: *id, rank: rank(*tier)?, active: *active, unit_price: price(*tier)? }))
        .collect::<Result<Vec<_>, AppError>>()?;
    Ok(Some(ReplayLine {
        line_no: row.line_no as u32,
        qty: row.qty as u32,
        unit_price: row.unit_price,
        buyer_rank: rank(buyer_tier)?,
        chain,
        seller: row.seller_id.map_or(Party::Hq, Party::Agent),
        sponsor: row.sponsor_id.map(|id| Sponsor { agent_id: id, active: row.sponsor_active.unwrap_or(false) }),
        first_purchase: row.first_purchase,
        placed_at: row.placed_at,
        buyer_joined_at: row.joined_at,
        refunds: row.refunds.iter().map(|q| *q as u32).collect(),
    }))
}

fn add_splits(book: &mut Book, plan: &Plan, line: &ReplayLine) -> Result<(), AppError> {
    for s in commission::replay_line(plan, line).map_err(|e| AppError::unprocessable("plan_invalid", e.to_string()))? {
        let k = match s.kind {
            SplitKind::Differential => 0,
            SplitKind::PeerBonus => 1,
            SplitKind::ReferralBonus => 2,
            SplitKind::Proceeds => continue,
        };
        if let Party::Agent(id) = s.party {
            book.entry(id).or_default()[k] += s.amount;
        }
    }
    Ok(())
}

fn cents(d: Decimal) -> Decimal {
    let mut d = d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    d.rescale(2);
    d
}

fn payouts(book: &Book, purchases: Decimal, tier_of: &HashMap<i64, i64>, tiers: &[crate::catalog::Tier]) -> Payouts {
    let mut by_kind = [Decimal::ZERO; 4];
    let mut by_tier: BTreeMap<i64, Decimal> = BTreeMap::new();
    for (agent, amounts) in book {
        let sum: Decimal = amounts.iter().sum();
        for (k, a) in amounts.iter().enumerate() {
            by_kind[k] += a;
        }
        if let Some(t) = tier_of.get(agent) {
            *by_tier.entry(*t).or_default() += sum;
        }
    }
    let total: Decimal = by_kind.iter().sum();
    Payouts {
        total: cents(total),
        differential: cents(by_kind[0]),
        peer_bonus: cents(by_kind[1]),
        referral_bonus: cents(by_kind[2]),
        team_rebate: cents(by_kind[3]),
        payout_ratio: crate::reports::ratio(total, purchases),
        by_tier: tiers
            .iter()
            .map(|t| TierAmount { tier_id: t.id, tier_name: t.name.clone(), amount: cents(by_tier.get(&t.id).copied().unwrap_or_default()) })
            .collect(),
    }
}

fn difference(current: &Payouts, proposed: &Payouts, tiers: &[crate::catalog::Tier]) -> Payouts {
    let d = |a: Decimal, b: Decimal| cents(b - a);
    Payouts {
        total: d(current.total, proposed.total),
        differential: d(current.differential, proposed.differential),
        peer_bonus: d(current.peer_bonus, proposed.peer_bonus),
        referral_bonus: d(current.referral_bonus, proposed.referral_bonus),
        team_rebate: d(current.team_rebate, proposed.team_rebate),
        payout_ratio: match (current.payout_ratio, proposed.payout_ratio) {
            (Some(a), Some(b)) => Some(b - a),
            _ => None,
        },
        by_tier: tiers
            .iter()
            .zip(current.by_tier.iter().zip(&proposed.by_tier))
            .map(|(t, (a, b))| TierAmount { tier_id: t.id, tier_name: t.name.clone(), amount: d(a.amount, b.amount) })
            .collect(),
    }
}

fn top_changes(conn: &mut PgConnection, brand_id: i64, current: &Book, proposed: &Book, tier_of: &HashMap<i64, i64>) -> Result<Vec<AgentChange>, AppError> {
    let total = |book: &Book, id: &i64| book.get(id).map_or(Decimal::ZERO, |a| a.iter().sum());
    let mut changes: Vec<(i64, Decimal, Decimal)> = current
        .keys()
        .chain(proposed.keys().filter(|id| !current.contains_key(id)))
        .map(|id| (*id, total(current, id), total(proposed, id)))
        .filter(|(_, c, p)| c != p)
        .collect();
    changes.sort_by(|a, b| (b.2 - b.1).abs().cmp(&(a.2 - a.1).abs()).then(a.0.cmp(&b.0)));
    changes.truncate(TOP);
    let ids: Vec<i64> = changes.iter().map(|c| c.0).collect();
    let names: HashMap<i64, String> = store::names(conn, brand_id, &ids)?.into_iter().collect();
    Ok(changes
        .into_iter()
        .map(|(id, c, p)| AgentChange {
            agent_id: id,
            name: names.get(&id).cloned().unwrap_or_default(),
            tier_id: tier_of.get(&id).copied(),
            current: cents(c),
            proposed: cents(p),
            delta: cents(p - c),
        })
        .collect())
}
