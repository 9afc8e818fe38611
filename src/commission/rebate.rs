//! Monthly team rebate (团队返利), domain §6.
//!
//! `V(a)` is the month's net purchase volume of `a` and its whole subtree; `gross(a)` is the
//! bracket rate for `V(a)` times `V(a)`; each agent is paid its own gross minus its
//! children's gross, so every level is paid only the *difference* its bracket adds.
//!
//! Rounding: gross is truncated to the cent, not rounded half away from zero. Truncation is
//! superadditive (`floor(x + y) >= floor(x) + floor(y)`), which is what makes a rebate never
//! negative for monotone brackets; half-up rounding can make it -0.01 (two children at
//! 10000.25 each: 200.01 + 200.01 > 400.01). See docs/compensation.md.

use std::collections::HashMap;

use rust_decimal::Decimal;

use super::money::floor_cents;
use super::plan::TeamRebate;
use super::split::AgentId;
use super::EngineError;

#[derive(Debug, Clone)]
pub struct RebateNode {
    pub agent_id: AgentId,
    /// None: directly under HQ.
    pub parent_id: Option<AgentId>,
    pub active: bool,
    /// The agent's own net purchase amount for the month.
    pub own_volume: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rebate {
    pub agent_id: AgentId,
    pub team_volume: Decimal,
    pub rate: Decimal,
    pub gross: Decimal,
    /// gross minus the children's gross; what the agent earns if active.
    pub rebate: Decimal,
    /// false when the agent is not active: HQ keeps that rebate.
    pub paid: bool,
}

/// Computes every agent's rebate, in the order of `nodes`. O(n): children are folded into
/// parents leaves-first, without recursion, so a million-agent tree of any depth is fine.
pub fn team_rebates(nodes: &[RebateNode], rule: &TeamRebate) -> Result<Vec<Rebate>, EngineError> {
    let index: HashMap<AgentId, usize> = nodes.iter().enumerate().map(|(i, n)| (n.agent_id, i)).collect();
    if index.len() != nodes.len() {
        return Err(EngineError::InvalidInput("an agent appears twice in the rebate tree".into()));
    }
    let mut parent = Vec::with_capacity(nodes.len());
    let mut pending_children = vec![0u32; nodes.len()];
    for node in nodes {
        if node.own_volume.is_sign_negative() {
            return Err(EngineError::InvalidInput(format!("agent {} has a negative volume", node.agent_id)));
        }
        let p = match node.parent_id {
            None => None,
            Some(pid) => Some(*index.get(&pid).ok_or_else(|| EngineError::InvalidInput(format!("agent {} has unknown parent {pid}", node.agent_id)))?),
        };
        if let Some(p) = p {
            pending_children[p] += 1;
        }
        parent.push(p);
    }

    let mut volume: Vec<Decimal> = nodes.iter().map(|n| n.own_volume).collect();
    let mut children_gross = vec![Decimal::ZERO; nodes.len()];
    let mut gross = vec![Decimal::ZERO; nodes.len()];
    let mut ready: Vec<usize> = (0..nodes.len()).filter(|&i| pending_children[i] == 0).collect();
    let mut done = 0usize;
    while let Some(i) = ready.pop() {
        done += 1;
        gross[i] = floor_cents(rule.rate_for(volume[i]) * volume[i]);
        if let Some(p) = parent[i] {
            let child_volume = volume[i];
            volume[p] += child_volume;
            children_gross[p] += gross[i];
            pending_children[p] -= 1;
            if pending_children[p] == 0 {
                ready.push(p);
            }
        }
    }
    if done != nodes.len() {
        return Err(EngineError::InvalidInput("the rebate tree has a cycle".into()));
    }
    Ok((0..nodes.len())
        .map(|i| {
            let mut v = volume[i];
            v.rescale(2);
            Rebate {
                agent_id: nodes[i].agent_id,
                team_volume: v,
                rate: rule.rate_for(volume[i]),
                gross: gross[i],
                rebate: gross[i] - children_gross[i],
                paid: nodes[i].active,
            }
        })
        .collect())
}
