//! Applications through an invite link: public, so checked hard (field sizes, no control
//! characters, a live code, a tier no better than the inviter's, a phone not yet in the
//! brand, one open application per phone) and rate-limited per address by the handler.
//! Who decides is the brand's `application_approval`: the inviter, HQ, or the inviter then
//! HQ. Approval creates the agent under the inviter (sponsor = inviter), dated now. Pending
//! applications expire after the brand's `application_days`.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::auth::Principal;
use crate::error::AppError;
use crate::schema::{applications, brands, tiers};

pub const STATUSES: [&str; 4] = ["pending", "approved", "rejected", "expired"];
pub const MODES: [&str; 3] = ["inviter", "hq", "inviter_then_hq"];

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicationRequest {
    /// The invite code from the link.
    pub code: String,
    pub name: String,
    pub phone: String,
    /// WeChat id, optional.
    pub wechat: Option<String>,
    /// The tier applied for: never better than the inviter's.
    pub tier_id: i64,
    /// The new agent's password (at least 8 characters).
    pub password: String,
}

/// The answer to an application: follow it with `token` (the join page keeps it in a cookie).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Created {
    pub id: i64,
    /// pending
    pub status: String,
    /// Who decides next: `inviter` or `hq`.
    pub stage: String,
    pub expires_at: DateTime<Utc>,
    /// Shown once: lets the applicant see the decision.
    pub token: String,
}

#[derive(Debug, Clone, Serialize, Queryable, Selectable, utoipa::ToSchema)]
#[diesel(table_name = applications)]
pub struct Application {
    pub id: i64,
    pub inviter_id: i64,
    pub name: String,
    pub phone: String,
    pub wechat: Option<String>,
    pub tier_id: i64,
    /// pending, approved, rejected or expired
    pub status: String,
    /// Who decides next: `inviter` or `hq`.
    pub stage: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decided_by: Option<String>,
    /// Why it was rejected (the applicant sees it).
    pub reason: Option<String>,
    /// The agent it created.
    pub agent_id: Option<i64>,
}

/// What the applicant sees on the link.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Progress {
    pub status: String,
    pub stage: String,
    pub reason: Option<String>,
    pub expires_at: DateTime<Utc>,
}

fn text(what: &str, v: &str, max: usize, required: bool) -> Result<String, AppError> {
    let v = v.trim();
    if required && v.is_empty() {
        return Err(AppError::validation(format!("{what} is required")));
    }
    if v.chars().count() > max || v.chars().any(char::is_control) {
        return Err(AppError::validation(format!("{what} must be at most {max} characters of text")));
    }
    Ok(v.to_owned())
}

fn digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Marks this brand's pending applications past their date expired (for one phone, or all).
fn expire(conn: &mut PgConnection, brand_id: i64, phone: Option<&str>) -> Result<(), AppError> {
    let mut q = diesel::update(applications::table)
        .filter(applications::brand_id.eq(brand_id))
        .filter(applications::status.eq("pending"))
        .filter(applications::expires_at.le(Utc::now()))
        .into_boxed();
    if let Some(p) = phone {
        q = q.filter(applications::phone.eq(p.to_owned()));
    }
    q.set(applications::status.eq("expired")).execute(conn)?;
    Ok(())
}

