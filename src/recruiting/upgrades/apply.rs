//! Proposing and applying upgrades: the agent's own request, HQ's approval or rejection, and
//! the month close's set-based pass. Locks in the fixed order: tree, then proposal, then the
//! agent's row.

use std::collections::BTreeMap;

use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::rule::{self, Figures};
use super::store::{self, NewProposal, Proposal};
use crate::auth::Principal;
use crate::error::AppError;
use crate::tree::store as tree_store;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpgradeRequest {
    /// The tier applied for: better than the agent's own, and with a rule.
    pub tier_id: i64,
}

/// What a month close did with the rules.
#[derive(Debug, Clone, Copy, Default, Serialize, utoipa::ToSchema)]
pub struct CloseUpgrades {
    /// Proposals waiting for HQ (mode `approval`).
    pub proposed: i64,
    /// Tier changes made (mode `auto`).
    pub applied: i64,
}

/// 申请升级: the agent applies for a better tier. Qualifying makes a proposal (or, in `auto`,
/// the tier change); not qualifying is 422 `not_qualified` with the figures. Asking again for
/// the same tier returns what the first request made (200 instead of 201).
pub fn request(conn: &mut PgConnection, who: &Principal, agent_id: i64, req: &UpgradeRequest) -> Result<(Proposal, bool), AppError> {
    match who.agent_id() {
        Some(me) if me == agent_id => {}
        Some(_) => return Err(AppError::not_found(format!("agent {agent_id}"))),
        None => return Err(AppError::forbidden("an agent applies for its own upgrade; HQ changes a tier with POST /agents/{id}/tier")),
    }
    let brand_id = who.brand_id;
    let mode = super::mode(conn, brand_id)?;
    if mode == "off" {
        return Err(AppError::conflict("upgrades_off", "this brand does not upgrade by rule: ask HQ"));
    }
    tree_store::lock_tree(conn, brand_id, mode == "auto")?;
    // the agent's row, locked: concurrent requests of one agent are taken one at a time
    let agent = tree_store::find_for_update(conn, brand_id, agent_id)?.ok_or_else(|| AppError::not_found(format!("agent {agent_id}")))?;
    let tiers = crate::catalog::list_tiers(conn, brand_id)?;
    let rank_of = |id: i64| tiers.iter().find(|t| t.id == id).map(|t| t.rank);
    let target = tiers
        .iter()
        .find(|t| t.id == req.tier_id)
        .ok_or_else(|| AppError::unprocessable("unknown_tier", format!("tier {} is not one of this brand's", req.tier_id)))?;
    if target.rank >= rank_of(agent.tier_id).unwrap_or(i32::MAX) {
        if let Some(p) =
            store::latest_of(conn, brand_id, agent_id)?.filter(|p| p.status == "applied" && p.to_tier_id == req.tier_id && agent.tier_id == req.tier_id)
        {
            return Ok((p, false));
        }
        return Err(AppError::unprocessable("not_better", format!("{} is not better than your tier", target.name)));
    }
    if agent.status != "active" {
        return Err(AppError::conflict("not_active", format!("only an active agent can apply for an upgrade (this one is {})", agent.status)));
    }
    if let Some(p) = store::pending_of(conn, brand_id, agent_id)? {
        if p.to_tier_id == req.tier_id {
            return Ok((p, false));
        }
        return Err(AppError::conflict("already_pending", format!("an upgrade (proposal {}) is already waiting for HQ", p.id)));
    }
    let rule = store::rules(conn, brand_id)?
        .into_iter()
        .find(|r| r.tier_id == req.tier_id)
        .ok_or_else(|| AppError::unprocessable("no_rule", format!("{} has no upgrade rule: only HQ moves agents into it", target.name)))?;
    let months = match super::last_closed_month(conn, brand_id)? {
        Some(m) => super::window(&m, rule.months)?,
        None => Vec::new(),
    };
    let figures = super::progress::figures_of(conn, brand_id, agent_id, agent.tier_id, &months)?;
    let checks = rule::checks(&rule, &figures);
    let kept = super::figures_json(&months, &figures, &checks);
    if !rule::qualifies(&rule, &figures) {
        let missing: Vec<String> = checks.iter().filter(|c| !c.met).map(|c| format!("{} {} of {}", c.measure, c.have, c.need)).collect();
        let detail = format!("not yet qualified for {}: {}", target.name, missing.join(", "));
        return Err(AppError::unprocessable("not_qualified", detail).with_extra(serde_json::json!({ "figures": kept })));
    }
    let auto = mode == "auto";
    let proposal = NewProposal {
        agent_id,
        from_tier_id: agent.tier_id,
        to_tier_id: req.tier_id,
        source: "agent",
        figures: kept,
        status: if auto { "applied" } else { "pending" },
        by: auto.then_some("auto"),
    };
    let p = store::insert(conn, brand_id, proposal)?.ok_or_else(|| AppError::conflict("already_pending", "an upgrade is already waiting for HQ"))?;
    if auto {
        crate::tree::retier(conn, who, &agent, req.tier_id, "agent.upgrade")?;
    }
    Ok((p, true))
}

fn pending_for_update(conn: &mut PgConnection, who: &Principal, id: i64) -> Result<Proposal, AppError> {
    who.require_hq()?;
    let p = store::find_for_update(conn, who.brand_id, id)?.ok_or_else(|| AppError::not_found(format!("upgrade proposal {id}")))?;
    if p.status != "pending" {
        return Err(AppError::conflict("already_decided", format!("upgrade proposal {id} is already {}", p.status)));
    }
    Ok(p)
}

