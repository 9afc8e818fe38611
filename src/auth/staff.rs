//! HQ's staff: several per brand, each with a role. The owner adds staff, changes roles,
//! disables a login, and resets a staff member's or an agent's password. The last active
//! owner cannot be demoted or disabled (a brand is never left without one).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::{check_password_strength, hash_password, policy::StaffRole, Principal};
use crate::audit;
use crate::error::AppError;
use crate::schema::{agents, hq_users, sessions};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Staff {
    pub id: i64,
    pub login: String,
    pub name: String,
    pub role: StaffRole,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStaff {
    pub login: String,
    /// Shown in the console and the audit log; the login when omitted.
    #[serde(default)]
    pub name: String,
    pub role: StaffRole,
    /// At least 8 characters; the new staff member should change it.
    pub password: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffPatch {
    pub name: Option<String>,
    pub role: Option<StaffRole>,
    /// false disables the login and ends its sessions.
    pub active: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPassword {
    /// The new password, at least 8 characters; every session of that person ends.
    pub password: String,
}

type Row = (i64, String, String, String, bool, DateTime<Utc>);

fn to_staff((id, login, name, role, active, created_at): Row) -> Staff {
    Staff { id, login, name, role: StaffRole::parse(&role).unwrap_or(StaffRole::Auditor), active, created_at }
}

fn columns() -> (hq_users::id, hq_users::login, hq_users::name, hq_users::role, hq_users::active, hq_users::created_at) {
    (hq_users::id, hq_users::login, hq_users::name, hq_users::role, hq_users::active, hq_users::created_at)
}

pub fn list(conn: &mut PgConnection, who: &Principal) -> Result<Vec<Staff>, AppError> {
    who.require_hq()?;
    let rows: Vec<Row> = hq_users::table.filter(hq_users::brand_id.eq(who.brand_id)).order(hq_users::id).select(columns()).load(conn)?;
    Ok(rows.into_iter().map(to_staff).collect())
}

fn check_login(login: &str) -> Result<(), AppError> {
    if login.is_empty() || login.chars().count() > 60 || login.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(AppError::validation("login must be 1 to 60 characters without spaces"));
    }
    // agents log in with their phone: a staff login that looks like one would shadow an agent
    if login.chars().all(|c| c.is_ascii_digit() || c == '+') {
        return Err(AppError::validation("a staff login must not look like a phone number (agents log in with their phone)"));
    }
    Ok(())
}

fn check_name(name: &str) -> Result<(), AppError> {
    if name.trim().is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(AppError::validation("name must be 1 to 100 characters of text"));
    }
    Ok(())
}

pub fn create(conn: &mut PgConnection, who: &Principal, new: &NewStaff) -> Result<Staff, AppError> {
    who.require_hq()?;
    check_login(&new.login)?;
    // no name given: the login stands for it until one is set
    let name = if new.name.trim().is_empty() { new.login.as_str() } else { new.name.trim() };
    check_name(name)?;
    check_password_strength(&new.password)?;
    let taken: bool = diesel::select(diesel::dsl::exists(hq_users::table.filter(hq_users::brand_id.eq(who.brand_id)).filter(hq_users::login.eq(&new.login))))
        .get_result(conn)?;
    if taken {
        return Err(AppError::conflict("login_taken", format!("a staff member already logs in as {:?}", new.login)));
    }
    let row: Row = diesel::insert_into(hq_users::table)
        .values((
            hq_users::brand_id.eq(who.brand_id),
            hq_users::login.eq(&new.login),
            hq_users::name.eq(name),
            hq_users::role.eq(new.role.as_str()),
            hq_users::password_hash.eq(hash_password(&new.password)?),
        ))
        .on_conflict_do_nothing()
        .returning(columns())
        .get_result(conn)
        .optional()?
        .ok_or_else(|| AppError::conflict("login_taken", format!("a staff member already logs in as {:?}", new.login)))?;
    let staff = to_staff(row);
    audit::change(conn, who, "staff.create", format!("staff:{}", staff.id), None::<&()>, Some(&staff))?;
    Ok(staff)
}

fn find_for_update(conn: &mut PgConnection, brand_id: i64, id: i64) -> Result<Staff, AppError> {
    let row: Row = hq_users::table
        .filter(hq_users::brand_id.eq(brand_id))
        .filter(hq_users::id.eq(id))
        .select(columns())
        .for_update()
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found(format!("staff member {id}")))?;
    Ok(to_staff(row))
}

