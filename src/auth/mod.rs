//! Logins, bearer tokens and the `Principal` every handler authorises with.
//!
//! Passwords are argon2id-hashed. Tokens are `"<brand_id>.<secret>"`: opaque, random,
//! revocable, and stored only as sha256(secret), so a leaked table grants nothing.

pub mod http;
pub mod limit;
pub mod policy;
pub mod staff;

pub use policy::StaffRole;

use std::sync::OnceLock;

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::{Duration, Utc};
use diesel::prelude::*;
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::AppError;
use crate::schema::{agents, brands, hq_users, login_failures, sessions};

/// After this many failed logins in `FAILURE_WINDOW`, further attempts get 429.
pub const MAX_FAILURES: i32 = 5;
pub const FAILURE_WINDOW_SECS: i64 = 15 * 60;
pub const SESSION_HOURS: i64 = 12;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Hq { user_id: i64, staff: StaffRole },
    Agent { agent_id: i64 },
}

/// Who is calling: a brand, and HQ or one agent of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Principal {
    pub brand_id: i64,
    pub role: Role,
    /// The request this principal came with (0 outside HTTP), for the audit log.
    pub request: u64,
}

impl Principal {
    /// An HQ staff member outside HTTP (the command line, the demo).
    pub fn hq(brand_id: i64, user_id: i64, staff: StaffRole) -> Self {
        Principal { brand_id, role: Role::Hq { user_id, staff }, request: 0 }
    }

    pub fn staff_role(&self) -> Option<StaffRole> {
        match self.role {
            Role::Hq { staff, .. } => Some(staff),
            Role::Agent { .. } => None,
        }
    }

    pub fn user_id(&self) -> Option<i64> {
        match self.role {
            Role::Hq { user_id, .. } => Some(user_id),
            Role::Agent { .. } => None,
        }
    }

    /// Refuses a staff member whose role does not allow `need` (403 `role_forbidden`).
    pub fn require(&self, need: policy::Need) -> Result<(), AppError> {
        match self.staff_role() {
            Some(role) if !role.may(need) => Err(AppError::new(
                crate::error::ErrorKind::Forbidden,
                "role_forbidden",
                format!("the {} role may not do this: it needs {}", role.as_str(), need.describe()),
            )),
            _ => Ok(()),
        }
    }

    pub fn is_hq(&self) -> bool {
        matches!(self.role, Role::Hq { .. })
    }

    pub fn agent_id(&self) -> Option<i64> {
        match self.role {
            Role::Agent { agent_id } => Some(agent_id),
            Role::Hq { .. } => None,
        }
    }

    pub fn require_hq(&self) -> Result<(), AppError> {
        if self.is_hq() {
            Ok(())
        } else {
            Err(AppError::forbidden("only HQ may do this"))
        }
    }

    /// A stable name for the caller, e.g. in audit trails and idempotency keys.
    pub fn actor(&self) -> String {
        match self.role {
            Role::Hq { user_id, .. } => format!("hq:{user_id}"),
            Role::Agent { agent_id } => format!("agent:{agent_id}"),
        }
    }
}

/// Where a login attempt comes from: the TCP peer's address (behind a proxy, the proxy's —
/// then put the throttle there too; forwarded headers are not trusted, anyone can send them).
pub fn source_of(req: &actix_web::HttpRequest) -> String {
    req.peer_addr().map(|a| a.ip().to_string()).unwrap_or_default()
}

pub fn hash_password(password: &str) -> Result<String, AppError> {
    Argon2::default()
        .hash_password(password.as_bytes(), &SaltString::generate(&mut OsRng))
        .map(|h| h.to_string())
        .map_err(|e| AppError::internal(format!("password hashing failed: {e}")))
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

pub fn check_password_strength(password: &str) -> Result<(), AppError> {
    if password.chars().count() < 8 {
        return Err(AppError::validation("password must be at least 8 characters"));
    }
    if password.chars().count() > 128 {
        return Err(AppError::validation("password must be at most 128 characters"));
    }
    Ok(())
}

/// Spends the same time on an unknown login as on a wrong password.
fn dummy_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| hash_password("not-a-real-password").unwrap_or_default())
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LoginResponse {
    pub token: String,
    /// `hq` or `agent`.
    pub role: String,
    pub agent_id: Option<i64>,
    /// HQ only: `owner`, `operations`, `finance` or `auditor`.
    pub staff_role: Option<StaffRole>,
}

pub enum LoginOutcome {
    Success(LoginResponse),
    BadCredentials,
    Throttled { retry_after_secs: u64 },
}

