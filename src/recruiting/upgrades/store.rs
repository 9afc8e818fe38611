//! SQL of upgrades by rule: the rules, the proposals, and the figures read from the closed
//! statements (set-based at close: one query per distinct window, not one per agent).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text};
use rust_decimal::Decimal;
use serde::Serialize;

use super::rule::{Combine, Figures, Rule};
use crate::error::AppError;
use crate::schema::{tiers, upgrade_proposals, upgrade_rules};

/// The brand's rules with their target tier's rank, best tier first.
pub fn rules(conn: &mut PgConnection, brand_id: i64) -> Result<Vec<Rule>, AppError> {
    type Row = (i64, i32, i32, Option<Decimal>, Option<i32>, Option<Decimal>, String);
    let rows: Vec<Row> = upgrade_rules::table
        .inner_join(tiers::table.on(tiers::brand_id.eq(upgrade_rules::brand_id).and(tiers::id.eq(upgrade_rules::tier_id))))
        .filter(upgrade_rules::brand_id.eq(brand_id))
        .order(tiers::rank.asc())
        .select((
            upgrade_rules::tier_id,
            tiers::rank,
            upgrade_rules::months,
            upgrade_rules::own_purchases_min,
            upgrade_rules::direct_recruits_min,
            upgrade_rules::team_volume_min,
            upgrade_rules::combine,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(tier_id, rank, months, own, rec, team, combine)| Rule {
            tier_id,
            rank,
            months,
            own_purchases_min: own,
            direct_recruits_min: rec,
            team_volume_min: team,
            combine: Combine::parse(&combine).unwrap_or(Combine::All),
        })
        .collect())
}

pub fn upsert_rule(conn: &mut PgConnection, brand_id: i64, r: &Rule) -> Result<(), AppError> {
    let values = (
        upgrade_rules::months.eq(r.months),
        upgrade_rules::own_purchases_min.eq(r.own_purchases_min),
        upgrade_rules::direct_recruits_min.eq(r.direct_recruits_min),
        upgrade_rules::team_volume_min.eq(r.team_volume_min),
        upgrade_rules::combine.eq(r.combine.as_str()),
        upgrade_rules::updated_at.eq(Utc::now()),
    );
    diesel::insert_into(upgrade_rules::table)
        .values((upgrade_rules::brand_id.eq(brand_id), upgrade_rules::tier_id.eq(r.tier_id), values.clone()))
        .on_conflict((upgrade_rules::brand_id, upgrade_rules::tier_id))
        .do_update()
        .set(values)
        .execute(conn)?;
    Ok(())
}

pub fn delete_rule(conn: &mut PgConnection, brand_id: i64, tier_id: i64) -> Result<bool, AppError> {
    Ok(diesel::delete(upgrade_rules::table.find((brand_id, tier_id))).execute(conn)? > 0)
}

#[derive(Debug, Clone, Serialize, Queryable, Selectable, utoipa::ToSchema)]
#[diesel(table_name = upgrade_proposals)]
pub struct Proposal {
    pub id: i64,
    pub agent_id: i64,
    pub from_tier_id: i64,
    pub to_tier_id: i64,
    /// `close` (the month close found it qualified) or `agent` (it applied)
    pub source: String,
    /// The window and the figures it qualified with.
    #[schema(value_type = Object)]
    pub figures: serde_json::Value,
    /// pending, applied, rejected or void (its tier changed otherwise, or it left)
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decided_by: Option<String>,
    /// Why it was rejected or voided (the agent sees it).
    pub reason: Option<String>,
}

pub struct NewProposal<'a> {
    pub agent_id: i64,
    pub from_tier_id: i64,
    pub to_tier_id: i64,
    pub source: &'a str,
    pub figures: serde_json::Value,
    /// `applied` (auto mode) or `pending`
    pub status: &'a str,
    pub by: Option<&'a str>,
}

/// Inserts a proposal; `None` when the agent already has one waiting (the unique index).
pub fn insert(conn: &mut PgConnection, brand_id: i64, p: NewProposal) -> Result<Option<Proposal>, AppError> {
    let decided = (p.status != "pending").then(Utc::now);
    Ok(diesel::insert_into(upgrade_proposals::table)
        .values((
            upgrade_proposals::brand_id.eq(brand_id),
            upgrade_proposals::agent_id.eq(p.agent_id),
            upgrade_proposals::from_tier_id.eq(p.from_tier_id),
            upgrade_proposals::to_tier_id.eq(p.to_tier_id),
            upgrade_proposals::source.eq(p.source),
            upgrade_proposals::figures.eq(p.figures),
            upgrade_proposals::status.eq(p.status),
            upgrade_proposals::decided_at.eq(decided),
            upgrade_proposals::decided_by.eq(p.by),
        ))
        .on_conflict_do_nothing()
        .returning(Proposal::as_returning())
        .get_result(conn)
        .optional()?)
}

pub fn pending_of(conn: &mut PgConnection, brand_id: i64, agent_id: i64) -> Result<Option<Proposal>, AppError> {
    Ok(upgrade_proposals::table
        .filter(upgrade_proposals::brand_id.eq(brand_id))
        .filter(upgrade_proposals::agent_id.eq(agent_id))
        .filter(upgrade_proposals::status.eq("pending"))
        .select(Proposal::as_select())
        .first(conn)
        .optional()?)
}