/// A public application through an invite code. `source` is the client's address.
pub fn apply(conn: &mut PgConnection, req: &ApplicationRequest, source: &str) -> Result<Created, AppError> {
    let code = text("code", &req.code, 20, true)?;
    let name = text("name", &req.name, 60, true)?;
    let phone = text("phone", &req.phone, 20, true)?;
    if phone.len() < 5 || !phone.chars().all(|c| c.is_ascii_digit() || c == '+' || c == '-') {
        return Err(AppError::validation("phone must be 5 to 20 digits (and '+', '-')"));
    }
    let wechat = Some(text("wechat", req.wechat.as_deref().unwrap_or(""), 40, false)?).filter(|w| !w.is_empty());
    crate::auth::check_password_strength(&req.password)?;
    if req.password.len() > 128 || req.password.contains('\0') {
        return Err(AppError::validation("password must be at most 128 characters"));
    }
    let (brand_id, inviter) =
        super::invites::resolve(conn, &code)?.ok_or_else(|| AppError::not_found("this invite link is not valid any more; ask for a new one"))?;
    let rank_of = |conn: &mut PgConnection, tier: i64| -> Result<Option<i32>, AppError> {
        Ok(tiers::table.filter(tiers::brand_id.eq(brand_id)).filter(tiers::id.eq(tier)).select(tiers::rank).first(conn).optional()?)
    };
    let rank =
        rank_of(conn, req.tier_id)?.ok_or_else(|| AppError::unprocessable("unknown_tier", format!("tier {} is not one of this brand's", req.tier_id)))?;
    if rank < rank_of(conn, inviter.tier_id)?.unwrap_or(i32::MAX) {
        return Err(AppError::unprocessable("tier_above_inviter", "you cannot apply for a better tier than the agent who invited you"));
    }
    if crate::tree::store::phone_taken(conn, brand_id, &phone)? {
        return Err(AppError::conflict("phone_taken", "this phone is already an agent of the brand: log in with it instead"));
    }
    expire(conn, brand_id, Some(&phone))?;
    let (mode, days): (String, i32) = brands::table.find(brand_id).select((brands::application_approval, brands::application_days)).first(conn)?;
    let token = hex::encode(rand::random::<[u8; 16]>());
    let now = Utc::now();
    let row: Option<(i64, String, DateTime<Utc>)> = diesel::insert_into(applications::table)
        .values((
            applications::brand_id.eq(brand_id),
            applications::code.eq(&code),
            applications::inviter_id.eq(inviter.id),
            applications::name.eq(&name),
            applications::phone.eq(&phone),
            applications::wechat.eq(&wechat),
            applications::tier_id.eq(req.tier_id),
            applications::password_hash.eq(crate::auth::hash_password(&req.password)?),
            applications::access_hash.eq(digest(&token)),
            applications::stage.eq(if mode == "hq" { "hq" } else { "inviter" }),
            applications::expires_at.eq(now + Duration::days(i64::from(days))),
            applications::source.eq(source),
        ))
        // the one-open-application-per-phone index: a second one (or a double submit) writes nothing
        .on_conflict_do_nothing()
        .returning((applications::id, applications::stage, applications::expires_at))
        .get_result(conn)
        .optional()?;
    let (id, stage, expires_at) =
        row.ok_or_else(|| AppError::conflict("already_applied", "an application for this phone is already waiting for a decision"))?;
    Ok(Created { id, status: "pending".into(), stage, expires_at, token })
}

/// The applicant's view of its application, with the token it was given.
pub fn progress(conn: &mut PgConnection, id: i64, token: &str) -> Result<Progress, AppError> {
    let row: Option<(i64, Vec<u8>)> =
        applications::table.filter(applications::id.eq(id)).select((applications::brand_id, applications::access_hash)).first(conn).optional()?;
    let Some((brand_id, hash)) = row.filter(|(_, h)| *h == digest(token)) else {
        return Err(AppError::not_found(format!("application {id}")));
    };
    expire(conn, brand_id, None)?;
    let (status, stage, reason, expires_at) = applications::table
        .find((brand_id, id))
        .select((applications::status, applications::stage, applications::reason, applications::expires_at))
        .first(conn)?;
    let _ = hash;
    Ok(Progress { status, stage, reason, expires_at })
}

/// Pending (or other) applications the caller decides or may see: HQ all of the brand's, an
/// agent those addressed to it. Newest first.
pub fn list(conn: &mut PgConnection, who: &Principal, status: Option<&str>, limit: i64) -> Result<Vec<Application>, AppError> {
    if let Some(s) = status {
        if !STATUSES.contains(&s) {
            return Err(AppError::bad_request("validation", format!("status must be one of {}", STATUSES.join(", "))));
        }
    }
    expire(conn, who.brand_id, None)?;
    let mut q = applications::table.filter(applications::brand_id.eq(who.brand_id)).into_boxed();
    if let Some(me) = who.agent_id() {
        q = q.filter(applications::inviter_id.eq(me));
    }
    if let Some(s) = status {
        q = q.filter(applications::status.eq(s.to_owned()));
    }
    Ok(q.order(applications::id.desc()).limit(limit).select(Application::as_select()).load(conn)?)
}

fn locked(conn: &mut PgConnection, who: &Principal, id: i64) -> Result<Application, AppError> {
    let a: Application = applications::table
        .find((who.brand_id, id))
        .select(Application::as_select())
        .for_update()
        .first(conn)
        .optional()?
        .filter(|a| who.agent_id().is_none_or(|me| me == a.inviter_id))
        .ok_or_else(|| AppError::not_found(format!("application {id}")))?;
    if a.status == "pending" && a.expires_at <= Utc::now() {
        diesel::update(applications::table.find((who.brand_id, id))).set(applications::status.eq("expired")).execute(conn)?;
        return Err(AppError::conflict("expired", format!("application {id} expired on {}", a.expires_at.format("%Y-%m-%d"))));
    }
    if a.status != "pending" {
        return Err(AppError::conflict("already_decided", format!("application {id} is already {}", a.status)));
    }
    Ok(a)
}

