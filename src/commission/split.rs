//! Splitting one purchase line into proceeds, differentials (级差), peer bonuses (平级奖) and
//! the referral bonus (推荐奖). Rules: `docs/domain.md` §5.
//!
//! The buyer's payment is shared out exactly (seller proceeds + differentials = line amount);
//! bonuses are paid by HQ on top. Amounts are rounded once per (line, beneficiary, kind).

use rust_decimal::Decimal;
use serde::Serialize;

use super::money::{is_cents, round_cents};
use super::plan::Plan;
use super::EngineError;

pub type AgentId = i64;

/// Who receives money: HQ (the brand) or an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Party {
    Hq,
    Agent(AgentId),
}

impl Party {
    pub fn agent_id(self) -> Option<AgentId> {
        match self {
            Party::Hq => None,
            Party::Agent(id) => Some(id),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitKind {
    Proceeds,
    Differential,
    PeerBonus,
    ReferralBonus,
}

impl SplitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SplitKind::Proceeds => "proceeds",
            SplitKind::Differential => "differential",
            SplitKind::PeerBonus => "peer_bonus",
            SplitKind::ReferralBonus => "referral_bonus",
        }
    }

    /// Proceeds and differentials come out of the buyer's payment; bonuses are HQ-paid.
    pub fn is_paid_by_buyer(self) -> bool {
        matches!(self, SplitKind::Proceeds | SplitKind::Differential)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Split {
    pub line_no: u32,
    pub kind: SplitKind,
    pub party: Party,
    pub amount: Decimal,
    /// Position of the earner in the buyer's upline (parent = 1), when it is an ancestor.
    pub generation: Option<u32>,
}

/// One ancestor of the buyer, as the engine needs it for one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upline {
    pub agent_id: AgentId,
    /// Tier rank: 1 is the best.
    pub rank: u32,
    pub active: bool,
    /// This agent's tier price for the line's SKU.
    pub unit_price: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sponsor {
    pub agent_id: AgentId,
    pub active: bool,
}

/// One purchase line with everything needed to split it.
#[derive(Debug, Clone)]
pub struct LineInput<'a> {
    pub line_no: u32,
    pub qty: u32,
    /// The buyer's tier price for this SKU.
    pub unit_price: Decimal,
    pub buyer_rank: u32,
    /// The buyer's ancestors from the parent upward, up to (not including) the seller.
    pub chain: &'a [Upline],
    pub seller: Party,
    pub sponsor: Option<Sponsor>,
    /// Whether this order qualifies for the referral bonus (first purchase, or within the
    /// configured months); decided by the caller, who knows the buyer's history.
    pub referral_eligible: bool,
}

impl LineInput<'_> {
    pub fn amount(&self) -> Decimal {
        self.unit_price * Decimal::from(self.qty)
    }
}

/// Splits one purchase line. Output order is fixed: proceeds, differentials by generation,
/// peer bonuses by generation, referral bonus. Zero amounts are left out, except proceeds.
pub fn split_line(plan: &Plan, line: &LineInput) -> Result<Vec<Split>, EngineError> {
    check_line(line)?;
    let qty = Decimal::from(line.qty);
    let amount = line.amount();
    let within_cap = |generation: u32| plan.max_depth.is_none_or(|cap| generation <= cap);
    let mut differentials = Vec::new();
    let mut peers = Vec::new();

    // Differential: each active ancestor below the current floor price takes the gap.
    let mut floor = line.unit_price;
    if plan.differential.enabled {
        for (generation, upline) in generations(line.chain) {
            if !within_cap(generation) {
                break; // deeper ancestors' share stays with the seller
            }
            if upline.active && upline.unit_price < floor {
                differentials.push(Split {
                    line_no: line.line_no,
                    kind: SplitKind::Differential,
                    party: Party::Agent(upline.agent_id),
                    amount: round_cents((floor - upline.unit_price) * qty),
                    generation: Some(generation),
                });
                floor = upline.unit_price;
            }
        }
    }

    // Peer bonus: agents of exactly the buyer's tier, until the first strictly better tier.
    if plan.peer_bonus.enabled && !plan.peer_bonus.rates.is_empty() {
        let mut rates = plan.peer_bonus.rates.iter();
        for (generation, upline) in generations(line.chain) {
            if !within_cap(generation) || !upline.active {
                if within_cap(generation) {
                    continue; // compression: an inactive agent is passed over
                }
                break;
            }
            if upline.rank < line.buyer_rank {
                break;
            }
            if upline.rank > line.buyer_rank {
                continue;
            }
            let Some(rate) = rates.next() else { break };
            push_nonzero(&mut peers, line.line_no, SplitKind::PeerBonus, upline.agent_id, round_cents(rate * amount), Some(generation));
        }
    }

    let proceeds = round_cents(floor * qty);
    let mut splits = Vec::with_capacity(2 + differentials.len() + peers.len());
    splits.push(Split { line_no: line.line_no, kind: SplitKind::Proceeds, party: line.seller, amount: proceeds, generation: None });
    splits.extend(differentials);
    splits.extend(peers);

    if plan.referral_bonus.enabled && line.referral_eligible {
        if let Some(sponsor) = line.sponsor.as_ref().filter(|s| s.active) {
            // A sponsor who is also an ancestor beyond the depth cap earns nothing.
            let generation = line.chain.iter().position(|u| u.agent_id == sponsor.agent_id).map(|i| i as u32 + 1);
            if generation.is_none_or(within_cap) {
                let bonus = round_cents(plan.referral_bonus.rate * amount);
                push_nonzero(&mut splits, line.line_no, SplitKind::ReferralBonus, sponsor.agent_id, bonus, generation);
            }
        }
    }
    Ok(splits)
}

fn generations(chain: &[Upline]) -> impl Iterator<Item = (u32, &Upline)> {
    chain.iter().enumerate().map(|(i, u)| (i as u32 + 1, u))
}

fn push_nonzero(out: &mut Vec<Split>, line_no: u32, kind: SplitKind, agent: AgentId, amount: Decimal, generation: Option<u32>) {
    if !amount.is_zero() {
        out.push(Split { line_no, kind, party: Party::Agent(agent), amount, generation });
    }
}

fn check_line(line: &LineInput) -> Result<(), EngineError> {
    if line.qty == 0 {
        return Err(EngineError::InvalidInput(format!("line {}: quantity must be at least 1", line.line_no)));
    }
    let prices = std::iter::once(line.unit_price).chain(line.chain.iter().map(|u| u.unit_price));
    for price in prices {
        if price.is_sign_negative() || !is_cents(price) {
            return Err(EngineError::InvalidInput(format!("line {}: price {price} is not a non-negative amount in cents", line.line_no)));
        }
    }
    Ok(())
}

/// Sum of the amounts that come out of the buyer's payment (must equal the line amount).
pub fn buyer_paid_total(splits: &[Split]) -> Decimal {
    splits.iter().filter(|s| s.kind.is_paid_by_buyer()).map(|s| s.amount).sum()
}