/// Checks credentials and opens a session. Failures are recorded (and must be committed),
/// so they come back as an outcome rather than an error.
/// `source` is where the attempt comes from (the client address): failures are counted per
/// login *and* source, so a stranger guessing a password slows only themselves.
pub fn login(conn: &mut PgConnection, brand_code: &str, login: &str, password: &str, source: &str) -> Result<LoginOutcome, AppError> {
    let brand_id: Option<i64> = brands::table.filter(brands::code.eq(brand_code)).select(brands::id).first(conn).optional()?;
    let Some(brand_id) = brand_id else {
        verify_password(password, dummy_hash());
        return Ok(LoginOutcome::BadCredentials);
    };
    let now = Utc::now();
    let failures: Option<(i32, chrono::DateTime<Utc>)> = login_failures::table
        .find((brand_id, login, source))
        .select((login_failures::failures, login_failures::window_start))
        .for_update()
        .first(conn)
        .optional()?;
    if let Some((count, since)) = failures {
        let reopens = since + Duration::seconds(FAILURE_WINDOW_SECS);
        if count >= MAX_FAILURES && reopens > now {
            return Ok(LoginOutcome::Throttled { retry_after_secs: (reopens - now).num_seconds().max(1) as u64 });
        }
    }

    let hq: Option<(i64, String, String, bool)> = hq_users::table
        .filter(hq_users::brand_id.eq(brand_id))
        .filter(hq_users::login.eq(login))
        .select((hq_users::id, hq_users::password_hash, hq_users::role, hq_users::active))
        .first(conn)
        .optional()?;
    let role = if let Some((user_id, hash, staff, active)) = hq {
        // a disabled staff member's password still costs a verification, and fails
        let staff = StaffRole::parse(&staff).unwrap_or(StaffRole::Auditor);
        (verify_password(password, &hash) && active).then_some(Role::Hq { user_id, staff })
    } else {
        let agent: Option<(i64, String, String)> = agents::table
            .filter(agents::brand_id.eq(brand_id))
            .filter(agents::phone.eq(login))
            .select((agents::id, agents::password_hash, agents::status))
            .first(conn)
            .optional()?;
        match agent {
            // An exited agent no longer has access; a suspended one may still look.
            Some((agent_id, hash, status)) => (verify_password(password, &hash) && status != "exited").then_some(Role::Agent { agent_id }),
            None => {
                verify_password(password, dummy_hash());
                None
            }
        }
    };

    let Some(role) = role else {
        record_failure(conn, brand_id, login, source, failures, now)?;
        return Ok(LoginOutcome::BadCredentials);
    };
    diesel::delete(login_failures::table.find((brand_id, login, source))).execute(conn)?;
    let token = open_session(conn, brand_id, role)?;
    let (role_name, agent_id, staff_role) = match role {
        Role::Hq { staff, .. } => ("hq", None, Some(staff)),
        Role::Agent { agent_id } => ("agent", Some(agent_id), None),
    };
    Ok(LoginOutcome::Success(LoginResponse { token, role: role_name.into(), agent_id, staff_role }))
}

fn record_failure(
    conn: &mut PgConnection,
    brand_id: i64,
    login: &str,
    source: &str,
    previous: Option<(i32, chrono::DateTime<Utc>)>,
    now: chrono::DateTime<Utc>,
) -> Result<(), AppError> {
    let (failures, window_start) = match previous {
        Some((count, since)) if since + Duration::seconds(FAILURE_WINDOW_SECS) > now => (count + 1, since),
        _ => (1, now),
    };
    diesel::insert_into(login_failures::table)
        .values((
            login_failures::brand_id.eq(brand_id),
            login_failures::login.eq(login),
            login_failures::source.eq(source),
            login_failures::failures.eq(failures),
            login_failures::window_start.eq(window_start),
        ))
        .on_conflict((login_failures::brand_id, login_failures::login, login_failures::source))
        .do_update()
        .set((login_failures::failures.eq(failures), login_failures::window_start.eq(window_start)))
        .execute(conn)?;
    Ok(())
}

fn token_hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

fn open_session(conn: &mut PgConnection, brand_id: i64, role: Role) -> Result<String, AppError> {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let secret = hex::encode(bytes);
    let (role_name, hq_user_id, agent_id) = match role {
        Role::Hq { user_id, .. } => ("hq", Some(user_id), None),
        Role::Agent { agent_id } => ("agent", None, Some(agent_id)),
    };
    diesel::insert_into(sessions::table)
        .values((
            sessions::brand_id.eq(brand_id),
            sessions::token_hash.eq(token_hash(&secret)),
            sessions::role.eq(role_name),
            sessions::hq_user_id.eq(hq_user_id),
            sessions::agent_id.eq(agent_id),
            sessions::expires_at.eq(Utc::now() + Duration::hours(SESSION_HOURS)),
        ))
        .execute(conn)?;
    Ok(format!("{brand_id}.{secret}"))
}

/// Ends the token's session by expiring it now (sessions are kept, like everything else
/// security-relevant, for the audit trail).
pub fn logout(conn: &mut PgConnection, brand_id: i64, token: &str) -> Result<(), AppError> {
    let Some((_, secret)) = token.split_once('.') else { return Ok(()) };
    let now = Utc::now();
    diesel::update(sessions::table)
        .filter(sessions::brand_id.eq(brand_id))
        .filter(sessions::token_hash.eq(token_hash(secret)))
        .filter(sessions::expires_at.gt(now))
        .set(sessions::expires_at.eq(now))
        .execute(conn)?;
    Ok(())
}