pub fn latest_of(conn: &mut PgConnection, brand_id: i64, agent_id: i64) -> Result<Option<Proposal>, AppError> {
    Ok(upgrade_proposals::table
        .filter(upgrade_proposals::brand_id.eq(brand_id))
        .filter(upgrade_proposals::agent_id.eq(agent_id))
        .order(upgrade_proposals::id.desc())
        .select(Proposal::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_for_update(conn: &mut PgConnection, brand_id: i64, id: i64) -> Result<Option<Proposal>, AppError> {
    Ok(upgrade_proposals::table.find((brand_id, id)).select(Proposal::as_select()).for_update().first(conn).optional()?)
}

/// Newest first; an agent's own only when `agent` is set.
pub fn list(conn: &mut PgConnection, brand_id: i64, status: Option<&str>, agent: Option<i64>, limit: i64) -> Result<Vec<Proposal>, AppError> {
    let mut q = upgrade_proposals::table.filter(upgrade_proposals::brand_id.eq(brand_id)).into_boxed();
    if let Some(s) = status {
        q = q.filter(upgrade_proposals::status.eq(s.to_owned()));
    }
    if let Some(a) = agent {
        q = q.filter(upgrade_proposals::agent_id.eq(a));
    }
    Ok(q.order(upgrade_proposals::id.desc()).limit(limit).select(Proposal::as_select()).load(conn)?)
}

pub fn decide(conn: &mut PgConnection, brand_id: i64, id: i64, status: &str, by: &str, reason: Option<&str>) -> Result<Proposal, AppError> {
    Ok(diesel::update(upgrade_proposals::table.find((brand_id, id)))
        .set((
            upgrade_proposals::status.eq(status),
            upgrade_proposals::decided_at.eq(Utc::now()),
            upgrade_proposals::decided_by.eq(by),
            upgrade_proposals::reason.eq(reason),
        ))
        .returning(Proposal::as_returning())
        .get_result(conn)?)
}

/// Voids an agent's waiting proposal (its tier changed otherwise, or it is no longer active).
pub fn void_pending(conn: &mut PgConnection, brand_id: i64, agent_id: i64, by: &str, reason: &str) -> Result<(), AppError> {
    diesel::update(upgrade_proposals::table)
        .filter(upgrade_proposals::brand_id.eq(brand_id))
        .filter(upgrade_proposals::agent_id.eq(agent_id))
        .filter(upgrade_proposals::status.eq("pending"))
        .set((
            upgrade_proposals::status.eq("void"),
            upgrade_proposals::decided_at.eq(Utc::now()),
            upgrade_proposals::decided_by.eq(by),
            upgrade_proposals::reason.eq(reason),
        ))
        .execute(conn)?;
    Ok(())
}

#[derive(QueryableByName)]
pub struct FigureRow {
    #[diesel(sql_type = BigInt)]
    pub agent_id: i64,
    #[diesel(sql_type = BigInt)]
    pub tier_id: i64,
    #[diesel(sql_type = diesel::sql_types::Numeric)]
    pub own_purchases: Decimal,
    #[diesel(sql_type = diesel::sql_types::Numeric)]
    pub team_volume: Decimal,
    #[diesel(sql_type = BigInt)]
    pub direct_recruits: i64,
}

impl FigureRow {
    pub fn figures(&self) -> Figures {
        Figures { own_purchases: self.own_purchases, direct_recruits: self.direct_recruits, team_volume: self.team_volume }
    }
}

const FIGURES: &str = "
    WITH window_sums AS (
        SELECT agent_id, sum(purchases_amount) AS own, sum(team_volume) AS team
          FROM statements WHERE brand_id = $1 AND month = ANY($2) AND ($3::bigint IS NULL OR agent_id = $3) GROUP BY agent_id),
    recruits AS (
        SELECT sponsor_id AS agent_id, count(*) AS n FROM agents
         WHERE brand_id = $1 AND status = 'active' AND sponsor_id IS NOT NULL AND ($3::bigint IS NULL OR sponsor_id = $3)
         GROUP BY sponsor_id)
    SELECT a.id AS agent_id, a.tier_id, coalesce(w.own, 0) AS own_purchases, coalesce(w.team, 0) AS team_volume, coalesce(r.n, 0) AS direct_recruits
      FROM agents a
      LEFT JOIN window_sums w ON w.agent_id = a.id
      LEFT JOIN recruits r ON r.agent_id = a.id
     WHERE a.brand_id = $1 AND a.status = 'active' AND ($3::bigint IS NULL OR a.id = $3)
       AND a.tier_id = ANY($4)
       -- every minimum is positive, so an agent with nothing in any measure cannot qualify
       AND (w.agent_id IS NOT NULL OR r.agent_id IS NOT NULL)";

/// The figures over `months` of the active agents whose tier is one of `tiers` and who have
/// anything in any measure (the rest cannot qualify) — or of one agent.
pub fn figures(conn: &mut PgConnection, brand_id: i64, months: &[String], agent: Option<i64>, tiers: &[i64]) -> Result<Vec<FigureRow>, AppError> {
    Ok(diesel::sql_query(FIGURES)
        .bind::<BigInt, _>(brand_id)
        .bind::<Array<Text>, _>(months)
        .bind::<diesel::sql_types::Nullable<BigInt>, _>(agent)
        .bind::<Array<BigInt>, _>(tiers)
        .load(conn)?)
}
