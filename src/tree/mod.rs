//! The agent pyramid: create, read, move, re-tier and suspend agents, with every change
//! kept as a dated event. An agent sees only itself and its subtree; anything else is 404.

pub mod activation;
pub mod http;
mod positions;
pub use positions::{places, Place};
mod lookup;
pub mod store;

use chrono::{DateTime, SubsecRound, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::auth::{check_password_strength, hash_password, Principal};
use crate::catalog;
use crate::error::AppError;
pub use lookup::{ids_by_phone, names};
pub use store::{AgentEvent, AgentRow, SubtreeFilter};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Agent {
    pub id: i64,
    pub name: String,
    pub phone: String,
    pub tier_id: i64,
    pub parent_id: Option<i64>,
    pub sponsor_id: Option<i64>,
    /// active, suspended or exited
    pub status: String,
    /// 1 for an agent directly under HQ; in a downline listing, relative to the listed agent.
    pub depth: i32,
    pub joined_at: DateTime<Utc>,
}

impl Agent {
    fn from_row(row: AgentRow, depth: i32) -> Self {
        Agent {
            id: row.id,
            name: row.name,
            phone: row.phone,
            tier_id: row.tier_id,
            parent_id: row.parent_id,
            sponsor_id: row.sponsor_id,
            status: row.status,
            depth,
            joined_at: row.joined_at,
        }
    }
}

impl From<AgentRow> for Agent {
    fn from(row: AgentRow) -> Self {
        let depth = row.path.len() as i32;
        Agent::from_row(row, depth)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAgentRequest {
    pub name: String,
    pub phone: String,
    pub tier_id: i64,
    /// None: directly under HQ (HQ only). An agent may only recruit under itself.
    #[serde(default)]
    pub parent_id: Option<i64>,
    pub password: String,
    /// When the agent joined; defaults to now. HQ only, inside an open month and not
    /// before its parent joined: backdates a joining so history can be backfilled.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub joined_at: Option<DateTime<chrono::FixedOffset>>,
}

/// Loads an agent the caller may see; anything else is indistinguishable from absent.
pub fn visible(conn: &mut PgConnection, who: &Principal, id: i64) -> Result<AgentRow, AppError> {
    let row = store::find(conn, who.brand_id, id)?;
    match (row, who.agent_id()) {
        (Some(row), None) => Ok(row),
        (Some(row), Some(me)) if row.path.contains(&me) => Ok(row),
        _ => Err(AppError::not_found(format!("agent {id}"))),
    }
}

fn tier_rank(conn: &mut PgConnection, brand_id: i64, tier_id: i64) -> Result<i32, AppError> {
    catalog::list_tiers(conn, brand_id)?
        .into_iter()
        .find(|t| t.id == tier_id)
        .map(|t| t.rank)
        .ok_or_else(|| AppError::validation(format!("tier {tier_id} does not exist")))
}

pub fn create(conn: &mut PgConnection, who: &Principal, req: &NewAgentRequest) -> Result<Agent, AppError> {
    create_as(conn, who, req, None)
}

/// `create`, with the password already hashed (an approved application carries its hash).
pub fn create_as(conn: &mut PgConnection, who: &Principal, req: &NewAgentRequest, password_hash: Option<&str>) -> Result<Agent, AppError> {
    let (name, phone) = (req.name.trim(), req.phone.trim());
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::validation("name must be 1 to 100 characters"));
    }
    if phone.len() < 5 || phone.len() > 20 || !phone.chars().all(|c| c.is_ascii_digit() || c == '+' || c == '-') {
        return Err(AppError::validation("phone must be 5 to 20 digits (and '+', '-')"));
    }
    if password_hash.is_none() {
        check_password_strength(&req.password)?;
    }
    if req.joined_at.is_some() && !who.is_hq() {
        return Err(AppError::forbidden("only HQ may set joined_at"));
    }
    let rank = tier_rank(conn, who.brand_id, req.tier_id)?;
    // the period lock (a backdated joining) before the tree lock, as orders take them
    let requested = req.joined_at.map(|at| at.with_timezone(&Utc).trunc_subsecs(6));
    if let Some(at) = requested {
        if at > Utc::now() {
            return Err(AppError::validation("joined_at must not be in the future"));
        }
        crate::period::check_range(at, "joined_at")?;
        let tz = crate::brands::settings(conn, who.brand_id)?.timezone;
        crate::settlement::ensure_open(conn, who.brand_id, at, Utc::now(), &tz)?;
    }
    store::lock_tree(conn, who.brand_id, false)?;
    let joined_at = requested.unwrap_or_else(|| Utc::now().trunc_subsecs(6));

    let (parent, sponsor_id) = match who.agent_id() {
        Some(me) => {
            if req.parent_id.is_some_and(|p| p != me) {
                return Err(AppError::forbidden("an agent can only recruit directly under itself"));
            }
            let me_row = store::find(conn, who.brand_id, me)?.ok_or_else(|| AppError::not_found(format!("agent {me}")))?;
            if me_row.status != "active" {
                return Err(AppError::conflict("not_active", format!("you are {}: only an active agent recruits", me_row.status)));
            }
            if rank < tier_rank(conn, who.brand_id, me_row.tier_id)? {
                return Err(AppError::unprocessable("tier_above_recruiter", "an agent cannot recruit someone into a better tier than its own"));
            }
            (Some(me_row), Some(me))
        }
        None => match req.parent_id {
            None => (None, None),
            Some(pid) => {
                let parent = store::find(conn, who.brand_id, pid)?.ok_or_else(|| AppError::validation(format!("parent agent {pid} does not exist")))?;
                (Some(parent), Some(pid))
            }
        },
    };
    if let Some(p) = &parent {
        if p.status == "exited" {
            return Err(AppError::conflict("agent_exited", format!("agent {} has exited and cannot take new downline", p.id)));
        }
        if joined_at < p.joined_at {
            return Err(AppError::unprocessable("before_parent_joined", format!("joined_at {joined_at} is before agent {} joined ({})", p.id, p.joined_at)));
        }
    }
    if store::phone_taken(conn, who.brand_id, phone)? {
        return Err(AppError::conflict("phone_taken", format!("an agent with phone {phone} already exists in this brand")));
    }
    let hash = match password_hash {
        Some(h) => h.to_owned(),
        None => hash_password(&req.password)?,
    };
    let status = activation::initial_status(conn, who.brand_id, req.tier_id)?;
    let row = store::insert(
        conn,
        who.brand_id,
        &store::NewAgent { name, phone, tier_id: req.tier_id, parent: parent.as_ref(), sponsor_id, password_hash: &hash, joined_at, status },
    )?;
    store::record_event(conn, who.brand_id, row.id, "joined", None, row.parent_id.map(|p| p.to_string()), &who.actor(), joined_at)?;
    let agent: Agent = row.into();
    crate::recruiting::certificates::sync(conn, who.brand_id, agent.id)?;
    crate::audit::change(conn, who, "agent.create", format!("agent:{}", agent.id), None::<&()>, Some(&agent))?;
    Ok(agent)
}

#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    pub q: Option<String>,
    pub tier_id: Option<i64>,
    pub status: Option<String>,
    pub parent_id: Option<i64>,
    pub top: bool,
}