/// Ends every open session of a staff member (or of an agent).
fn end_sessions(conn: &mut PgConnection, brand_id: i64, staff: Option<i64>, agent: Option<i64>) -> Result<(), AppError> {
    let now = Utc::now();
    let open = sessions::table.filter(sessions::brand_id.eq(brand_id)).filter(sessions::expires_at.gt(now));
    if let Some(id) = staff {
        diesel::update(open.filter(sessions::hq_user_id.eq(id))).set(sessions::expires_at.eq(now)).execute(conn)?;
    }
    if let Some(id) = agent {
        diesel::update(open.filter(sessions::agent_id.eq(id))).set(sessions::expires_at.eq(now)).execute(conn)?;
    }
    Ok(())
}

pub fn update(conn: &mut PgConnection, who: &Principal, id: i64, patch: &StaffPatch) -> Result<Staff, AppError> {
    who.require_hq()?;
    // owners are counted under a lock on every owner row, in id order: two owners demoting
    // each other at once cannot both succeed
    let owners: Vec<i64> = hq_users::table
        .filter(hq_users::brand_id.eq(who.brand_id))
        .filter(hq_users::role.eq("owner"))
        .filter(hq_users::active.eq(true))
        .order(hq_users::id)
        .select(hq_users::id)
        .for_update()
        .load(conn)?;
    let before = find_for_update(conn, who.brand_id, id)?;
    if let Some(name) = &patch.name {
        check_name(name)?;
    }
    let stays_owner = patch.role.unwrap_or(before.role) == StaffRole::Owner && patch.active.unwrap_or(before.active);
    if owners.contains(&id) && owners.len() == 1 && !stays_owner {
        return Err(AppError::conflict("last_owner", "the brand's only active owner cannot be demoted or disabled; make another owner first"));
    }
    let row: Row = diesel::update(hq_users::table.filter(hq_users::brand_id.eq(who.brand_id)).filter(hq_users::id.eq(id)))
        .set((
            hq_users::name.eq(patch.name.as_deref().map(str::trim).unwrap_or(&before.name)),
            hq_users::role.eq(patch.role.unwrap_or(before.role).as_str()),
            hq_users::active.eq(patch.active.unwrap_or(before.active)),
        ))
        .returning(columns())
        .get_result(conn)?;
    let after = to_staff(row);
    if !after.active || after.role != before.role {
        // a new role takes effect at the next login; a disabled login is out at once
        end_sessions(conn, who.brand_id, Some(id), None)?;
    }
    audit::change(conn, who, "staff.update", format!("staff:{id}"), Some(&before), Some(&after))?;
    Ok(after)
}

/// The owner sets a new password for a staff member; that person's sessions end.
pub fn reset_staff_password(conn: &mut PgConnection, who: &Principal, id: i64, password: &str) -> Result<(), AppError> {
    who.require_hq()?;
    check_password_strength(password)?;
    find_for_update(conn, who.brand_id, id)?;
    diesel::update(hq_users::table.filter(hq_users::brand_id.eq(who.brand_id)).filter(hq_users::id.eq(id)))
        .set(hq_users::password_hash.eq(hash_password(password)?))
        .execute(conn)?;
    end_sessions(conn, who.brand_id, Some(id), None)?;
    audit::record(conn, who, "staff.reset_password", format!("staff:{id}"), None, None)
}

/// The owner sets a new password for an agent (a lost phone, a forgotten password); the
/// agent's sessions end.
pub fn reset_agent_password(conn: &mut PgConnection, who: &Principal, agent_id: i64, password: &str) -> Result<(), AppError> {
    who.require_hq()?;
    check_password_strength(password)?;
    let n = diesel::update(agents::table.filter(agents::brand_id.eq(who.brand_id)).filter(agents::id.eq(agent_id)))
        .set(agents::password_hash.eq(hash_password(password)?))
        .execute(conn)?;
    if n == 0 {
        return Err(AppError::not_found(format!("agent {agent_id}")));
    }
    end_sessions(conn, who.brand_id, None, Some(agent_id))?;
    audit::record(conn, who, "agent.reset_password", format!("agent:{agent_id}"), None, None)
}

/// Every staff member's login by id, to show who did something.
pub fn logins(conn: &mut PgConnection, brand_id: i64) -> Result<std::collections::HashMap<i64, String>, AppError> {
    Ok(hq_users::table.filter(hq_users::brand_id.eq(brand_id)).select((hq_users::id, hq_users::login)).load::<(i64, String)>(conn)?.into_iter().collect())
}