/// Approves at the caller's stage: the inviter (stage `inviter`) passes it on to HQ or, when
/// the inviter decides alone, creates the agent; HQ creates the agent (in `inviter_then_hq`,
/// only after the inviter). Once, under any number of concurrent clicks (the row is locked).
pub fn approve(conn: &mut PgConnection, who: &Principal, id: i64) -> Result<Application, AppError> {
    let a = locked(conn, who, id)?;
    let mode: String = brands::table.find(who.brand_id).select(brands::application_approval).first(conn)?;
    let by = who.actor();
    if who.is_hq() {
        if a.stage == "inviter" && mode == "inviter_then_hq" {
            return Err(AppError::conflict("waiting_for_inviter", "the inviter approves first, then HQ"));
        }
    } else if a.stage != "inviter" {
        return Err(AppError::conflict("waiting_for_hq", "you approved it; HQ decides now"));
    }
    if !who.is_hq() && mode == "inviter_then_hq" {
        let row: Application = diesel::update(applications::table.find((who.brand_id, id)))
            .set((applications::stage.eq("hq"), applications::decided_by.eq(&by)))
            .returning(Application::as_returning())
            .get_result(conn)?;
        return Ok(row);
    }
    let inviter = crate::tree::store::find(conn, who.brand_id, a.inviter_id)?.ok_or_else(|| AppError::not_found(format!("agent {}", a.inviter_id)))?;
    if inviter.status != "active" {
        return Err(AppError::conflict("inviter_inactive", format!("the inviter is {}: it cannot take a new agent now", inviter.status)));
    }
    let hash: String = applications::table.find((who.brand_id, id)).select(applications::password_hash).first(conn)?;
    let req = crate::tree::NewAgentRequest {
        name: a.name.clone(),
        phone: a.phone.clone(),
        tier_id: a.tier_id,
        parent_id: Some(a.inviter_id),
        password: String::new(),
        joined_at: None,
    };
    // created as the inviter would create it (sponsor = inviter); HQ creates it under the inviter
    let creator =
        if who.is_hq() { *who } else { Principal { brand_id: who.brand_id, role: crate::auth::Role::Agent { agent_id: a.inviter_id }, request: who.request } };
    let agent = crate::tree::create_as(conn, &creator, &req, Some(&hash))?;
    let row: Application = diesel::update(applications::table.find((who.brand_id, id)))
        .set((
            applications::status.eq("approved"),
            applications::agent_id.eq(agent.id),
            applications::decided_at.eq(Utc::now()),
            applications::decided_by.eq(&by),
        ))
        .returning(Application::as_returning())
        .get_result(conn)?;
    crate::audit::record(conn, who, "application.approve", format!("application:{id}"), None, Some(serde_json::json!({ "agent_id": agent.id })))?;
    Ok(row)
}

/// Rejects with a reason the applicant sees on its link: the inviter at its stage, HQ at any.
pub fn reject(conn: &mut PgConnection, who: &Principal, id: i64, reason: String) -> Result<Application, AppError> {
    let a = locked(conn, who, id)?;
    if !who.is_hq() && a.stage != "inviter" {
        return Err(AppError::conflict("waiting_for_hq", "you approved it; HQ decides now"));
    }
    let row: Application = diesel::update(applications::table.find((who.brand_id, id)))
        .set((
            applications::status.eq("rejected"),
            applications::reason.eq(&reason),
            applications::decided_at.eq(Utc::now()),
            applications::decided_by.eq(who.actor()),
        ))
        .returning(Application::as_returning())
        .get_result(conn)?;
    crate::audit::record(conn, who, "application.reject", format!("application:{id}"), None, Some(serde_json::json!({ "reason": reason })))?;
    Ok(row)
}

/// The invite page's data without logging in: the brand's name, the inviter masked, and the
/// tiers one may apply for.
pub fn join_info(conn: &mut PgConnection, code: &str) -> Result<Option<(String, String, Vec<(i64, String)>)>, AppError> {
    let Some((brand_id, inviter)) = super::invites::resolve(conn, code)? else { return Ok(None) };
    let brand: String = brands::table.find(brand_id).select(brands::name).first(conn)?;
    let inviter_rank: i32 = tiers::table.filter(tiers::brand_id.eq(brand_id)).filter(tiers::id.eq(inviter.tier_id)).select(tiers::rank).first(conn)?;
    let tiers: Vec<(i64, String)> = tiers::table
        .filter(tiers::brand_id.eq(brand_id))
        .filter(tiers::rank.ge(inviter_rank))
        .order(tiers::rank.desc())
        .select((tiers::id, tiers::name))
        .load(conn)?;
    Ok(Some((brand, super::mask_name(&inviter.name), tiers)))
}