/// Agents matching a name fragment or a phone prefix and filters, by id: HQ over the brand,
/// an agent over itself and its subtree only.
pub fn search(conn: &mut PgConnection, who: &Principal, q: &SearchQuery, after: i64, limit: i64) -> Result<Vec<Agent>, AppError> {
    // the document's rule for `q`: at most 100 characters, no control characters
    if q.q.as_deref().is_some_and(|t| t.chars().count() > 100 || t.chars().any(crate::input::forbidden)) {
        return Err(AppError::bad_request("invalid_query", "q is at most 100 characters, without control characters (such as NUL)"));
    }
    let text = q.q.as_deref().map(str::trim).filter(|t| !t.is_empty());
    if let Some(s) = q.status.as_deref() {
        if !["active", "suspended", "exited", "pending_activation"].contains(&s) {
            return Err(AppError::bad_request("invalid_query", "status must be active, suspended, exited or pending_activation"));
        }
    }
    let own_path = match who.agent_id() {
        Some(me) => Some(store::find(conn, who.brand_id, me)?.ok_or_else(|| AppError::not_found(format!("agent {me}")))?.path),
        None => None,
    };
    let filter = store::Search { q: text, tier_id: q.tier_id, status: q.status.as_deref(), parent_id: q.parent_id, top: q.top, within: own_path.as_deref() };
    Ok(store::search(conn, who.brand_id, &filter, after, limit)?.into_iter().map(Agent::from).collect())
}

pub fn get(conn: &mut PgConnection, who: &Principal, id: i64) -> Result<Agent, AppError> {
    Ok(visible(conn, who, id)?.into())
}

/// The agent as it stood at `at` (its parent, tier, status and depth then), from the dated
/// events. Visibility is today's: an agent sees its own subtree.
pub fn get_as_of(conn: &mut PgConnection, who: &Principal, id: i64, at: DateTime<Utc>) -> Result<Agent, AppError> {
    visible(conn, who, id)?;
    store::lock_tree(conn, who.brand_id, false)?;
    let family = store::family_as_of(conn, who.brand_id, id, at)?.ok_or_else(|| AppError::not_found(format!("agent {id}")))?;
    if at < family.buyer.joined_at {
        return Err(AppError::not_found(format!("agent {id} had not joined at {at} (joined {})", family.buyer.joined_at)));
    }
    Ok(family.buyer.into())
}

