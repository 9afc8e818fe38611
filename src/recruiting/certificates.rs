//! 授权书: every active agent holds one live certificate for its current tier, valid a year
//! and renewed when it runs out. A tier change revokes it and issues a new one; suspension
//! and exit revoke it. `sync` keeps that true and is called wherever status or tier change.
//! The public check shows the brand, the name masked (王*), the tier and validity — never a
//! phone — and is rate-limited per address by its handler; numbers are random, so there is
//! nothing to enumerate.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::auth::Principal;
use crate::error::AppError;
use crate::schema::{agents, brands, certificates, tiers};

const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
pub const VALID_DAYS: i64 = 365;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Certificate {
    pub number: String,
    pub agent_id: i64,
    pub name: String,
    pub brand: String,
    /// The tier's name.
    pub tier: String,
    pub valid_from: DateTime<Utc>,
    pub valid_until: DateTime<Utc>,
    /// valid, revoked or expired
    pub status: String,
    /// The public check's address, and it as a QR code (SVG).
    pub verify_url: String,
    pub qr_svg: String,
}

/// What anyone may learn from a certificate number.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PublicCertificate {
    pub number: String,
    pub brand: String,
    /// The first character of the name and a star.
    pub name_masked: String,
    pub tier: String,
    pub valid_until: DateTime<Utc>,
    /// valid, revoked or expired
    pub status: String,
}

type Row = (String, i64, i64, DateTime<Utc>, DateTime<Utc>, Option<DateTime<Utc>>);

fn live(conn: &mut PgConnection, brand_id: i64, agent_id: i64) -> Result<Option<Row>, AppError> {
    Ok(certificates::table
        .filter(certificates::brand_id.eq(brand_id))
        .filter(certificates::agent_id.eq(agent_id))
        .filter(certificates::revoked_at.is_null())
        .select((
            certificates::number,
            certificates::agent_id,
            certificates::tier_id,
            certificates::valid_from,
            certificates::valid_until,
            certificates::revoked_at,
        ))
        .first(conn)
        .optional()?)
}

/// Makes the agent's certificates match its status and tier: one live for an active agent's
/// tier (renewed when it ran out), none otherwise.
pub fn sync(conn: &mut PgConnection, brand_id: i64, agent_id: i64) -> Result<(), AppError> {
    let agent: Option<(String, i64)> = agents::table.find((brand_id, agent_id)).select((agents::status, agents::tier_id)).first(conn).optional()?;
    let Some((status, tier_id)) = agent else { return Ok(()) };
    let now = Utc::now();
    let current = live(conn, brand_id, agent_id)?;
    let keep = status == "active" && current.as_ref().is_some_and(|c| c.2 == tier_id && c.4 > now);
    if keep {
        return Ok(());
    }
    if let Some(c) = &current {
        let why = if status != "active" {
            status.clone()
        } else if c.2 != tier_id {
            "tier_changed".to_owned()
        } else {
            "renewed".to_owned()
        };
        diesel::update(certificates::table.find(&c.0)).set((certificates::revoked_at.eq(now), certificates::revoked_why.eq(why))).execute(conn)?;
    }
    if status == "active" {
        diesel::insert_into(certificates::table)
            .values((
                certificates::number.eq(super::random_code(ALPHABET, 12)),
                certificates::brand_id.eq(brand_id),
                certificates::agent_id.eq(agent_id),
                certificates::tier_id.eq(tier_id),
                certificates::valid_from.eq(now),
                certificates::valid_until.eq(now + Duration::days(VALID_DAYS)),
            ))
            .execute(conn)?;
    }
    Ok(())
}

fn status_of(revoked: Option<DateTime<Utc>>, until: DateTime<Utc>) -> &'static str {
    match revoked {
        Some(_) => "revoked",
        None if until <= Utc::now() => "expired",
        None => "valid",
    }
}

/// The agent's certificate (the live one, or the last one when it holds none): the agent
/// itself or HQ. `base` is the site's address for the check's link.
pub fn of_agent(conn: &mut PgConnection, who: &Principal, agent_id: i64, base: &str) -> Result<Certificate, AppError> {
    if who.agent_id().is_some_and(|me| me != agent_id) {
        return Err(AppError::not_found(format!("agent {agent_id}")));
    }
    let agent = crate::tree::visible(conn, who, agent_id)?;
    sync(conn, who.brand_id, agent_id)?;
    let row: Row = certificates::table
        .filter(certificates::brand_id.eq(who.brand_id))
        .filter(certificates::agent_id.eq(agent_id))
        .order((certificates::revoked_at.is_not_null(), certificates::valid_from.desc()))
        .select((
            certificates::number,
            certificates::agent_id,
            certificates::tier_id,
            certificates::valid_from,
            certificates::valid_until,
            certificates::revoked_at,
        ))
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found(format!("agent {agent_id} has never held a certificate")))?;
    let brand: String = brands::table.find(who.brand_id).select(brands::name).first(conn)?;
    let tier: String = tiers::table.filter(tiers::brand_id.eq(who.brand_id)).filter(tiers::id.eq(row.2)).select(tiers::name).first(conn)?;
    let verify_url = format!("{base}/verify?n={}", row.0);
    Ok(Certificate {
        qr_svg: super::qr_svg(&verify_url, 160),
        verify_url,
        status: status_of(row.5, row.4).into(),
        number: row.0,
        agent_id,
        name: agent.name,
        brand,
        tier,
        valid_from: row.3,
        valid_until: row.4,
    })
}

/// 授权查询: what anyone may learn from a number; None when there is no such certificate.
pub fn check(conn: &mut PgConnection, number: &str) -> Result<Option<PublicCertificate>, AppError> {
    let number = number.trim().to_ascii_uppercase();
    if number.len() != 12 || !number.bytes().all(|b| ALPHABET.contains(&b)) {
        return Ok(None);
    }
    let row: Option<(i64, i64, i64, DateTime<Utc>, Option<DateTime<Utc>>)> = certificates::table
        .find(&number)
        .select((certificates::brand_id, certificates::agent_id, certificates::tier_id, certificates::valid_until, certificates::revoked_at))
        .first(conn)
        .optional()?;
    let Some((brand_id, agent_id, tier_id, until, revoked)) = row else { return Ok(None) };
    let brand: String = brands::table.find(brand_id).select(brands::name).first(conn)?;
    let name: String = agents::table.find((brand_id, agent_id)).select(agents::name).first(conn)?;
    let tier: String = tiers::table.filter(tiers::brand_id.eq(brand_id)).filter(tiers::id.eq(tier_id)).select(tiers::name).first(conn)?;
    Ok(Some(PublicCertificate { number, brand, name_masked: super::mask_name(&name), tier, valid_until: until, status: status_of(revoked, until).into() }))
}
