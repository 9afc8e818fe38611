//! An agent's way up (升级进度): each better tier that has a rule, the agent's figures over
//! that rule's window against its minimums, and its waiting or last proposal.

use diesel::prelude::*;
use serde::Serialize;

use super::rule::{self, Check, Combine, Figures};
use super::store::{self, Proposal};
use crate::auth::Principal;
use crate::error::AppError;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Target {
    pub tier_id: i64,
    pub tier_name: String,
    pub rank: i32,
    pub combine: Combine,
    /// The closed months counted (oldest first); empty before any month is closed.
    pub months: Vec<String>,
    pub figures: Figures,
    pub checks: Vec<Check>,
    pub qualifies: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AgentProgress {
    pub agent_id: i64,
    pub tier_id: i64,
    /// off, approval or auto
    pub mode: String,
    /// The better tiers that have a rule, the best first.
    pub targets: Vec<Target>,
    /// The agent's waiting proposal, else its last one.
    pub proposal: Option<Proposal>,
}

/// One agent's figures over `months` (zero when it has nothing there; its direct recruits
/// count even before any month is closed).
pub(super) fn figures_of(conn: &mut PgConnection, brand_id: i64, agent_id: i64, tier_id: i64, months: &[String]) -> Result<Figures, AppError> {
    Ok(store::figures(conn, brand_id, months, Some(agent_id), &[tier_id])?.first().map(store::FigureRow::figures).unwrap_or_default())
}

/// The agent itself or HQ.
pub fn progress(conn: &mut PgConnection, who: &Principal, agent_id: i64) -> Result<AgentProgress, AppError> {
    if who.agent_id().is_some_and(|me| me != agent_id) {
        return Err(AppError::not_found(format!("agent {agent_id}")));
    }
    let agent = crate::tree::visible(conn, who, agent_id)?;
    let tiers = crate::catalog::list_tiers(conn, who.brand_id)?;
    let rank = tiers.iter().find(|t| t.id == agent.tier_id).map_or(i32::MAX, |t| t.rank);
    let last = super::last_closed_month(conn, who.brand_id)?;
    let mut targets = Vec::new();
    for r in store::rules(conn, who.brand_id)?.into_iter().filter(|r| r.rank < rank) {
        let months = match &last {
            Some(m) => super::window(m, r.months)?,
            None => Vec::new(),
        };
        let figures = figures_of(conn, who.brand_id, agent_id, agent.tier_id, &months)?;
        let checks = rule::checks(&r, &figures);
        let qualifies = agent.status == "active" && rule::qualifies(&r, &figures);
        let tier_name = tiers.iter().find(|t| t.id == r.tier_id).map(|t| t.name.clone()).unwrap_or_default();
        targets.push(Target { tier_id: r.tier_id, tier_name, rank: r.rank, combine: r.combine, months, figures, checks, qualifies });
    }
    let proposal = match store::pending_of(conn, who.brand_id, agent_id)? {
        Some(p) => Some(p),
        None => store::latest_of(conn, who.brand_id, agent_id)?,
    };
    Ok(AgentProgress { agent_id, tier_id: agent.tier_id, mode: super::mode(conn, who.brand_id)?, targets, proposal })
}
