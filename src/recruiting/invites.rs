//! Invite codes: one live per active agent, made on first use, renewed or revoked by the
//! agent (or HQ). An exited or suspended agent's code is dead: applications through it are
//! refused as if the code did not exist.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::auth::Principal;
use crate::error::AppError;
use crate::schema::invite_codes;

const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Invite {
    pub code: String,
    /// The public application page.
    pub url: String,
    /// The link as a QR code (SVG), to post in WeChat.
    pub qr_svg: String,
    pub created_at: DateTime<Utc>,
}

/// The agent itself or HQ; the agent must be active to recruit.
fn owner_check(conn: &mut PgConnection, who: &Principal, agent_id: i64) -> Result<(), AppError> {
    if who.agent_id().is_some_and(|me| me != agent_id) {
        return Err(AppError::not_found(format!("agent {agent_id}")));
    }
    let agent = crate::tree::visible(conn, who, agent_id)?;
    if agent.status != "active" {
        return Err(AppError::conflict("not_active", format!("agent {agent_id} is {}: only an active agent recruits", agent.status)));
    }
    Ok(())
}

fn view(code: String, created_at: DateTime<Utc>, base: &str) -> Invite {
    let url = format!("{base}/join/{code}");
    Invite { qr_svg: super::qr_svg(&url, 240), url, code, created_at }
}

fn live(conn: &mut PgConnection, brand_id: i64, agent_id: i64) -> Result<Option<(String, DateTime<Utc>)>, AppError> {
    Ok(invite_codes::table
        .filter(invite_codes::brand_id.eq(brand_id))
        .filter(invite_codes::agent_id.eq(agent_id))
        .filter(invite_codes::revoked_at.is_null())
        .select((invite_codes::code, invite_codes::created_at))
        .first(conn)
        .optional()?)
}

fn issue(conn: &mut PgConnection, brand_id: i64, agent_id: i64) -> Result<(String, DateTime<Utc>), AppError> {
    // the live-code index makes a concurrent second issue do nothing; then read the winner
    let code = super::random_code(ALPHABET, 10);
    diesel::insert_into(invite_codes::table)
        .values((invite_codes::code.eq(&code), invite_codes::brand_id.eq(brand_id), invite_codes::agent_id.eq(agent_id)))
        .on_conflict_do_nothing()
        .execute(conn)?;
    live(conn, brand_id, agent_id)?.ok_or_else(|| AppError::internal("invite code vanished"))
}

/// The agent's live invite, made on first use. `base` is the site's address for the link.
pub fn get(conn: &mut PgConnection, who: &Principal, agent_id: i64, base: &str) -> Result<Invite, AppError> {
    owner_check(conn, who, agent_id)?;
    let (code, at) = match live(conn, who.brand_id, agent_id)? {
        Some(found) => found,
        None => issue(conn, who.brand_id, agent_id)?,
    };
    Ok(view(code, at, base))
}

/// A new code; the old link stops working (applications already made through it stay).
pub fn renew(conn: &mut PgConnection, who: &Principal, agent_id: i64, base: &str) -> Result<Invite, AppError> {
    owner_check(conn, who, agent_id)?;
    revoke_all(conn, who.brand_id, agent_id)?;
    let (code, at) = issue(conn, who.brand_id, agent_id)?;
    crate::audit::record(conn, who, "invite.renew", format!("agent:{agent_id}"), None, None)?;
    Ok(view(code, at, base))
}

/// No live code until the agent asks again.
pub fn revoke(conn: &mut PgConnection, who: &Principal, agent_id: i64) -> Result<(), AppError> {
    if who.agent_id().is_some_and(|me| me != agent_id) {
        return Err(AppError::not_found(format!("agent {agent_id}")));
    }
    crate::tree::visible(conn, who, agent_id)?;
    revoke_all(conn, who.brand_id, agent_id)?;
    crate::audit::record(conn, who, "invite.revoke", format!("agent:{agent_id}"), None, None)
}

pub fn revoke_all(conn: &mut PgConnection, brand_id: i64, agent_id: i64) -> Result<(), AppError> {
    diesel::update(
        invite_codes::table.filter(invite_codes::brand_id.eq(brand_id)).filter(invite_codes::agent_id.eq(agent_id)).filter(invite_codes::revoked_at.is_null()),
    )
    .set(invite_codes::revoked_at.eq(Utc::now()))
    .execute(conn)?;
    Ok(())
}

/// A live code's brand and inviter, if the inviter is active; None otherwise (dead or unknown).
pub fn resolve(conn: &mut PgConnection, code: &str) -> Result<Option<(i64, crate::tree::store::AgentRow)>, AppError> {
    let found: Option<(i64, i64)> = invite_codes::table
        .filter(invite_codes::code.eq(code))
        .filter(invite_codes::revoked_at.is_null())
        .select((invite_codes::brand_id, invite_codes::agent_id))
        .first(conn)
        .optional()?;
    let Some((brand_id, agent_id)) = found else { return Ok(None) };
    Ok(crate::tree::store::find(conn, brand_id, agent_id)?.filter(|a| a.status == "active").map(|a| (brand_id, a)))
}