/// Resolves a bearer token to its principal; None when unknown, expired or malformed.
pub fn authenticate(conn: &mut PgConnection, token: &str) -> Result<Option<Principal>, AppError> {
    let Some((brand, secret)) = token.split_once('.') else { return Ok(None) };
    let Ok(brand_id) = brand.parse::<i64>() else { return Ok(None) };
    // one round trip: the session, and whether its agent has exited or its staff member was disabled
    let row: Option<(Option<i64>, Option<i64>, Option<String>, Option<String>, Option<bool>)> = sessions::table
        .left_join(agents::table.on(agents::brand_id.eq(sessions::brand_id).and(agents::id.nullable().eq(sessions::agent_id))))
        .left_join(hq_users::table.on(hq_users::brand_id.eq(sessions::brand_id).and(hq_users::id.nullable().eq(sessions::hq_user_id))))
        .filter(sessions::brand_id.eq(brand_id))
        .filter(sessions::token_hash.eq(token_hash(secret)))
        .filter(sessions::expires_at.gt(Utc::now()))
        .select((sessions::hq_user_id, sessions::agent_id, agents::status.nullable(), hq_users::role.nullable(), hq_users::active.nullable()))
        .first(conn)
        .optional()?;
    let role = match row {
        Some((Some(user_id), _, _, Some(staff), Some(true))) => Role::Hq { user_id, staff: StaffRole::parse(&staff).unwrap_or(StaffRole::Auditor) },
        Some((None, Some(agent_id), Some(status), _, _)) if status != "exited" => Role::Agent { agent_id },
        _ => return Ok(None),
    };
    Ok(Some(Principal { brand_id, role, request: 0 }))
}

/// Changes the caller's own password after checking the old one; every other session of the
/// caller ends (a phone left logged in elsewhere is logged out), the current one stays.
pub fn change_password(conn: &mut PgConnection, who: &Principal, token: &str, old: &str, new: &str) -> Result<(), AppError> {
    check_password_strength(new)?;
    let stored: String = match who.role {
        Role::Hq { user_id, .. } => {
            hq_users::table.filter(hq_users::brand_id.eq(who.brand_id)).filter(hq_users::id.eq(user_id)).select(hq_users::password_hash).first(conn)?
        }
        Role::Agent { agent_id } => {
            agents::table.filter(agents::brand_id.eq(who.brand_id)).filter(agents::id.eq(agent_id)).select(agents::password_hash).first(conn)?
        }
    };
    if !verify_password(old, &stored) {
        return Err(AppError::unprocessable("wrong_password", "the current password is not right"));
    }
    let hash = hash_password(new)?;
    match who.role {
        Role::Hq { user_id, .. } => diesel::update(hq_users::table.filter(hq_users::brand_id.eq(who.brand_id)).filter(hq_users::id.eq(user_id)))
            .set(hq_users::password_hash.eq(&hash))
            .execute(conn)?,
        Role::Agent { agent_id } => diesel::update(agents::table.filter(agents::brand_id.eq(who.brand_id)).filter(agents::id.eq(agent_id)))
            .set(agents::password_hash.eq(&hash))
            .execute(conn)?,
    };
    let current = token.split_once('.').map(|(_, secret)| token_hash(secret)).unwrap_or_default();
    let now = Utc::now();
    let mine = sessions::table.filter(sessions::brand_id.eq(who.brand_id)).filter(sessions::expires_at.gt(now)).filter(sessions::token_hash.ne(current));
    match who.role {
        Role::Hq { user_id, .. } => diesel::update(mine.filter(sessions::hq_user_id.eq(user_id))).set(sessions::expires_at.eq(now)).execute(conn)?,
        Role::Agent { agent_id } => diesel::update(mine.filter(sessions::agent_id.eq(agent_id))).set(sessions::expires_at.eq(now)).execute(conn)?,
    };
    crate::audit::record(conn, who, "auth.password", format!("staff:{}", who.user_id().unwrap_or_default()), None, None)
}

/// How long a phone stays logged in to the agent portal without use.
pub const PORTAL_SESSION_DAYS: i64 = 30;

/// Keeps an agent's portal session alive: each use pushes its expiry to 30 days ahead, written
/// at most once a day per session (only when less than 29 days are left), so reads stay reads.
pub fn keep_alive(conn: &mut PgConnection, brand_id: i64, token: &str) -> Result<(), AppError> {
    let Some((_, secret)) = token.split_once('.') else { return Ok(()) };
    let now = Utc::now();
    diesel::update(sessions::table)
        .filter(sessions::brand_id.eq(brand_id))
        .filter(sessions::token_hash.eq(token_hash(secret)))
        .filter(sessions::agent_id.is_not_null())
        .filter(sessions::expires_at.gt(now))
        .filter(sessions::expires_at.lt(now + Duration::days(PORTAL_SESSION_DAYS - 1)))
        .set(sessions::expires_at.eq(now + Duration::days(PORTAL_SESSION_DAYS)))
        .execute(conn)?;
    Ok(())
}