/// HQ approves: the tier changes now (dated), once under any number of concurrent clicks.
pub fn approve(conn: &mut PgConnection, who: &Principal, id: i64) -> Result<Proposal, AppError> {
    who.require_hq()?;
    tree_store::lock_tree(conn, who.brand_id, true)?;
    let p = pending_for_update(conn, who, id)?;
    let agent = tree_store::find_for_update(conn, who.brand_id, p.agent_id)?.ok_or_else(|| AppError::not_found(format!("agent {}", p.agent_id)))?;
    if agent.status != "active" || agent.tier_id != p.from_tier_id {
        return Err(AppError::conflict("stale", format!("agent {} is no longer an active agent of the tier this proposal was made for", p.agent_id)));
    }
    let decided = store::decide(conn, who.brand_id, id, "applied", &who.actor(), None)?;
    crate::tree::retier(conn, who, &agent, p.to_tier_id, "agent.upgrade")?;
    Ok(decided)
}

/// HQ rejects with a reason the agent sees.
pub fn reject(conn: &mut PgConnection, who: &Principal, id: i64, reason: String) -> Result<Proposal, AppError> {
    let p = pending_for_update(conn, who, id)?;
    let decided = store::decide(conn, who.brand_id, id, "rejected", &who.actor(), Some(&reason))?;
    crate::audit::record(
        conn,
        who,
        "upgrade.reject",
        format!("agent:{}", p.agent_id),
        None,
        Some(serde_json::json!({ "proposal": id, "to_tier_id": p.to_tier_id, "reason": reason })),
    )?;
    Ok(decided)
}

/// At the close of `month` (its statements just written): every active agent against every
/// better tier's rule, one query per distinct window. The best tier each qualifies for
/// becomes a proposal or, in `auto`, a tier change dated now. An agent already waiting for a
/// tier at least as good is left alone; one waiting for a lesser tier has that proposal
/// voided for the better one.
pub fn at_close(conn: &mut PgConnection, who: &Principal, month: &str) -> Result<CloseUpgrades, AppError> {
    let brand_id = who.brand_id;
    let mode = super::mode(conn, brand_id)?;
    let rules = store::rules(conn, brand_id)?;
    if mode == "off" || rules.is_empty() {
        return Ok(CloseUpgrades::default());
    }
    let auto = mode == "auto";
    if auto {
        // the close holds the tree shared; tier changes need it alone
        tree_store::lock_tree(conn, brand_id, true)?;
    }
    let tiers = crate::catalog::list_tiers(conn, brand_id)?;
    let rank_of = |id: i64| tiers.iter().find(|t| t.id == id).map_or(i32::MAX, |t| t.rank);
    let mut windows: Vec<i32> = rules.iter().map(|r| r.months).collect();
    windows.sort_unstable();
    windows.dedup();
    // agent → (its tier, the best rule met, its figures, the window)
    let mut best: BTreeMap<i64, (i64, usize, Figures, Vec<String>)> = BTreeMap::new();
    for n in windows {
        let group: Vec<usize> = (0..rules.len()).filter(|&i| rules[i].months == n).collect();
        // only agents below the group's best target can move up by it
        let top = group.iter().map(|&i| rules[i].rank).min().unwrap_or(i32::MAX);
        let below: Vec<i64> = tiers.iter().filter(|t| t.rank > top).map(|t| t.id).collect();
        let months = super::window(month, n)?;
        for row in store::figures(conn, brand_id, &months, None, &below)? {
            let f = row.figures();
            let current = rank_of(row.tier_id);
            let Some(i) = group.iter().copied().filter(|&i| rules[i].rank < current && rule::qualifies(&rules[i], &f)).min_by_key(|&i| rules[i].rank) else {
                continue;
            };
            match best.get(&row.agent_id) {
                Some((_, j, _, _)) if rules[*j].rank <= rules[i].rank => {}
                _ => {
                    best.insert(row.agent_id, (row.tier_id, i, f, months.clone()));
                }
            }
        }
    }
    // the waiting proposals, read once (not once per qualifying agent)
    let pending: std::collections::HashMap<i64, i64> =
        store::list(conn, brand_id, Some("pending"), None, i64::MAX)?.into_iter().map(|p| (p.agent_id, p.to_tier_id)).collect();
    let mut out = CloseUpgrades::default();
    for (agent_id, (from, i, f, months)) in best {
        let r = &rules[i];
        if let Some(&to) = pending.get(&agent_id) {
            if rank_of(to) <= r.rank {
                continue;
            }
            store::void_pending(conn, brand_id, agent_id, &who.actor(), &format!("a better tier qualified at the close of {month}"))?;
        }
        let checks = rule::checks(r, &f);
        let proposal = NewProposal {
            agent_id,
            from_tier_id: from,
            to_tier_id: r.tier_id,
            source: "close",
            figures: super::figures_json(&months, &f, &checks),
            status: if auto { "applied" } else { "pending" },
            by: auto.then_some("auto"),
        };
        if store::insert(conn, brand_id, proposal)?.is_none() {
            continue;
        }
        if auto {
            let agent = tree_store::find_for_update(conn, brand_id, agent_id)?.ok_or_else(|| AppError::internal(format!("agent {agent_id} vanished")))?;
            crate::tree::retier(conn, who, &agent, r.tier_id, "agent.upgrade")?;
            out.applied += 1;
        } else {
            out.proposed += 1;
        }
    }
    Ok(out)
}