pub fn children(conn: &mut PgConnection, who: &Principal, id: i64, after: Option<i64>, limit: i64) -> Result<Vec<Agent>, AppError> {
    visible(conn, who, id)?;
    Ok(store::children(conn, who.brand_id, id, after, limit)?.into_iter().map(Agent::from).collect())
}

/// One level of the tree for the console's lazy tree view: the children of `parent` (None:
/// the agents directly under HQ; for an agent, itself), by id after `after`. An agent sees
/// only its own subtree.
pub fn level(conn: &mut PgConnection, who: &Principal, parent: Option<i64>, after: i64, limit: i64) -> Result<Vec<Agent>, AppError> {
    let rows = match (parent, who.agent_id()) {
        (Some(id), _) => {
            visible(conn, who, id)?;
            store::children(conn, who.brand_id, id, Some(after), limit)?
        }
        (None, None) => store::search(conn, who.brand_id, &store::Search { top: true, ..Default::default() }, after, limit)?,
        (None, Some(me)) => store::by_ids(conn, who.brand_id, &[me])?,
    };
    Ok(rows.into_iter().map(Agent::from).collect())
}

pub struct DownlineQuery {
    /// Relative depth limit (children = 1).
    pub max_depth: Option<i32>,
    pub tier_id: Option<i64>,
}

/// One page of the whole subtree below `id`, each agent with its depth relative to `id`.
/// Returns the rows' paths too, for the cursor.
pub fn downline(
    conn: &mut PgConnection,
    who: &Principal,
    id: i64,
    q: &DownlineQuery,
    after: Option<Vec<i64>>,
    limit: i64,
) -> Result<Vec<(Agent, Vec<i64>)>, AppError> {
    if q.max_depth.is_some_and(|d| d < 1) {
        return Err(AppError::validation("max_depth must be 1 or more"));
    }
    let root = visible(conn, who, id)?;
    let base = root.path.len() as i32;
    if let Some(after) = &after {
        if after.len() <= root.path.len() || !after.starts_with(&root.path) {
            return Err(AppError::unprocessable("bad_cursor", "cursor does not belong to this downline"));
        }
    }
    let filter = SubtreeFilter { max_abs_depth: q.max_depth.map(|d| base.saturating_add(d)), tier_id: q.tier_id };
    let rows = match filter {
        // depth alone: skip past the subtrees below the limit
        SubtreeFilter { max_abs_depth: Some(depth), tier_id: None } => {
            store::subtree_page_to_depth(conn, who.brand_id, &root.path, depth, after.as_deref(), limit)?
        }
        // with a tier (matches may be sparse among the shallow agents): one filtered range scan
        _ => store::subtree_page(conn, who.brand_id, &root.path, &filter, after.as_deref(), limit)?,
    };
    Ok(rows
        .into_iter()
        .map(|row| {
            let depth = row.path.len() as i32 - base;
            let path = row.path.clone();
            (Agent::from_row(row, depth), path)
        })
        .collect())
}

/// Ancestors nearest first. HQ, or the agent asking about itself.
pub fn upline(conn: &mut PgConnection, who: &Principal, id: i64) -> Result<Vec<Agent>, AppError> {
    if who.agent_id().is_some_and(|me| me != id) {
        return Err(AppError::not_found(format!("agent {id}")));
    }
    let row = visible(conn, who, id)?;
    let ancestors = &row.path[..row.path.len() - 1];
    let mut rows = store::by_ids(conn, who.brand_id, ancestors)?;
    rows.sort_by_key(|r| std::cmp::Reverse(r.path.len()));
    Ok(rows.into_iter().map(Agent::from).collect())
}

/// Moves an agent and its whole subtree under `new_parent` (None: directly under HQ).
pub fn move_agent(conn: &mut PgConnection, who: &Principal, id: i64, new_parent: Option<i64>, reason: Option<&str>) -> Result<Agent, AppError> {
    who.require_hq()?;
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    if reason.is_some_and(|r| r.chars().count() > 500 || r.contains('\0')) {
        return Err(AppError::validation("reason must be at most 500 characters of text"));
    }
    store::lock_tree(conn, who.brand_id, true)?;
    let agent = store::find_for_update(conn, who.brand_id, id)?.ok_or_else(|| AppError::not_found(format!("agent {id}")))?;
    let parent = match new_parent {
        None => None,
        Some(pid) => Some(store::find(conn, who.brand_id, pid)?.ok_or_else(|| AppError::validation(format!("parent agent {pid} does not exist")))?),
    };
    if let Some(p) = &parent {
        if p.path.contains(&id) {
            return Err(AppError::conflict("cycle", format!("agent {} is in the subtree of agent {id}; moving {id} under it would make a cycle", p.id)));
        }
        if p.status == "exited" {
            return Err(AppError::conflict("agent_exited", format!("agent {} has exited and cannot take new downline", p.id)));
        }
    }
    if agent.parent_id == new_parent {
        return Ok(agent.into());
    }
    store::move_subtree(conn, who.brand_id, id, &agent.path, parent.as_ref())?;
    store::record_move(conn, who.brand_id, id, agent.parent_id, new_parent, &who.actor(), Utc::now(), reason)?;
    crate::audit::record(
        conn,
        who,
        "agent.move",
        format!("agent:{id}"),
        Some(serde_json::json!({ "parent_id": agent.parent_id })),
        Some(serde_json::json!({ "parent_id": new_parent, "reason": reason })),
    )?;
    get(conn, who, id)
}

pub fn change_tier(conn: &mut PgConnection, who: &Principal, id: i64, tier_id: i64) -> Result<Agent, AppError> {
    who.require_hq()?;
    tier_rank(conn, who.brand_id, tier_id)?;
    store::lock_tree(conn, who.brand_id, true)?;
    let agent = store::find_for_update(conn, who.brand_id, id)?.ok_or_else(|| AppError::not_found(format!("agent {id}")))?;
    if agent.status == "exited" {
        return Err(AppError::conflict("agent_exited", format!("agent {id} has exited")));
    }
    if agent.tier_id != tier_id {
        retier(conn, who, &agent, tier_id, "agent.tier")?;
        crate::recruiting::upgrades::void_pending(conn, who.brand_id, id, &who.actor(), "HQ changed the tier by hand")?;
    }
    get(conn, who, id)
}

/// Re-tiers an agent the caller holds locked (the tree exclusively, then the agent's row):
/// the tier, its dated `tier_changed` event (so the past keeps the tier of its time), a new
/// certificate, and the audit line under `action`.
pub(crate) fn retier(conn: &mut PgConnection, who: &Principal, agent: &store::AgentRow, tier_id: i64, action: &str) -> Result<(), AppError> {
    let id = agent.id;
    store::set_tier(conn, who.brand_id, id, tier_id)?;
    store::record_event(conn, who.brand_id, id, "tier_changed", Some(agent.tier_id.to_string()), Some(tier_id.to_string()), &who.actor(), Utc::now())?;
    crate::recruiting::certificates::sync(conn, who.brand_id, id)?;
    crate::audit::record(
        conn,
        who,
        action,
        format!("agent:{id}"),
        Some(serde_json::json!({ "tier_id": agent.tier_id })),
        Some(serde_json::json!({ "tier_id": tier_id })),
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SettableStatus {
    Active,
    Suspended,
}

pub fn change_status(conn: &mut PgConnection, who: &Principal, id: i64, status: SettableStatus) -> Result<Agent, AppError> {
    who.require_hq()?;
    store::lock_tree(conn, who.brand_id, true)?;
    let agent = store::find_for_update(conn, who.brand_id, id)?.ok_or_else(|| AppError::not_found(format!("agent {id}")))?;
    if agent.status == "exited" {
        return Err(AppError::conflict("agent_exited", format!("agent {id} has exited; its status can no longer change")));
    }
    let status = match status {
        SettableStatus::Active => "active",
        SettableStatus::Suspended => "suspended",
    };
    if agent.status == "pending_activation" {
        return Err(AppError::conflict("pending_activation", format!("agent {id} waits for its first purchase: it can neither be resumed nor suspended; HQ waives the threshold with POST /agents/{id}/activate and a reason, or exits it")));
    }
    if agent.status != status {
        store::set_status(conn, who.brand_id, id, status)?;
        store::record_event(conn, who.brand_id, id, "status_changed", Some(agent.status.clone()), Some(status.into()), &who.actor(), Utc::now())?;
        crate::recruiting::certificates::sync(conn, who.brand_id, id)?;
        crate::audit::record(
            conn,
            who,
            "agent.status",
            format!("agent:{id}"),
            Some(serde_json::json!({ "status": agent.status })),
            Some(serde_json::json!({ "status": status })),
        )?;
        if status != "active" {
            crate::recruiting::upgrades::void_pending(conn, who.brand_id, id, &who.actor(), "the agent was suspended")?;
        }
    }
    get(conn, who, id)
}

/// What a move would carry along: the agent and its whole subtree.
pub fn subtree_size(conn: &mut PgConnection, who: &Principal, id: i64) -> Result<i64, AppError> {
    let row = visible(conn, who, id)?;
    store::subtree_size(conn, who.brand_id, &row.path)
}

pub fn events(conn: &mut PgConnection, who: &Principal, id: i64) -> Result<Vec<AgentEvent>, AppError> {
    visible(conn, who, id)?;
    store::events(conn, who.brand_id, id)
}
